"""Tempo map conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.tempo import TempoChange, TempoMap, TimeSignature, tempo_map_from_beats


def test_constant_tempo_tick_seconds() -> None:
    tm = TempoMap(192, (TempoChange(0, 120.0),))
    assert tm.tick_to_seconds(192) == pytest.approx(0.5)
    assert tm.seconds_to_tick(1.0) == pytest.approx(384)


def test_tempo_change() -> None:
    tm = TempoMap(480, (TempoChange(0, 120.0), TempoChange(960, 60.0)))
    assert tm.tick_to_seconds(960) == pytest.approx(1.0)
    assert tm.tick_to_seconds(1440) == pytest.approx(2.0)
    assert tm.seconds_to_tick(2.0) == pytest.approx(1440)


def test_rejects_bad_maps() -> None:
    with pytest.raises(InvalidArgumentError):
        TempoMap(0, (TempoChange(0, 120.0),))
    with pytest.raises(InvalidArgumentError):
        TempoMap(192, (TempoChange(10, 120.0),))
    with pytest.raises(InvalidArgumentError):
        TempoMap(192, (TempoChange(0, 10000.0),))


def test_beat_ticks_positions() -> None:
    tm = TempoMap(192, (TempoChange(0, 100.0),), (TimeSignature(0, 3, 4), TimeSignature(576, 4, 4)))
    beats = tm.beat_ticks(192 * 7)
    assert [p for _, p in beats] == [1, 2, 3, 1, 2, 3, 4, 1]


@given(st.lists(st.floats(0.25, 1.5), min_size=2, max_size=40), st.floats(0.0, 3.0))
def test_from_beats_hits_every_beat(periods: list[float], start: float) -> None:
    times = np.cumsum([start, *periods])
    positions = [(i % 4) + 1 for i in range(len(times))]
    tm = tempo_map_from_beats(times, positions, resolution=192)
    if times[0] % periods[0] < 0.07:  # a very short lead-in is merged: first beat moves to 0 s
        times = times[1:]
        positions = positions[1:]
    ticks = tm.seconds_to_ticks(times)
    # every beat lands on a whole beat of the grid
    assert np.allclose(ticks / 192, np.round(ticks / 192), atol=1e-6)
    assert np.allclose(tm.ticks_to_seconds(ticks), times, atol=1e-9)
    assert all(t.bpm <= 1000.0 for t in tm.tempos)
    downs = [t for t, p in tm.beat_ticks(round(ticks[-1])) if p == 1]
    for t, p in zip(ticks, positions):
        if p == 1:
            assert round(t) in downs


@given(st.floats(60.0, 200.0), st.integers(8, 200), st.floats(0.0, 2.0), st.integers(0, 2**31))
def test_steady_beats_give_one_tempo_within_tolerance(bpm: float, n: int, start: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = start + np.arange(n) * 60.0 / bpm + rng.uniform(-0.002, 0.002, n)
    positions = [(i % 4) + 1 for i in range(n)]
    tm = tempo_map_from_beats(times, positions, tolerance_s=0.006)
    ticks = tm.seconds_to_ticks(times[1:])
    assert np.max(np.abs(tm.ticks_to_seconds(np.round(ticks / 192) * 192) - times[1:])) <= 0.006 + 1e-9
    # the beats after the lead-in are covered by very few tempo events
    assert len(tm.tempos) <= 4


def test_tolerance_still_follows_a_tempo_change() -> None:
    times = np.concatenate([np.arange(16) * 0.5, 7.5 + np.arange(1, 17) * 0.4])
    tm = tempo_map_from_beats(times, [(i % 4) + 1 for i in range(len(times))], tolerance_s=0.005)
    assert {round(t.bpm, 3) for t in tm.tempos} == {120.0, 150.0}
