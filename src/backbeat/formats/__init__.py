"""formats layer (see docs/ARCHITECTURE.md): chart and MIDI files, each with a reader and a writer.

Public entry points: :func:`read_chart`, :func:`write_chart`, :func:`write_song_folder`,
:func:`chart_to_json`, :func:`chart_from_json`, and the atomic writers in
:mod:`backbeat.formats.atomic`.
"""

from backbeat.formats.atomic import atomic_output_dir, atomic_write_bytes, atomic_write_text
from backbeat.formats.chart_io import FORMAT_SUFFIX, chart_bytes, read_chart, write_chart, write_song_folder
from backbeat.formats.chart_json import chart_from_json, chart_to_json

__all__ = [
    "FORMAT_SUFFIX",
    "atomic_output_dir",
    "atomic_write_bytes",
    "atomic_write_text",
    "chart_bytes",
    "chart_from_json",
    "chart_to_json",
    "read_chart",
    "write_chart",
    "write_song_folder",
]
