"""Calibration math: nearest-click pairing, MAD outlier rejection, median offset."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.core.errors import InvalidArgumentError
from backbeat.engine import calibrate_taps, robust_offset_ms


def test_constant_latency_is_recovered_despite_outliers() -> None:
    rng = random.Random(0)
    clicks = [0.5 * i for i in range(1, 33)]
    taps = [c + 0.042 + rng.gauss(0, 0.006) for c in clicks]
    taps[3] += 0.15  # a distracted tap
    taps[10] -= 0.12
    taps.append(7.77)  # a stray tap between clicks
    res = calibrate_taps(taps, clicks)
    assert res.offset_ms == pytest.approx(42.0, abs=3.0)
    assert res.n_taps == 33
    assert res.n_dropped >= 2
    assert res.spread_ms == pytest.approx(6.0, abs=3.0)


def test_negative_offset() -> None:
    clicks = [float(i) for i in range(1, 11)]
    res = calibrate_taps([c - 0.020 for c in clicks], clicks)
    assert res.offset_ms == pytest.approx(-20.0)
    assert res.n_dropped == 0


def test_too_few_taps() -> None:
    with pytest.raises(InvalidArgumentError, match="at least 4 taps"):
        calibrate_taps([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgumentError, match="click times"):
        calibrate_taps([1.0, 2.0], [])


@settings(max_examples=50, deadline=None)
@given(offsets=st.lists(st.floats(-200, 200), min_size=4, max_size=60),
       outliers=st.lists(st.floats(-3000, 3000), max_size=3))
def test_median_is_robust_to_a_few_outliers(offsets: list[float], outliers: list[float]) -> None:
    clean = robust_offset_ms(offsets)
    assert min(offsets) <= clean.offset_ms <= max(offsets)
    both = robust_offset_ms(offsets + outliers)
    assert both.n_used + both.n_dropped == len(offsets) + len(outliers)
    assert min(offsets + outliers) <= both.offset_ms <= max(offsets + outliers)


def test_identical_taps_are_all_kept() -> None:
    res = robust_offset_ms([30.0] * 8 + [31.0])
    assert res.n_dropped == 0 and res.offset_ms == 30.0
