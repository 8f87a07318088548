"""Files Backbeat writes open, with the same notes, in readers Backbeat did not write.

scan-chart (npm, the Clone Hero community's chart scanner) for .chart and notes.mid;
chartparse (PyPI) for .chart; mido and pretty_midi for MIDI; music21 for MusicXML.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backbeat.core.chart import Chart
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Pad
from backbeat.formats import read_chart, write_chart
from backbeat.formats.gm_midi import gm_key
from test_formats_support import (
    CHARTS,
    SCAN_DIFF,
    full_notes,
    golden_chart,
    node_available,
    scan_chart,
    scan_notes,
)

needs_node = pytest.mark.skipif(not node_available(),
                                reason="node or tests/js/node_modules/scan-chart missing "
                                       "(run npm ci in tests/js)")
needs_charts = pytest.mark.skipif(not CHARTS.is_dir(), reason=f"community charts not found at {CHARTS}")


def _sources() -> list[tuple[str, Chart]]:
    out = [("golden", golden_chart())]
    if CHARTS.is_dir():
        for rel in ("yargcore-feature-check-mid/test.mid", "onyx-lte-914/notes.mid",
                    "btbam-the-coma-machine/comamachinenotes.chart", "sch-drums-basic-mid/drums-basic.mid",
                    # cymbals but no toms: our notes.mid must still read as pro drums without song.ini
                    "sch-drums-basic-chart/drums-basic.chart"):
            out.append((rel, read_chart(CHARTS / rel)))
    return out


SOURCES = _sources()


def _ours(chart: Chart, diff: Difficulty, *, midi: bool) -> list[tuple[int, int, bool, str, bool]]:
    notes = full_notes(chart.track(diff))
    if midi and diff is not Difficulty.EXPERT:
        notes = [(*n[:4], False) for n in notes]  # notes.mid has double kick only on Expert
    if not midi:
        # .chart has no accent/ghost markers for kick
        notes = [(t, p, c, "normal" if p == 0 else d, k) for t, p, c, d, k in notes]
    return sorted(notes, key=lambda n: (n[0], n[1], n[2]))


@needs_node
@pytest.mark.parametrize("fmt", ["chart", "mid"])
@pytest.mark.parametrize(("name", "chart"), SOURCES, ids=[n for n, _ in SOURCES])
def test_scan_chart_reads_our_files(tmp_path: Path, fmt: str, name: str, chart: Chart) -> None:
    path = write_chart(chart, tmp_path / f"notes.{fmt}", fmt=fmt)
    scanned = scan_chart(path)
    assert scanned["resolution"] == chart.tempo_map.resolution
    game = {d for (p, d), t in chart.tracks.items() if p == "drums" and t.notes and d in SCAN_DIFF.values()}
    assert {SCAN_DIFF[k] for k in scanned["tracks"]} == game
    for key, tr in scanned["tracks"].items():
        diff = SCAN_DIFF[key]
        assert scan_notes(tr) == _ours(chart, diff, midi=fmt == "mid"), (name, fmt, key)
    # scan-chart's MIDI section pattern is greedy and keeps the closing bracket of "[section X]"
    assert [s[1].removesuffix("]") if fmt == "mid" else s[1] for s in scanned["sections"]] == \
        [s.name for s in chart.sections]
    assert [s[0] for s in scanned["sections"]] == [s.tick for s in chart.sections]
    bpms = [b for _, b in scanned["tempos"]]
    if fmt == "chart":
        assert bpms == pytest.approx([round(t.bpm * 1000) / 1000 for t in chart.tempo_map.tempos], abs=1e-9)
    else:
        assert bpms == pytest.approx([t.bpm for t in chart.tempo_map.tempos], rel=1e-5)
    assert [tuple(s) for s in scanned["time_signatures"]] == \
        [(s.tick, s.numerator, s.denominator) for s in chart.tempo_map.time_signatures]
    ex = scanned["tracks"].get("expert")
    if ex is not None:
        # notes.mid cannot hold a zero-length phrase: it becomes one tick long
        fills = sorted((p.tick, max(1, p.length_ticks) if fmt == "mid" else p.length_ticks)
                       for p in chart.phrases if p.kind == "fill")
        assert sorted(tuple(f) for f in ex["fills"]) == fills


@needs_node
@needs_charts
@pytest.mark.parametrize("rel", ["pony-canyon-boxxle/notes.chart", "pony-canyon-boxxle/boxxle.mid",
                                 "vsnares-vokeheads/notes.chart", "onyx-dt-erotomania/notes.mid",
                                 "onyx-vadrum-summer/notes.mid", "northlane-4d/notes.chart",
                                 "yargcore-feature-check-chart/test.chart",
                                 "yargcore-feature-check-mid/test.mid"])
def test_our_reader_agrees_with_scan_chart_on_real_charts(rel: str) -> None:
    chart = read_chart(CHARTS / rel)
    scanned = scan_chart(CHARTS / rel)
    assert {SCAN_DIFF[k] for k in scanned["tracks"]} == {d for (_, d), t in chart.tracks.items() if t.notes}
    for key, tr in scanned["tracks"].items():
        ours = sorted(full_notes(chart.track(SCAN_DIFF[key])), key=lambda n: (n[0], n[1], n[2]))
        assert scan_notes(tr, pro=scanned["drum_type"] == 1) == ours, key


def test_chartparse_reads_our_chart(tmp_path: Path) -> None:
    from chartparse.chart import Chart as CpChart
    from chartparse.instrument import Difficulty as CpDiff
    from chartparse.instrument import Instrument as CpInst

    chart = golden_chart()
    path = write_chart(chart, tmp_path / "notes.chart", fmt="chart")
    logging.disable(logging.WARNING)  # chartparse warns on pro-drum markers it does not know
    try:
        cp = CpChart.from_filepath(path)
    finally:
        logging.disable(logging.NOTSET)
    assert cp.metadata.resolution == 192
    assert [e.bpm for e in cp.sync_track.bpm_events] == [t.bpm for t in chart.tempo_map.tempos]
    assert [(e.tick, e.upper_numeral, e.lower_numeral) for e in cp.sync_track.time_signature_events] == \
        [(s.tick, s.numerator, s.denominator) for s in chart.tempo_map.time_signatures]
    assert [e.value for e in cp.global_events_track.section_events] == [s.name for s in chart.sections]
    drums = cp.instrument_tracks[CpInst.DRUMS]
    names = {Difficulty.EXPERT: CpDiff.EXPERT, Difficulty.HARD: CpDiff.HARD, Difficulty.MEDIUM: CpDiff.MEDIUM,
             Difficulty.EASY: CpDiff.EASY}
    for diff, cpdiff in names.items():
        ours = sorted({(n.tick, int(n.pad)) for n in chart.track(diff).notes if not n.double_kick})
        theirs = sorted((ev.tick, lane) for ev in drums[cpdiff].note_events
                        for lane, on in enumerate(ev.note.value) if on)
        assert theirs == ours, diff
        # timestamps agree with our tempo map
        ours_s = {n.tick: n.time_s for n in chart.track(diff).notes}
        for ev in drums[cpdiff].note_events:
            assert ev.timestamp.total_seconds() == pytest.approx(ours_s[ev.tick], abs=1e-5)


def test_mido_and_pretty_midi_read_our_notes_mid(tmp_path: Path) -> None:
    import mido

    chart = golden_chart()
    path = write_chart(chart, tmp_path / "notes.mid", fmt="mid")
    mf = mido.MidiFile(path)  # strict reader: our files have no out-of-range bytes
    names = [t.name for t in mf.tracks]
    assert names == ["Golden Groove", "PART DRUMS", "EVENTS"]
    drums = mf.tracks[1]
    ons = [m.note for m in drums if m.type == "note_on" and m.velocity > 0]
    for diff, base in ((Difficulty.EXPERT, 96), (Difficulty.HARD, 84), (Difficulty.MEDIUM, 72),
                       (Difficulty.EASY, 60)):
        want = len([n for n in chart.track(diff).notes if not (diff is Difficulty.EXPERT and n.double_kick)])
        assert sum(base <= k <= base + 4 for k in ons) == want
    assert ons.count(95) == sum(n.double_kick for n in chart.track(Difficulty.EXPERT).notes)
    tempos = [m.tempo for m in mf.tracks[0] if m.type == "set_tempo"]
    assert [mido.tempo2bpm(t) for t in tempos] == pytest.approx([120.5, 97.125, 140.0], rel=1e-5)
    texts = [m.text for m in mf.tracks[2] if m.type == "text"]
    assert texts == ["[section Intro]", "[section Odd Bar]", "[section Outro]"]


def test_pretty_midi_plays_our_gm_file_at_the_same_times(tmp_path: Path) -> None:
    import pretty_midi

    chart = golden_chart()
    path = write_chart(chart, tmp_path / "drums.mid", fmt="gm-mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and pm.instruments[0].is_drum
    theirs = sorted((round(n.start, 6), n.pitch, n.velocity) for n in pm.instruments[0].notes)
    ours = sorted((round(n.time_s, 6), gm_key(n), n.velocity) for n in chart.track(Difficulty.EXPERT).notes)
    assert len(theirs) == len(ours)
    for (ta, pa, va), (tb, pb, vb) in zip(theirs, ours):
        assert (pa, va) == (pb, vb)
        assert ta == pytest.approx(tb, abs=1e-4)
    sigs = [(t.numerator, t.denominator) for t in pm.time_signature_changes]
    assert sigs == [(4, 4), (7, 8), (4, 4)]


def test_music21_reads_our_musicxml_with_the_same_notes(tmp_path: Path) -> None:
    import music21

    chart = golden_chart()
    path = write_chart(chart, tmp_path / "drums.musicxml", fmt="musicxml")
    score = music21.converter.parse(str(path))
    parts = score.parts
    assert len(parts) == 1
    found = []
    for el in parts[0].recurse().notes:
        offset_q = float(el.getOffsetInHierarchy(parts[0]))
        members = el.notes if isinstance(el, music21.percussion.PercussionChord) else [el]
        for m in members:
            found.append((round(offset_q, 4), m.displayStep + str(m.displayOctave), m.notehead))
    # ours, quantised to sixteenths (the default grid), in quarter notes
    pos = {(Pad.KICK, False, False): "F4", (Pad.KICK, False, True): "E4", (Pad.RED, False, False): "C5",
           (Pad.YELLOW, False, False): "E5", (Pad.BLUE, False, False): "D5", (Pad.GREEN, False, False): "A4",
           (Pad.YELLOW, True, False): "G5", (Pad.BLUE, True, False): "F5", (Pad.GREEN, True, False): "A5"}
    want = sorted((round(round(n.tick / 48) / 4, 4), pos[(n.pad, n.cymbal, n.double_kick)],
                   "x" if n.cymbal else "normal") for n in chart.track(Difficulty.EXPERT).notes)
    assert sorted(found) == want
    meters = [ts.ratioString for ts in parts[0].recurse().getElementsByClass(music21.meter.TimeSignature)]
    assert meters == ["4/4", "7/8", "4/4"]
