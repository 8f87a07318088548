"""Golden files: the writers' output for a small hand-built chart, byte for byte.

After a deliberate format change, regenerate with
``BACKBEAT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_formats_golden.py``
and review the diff of tests/golden/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backbeat.core.difficulty import Difficulty
from backbeat.formats import chart_bytes, read_chart
from backbeat.formats.song_ini import song_ini_text
from test_formats_support import golden_chart

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = {
    "golden.chart": "chart",
    "golden.mid": "mid",
    "golden.gm.mid": "gm-mid",
    "golden.musicxml": "musicxml",
    "golden.txt": "tab",
    "golden.json": "json",
}


def _render(name: str) -> bytes:
    chart = golden_chart()
    if name == "song.ini":
        return song_ini_text(chart.info, diff_drums=2).encode("utf-8")
    return chart_bytes(chart, fmt=CASES[name])


@pytest.mark.parametrize("name", [*CASES, "song.ini"])
def test_writer_output_matches_golden_file(name: str) -> None:
    path = GOLDEN / name
    data = _render(name)
    if os.environ.get("BACKBEAT_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.is_file(), f"missing golden file {path}; run with BACKBEAT_UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"{name} differs from the golden file"


@pytest.mark.parametrize("name", list(CASES))
def test_golden_files_read_back(name: str) -> None:
    chart = golden_chart()
    back = read_chart(GOLDEN / name)
    assert len(back.track(Difficulty.EXPERT).notes) == len(chart.track(Difficulty.EXPERT).notes)
