"""Property tests: the engine's result depends only on the chart, the settings and the hits."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backbeat.core.chart import Note
from backbeat.core.judgment import HitWindows, Judgment
from backbeat.core.kit import CYMBAL_PADS, Pad
from backbeat.engine import (
    InputHit,
    PlayerEngine,
    PlayerResult,
    Replay,
    bot_inputs,
    human_bot,
    perfect_bot,
    simulate,
)

TICKS_PER_S = 480


@st.composite
def charts(draw: st.DrawFn, max_notes: int = 40, span_s: int = 20) -> list[Note]:
    """Random notes on a 1/480 s grid (chords allowed, one note per pad per tick)."""
    n = draw(st.integers(0, max_notes))
    ticks = draw(st.lists(st.integers(0, span_s * TICKS_PER_S), min_size=n, max_size=n))
    seen: set[tuple[int, Pad]] = set()
    notes = []
    for tick in ticks:
        pad = Pad(draw(st.integers(0, 4)))
        if (tick, pad) in seen:
            continue
        seen.add((tick, pad))
        cym = pad in CYMBAL_PADS and draw(st.booleans())
        notes.append(Note(tick=tick, pad=pad, cymbal=cym, time_s=tick / TICKS_PER_S))
    return notes


modes = st.sampled_from(["pads", "any_pad"])
rates = st.sampled_from([0.5, 0.75, 1.0])


def run(notes: list[Note], hits: list[InputHit], *, cadence_s: float | None = None,
        **kw: object) -> tuple[PlayerResult, list[str]]:
    eng = PlayerEngine(notes, **kw)  # type: ignore[arg-type]
    events = []
    if cadence_s is None:
        for h in hits:
            eng.queue_input(h)
    else:
        # Live play: each hit is queued when the clock reaches it, updates every cadence_s.
        pending = sorted(hits, key=lambda h: h.time_s)
        now = -1.0
        i = 0
        end = max([h.time_s for h in hits] + [n.time_s for n in notes] + [0.0]) + 1.0
        while now < end:
            while i < len(pending) and pending[i].time_s <= now:
                eng.queue_input(pending[i])
                i += 1
            events += eng.update(now)
            now += cadence_s
        for h in pending[i:]:
            eng.queue_input(h)
    events += eng.finish()
    return eng.result(), [f"{e.judgment}:{e.note_index}:{e.time_s:.9f}" for e in events]


@settings(max_examples=60, deadline=None)
@given(notes=charts(), mode=modes, rate=rates)
def test_perfect_bot_scores_full_accuracy(notes: list[Note], mode: str, rate: float) -> None:
    r, _ = run(notes, perfect_bot(notes), mode=mode, playback_rate=rate)
    assert r.accuracy == 1.0
    assert r.counts["miss"] == 0
    assert r.counts["perfect"] == r.notes_total
    if mode == "pads":
        assert r.counts["overhit"] == 0
        assert r.max_combo == len(notes)


@settings(max_examples=60, deadline=None)
@given(notes=charts(), seed=st.integers(0, 10_000), mode=modes, rate=rates, data=st.data())
def test_any_queue_order_gives_the_same_result(notes: list[Note], seed: int, mode: str, rate: float,
                                               data: st.DataObject) -> None:
    hits = bot_inputs(notes, jitter_ms=40.0, miss_rate=0.2, extra_rate=0.2, seed=seed, playback_rate=rate)
    shuffled = data.draw(st.permutations(hits))
    a, ev_a = run(notes, hits, mode=mode, playback_rate=rate)
    b, ev_b = run(notes, list(shuffled), mode=mode, playback_rate=rate)
    assert a == b
    assert ev_a == ev_b


@settings(max_examples=25, deadline=None)
@given(notes=charts(max_notes=25, span_s=4), seed=st.integers(0, 10_000), mode=modes, rate=rates)
def test_update_cadence_does_not_change_the_result(notes: list[Note], seed: int, mode: str,
                                                   rate: float) -> None:
    hits = bot_inputs(notes, jitter_ms=35.0, miss_rate=0.1, extra_rate=0.1, seed=seed, playback_rate=rate)
    once, ev_once = run(notes, hits, mode=mode, playback_rate=rate)
    for cadence in (0.001, 0.016, 0.2):
        live, ev_live = run(notes, hits, cadence_s=cadence, mode=mode, playback_rate=rate)
        assert live == once
        assert ev_live == ev_once


@settings(max_examples=40, deadline=None)
@given(notes=charts(), seed=st.integers(0, 10_000), mode=modes, rate=rates,
       latency_ms=st.integers(0, 150))
def test_late_arriving_hits_within_tolerance_are_judged_as_on_time(
        notes: list[Note], seed: int, mode: str, rate: float, latency_ms: int) -> None:
    hits = bot_inputs(notes, jitter_ms=30.0, miss_rate=0.1, extra_rate=0.1, seed=seed, playback_rate=rate)
    on_time, _ = run(notes, hits, mode=mode, playback_rate=rate)
    # Every hit reaches the engine latency_ms (<= tolerance) after it happened; update every 10 ms.
    eng = PlayerEngine(notes, mode=mode, playback_rate=rate, max_input_latency_s=0.15)  # type: ignore[arg-type]
    rng = random.Random(seed)
    arrivals = sorted(((h.time_s + rng.uniform(0, latency_ms) / 1000, k) for k, h in enumerate(hits)))
    now, i = -1.0, 0
    while i < len(arrivals):
        while i < len(arrivals) and arrivals[i][0] <= now:
            assert eng.queue_input(hits[arrivals[i][1]])
            i += 1
        eng.update(now)
        now += 0.01
    eng.finish()
    assert eng.result() == on_time


@settings(max_examples=40, deadline=None)
@given(notes=charts(), seed=st.integers(0, 10_000), mode=modes, rate=rates,
       cal=st.floats(-40, 40), strict=st.booleans())
def test_replay_rescores_identically(notes: list[Note], seed: int, mode: str, rate: float, cal: float,
                                     strict: bool) -> None:
    hits = human_bot(notes, seed=seed, skill=0.5, playback_rate=rate)
    eng = PlayerEngine(notes, mode=mode, playback_rate=rate, calibration_offset_ms=cal,  # type: ignore[arg-type]
                       strict_cymbals=strict)
    for h in hits:
        eng.queue_input(h)
        eng.update(h.time_s)  # live-ish
    eng.finish()
    live = eng.result()
    replay = Replay.from_json(Replay.from_engine(eng, chart_id="c1").to_json())
    assert simulate(replay, notes) == live
    assert simulate(replay, list(reversed(notes))) == live
    assert PlayerResult.from_dict(live.to_dict()) == live


@settings(max_examples=30, deadline=None)
@given(notes=charts(), seed=st.integers(0, 1000), jitter=st.floats(0, 20))
def test_small_jitter_hits_every_note_in_pads_mode(notes: list[Note], seed: int, jitter: float) -> None:
    # With jitter <= 20 ms and notes of a pad at least 2*90 ms apart, every note is hit.
    spaced: list[Note] = []
    last: dict[Pad, float] = {}
    for n in sorted(notes, key=lambda n: n.time_s):
        if n.time_s - last.get(n.pad, -10.0) >= 0.25:
            spaced.append(n)
            last[n.pad] = n.time_s
    hits = [h for h in bot_inputs(spaced, jitter_ms=jitter, seed=seed)
            if abs(h.time_s - min(spaced, key=lambda n: abs(n.time_s - h.time_s)).time_s) <= 0.085]
    r, _ = run(spaced, hits)
    assert r.counts["miss"] == len(spaced) - len(hits)
    assert r.counts["overhit"] == 0


@settings(max_examples=200, deadline=None)
@given(offset_ms=st.floats(-150.0, 150.0), rate=rates, note_s=st.floats(0.5, 600.0),
       perfect=st.floats(5.0, 40.0), extra=st.floats(0.0, 60.0))
def test_judgment_depends_only_on_real_ms_offset(offset_ms: float, rate: float, note_s: float,
                                                 perfect: float, extra: float) -> None:
    windows = HitWindows(perfect_ms=perfect, great_ms=perfect + extra / 2, good_ms=perfect + extra)
    edges = (windows.perfect_ms, windows.great_ms, windows.good_ms)
    assume(all(abs(abs(offset_ms) - e) > 1e-6 for e in edges))  # float noise at an edge may go either way
    notes = [Note(tick=0, pad=Pad.KICK, time_s=0.0), Note(tick=1, pad=Pad.RED, time_s=note_s),
             Note(tick=2, pad=Pad.KICK, time_s=note_s + 10.0)]
    eng = PlayerEngine(notes, windows=windows, playback_rate=rate)
    eng.queue_input(InputHit(0.0, Pad.KICK))
    eng.queue_input(InputHit(note_s + offset_ms / 1000.0 * rate, Pad.RED))
    events = eng.finish()
    red = [e for e in events if e.pad is Pad.RED]
    expected = windows.judge(offset_ms)
    if expected is None:
        assert [e.judgment for e in red] == [Judgment.OVERHIT, Judgment.MISS] or \
            [e.judgment for e in red] == [Judgment.MISS, Judgment.OVERHIT]
    else:
        assert [e.judgment for e in red] == [expected]
        assert red[0].offset_ms == pytest.approx(offset_ms, abs=1e-6)
