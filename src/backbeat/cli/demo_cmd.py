"""``backbeat demo``."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the ``demo`` sub-command (placeholder until implemented)."""
    p: argparse.ArgumentParser = sub.add_parser("demo", help="(not yet available)")
    p.set_defaults(func=None)
