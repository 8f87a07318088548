"""charting layer (see docs/ARCHITECTURE.md and docs/CHARTING.md): from hits to playable charts.

Public entry points:

* :func:`chart_from_analysis` — Expert chart of an analysed song (per-bar grid, feel, dynamics,
  sections, fills); :func:`requantize_chart` for a played performance (GM drum MIDI);
* :func:`build_levels` — Hard, Medium, Easy and Beginner from Expert (hand-made levels kept
  unless ``regenerate``);
* :func:`check_track` / :func:`check_chart` — every rule a level must obey;
* :func:`duet`, :func:`split_kit` — two-player parts.
"""

from backbeat.charting.levels import build_levels, reduce_notes
from backbeat.charting.parts import duet, split_kit
from backbeat.charting.quantize import Feel, chart_from_analysis, quantize_ticks, requantize_chart
from backbeat.charting.rules import RuleViolation, check_chart, check_track

__all__ = [
    "Feel",
    "RuleViolation",
    "build_levels",
    "chart_from_analysis",
    "check_chart",
    "check_track",
    "duet",
    "quantize_ticks",
    "reduce_notes",
    "requantize_chart",
    "split_kit",
]
