"""Every community chart in ../shared/data/charts: import, compare with the README table, round-trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backbeat.core.chart import Chart, Track
from backbeat.core.difficulty import Difficulty
from backbeat.formats import read_chart, write_chart, write_song_folder
from backbeat.formats.clone_hero_chart import read_clone_hero_chart
from backbeat.formats.midi_file import parse_midi
from backbeat.formats.rb_midi import read_rb_midi
from test_formats_support import CHARTS, full_notes

pytestmark = pytest.mark.skipif(not (CHARTS / "README.md").is_file(),
                                reason=f"community charts not found at {CHARTS}")

LETTER = {"E": Difficulty.EASY, "M": Difficulty.MEDIUM, "H": Difficulty.HARD, "X": Difficulty.EXPERT}


def _table() -> list[dict[str, str]]:
    if not (CHARTS / "README.md").is_file():
        return []
    rows = []
    for line in (CHARTS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and (CHARTS / cells[0]).is_dir():
            rows.append(dict(zip(["folder", "file", "fmt", "diffs", "pro", "tempo", "kick2x", "repo", "lic"],
                                 cells)))
    return rows


ROWS = _table()


def _chart_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".chart", ".mid"))


def _raw_tempo_events(path: Path) -> int:
    if path.suffix == ".chart":
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        sync = text.split("[SyncTrack]", 1)[1].split("}", 1)[0]
        return len(re.findall(r"=\s*B\s", sync))
    midi = parse_midi(path.read_bytes())
    return sum(len(t.tempos) for t in midi.tracks)


def test_the_readme_table_lists_every_folder() -> None:
    folders = {p.name for p in CHARTS.iterdir() if p.is_dir()}
    assert {r["folder"] for r in ROWS} == folders
    assert len(ROWS) >= 15


@pytest.mark.parametrize("row", ROWS, ids=[r["folder"] for r in ROWS])
def test_real_chart_matches_readme(row: dict[str, str]) -> None:
    folder = CHARTS / row["folder"]
    for path in _chart_files(folder):
        chart = read_chart(path)
        have = {d for (_, d), t in chart.tracks.items() if t.notes}
        diffs = row["diffs"]
        if path.suffix == ".mid" and "mid X" in diffs:
            want_letters = ["X"]
        else:
            want_letters = [c for c in re.sub(r"\(.*?\)|chart|mid", "", diffs).split() if c in LETTER]
        assert have == {LETTER[c] for c in want_letters}, path
        # tempo events: the count matches the table (one number per file type when it gives two)
        counts = [int(x) for x in re.findall(r"\d+", row["tempo"])]
        raw = _raw_tempo_events(path)
        assert raw in counts, (path, raw, counts)
        assert len(chart.tempo_map.tempos) <= raw + 1  # same-tick duplicates merged, maybe a default at 0
        pro = row["pro"].startswith("yes")
        cymbals = sum(n.cymbal for t in chart.tracks.values() for n in t.notes)
        if not pro:
            assert cymbals == 0, path
        kick2x = re.findall(r"\d+", row["kick2x"])
        doubles = [sum(n.double_kick for n in t.notes) for t in chart.tracks.values() if t.notes]
        if kick2x:
            assert max(doubles) == int(kick2x[0]), path
        else:
            assert max(doubles) == 0, path


def test_boxxle_chart_and_mid_agree() -> None:
    folder = CHARTS / "pony-canyon-boxxle"
    a = read_clone_hero_chart(folder / "notes.chart")
    b = read_rb_midi(folder / "boxxle.mid")
    for d, count in zip((Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD, Difficulty.EXPERT),
                        (126, 255, 259, 304)):
        assert len(a.track(d).notes) == count
        assert len(b.track(d).notes) == count
        # same lanes and rhythm; the .mid starts one bar later and uses another resolution
        na, nb = a.track(d).notes, b.track(d).notes
        ra, rb = a.tempo_map.resolution, b.tempo_map.resolution
        assert [((n.tick - na[0].tick) * rb, n.pad) for n in na] == \
            [((n.tick - nb[0].tick) * ra, n.pad) for n in nb]


def test_mid_with_phase_shift_sysex_loads() -> None:
    chart = read_chart(CHARTS / "yargcore-feature-check-mid" / "test.mid")
    assert len(chart.track(Difficulty.EXPERT).notes) == 1070
    assert sum(n.double_kick for n in chart.track(Difficulty.EXPERT).notes) == 108


def test_song_folder_reads_ini_metadata() -> None:
    chart = read_chart(CHARTS / "northlane-4d")
    assert (chart.info.name, chart.info.artist, chart.info.charter) == ("4D", "Northlane", "MathRabelo")
    assert chart.info.preview_start_s == pytest.approx(85.0)
    onyx = read_chart(CHARTS / "onyx-vadrum-summer")
    assert onyx.info.charter == "Onyxite"
    # the 7/8 opening survives
    coma = read_chart(CHARTS / "btbam-the-coma-machine" / "comamachinenotes.chart")
    first = coma.tempo_map.time_signatures[0]
    assert (first.numerator, first.denominator) == (7, 8)


def _same_game_notes(a: Chart, b: Chart, *, midi: bool) -> None:
    for key, tr in a.tracks.items():
        got = b.tracks.get(key, Track(key[1], ()))
        want = full_notes(tr)
        if not midi:  # .chart has no accent/ghost markers for kick
            want = [(t, p, c, "normal" if p == 0 else d, k) for t, p, c, d, k in want]
        if midi and key[1] is not Difficulty.EXPERT:
            # notes.mid has double kick (95) only for Expert
            assert [x[:4] for x in full_notes(got)] == [x[:4] for x in full_notes(tr)]
        else:
            assert full_notes(got) == want, key
        assert [n.time_s for n in got.notes] == pytest.approx([n.time_s for n in tr.notes], abs=2e-3)


ALL_FILES = [p for r in ROWS for p in _chart_files(CHARTS / r["folder"])]


@pytest.mark.parametrize("path", ALL_FILES, ids=[f"{p.parent.name}/{p.name}" for p in ALL_FILES])
def test_real_chart_round_trips(tmp_path: Path, path: Path) -> None:
    chart = read_chart(path)
    back = read_chart(write_chart(chart, tmp_path / "a.json", fmt="json"))
    assert back.tracks == chart.tracks and back.tempo_map == chart.tempo_map
    assert back.sections == chart.sections and back.phrases == chart.phrases
    again = read_chart(write_chart(chart, tmp_path / "a.chart", fmt="chart"))
    _same_game_notes(chart, again, midi=False)
    assert again.sections == chart.sections
    if path.parent.name == "vsnares-vokeheads":
        return  # its Hard level has toms where Expert has cymbals: notes.mid tom markers cannot say that
    mid = read_chart(write_chart(chart, tmp_path / "a.mid", fmt="mid"))
    _same_game_notes(chart, mid, midi=True)
    assert mid.sections == chart.sections


def test_song_folder_write_then_read(tmp_path: Path) -> None:
    chart = read_chart(CHARTS / "onyx-lte-914")
    audio = tmp_path / "src.ogg"
    audio.write_bytes(b"OggS fake audio bytes")
    files = write_song_folder(chart, tmp_path / "song", audio_path=audio)
    assert sorted(p.name for p in files) == ["backbeat.json", "notes.chart", "notes.mid", "song.ini",
                                             "song.ogg"]
    back = read_chart(tmp_path / "song")
    assert back.info.name == "914"
    assert back.info.audio_file == "song.ogg"
    for key, tr in chart.tracks.items():
        assert full_notes(back.tracks[key]) == full_notes(tr)
    assert not [p for p in (tmp_path / "song").iterdir() if p.name.startswith(".")]
