"""Backbeat: drum along to any song.

The main entry points are :func:`backbeat.analyze` (audio file to
:class:`~backbeat.core.song_analysis.Analysis`) and the ``backbeat`` command.
Heavy modules are imported on first use so that start-up stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from backbeat.services.analyze import analyze as analyze

__all__ = ["__version__", "analyze"]


def __getattr__(name: str) -> Any:
    if name == "analyze":
        from backbeat.services.analyze import analyze

        return analyze
    raise AttributeError(f"module 'backbeat' has no attribute {name!r}")
