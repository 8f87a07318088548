"""Quantisation and feel detection: hits from an analysis onto a per-bar grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backbeat.charting.quantize import (
    Feel,
    chart_from_analysis,
    is_quantized,
    notes_from_positions,
    quantize_ticks,
    requantize_chart,
)
from backbeat.core.chart import MAIN_PART, Chart, Dynamic, Note, SongInfo, Track
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Instrument, Pad
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section
from backbeat.core.tempo import constant_tempo_map

RES = 192


def _beats(n: int, period_s: float = 0.5, start_s: float = 0.0) -> tuple[Beat, ...]:
    return tuple(Beat(start_s + i * period_s, i % 4 + 1) for i in range(n))


def test_straight_sixteenths_land_on_sixteenth_ticks() -> None:
    tm = constant_tempo_map(120, resolution=RES)
    jitter = np.random.default_rng(1).normal(0, 4, 64)
    ideal = np.arange(64) * (RES / 4)
    ticks, feels = quantize_ticks(ideal + jitter, tm)
    assert np.array_equal(ticks, ideal.astype(int))
    assert all(f.feel is Feel.STRAIGHT for f in feels)
    assert {f.subdivisions[0] for f in feels} == {4}


def test_swung_eighths_become_triplets_not_sixteenths() -> None:
    tm = constant_tempo_map(100, resolution=RES)
    pos = [b * RES + off for b in range(16) for off in (0, 2 * RES / 3)]
    rng = np.random.default_rng(2)
    ticks, feels = quantize_ticks(np.array(pos) + rng.normal(0, 3, len(pos)), tm)
    assert np.array_equal(ticks, np.round(pos).astype(int))
    assert all(f.feel is Feel.SWUNG for f in feels)


def test_straight_eighths_are_not_forced_onto_a_finer_grid() -> None:
    tm = constant_tempo_map(120, resolution=RES)
    pos = np.arange(32) * (RES / 2)
    _, feels = quantize_ticks(pos + 2.0, tm)
    assert {f.subdivisions[0] for f in feels} == {2}


def test_triplet_fill_in_a_straight_bar_is_mixed() -> None:
    tm = constant_tempo_map(90, resolution=RES)
    straight = [0, 48, 96, 144, 192, 240, 288, 336, 384, 432, 480, 528]
    triplets = [576, 640, 704]
    ticks, feels = quantize_ticks(np.array(straight + triplets, dtype=float) + 1.5, tm)
    assert ticks.tolist() == straight + triplets
    assert feels[0].feel is Feel.MIXED


def test_drag_is_kept_as_two_notes_not_merged() -> None:
    # Two snare strokes a 32nd apart at 80 BPM (94 ms) on a straight 16th groove.
    tm = constant_tempo_map(80, resolution=RES)
    hats = [i * 48 for i in range(16)]
    snares = [192.0, 216.0]
    x = np.array(hats + snares, dtype=float)
    keys = [2] * len(hats) + [1, 1]
    ticks, _ = quantize_ticks(x, tm, keys=keys)
    assert ticks[-2:].tolist() == [192, 216]


def test_quantize_rejects_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize_ticks([0.0, float("nan")], constant_tempo_map(120))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=20 * RES), min_size=1, max_size=60),
       st.sampled_from([60.0, 97.5, 140.0, 200.0]))
def test_quantised_hits_move_little(xs: list[float], bpm: float) -> None:
    tm = constant_tempo_map(bpm, resolution=RES)
    ticks, _ = quantize_ticks(xs, tm)
    # Never further than half of the coarsest grid cell the bar could use (one beat).
    assert np.all(np.abs(ticks - np.array(xs)) <= RES / 2 + 1)
    assert np.all(ticks >= 0)


def test_chart_from_analysis_keeps_dynamics_sections_and_marks_fills() -> None:
    beats = _beats(40)
    hits: list[DrumHit] = []
    for i, b in enumerate(beats[:-1]):
        bar, pos = divmod(i, 4)
        if bar == 3 and pos >= 2:  # a tom fill at the end of bar 4
            for k in range(4):
                hits.append(DrumHit(b.time_s + k * 0.125, Instrument.TOM, 100, "tom_mid"))
            continue
        hits.append(DrumHit(b.time_s, Instrument.HIHAT, 90, "hihat_closed"))
        hits.append(DrumHit(b.time_s + 0.25, Instrument.HIHAT, 90, "hihat_closed"))
        if pos in (0, 2):
            hits.append(DrumHit(b.time_s + 0.01, Instrument.KICK, 110, "kick"))
        else:
            hits.append(DrumHit(b.time_s, Instrument.SNARE, 120, "snare"))
            hits.append(DrumHit(b.time_s + 0.375, Instrument.SNARE, 30, "snare_ghost"))
    hits.append(DrumHit(8.0, Instrument.CYMBAL, 127, "crash"))
    sections = (Section(0.0, 8.0, "intro"), Section(8.0, 20.0, "verse"))
    analysis = Analysis(20.0, (), beats, tuple(hits), sections)
    chart = chart_from_analysis(analysis, info=SongInfo(name="t"), resolution=RES)
    expert = chart.track(Difficulty.EXPERT)
    assert [s.name for s in chart.sections] == ["intro", "verse"]
    verse_tick = chart.sections[1].tick
    assert chart.tempo_map.bar_ticks(verse_tick + 1)[-1] == verse_tick
    ghosts = [n for n in expert.notes if n.dynamic is Dynamic.GHOST]
    assert ghosts and all(n.pad is Pad.RED for n in ghosts)
    fills = [p for p in chart.phrases if p.kind == "fill"]
    assert len(fills) == 1 and fills[0].tick + fills[0].length_ticks == verse_tick
    assert chart.info.length_s == 20.0
    # times are consistent with the tempo map
    for n in expert.notes[:20]:
        assert n.time_s == pytest.approx(chart.tempo_map.tick_to_seconds(n.tick))


def test_hihat_and_high_tom_together_keep_both() -> None:
    notes = notes_from_positions([0, 0], [(Pad.YELLOW, True), (Pad.YELLOW, False)], [90, 100])
    assert {(n.pad, n.cymbal) for n in notes} == {(Pad.YELLOW, True), (Pad.BLUE, False)}


def test_never_more_than_two_hands() -> None:
    pads = [(Pad.RED, False), (Pad.YELLOW, True), (Pad.GREEN, True), (Pad.KICK, False)]
    notes = notes_from_positions([0] * 4, pads, [100, 40, 120, 100])
    assert {n.pad for n in notes} == {Pad.RED, Pad.GREEN, Pad.KICK}


def test_requantize_a_played_performance() -> None:
    tm = constant_tempo_map(120, resolution=480)
    rng = np.random.default_rng(3)
    notes = [Note(max(0, int(i * 240 + rng.integers(-20, 20))), Pad.YELLOW, True) for i in range(32)]
    chart = Chart(SongInfo(), tm, {(MAIN_PART, Difficulty.EXPERT): Track(Difficulty.EXPERT, tuple(notes))})
    assert not is_quantized(notes, tm)
    fixed = requantize_chart(chart)
    ticks = [n.tick for n in fixed.track(Difficulty.EXPERT).notes]
    assert ticks == [i * 240 for i in range(32)]
    assert is_quantized(fixed.track(Difficulty.EXPERT).notes, tm)


@st.composite
def analyses(draw: st.DrawFn) -> Analysis:
    """Random analyses: drifting beats in 3..7 beats per bar (or none), hits anywhere, sections."""
    n_beats = draw(st.integers(0, 40))
    period = draw(st.floats(0.25, 1.2))
    per_bar = draw(st.integers(2, 7))
    start = draw(st.floats(0.0, 2.0))
    drift = draw(st.floats(-0.004, 0.004))
    beats = []
    t = start
    for i in range(n_beats):
        beats.append(Beat(t, i % per_bar + 1))
        t += max(0.1, period + drift * i)
    duration = max(t, 1.0) + 1.0
    inst = st.sampled_from([(Instrument.KICK, "kick"), (Instrument.SNARE, "snare"),
                            (Instrument.SNARE, "snare_ghost"), (Instrument.HIHAT, "hihat_closed"),
                            (Instrument.HIHAT, "hihat_pedal"), (Instrument.TOM, "tom_high"),
                            (Instrument.TOM, "tom_floor"), (Instrument.CYMBAL, "crash"),
                            (Instrument.CYMBAL, "ride")])
    raw = draw(st.lists(st.tuples(st.floats(0.0, duration), inst, st.integers(1, 127)),
                        min_size=1, max_size=150))
    hits = tuple(sorted((DrumHit(ts, i, v, d) for ts, (i, d), v in raw), key=lambda h: h.time_s))
    cut = draw(st.floats(0.0, duration))
    sections = (Section(0.0, cut, "a"), Section(cut, duration, "b"))
    return Analysis(duration, (), tuple(beats), hits, sections)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(analyses())
def test_any_analysis_gives_a_playable_chart_at_every_level(analysis: Analysis) -> None:
    from backbeat.charting.levels import build_levels
    from backbeat.charting.rules import check_chart

    chart = chart_from_analysis(analysis, info=SongInfo())
    expert = chart.track(Difficulty.EXPERT)
    assert 0 < len(expert.notes) <= len(analysis.drums)
    # every hit is represented within 50 ms by a note unless it was merged into a stroke on its lane
    full = build_levels(chart)
    for key, violations in check_chart(full).items():
        assert violations == [], (key, violations[:3])
    counts = [len(full.track(d).notes) for d in Difficulty]
    assert counts == sorted(counts)
