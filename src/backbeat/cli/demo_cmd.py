"""``backbeat demo``: analyse and chart the built-in demo song, then open the play-along."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backbeat.core.errors import InvalidArgumentError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(sub: Any) -> None:
    """Add the ``demo`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="analyse and chart the built-in demo song, then serve the play-along",
        description=(
            "Analyse the built-in demo song, write its analysis (DIR/demo.json) and charts at every "
            "level (DIR/charts), print how close the analysis is to the song's true beats and drum "
            "hits, then start the web play-along unless --no-serve is given."
        ),
    )
    p.add_argument("-o", "--out-dir", type=Path, default=Path("backbeat-demo-out"), metavar="DIR",
                   help="output folder (default: ./backbeat-demo-out)")
    p.add_argument("--no-serve", action="store_true", help="do not start the web app afterwards")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"web app address (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"web app port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from backbeat.services.demo import analyse_demo, chart_demo, charts_line, summary_lines

    if not 0 <= args.port <= 65535:
        raise InvalidArgumentError(f"--port must be 0-65535 (0 picks a free one), got {args.port}")
    print(f"backbeat demo: analysing the demo song into {args.out_dir} ...", flush=True)
    result = analyse_demo(args.out_dir)
    for line in summary_lines(result):
        print(line, flush=True)
    chart_demo(result)
    print(charts_line(result))
    if args.no_serve:
        return 0
    return _serve(args.host, args.port, args.out_dir)


def _serve(host: str, port: int, out_dir: Path) -> int:
    """Start the web app (``backbeat serve``) with its data kept in ``out_dir/web``; blocks."""
    from backbeat.cli.main import build_parser

    data_dir = out_dir / "web"
    serve_args = build_parser().parse_args(
        ["serve", "--host", host, "--port", str(port), "--data-dir", str(data_dir)])
    print(f"backbeat demo: starting the play-along (library in {data_dir}); the demo song is in it",
          flush=True)
    return int(serve_args.func(serve_args) or 0)
