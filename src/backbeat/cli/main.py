"""The ``backbeat`` command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from backbeat import __version__
from backbeat.core.errors import BackbeatError

#: Sub-command modules; each defines ``register(subparsers)`` which sets ``func``.
COMMAND_MODULES = ("analyze_cmd", "chart_cmd", "serve_cmd", "demo_cmd")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="backbeat", description="Drum along to any song: analyse, chart, play, jam."
    )
    parser.add_argument("--version", action="version", version=f"backbeat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"backbeat.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 some inputs failed, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BackbeatError as exc:
        print(f"backbeat: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("backbeat: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
