"""Sections: novelty, boundaries on downbeats, phrase lengths, repeated parts, labels, coverage."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.analysis import sections as S
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.song_analysis import Section


def in_vocabulary(label: str) -> bool:
    """Every label the section finder may give: the named ones, interlude 2, 3..., A, C ... Z, Z2, Z3..."""
    return (label in S.LABELS or label == "A" or (len(label) == 1 and "C" <= label <= "Z")
            or (label.startswith("Z") and label[1:].isdigit())
            or (label.startswith("interlude ") and label[10:].isdigit()))


def block_song(pattern: str, *, bar_s: float = 2.0, fps: int = 100, n_bands: int = 80, seed: int = 0,
               bars_per_block: int = 8,
               beats_per_bar: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Features whose spectrum changes per block; each letter is ``bars_per_block`` bars of one timbre."""
    rng = np.random.default_rng(seed)
    timbres = {c: rng.random(n_bands) * 2 for c in sorted(set(pattern))}
    frames_per_bar = int(bar_s * fps)
    rows = []
    for c in pattern:
        for _ in range(bars_per_block):
            noise = 0.1 * rng.random((frames_per_bar, n_bands))
            rows.append(np.tile(timbres[c], (frames_per_bar, 1)) + noise)
    feats = np.concatenate(rows).astype(np.float32)
    n_bars = bars_per_block * len(pattern)
    beats = np.arange(n_bars * beats_per_bar) * bar_s / beats_per_bar
    positions = np.tile(np.arange(1, beats_per_bar + 1), n_bars)
    return feats, beats, positions, n_bars * bar_s


def drum_song(pattern: str, *, bar_s: float = 2.0, fps: int = 100, seed: int = 0
              ) -> tuple[np.ndarray, SimpleNamespace, np.ndarray, np.ndarray, float]:
    """Drum-only stand-in: one noise spectrum throughout, a drum pattern per letter (8 bars each)."""
    rng = np.random.default_rng(seed)
    steps = 16
    patterns = {c: rng.random((5, steps)) < 0.35 for c in sorted(set(pattern))}
    frames_per_bar = int(bar_s * fps)
    n_bars = 8 * len(pattern)
    n = n_bars * frames_per_bar
    acts = np.zeros((5, n), dtype=np.float32)
    for b, c in enumerate(np.repeat(list(pattern), 8)):
        for k in range(5):
            for j in np.flatnonzero(patterns[c][k]):
                acts[k, b * frames_per_bar + j * frames_per_bar // steps] = 0.9
    feats = (0.5 + 0.05 * rng.random((n, 80))).astype(np.float32)
    ns = SimpleNamespace(**{name: acts[k] for k, name in enumerate(S.DRUM_FIELDS)})
    beats = np.arange(n_bars * 4) * bar_s / 4
    return feats, ns, beats, np.tile([1, 2, 3, 4], n_bars), n_bars * bar_s


def check_cover(secs: list[Section], duration_s: float) -> None:
    assert secs[0].start_s == 0.0
    assert secs[-1].end_s == pytest.approx(duration_s)
    for a, b in itertools.pairwise(secs):
        assert a.end_s == b.start_s and a.start_s < a.end_s
    assert all(in_vocabulary(s.label) for s in secs)


def test_boundaries_at_block_changes_and_labels_repeat() -> None:
    feats, beats, pos, dur = block_song("ABAB")
    secs = S.find_sections(feats, beats, pos, duration_s=dur)
    assert [s.start_s for s in secs] == pytest.approx([0.0, 16.0, 32.0, 48.0])
    labels = [s.label for s in secs]
    assert labels == ["verse", "chorus", "verse", "chorus"]


def test_pop_form_gets_pop_names() -> None:
    feats, beats, pos, dur = block_song("IVCVCBCO", seed=4)
    secs = S.find_sections(feats, beats, pos, duration_s=dur)
    labels = [s.label for s in secs]
    assert len(labels) == 8
    assert labels[0] == "intro" and labels[-1] == "outro"
    assert labels[1] == labels[3] and labels[2] == labels[4] == labels[6]
    assert labels[5] == "bridge"
    assert {labels[1], labels[2]} == {"verse", "chorus"}


def test_repeated_drum_groove_gets_one_label_on_drums_alone() -> None:
    feats, acts, beats, pos, dur = drum_song("ABAB", seed=2)
    secs = S.find_sections(feats, beats, pos, duration_s=dur, activations=acts)
    assert [s.start_s for s in secs] == pytest.approx([0.0, 16.0, 32.0, 48.0])
    labels = [s.label for s in secs]
    assert labels[0] == labels[2] and labels[1] == labels[3] and labels[0] != labels[1]


def test_boundaries_fall_on_downbeats_in_three_four() -> None:
    feats, beats, pos, dur = block_song("ABCA", seed=3, beats_per_bar=3)
    downbeats = set(np.round(beats[pos == 1], 6))
    secs = S.find_sections(feats, beats, pos, duration_s=dur)
    assert len(secs) == 4
    for s in secs[1:]:
        assert round(s.start_s, 6) in downbeats


def test_quiet_tail_belongs_to_the_last_section() -> None:
    feats, beats, pos, dur = block_song("ABAB")
    tail = np.zeros((400, feats.shape[1]), dtype=np.float32)  # two silent bars (a ring-out) after the song
    beats = np.append(beats, dur + np.arange(8) * 0.5)
    pos = np.append(pos, [1, 2, 3, 4, 1, 2, 3, 4])
    secs = S.find_sections(np.concatenate([feats, tail]), beats, pos, duration_s=dur + 4.0)
    assert [s.start_s for s in secs] == pytest.approx([0.0, 16.0, 32.0, 48.0])


def test_long_quiet_ending_stays_a_section() -> None:
    feats, beats, pos, dur = block_song("ABAB")
    quiet = np.full((1600, feats.shape[1]), 0.01, dtype=np.float32)  # eight quiet bars: an outro
    beats = np.append(beats, dur + np.arange(32) * 0.5)
    pos = np.append(pos, np.tile([1, 2, 3, 4], 8))
    secs = S.find_sections(np.concatenate([feats, quiet]), beats, pos, duration_s=dur + 16.0)
    assert [s.start_s for s in secs] == pytest.approx([0.0, 16.0, 32.0, 48.0, 64.0])
    assert secs[-1].label == "outro"


@pytest.mark.parametrize("duration_s", [1.0, 3.0, 12.0])
def test_short_and_silent_clips_are_one_section(duration_s: float) -> None:
    n = int(duration_s * 100)
    beats = np.arange(0.25, duration_s, 0.5)
    pos = np.arange(beats.size) % 4 + 1
    for feats in (np.zeros((n, 80), dtype=np.float32), np.full((n, 80), 0.3, dtype=np.float32)):
        secs = S.find_sections(feats, beats, pos, duration_s=duration_s)
        assert [(s.start_s, s.end_s, s.label) for s in secs] == [(0.0, duration_s, "A")]
    assert S.find_sections(np.zeros((n, 80)), np.zeros(0), np.zeros(0), duration_s=duration_s)[0].label == "A"


def test_silent_long_song_does_not_fail() -> None:
    beats = np.arange(0.0, 120.0, 0.5)
    secs = S.find_sections(np.zeros((12000, 80), dtype=np.float32), beats, np.arange(beats.size) % 4 + 1,
                           duration_s=120.0)
    check_cover(secs, 120.0)


def test_rejects_bad_input() -> None:
    with pytest.raises(InvalidArgumentError):
        S.find_sections(np.zeros((10, 80)), np.zeros(0), np.zeros(0), duration_s=0.0)
    with pytest.raises(InvalidArgumentError):
        S.bar_features(np.zeros(10), np.array([0.0]))


@settings(max_examples=20, deadline=None)
@given(pattern=st.text(alphabet="ABCD", min_size=1, max_size=6), seed=st.integers(0, 100),
       extra_s=st.floats(min_value=0.0, max_value=5.0), meter=st.sampled_from([3, 4]),
       with_drums=st.booleans())
def test_sections_cover_the_song_on_downbeats(pattern: str, seed: int, extra_s: float, meter: int,
                                              with_drums: bool) -> None:
    feats, beats, pos, dur = block_song(pattern, seed=seed, bar_s=1.0, bars_per_block=4, beats_per_bar=meter)
    acts = None
    if with_drums:
        rng = np.random.default_rng(seed)
        acts = SimpleNamespace(**{k: rng.random(feats.shape[0]).astype(np.float32) for k in S.DRUM_FIELDS})
    secs = S.find_sections(feats, beats, pos, duration_s=dur + extra_s, activations=acts)
    check_cover(secs, dur + extra_s)
    downbeats = beats[pos == 1]
    for s in secs[1:]:
        assert np.min(np.abs(downbeats - s.start_s)) < 1e-9
    if len(secs) > 1:
        assert all(s.end_s - s.start_s >= 2 * 1.0 - 1e-9 for s in secs), "no slivers shorter than two bars"


def test_segment_bars_min_lengths_and_phrases() -> None:
    score = np.zeros(40)
    score[[8, 10, 20, 37]] = [1.0, 0.9, 0.8, 1.0]
    assert S.segment_bars(score, min_bars=4, edge_min_bars=2, phrase_penalty=0.0) == [0, 8, 20, 37]
    assert S.segment_bars(score, min_bars=4, edge_min_bars=4, phrase_penalty=0.0) == [0, 8, 20]
    # an off-phrase peak loses to a slightly lower one a whole phrase from the last boundary
    score = np.zeros(32)
    score[[8, 17]] = [1.0, 1.0]
    score[16] = 0.9
    assert S.segment_bars(score, min_bars=4, phrase_penalty=0.5, boundary_cost=0.3) == [0, 8, 16]
    assert S.segment_bars(np.zeros(0)) == [0]
    assert S.segment_bars(np.ones(3), min_bars=4) == [0]


def test_novelty_peaks_at_a_change() -> None:
    ssm = np.ones((16, 16))
    ssm[:8, 8:] = ssm[8:, :8] = -1.0
    nov = S.novelty_curve(ssm, kernel_bars=8)
    assert int(np.argmax(nov)) == 8 and nov[0] == 0.0


def test_group_segments_and_segment_similarity() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8), rng.normal(size=8)
    bars = np.array([a] * 4 + [b] * 4 + [a] * 4 + [b] * 2)
    u = bars / np.linalg.norm(bars, axis=1, keepdims=True)
    sim = S.segment_similarity(u @ u.T, [0, 4, 8, 12], [4, 8, 12, 14])
    assert np.allclose(np.diag(sim), 1.0) and np.allclose(sim, sim.T)
    assert S.group_segments(sim, threshold=0.5) == [0, 1, 0, 1]


@pytest.mark.parametrize(("groups", "energy", "lengths", "expected"), [
    ([0, 1, 0, 1], [0.0, 1.0, 0.0, 1.0], [8, 8, 8, 8], ["verse", "chorus", "verse", "chorus"]),
    ([0, 1, 2, 1, 2, 3, 2, 4], [-1, 0, 1, 0, 1, 0, 1, -1], [4, 8, 8, 8, 8, 8, 8, 4],
     ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"]),
    ([0, 1, 2, 3, 1, 2, 3, 4], [-1, 0, 0.5, 1, 0, 0.5, 1, -1], [4, 8, 4, 8, 8, 4, 8, 4],
     ["intro", "verse", "pre-chorus", "chorus", "verse", "pre-chorus", "chorus", "outro"]),
    ([0, 1, 2, 3, 4, 3, 5], [-1, 0, 0.3, 1, 0, 1, -1], [2, 16, 4, 8, 8, 8, 2],
     ["intro", "verse", "pre-chorus", "chorus", "bridge", "chorus", "outro"]),
    ([0, 1, 2, 3, 4, 3, 2], [-1, 0, 0.3, 1, 0, 1, 0.3], [2, 16, 4, 8, 8, 8, 2],
     ["intro", "verse", "pre-chorus", "chorus", "bridge", "chorus", "pre-chorus"]),
    ([0, 1, 2, 1, 2, 3, 2], [-1, 0, 1, 0, 1, 0, 1], [4, 8, 8, 8, 8, 8, 16],
     ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus"]),
    ([0, 1, 2, 3, 1, 2, 4, 2, 5], [-1, 0, 1, 0, 0, 1, 0.5, 1, -1], [4, 8, 8, 8, 8, 8, 8, 8, 4],
     ["intro", "verse", "chorus", "bridge", "verse", "chorus", "interlude", "chorus", "outro"]),
    ([0, 1, 2], [0.0, 1.0, 0.0], [4, 8, 4], ["intro", "chorus", "outro"]),
    ([0], [0.0], [8], ["A"]),
    ([], [], [], []),
])
def test_name_groups(groups: list[int], energy: list[float], lengths: list[int], expected: list[str]) -> None:
    assert S.name_groups(groups, energy=energy, lengths=lengths) == expected


def test_many_parts_get_distinct_names() -> None:
    n = 40
    labels = S.name_groups(list(range(n)), energy=list(np.linspace(0, 1, n)), lengths=[4] * n)
    assert len(set(labels)) == n and labels[0] == "intro" and labels[-1] == "outro"
    labels = S.name_groups([0, *range(1, 35), 0, *range(1, 35)], energy=[0.0] * 70, lengths=[4] * 70)
    assert len(set(labels)) == 35 and labels[:35] == labels[35:]


def test_long_noisy_song_is_cut_into_many_whole_sections() -> None:
    rng = np.random.default_rng(1)
    n_bars, bar_s = 400, 1.0
    feats = rng.random((int(n_bars * bar_s * 100), 80)).astype(np.float32)
    beats = np.arange(n_bars * 4) * bar_s / 4
    secs = S.find_sections(feats, beats, np.tile([1, 2, 3, 4], n_bars), duration_s=n_bars * bar_s)
    check_cover(secs, n_bars * bar_s)
    assert all(s.end_s - s.start_s >= 2 * bar_s - 1e-9 for s in secs)


def test_chroma_matrix_folds_the_analysis_bands() -> None:
    from backbeat.analysis.features import N_BANDS

    m = S.chroma_matrix(N_BANDS)
    assert m is not None and m.shape == (N_BANDS, 12)
    assert (m.sum(axis=1) > 0).sum() > 30
    assert S.chroma_matrix(N_BANDS + 1) is None


def test_demo_song_sections_floor() -> None:
    """On the packaged demo: boundary F (±3 s) at least 0.8, both choruses labelled alike."""
    from backbeat.analysis.pipeline import Analyzer
    from backbeat.services.demo import demo_files, load_truth, score_analysis

    truth = load_truth()
    with demo_files() as files:
        est = Analyzer().analyze(files.audio)
    check_cover(list(est.sections), est.duration_s)
    assert score_analysis(est, truth).boundaries.f_measure >= 0.8
    choruses = [s for s in truth.sections if s.label == "chorus"]
    found = [next(e.label for e in est.sections if e.start_s <= c.start_s + 1.0 < e.end_s) for c in choruses]
    assert len(set(found)) == 1, found
