"""General MIDI drum files: the Groove MIDI Dataset imports with its own tempo map and velocities."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import GM_DETAIL_BY_NOTE, instrument_to_pad
from backbeat.formats import read_chart, write_chart
from test_formats_support import DATA, golden_chart

GROOVE = DATA / "groove-midi"
FILES = sorted(GROOVE.glob("drummer*/session*/*.mid"))[::97][:8] if GROOVE.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"Groove MIDI Dataset not found at {GROOVE}")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_groove_file_imports_like_pretty_midi_plays_it(path: Path) -> None:
    import pretty_midi

    chart = read_chart(path)
    assert list(chart.tracks) == [("drums", Difficulty.EXPERT)]
    notes = chart.track(Difficulty.EXPERT).notes
    m = re.search(r"_(\d+)_(beat|fill)_(\d+)-(\d+)", path.name)
    assert m is not None
    assert chart.tempo_map.tempos[0].bpm == pytest.approx(float(m.group(1)), abs=0.01)
    first = chart.tempo_map.time_signatures[0]
    assert (first.numerator, first.denominator) == (int(m.group(3)), int(m.group(4)))
    # Reference: every note-on in the file (mido), timed by pretty_midi's tempo map. (pretty_midi's own
    # note list drops hits whose note-off falls on the note-on tick, which for drums are real hits.)
    import mido

    pm = pretty_midi.PrettyMIDI(str(path))
    theirs: dict[tuple[int, int, bool], tuple[float, int]] = {}
    for track in mido.MidiFile(path, clip=True).tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type != "note_on" or msg.velocity == 0 or msg.note not in GM_DETAIL_BY_NOTE:
                continue
            pad, cym = instrument_to_pad(*GM_DETAIL_BY_NOTE[msg.note])
            key = (tick, int(pad), cym)
            old = theirs.get(key, (0.0, 0))
            theirs[key] = (pm.tick_to_time(tick), max(old[1], msg.velocity))
    ours = {(n.tick, int(n.pad), n.cymbal): (n.time_s, n.velocity) for n in notes}
    assert sorted(ours) == sorted(theirs)
    for key, (time_s, vel) in ours.items():
        assert vel == theirs[key][1]
        assert time_s == pytest.approx(theirs[key][0], abs=1e-6)


def test_gm_writer_round_trips_the_golden_chart(tmp_path: Path) -> None:
    chart = golden_chart()
    back = read_chart(write_chart(chart, tmp_path / "g.mid", fmt="gm-mid"))
    want = chart.track(Difficulty.EXPERT).notes
    got = back.track(Difficulty.EXPERT).notes
    assert [(n.tick, n.pad, n.cymbal, n.velocity, n.double_kick) for n in got] == \
        [(n.tick, n.pad, n.cymbal, n.velocity, n.double_kick) for n in want]
    assert back.tempo_map.time_signatures == chart.tempo_map.time_signatures
