"""Song folders: notes + song.ini + backbeat.json (+ audio), read back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.formats import read_chart, write_song_folder
from backbeat.formats.chart_io import drum_difficulty_estimate
from backbeat.formats.song_ini import read_song_ini
from test_formats_support import full_notes, golden_chart


def test_folder_keeps_every_track_via_json(tmp_path: Path) -> None:
    chart = golden_chart()
    files = write_song_folder(chart, tmp_path / "song", formats=("mid",))
    assert sorted(p.name for p in files) == ["backbeat.json", "notes.mid", "song.ini"]
    back = read_chart(tmp_path / "song")
    # Beginner and the duet part have no slot in notes.mid: they come back from backbeat.json
    assert set(back.tracks) == set(chart.tracks)
    for key, tr in chart.tracks.items():
        assert full_notes(back.tracks[key]) == full_notes(tr), key
        assert [n.time_s for n in back.tracks[key].notes] == pytest.approx([n.time_s for n in tr.notes],
                                                                           abs=1e-5)
    ini = read_song_ini(tmp_path / "song" / "song.ini")
    assert ini.pro_drums is True
    assert ini.diff_drums == drum_difficulty_estimate(chart)
    assert ini.info.length_s > chart.track(Difficulty.EXPERT).notes[-1].time_s


def test_rewriting_a_folder_replaces_notes_and_keeps_other_files(tmp_path: Path) -> None:
    chart = golden_chart()
    folder = tmp_path / "song"
    write_song_folder(chart, folder)
    (folder / "album.png").write_bytes(b"png")
    write_song_folder(chart, folder, formats=("chart",))
    names = sorted(p.name for p in folder.iterdir())
    assert "album.png" in names and not [n for n in names if n.startswith(".")]
    assert "notes.mid" not in names  # the stale notes.mid would shadow the new notes.chart
    assert read_chart(folder / "notes.chart").info.name == "Golden Groove"


def test_bad_folder_formats_and_missing_parts(tmp_path: Path) -> None:
    chart = golden_chart()
    with pytest.raises(InvalidArgumentError, match="'chart' and/or 'mid'"):
        write_song_folder(chart, tmp_path / "a", formats=("musicxml",))
    with pytest.raises(InvalidArgumentError, match="no nobody track"):
        write_song_folder(chart, tmp_path / "b", part="nobody")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_difficulty_estimate_grows_with_density() -> None:
    chart = golden_chart()
    assert 0 <= drum_difficulty_estimate(chart) <= 6
    assert drum_difficulty_estimate(chart, part="duet_guest") == -1
