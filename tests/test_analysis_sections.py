"""Sections: novelty, boundaries on downbeats, labels, coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.analysis import sections as S
from backbeat.core.errors import InvalidArgumentError


def block_song(pattern: str, *, bar_s: float = 2.0, fps: int = 100, n_bands: int = 80,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Features whose spectrum changes per block; each letter is 8 bars of one timbre."""
    rng = np.random.default_rng(seed)
    timbres = {c: rng.random(n_bands) * 2 for c in sorted(set(pattern))}
    frames_per_bar = int(bar_s * fps)
    rows = []
    for c in pattern:
        for _ in range(8):
            noise = 0.1 * rng.random((frames_per_bar, n_bands))
            rows.append(np.tile(timbres[c], (frames_per_bar, 1)) + noise)
    feats = np.concatenate(rows).astype(np.float32)
    n_bars = 8 * len(pattern)
    beats = np.arange(n_bars * 4) * bar_s / 4
    positions = np.tile([1, 2, 3, 4], n_bars)
    return feats, beats, positions, n_bars * bar_s


def test_boundaries_at_block_changes_and_labels_repeat() -> None:
    feats, beats, pos, dur = block_song("ABAB")
    secs = S.find_sections(feats, beats, pos, duration_s=dur)
    starts = [s.start_s for s in secs]
    assert starts == pytest.approx([0.0, 16.0, 32.0, 48.0])
    labels = [s.label for s in secs]
    assert labels[0] == labels[2] and labels[1] == labels[3] and labels[0] != labels[1]
    assert set(labels) <= {"verse", "chorus"}


def test_intro_and_outro_labels() -> None:
    feats, beats, pos, dur = block_song("IABABO")
    labels = [s.label for s in S.find_sections(feats, beats, pos, duration_s=dur)]
    assert labels[0] == "intro" and labels[-1] == "outro"
    assert len(labels) == 6


def test_boundaries_fall_on_downbeats() -> None:
    feats, beats, pos, dur = block_song("ABCA", seed=3)
    downbeats = set(np.round(beats[pos == 1], 6))
    for s in S.find_sections(feats, beats, pos, duration_s=dur)[1:]:
        assert round(s.start_s, 6) in downbeats


def test_short_song_is_one_section() -> None:
    feats = np.zeros((300, 80), dtype=np.float32)
    secs = S.find_sections(feats, np.array([0.5, 1.0, 1.5]), np.array([1, 2, 3]), duration_s=3.0)
    assert [(s.start_s, s.end_s) for s in secs] == [(0.0, 3.0)]


def test_rejects_bad_duration() -> None:
    with pytest.raises(InvalidArgumentError):
        S.find_sections(np.zeros((10, 80)), np.zeros(0), np.zeros(0), duration_s=0.0)


@settings(max_examples=15, deadline=None)
@given(pattern=st.text(alphabet="ABCD", min_size=1, max_size=6), seed=st.integers(0, 100),
       extra_s=st.floats(min_value=0.0, max_value=5.0))
def test_sections_contiguous_and_cover_the_song(pattern: str, seed: int, extra_s: float) -> None:
    feats, beats, pos, dur = block_song(pattern, seed=seed, bar_s=1.0)
    secs = S.find_sections(feats, beats, pos, duration_s=dur + extra_s)
    assert secs[0].start_s == 0.0
    assert secs[-1].end_s == pytest.approx(dur + extra_s)
    for a, b in itertools.pairwise(secs):
        assert a.end_s == b.start_s and a.start_s < a.end_s
    assert all(s.label for s in secs)


def test_pick_boundaries_respects_min_distance() -> None:
    nov = np.zeros(40)
    nov[[8, 10, 20, 37]] = [1.0, 0.9, 0.8, 1.0]
    assert S.pick_boundaries(nov, min_bars=4) == [0, 8, 20]
