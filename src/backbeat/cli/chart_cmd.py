"""``backbeat chart``: drum charts at every level from a song, an analysis or a chart."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the ``chart`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "chart",
        help="write drum charts at every level (Clone Hero/YARG song folder and more)",
        description="Build drum charts from a song (audio is analysed first), an analysis JSON, "
                    "or an existing chart (.chart, notes.mid, GM drum .mid, chart .json, song folder).",
    )
    p.add_argument("source", metavar="SONG_OR_ANALYSIS_OR_CHART")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="song folder to write")
    p.add_argument("--levels", default="all",
                   help="comma-separated levels: beginner,easy,medium,hard,expert or all (default)")
    p.add_argument("--format", dest="formats", default="",
                   help="extra formats: chart,mid,gm-mid,musicxml,tab,json or all "
                        "(the song folder always has notes.chart, notes.mid, song.ini)")
    p.add_argument("--regenerate", action="store_true",
                   help="rebuild lower levels from Expert even when the chart has hand-made ones")
    p.add_argument("--parts", default="",
                   help="two-player parts to add: duet,split (written to the JSON format)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``backbeat chart``; errors are raised as BackbeatError and reported by main."""
    from backbeat.services.charts import build_charts, parse_formats, parse_levels

    levels = parse_levels(args.levels)
    formats = parse_formats(args.formats) if args.formats else []
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    written = build_charts(args.source, args.out, levels=levels, formats=formats,
                           regenerate=args.regenerate, parts=parts)
    for path in written:
        print(path)
    return 0
