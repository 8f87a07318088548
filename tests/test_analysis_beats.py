"""Beat tracking, tempo, meter and downbeats: pure parts and an accuracy floor on dev renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.analysis import beats as B
from backbeat.analysis import downbeats as D
from backbeat.core.errors import InvalidArgumentError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV = DATA / "dev-renders"


def pulse_activation(beat_times_s: np.ndarray, n_frames: int, *, fps: int = 100,
                     noise: float = 0.0, seed: int = 0) -> np.ndarray:
    act = np.zeros(n_frames)
    rng = np.random.default_rng(seed)
    for t in beat_times_s:
        f = round(t * fps)
        if 0 <= f < n_frames:
            act[f] = 1.0
            if f + 1 < n_frames:
                act[f + 1] = 0.4
    if noise:
        act += noise * rng.random(n_frames)
    return np.clip(act, 0, 1)


def f_measure(ref: np.ndarray, est: np.ndarray, window: float = 0.07) -> float:
    import mir_eval

    return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=window))


# -- conversions -----------------------------------------------------------------------

@given(st.floats(min_value=20, max_value=400))
def test_bpm_period_round_trip(bpm: float) -> None:
    assert float(B.period_frames_to_bpm(B.bpm_to_period_frames(bpm))) == pytest.approx(bpm)
    assert float(B.bpm_to_period_frames(120.0)) == pytest.approx(50.0)


@given(st.floats(min_value=20, max_value=400), st.floats(min_value=0, max_value=10),
       st.integers(min_value=2, max_value=50))
def test_median_bpm_of_evenly_spaced_beats(bpm: float, start_s: float, n: int) -> None:
    beats_s = start_s + np.arange(n) * 60.0 / bpm
    assert B.median_bpm(beats_s) == pytest.approx(bpm)
    assert B.median_bpm(beats_s[:1], default=90.0) == 90.0


@given(lo=st.floats(min_value=30, max_value=150), span=st.floats(min_value=1.05, max_value=4.0),
       cap=st.integers(min_value=5, max_value=80))
def test_tempo_intervals_cover_range(lo: float, span: float, cap: int) -> None:
    taus = B.tempo_intervals(lo, lo * span, max_states=cap)
    assert np.all(np.diff(taus) > 0)
    assert taus[0] <= 6000 / (lo * span) + 1 and taus[-1] >= 6000 / lo - 1
    assert taus.size <= cap + 1 or taus.size == taus[-1] - taus[0] + 1


def test_tempo_intervals_rejects_bad_range() -> None:
    with pytest.raises(InvalidArgumentError):
        B.tempo_intervals(120, 60)


# -- tempo estimate and Viterbi ----------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(bpm=st.floats(min_value=70, max_value=180), phase=st.floats(min_value=0, max_value=0.5))
def test_estimate_tempo_on_pulses(bpm: float, phase: float) -> None:
    beats = np.arange(phase, 20.0, 60.0 / bpm)
    est = B.estimate_tempo(pulse_activation(beats, 2000, noise=0.05))
    ratio = est / bpm
    assert min(abs(ratio - r) for r in (0.5, 1.0, 2.0)) < 0.03


@settings(max_examples=10, deadline=None)
@given(bpm=st.floats(min_value=80, max_value=170), phase=st.floats(min_value=0.05, max_value=0.4))
def test_track_beats_on_clean_pulses(bpm: float, phase: float) -> None:
    beats = np.arange(phase, 15.0, 60.0 / bpm)
    track = B.track_beats(pulse_activation(beats, 1500, noise=0.1), tempo_bpm=bpm)
    assert f_measure(beats, track.beats_s) > 0.97


def test_tracker_follows_a_tempo_change() -> None:
    first = np.arange(0.2, 15.0, 0.6)  # 100 BPM
    second = np.arange(first[-1] + 60 / 115, 30.0, 60 / 115)  # 115 BPM
    beats = np.concatenate([first, second])
    track = B.track_beats(pulse_activation(beats, 3000, noise=0.05))
    assert f_measure(beats, track.beats_s) > 0.95
    bpms = [s.bpm for s in track.tempo_segments]
    assert min(abs(b - 100) for b in bpms) < 2 and min(abs(b - 115) for b in bpms) < 2


def test_track_beats_empty_and_silent() -> None:
    assert B.track_beats(np.zeros(0)).beats_s.size == 0
    assert B.track_beats(np.zeros(500)).beats_s.size == 0
    with pytest.raises(InvalidArgumentError):
        B.track_beats(np.zeros((3, 3)))


def test_correct_offbeat_moves_to_the_kicks() -> None:
    beats = np.arange(0.25, 10, 0.5)
    kicks = pulse_activation(beats[:-1] + 0.25, 1000)  # kicks between the tracked beats
    shifted = B.correct_offbeat(beats, kicks)
    assert np.allclose(shifted, beats[:-1] + 0.25)
    on = pulse_activation(beats, 1000)
    assert np.array_equal(B.correct_offbeat(beats, on), beats)


def test_correct_offbeat_cues_votes_with_weights() -> None:
    beats = np.arange(0.25, 10, 0.5)
    on = pulse_activation(beats, 1000)
    off = pulse_activation(beats[:-1] + 0.25, 1000)
    # Beat and downbeat outputs between the tracked beats outweigh a snare on them.
    shifted = B.correct_offbeat_cues(beats, {"beat": off, "downbeat": off, "snare": on})
    assert np.allclose(shifted, beats[:-1] + 0.25)
    # All cues on the tracked beats: nothing moves.
    assert np.array_equal(B.correct_offbeat_cues(beats, {k: on for k in B.OFFBEAT_CUES}), beats)
    # Missing cues are skipped; no cue at all keeps the beats.
    assert np.array_equal(B.correct_offbeat_cues(beats, {}), beats)
    assert np.allclose(B.correct_offbeat_cues(beats, {"kick": off}), beats[:-1] + 0.25)
    # Custom weights decide: a negative kick weight flips the vote.
    assert np.array_equal(B.correct_offbeat_cues(beats, {"kick": off}, weights={"kick": -1.0}), beats)


@given(st.floats(70, 180), st.floats(0.0, 0.3))
@settings(max_examples=20, deadline=None)
def test_correct_offbeat_cues_finds_the_beat_from_either_grid(bpm: float, phase: float) -> None:
    period = 60.0 / bpm
    truth = np.arange(phase + period, 20.0, period)
    mids = 0.5 * (truth[1:] + truth[:-1])
    act = pulse_activation(truth, 2000)
    cues = {"beat": act, "kick": act}
    for start in (truth, mids):
        got = B.correct_offbeat_cues(start, cues)
        assert f_measure(truth, got) > 0.95


def test_refine_beats_snaps_to_peaks() -> None:
    act = np.zeros(300)
    act[[52, 101, 153]] = 1.0
    out = B.refine_beats(np.array([50, 100, 150]), act)
    assert np.allclose(out, [0.52, 1.01, 1.53], atol=1e-6)


def test_tempo_segments_constant_and_step() -> None:
    steady = np.arange(0, 30, 0.5)
    segs = B.tempo_segments_from_beats(steady)
    assert len(segs) == 1 and segs[0].bpm == pytest.approx(120.0)
    step = np.concatenate([np.arange(0, 15, 0.5), 15 + np.arange(0, 15, 0.4)])
    segs = B.tempo_segments_from_beats(step, beats_per_bar=3)
    assert [round(s.bpm) for s in segs] == [120, 150]
    assert all(s.beats_per_bar == 3 for s in segs)
    assert segs[1].time_s == pytest.approx(15.0, abs=0.6)
    assert B.tempo_segments_from_beats(np.array([1.0])) == ()


# -- meter and downbeats -------------------------------------------------------------------

def test_decode_positions_follows_strong_beats() -> None:
    ev = np.tile([0.1, 1.0, 0.2, 0.3], 12)  # downbeats at index 1, 5, 9, ...
    pos = D.decode_positions(ev, 4)
    assert list(pos[:6]) == [4, 1, 2, 3, 4, 1]


def test_decode_positions_allows_a_phase_slip() -> None:
    ev = np.concatenate([np.tile([1.0, 0, 0, 0], 10), [0.0], np.tile([1.0, 0, 0, 0], 10)])
    pos = D.decode_positions(ev, 4, slip_cost=1.0)
    assert pos[0] == 1 and pos[41] == 1 and pos[-4] == 1


@given(st.lists(st.floats(min_value=-5, max_value=5), min_size=1, max_size=60),
       st.integers(min_value=1, max_value=7))
def test_decode_positions_always_in_range_and_counting(ev: list[float], m: int) -> None:
    pos = D.decode_positions(np.asarray(ev), m)
    assert pos.shape == (len(ev),)
    assert pos.min() >= 1 and pos.max() <= m


def test_template_inputs_stack_the_next_beats() -> None:
    cues = np.arange(10 * 2, dtype=float).reshape(10, 2)
    x = D.template_inputs(cues, bar_beats=4)
    assert x.shape == (10, 8)
    assert np.array_equal(x[0], cues[0:4].reshape(-1))
    # Past the end, the beat one bar earlier stands in.
    assert np.array_equal(x[9, 2:4], cues[6])
    assert D.template_inputs(np.zeros((0, 2))).shape == (0, 8)


def test_template_evidence_finds_the_bar_from_kick_and_downbeat_output() -> None:
    beats = np.arange(0.5, 20.5, 0.5)  # 40 beats at 120 BPM
    n_frames = 2100
    kick = pulse_activation(beats[1::4], n_frames)  # kick and the model's downbeat output on beat 2 of 4
    snare = pulse_activation(beats[np.r_[2:40:4, 0:40:4]], n_frames)
    down = pulse_activation(beats[1::4], n_frames)
    feats = np.zeros((n_frames, 80), dtype=np.float32)
    positions, meter = D.assign_positions(beats, feats, downbeat_activation=down, kick_activation=kick,
                                          snare_activation=snare, meter=D.Meter(4, 4))
    assert meter == D.Meter(4, 4)
    assert np.array_equal(np.flatnonzero(positions == 1), np.arange(1, 40, 4))
    cues = D.template_cues(beats, feats, downbeat_activation=down, kick_activation=kick,
                           snare_activation=snare)
    assert cues.shape == (40, len(D.TEMPLATE_CUE_NAMES))
    ev = D.template_evidence(cues)
    assert ev[1::4].min() > np.delete(ev, np.arange(1, 40, 4)).max()


def test_detect_meter_from_patterns() -> None:
    rng = np.random.default_rng(0)
    bar3 = rng.random((3, 12))
    bar4 = rng.random((4, 12))
    p3 = np.tile(bar3, (16, 1)) + 0.05 * rng.random((48, 12))
    p4 = np.tile(bar4, (12, 1)) + 0.05 * rng.random((48, 12))
    assert D.detect_meter(p3, beat_bpm=100) == D.Meter(3, 4)
    assert D.detect_meter(p4, beat_bpm=100) == D.Meter(4, 4)
    assert D.detect_meter(p3, beat_bpm=160) == D.Meter(6, 8)
    assert D.detect_meter(p3, beat_bpm=160, eighths=False) == D.Meter(3, 4)  # a hint's quarter notes


@given(st.lists(st.floats(min_value=-1.0, max_value=2.0, allow_nan=False), min_size=1, max_size=40),
       st.floats(min_value=1e-6, max_value=0.25))
def test_log_odds_is_finite_monotone_and_antisymmetric(p: list[float], eps: float) -> None:
    x = np.asarray(p)
    lo = D.log_odds(x, eps=eps)
    bound = np.log((1 - eps) / eps)
    assert lo.shape == x.shape and np.all(np.isfinite(lo))
    assert np.all(np.abs(lo) <= bound + 1e-9)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(lo[order]) >= -1e-12)
    assert np.allclose(D.log_odds(1.0 - x, eps=eps), -lo, atol=1e-9)


def test_log_odds_values_and_bad_eps() -> None:
    assert D.log_odds(np.array([0.5, 0.75]))[0] == pytest.approx(0.0)
    assert D.log_odds(np.array([0.75]))[0] == pytest.approx(np.log(3.0))
    with pytest.raises(InvalidArgumentError, match="eps"):
        D.log_odds(np.array([0.5]), eps=0.5)


def test_network_downbeat_evidence_reads_the_activation_near_each_beat() -> None:
    beats = np.array([0.5, 1.0, 1.5, 2.0])
    down = np.zeros(300)
    down[52] = 0.9  # 20 ms after the first beat: inside the 40 ms window
    down[160] = 0.9  # 100 ms after the second beat: outside
    ev = D.network_downbeat_evidence(beats, down, weight=0.5)
    assert ev.shape == (4,)
    assert ev[0] == pytest.approx(0.5 * np.log(0.9 / 0.1))
    assert np.allclose(ev[1:], 0.5 * np.log(1e-3 / (1 - 1e-3)))
    assert D.network_downbeat_evidence(np.zeros(0), down).shape == (0,)


@given(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=3))
@settings(max_examples=16, deadline=None)
def test_extra_evidence_decides_the_bar_phase_when_the_cues_are_silent(phase: int, start: int) -> None:
    """With flat drum cues, the added network evidence alone sets the downbeats."""
    beats = np.arange(0.5, 20.5, 0.5)
    feats = np.zeros((2100, 80), dtype=np.float32)
    down = np.full(2100, 0.02)
    down[np.round(beats[phase::4] * 100).astype(int)] = 0.95
    extra = D.network_downbeat_evidence(beats, down)
    positions, meter = D.assign_positions(beats[start:], feats, meter=D.Meter(4, 4),
                                          extra_evidence=extra[start:], slip_cost=D.FUSED_SLIP_COST)
    assert meter == D.Meter(4, 4)
    assert np.array_equal(np.flatnonzero(positions == 1) + start, np.arange(phase, 40, 4)[
        np.arange(phase, 40, 4) >= start])


def test_extra_evidence_shape_is_checked() -> None:
    beats = np.arange(0.5, 10.5, 0.5)
    with pytest.raises(InvalidArgumentError, match="extra_evidence"):
        D.assign_positions(beats, np.zeros((1100, 80), dtype=np.float32), extra_evidence=np.zeros(3))


bar_patterns = st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=1, max_size=7)


@given(bar_patterns, st.integers(min_value=2, max_value=8))
def test_bar_novelty_is_zero_for_a_pattern_that_repeats_every_bar(bar: list[float], n_bars: int) -> None:
    x = np.tile(np.asarray(bar), n_bars)
    nov = D.bar_novelty(x, len(bar))
    assert nov.shape == x.shape
    assert np.all(nov == 0.0)
    two = D.bar_novelty(np.stack([x, 0.5 * x], axis=1), len(bar))
    assert two.shape == (x.size, 2) and np.all(two == 0.0)


@given(st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=0, max_size=40),
       st.integers(min_value=1, max_value=8))
def test_bar_novelty_is_between_zero_and_the_value(values: list[float], beats_per_bar: int) -> None:
    x = np.asarray(values, dtype=np.float64)
    nov = D.bar_novelty(x, beats_per_bar)
    assert nov.shape == x.shape
    assert np.all(nov >= 0.0) and np.all(nov <= x + 1e-12)


@given(bar_patterns, st.integers(min_value=3, max_value=6), st.data())
def test_bar_novelty_keeps_a_break_in_the_pattern(bar: list[float], n_bars: int, data: st.DataObject) -> None:
    """A crash or fill added to one beat of a repeating groove keeps the amount it adds."""
    x = np.tile(np.asarray(bar), n_bars)
    i = data.draw(st.integers(min_value=0, max_value=x.size - 1))
    extra = data.draw(st.floats(min_value=0.0, max_value=2.0, allow_nan=False))
    y = x.copy()
    y[i] += extra
    nov = D.bar_novelty(y, len(bar))
    assert nov[i] == pytest.approx(extra, abs=1e-12)
    assert np.all(np.delete(nov, i) == 0.0)


def test_bar_novelty_without_a_neighbour_bar_and_bad_length() -> None:
    assert np.array_equal(D.bar_novelty(np.array([0.2, 0.7, 0.1]), 4), [0.2, 0.7, 0.1])
    assert np.allclose(D.bar_novelty(np.array([0.2, 0.7, 0.5]), 2), [0.0, 0.7, 0.3])
    with pytest.raises(InvalidArgumentError, match="beats_per_bar"):
        D.bar_novelty(np.zeros(4), 0)


def test_bar_start_cues_read_crash_toms_before_and_kick_after_the_beat() -> None:
    beats = np.array([0.5, 1.0, 1.5, 2.0])
    cym, tom, ride, kick = np.zeros(300), np.zeros(300), np.zeros(300), np.zeros(300)
    cym[101] = 0.9  # crash 10 ms after the second beat
    cym[150] = 0.8  # cymbal on the third beat, but the ride output says ride
    ride[150] = 0.7
    tom[125] = 0.6  # tom note between the second and third beats
    tom[199] = 0.9  # 10 ms before the fourth beat: the beat's own hit, not a lead-in
    kick[64] = 0.7  # a sixteenth (125 ms) after the first beat, 11 ms late
    kick[50] = 1.0  # on the first beat itself: not "after"
    kick[90] = 0.5  # 100 ms before the second beat's sixteenth: outside the 30 ms window
    cues = D.bar_start_cues(beats, cym, tom, kick, ride_activation=ride)
    assert cues.shape == (4, len(D.BAR_START_CUE_NAMES))
    assert np.allclose(cues[:, 0], [0.0, 0.9, 0.0, 0.0])
    assert np.allclose(cues[:, 1], [0.0, 0.0, 0.6, 0.0])
    assert np.allclose(cues[:, 2], [0.7, 0.0, 0.0, 0.0])
    assert D.bar_start_cues(beats, cym, tom, kick)[2, 0] == pytest.approx(0.8)  # no ride output: a crash
    assert D.bar_start_cues(np.zeros(0), cym, tom, kick).shape == (0, 3)


@given(st.integers(min_value=0, max_value=3), st.booleans())
@settings(max_examples=8, deadline=None)
def test_bar_start_cues_decide_the_bar_phase_when_the_other_cues_are_silent(phase: int, kick: bool) -> None:
    """Crashes after tom fills every four bars, or a kick after each beat but bar 1, set the downbeats."""
    beats = np.arange(0.5, 20.5, 0.5)
    feats = np.zeros((2100, 80), dtype=np.float32)
    cues = np.zeros((beats.size, 3))
    if kick:
        cues[:, 2] = 0.8
        cues[phase::4, 2] = 0.0
    else:
        cues[phase::16, :2] = 1.0
    positions, meter = D.assign_positions(beats, feats, meter=D.Meter(4, 4), bar_start=cues)
    assert meter == D.Meter(4, 4)
    assert np.array_equal(np.flatnonzero(positions == 1), np.arange(phase, 40, 4))


def test_bar_start_shapes_are_checked() -> None:
    beats = np.arange(0.5, 10.5, 0.5)
    with pytest.raises(InvalidArgumentError, match="bar_start"):
        D.assign_positions(beats, np.zeros((1100, 80), dtype=np.float32), bar_start=np.zeros((3, 3)))
    with pytest.raises(InvalidArgumentError, match="cues"):
        D.bar_start_evidence(np.zeros((3, 2)), 4)


def test_bar_start_evidence_weighs_novel_crash_and_fill_and_raw_kick_after() -> None:
    cues = np.zeros((8, 3))
    cues[:, 0] = 0.5  # a cymbal on every beat: no novelty
    cues[4, 1] = 1.0  # one fill
    cues[:, 2] = 1.0  # a kick after every beat still counts
    ev = D.bar_start_evidence(cues, 4, weights=np.array([1.0, 2.0, -3.0]))
    assert np.allclose(ev, [-3.0] * 4 + [-1.0] + [-3.0] * 3)


# -- accuracy floor on dev renders (tuning data) ----------------------------------------------

@pytest.mark.parametrize("stem", ["drummer1__session2__62", "drummer1__session3__13",
                                  "drummer3__session2__25"])
def test_beat_accuracy_floor_on_dev_renders(stem: str) -> None:
    flac = DEV / f"{stem}.flac"
    if not flac.exists():
        pytest.skip(f"shared development data not found: {flac}")
    from backbeat.analysis.audio import load_audio
    from backbeat.analysis.features import log_filterbank

    ann = np.loadtxt(DEV / f"{stem}.beats")
    feats = log_filterbank(load_audio(flac).samples)
    track = B.track_beats(B.onset_activation(feats), anchor=B.low_band_activation(feats))
    assert f_measure(ann[:, 0], track.beats_s) >= 0.95
    positions, meter = D.assign_positions(track.beats_s, feats)
    assert meter == D.Meter(4, 4)
    ref_down = ann[ann[:, 1] == 1, 0]
    import mir_eval

    fd = mir_eval.onset.f_measure(ref_down, track.beats_s[positions == 1], window=0.07)[0]
    assert fd >= 0.85


# -- beat level ------------------------------------------------------------------------

def test_backbeat_alternation_is_high_only_for_a_snare_on_every_other_beat() -> None:
    beats = np.arange(0.5, 20, 0.5)
    def alternation(snare_beats: np.ndarray) -> float:
        return B.backbeat_alternation(beats, pulse_activation(snare_beats, 2100))
    assert alternation(beats[1::2]) > 0.9
    assert abs(alternation(beats)) < 0.1
    assert abs(alternation(beats[3::4])) < 0.1
    assert B.backbeat_alternation(beats, np.zeros(2100)) == 0.0
    assert B.backbeat_alternation(beats[:4], pulse_activation(beats[1::2], 2100)) == 0.0


@given(st.floats(60, 200), st.floats(0.0, 0.3))
@settings(max_examples=25, deadline=None)
def test_beats_at_half_level_follows_the_back_beat(bpm: float, phase: float) -> None:
    """A rock beat (kick on 1 and 3, snare on 2 and 4, hi-hat eighths) tracked at half its rate
    is doubled; tracked at its rate or twice it, it is not."""
    period = 60.0 / bpm
    truth = np.arange(phase + period, 30.0, period)
    eighths = np.sort(np.concatenate([truth, 0.5 * (truth[1:] + truth[:-1])]))
    n = 3100
    activation = np.clip(pulse_activation(truth, n) + 0.3 * pulse_activation(eighths, n), 0, 1)
    snare = pulse_activation(truth[1::2], n)
    kick = pulse_activation(truth[0::2], n)
    for k in (None, kick):
        assert not B.beats_at_half_level(truth, activation, snare, kick_activation=k)
        assert not B.beats_at_half_level(eighths, activation, snare, kick_activation=k)
        if bpm >= 110:
            assert B.beats_at_half_level(truth[0::2], activation, snare, kick_activation=k)
            if bpm >= 170:  # the tempo prior alone keeps the half level
                assert not B.beats_at_half_level(truth[0::2], activation, snare, kick_activation=k,
                                                 weight=0.0)
        assert not B.beats_at_half_level(truth[0:14:2], activation, snare, kick_activation=k)


@given(st.floats(45, 90), st.floats(0.0, 0.3))
@settings(max_examples=25, deadline=None)
def test_in_compound_pairs_finds_a_hemiola(dq_bpm: float, start_s: float) -> None:
    """A 6/8 beat (kick on 1, snare on 4 of each six eighths) tracked two eighths a beat is found
    from either pair of eighths; tracked in dotted quarters or in eighths it is left alone, and so
    are a waltz and a rock beat in quarter notes."""
    n = 3100
    eighths = np.arange(start_s, 30.0, 60.0 / dq_bpm / 3)
    kick, snare = pulse_activation(eighths[0::6], n), pulse_activation(eighths[3::6], n)
    assert B.in_compound_pairs(eighths[0::2], kick, snare)
    assert B.in_compound_pairs(eighths[1::2], kick, snare)
    assert not B.in_compound_pairs(eighths[0::3], kick, snare)
    assert not B.in_compound_pairs(eighths, kick, snare)
    quarters = eighths[0::2]
    assert not B.in_compound_pairs(quarters, pulse_activation(quarters[0::3], n),
                                   np.maximum(pulse_activation(quarters[1::3], n),
                                              pulse_activation(quarters[2::3], n)))
    assert not B.in_compound_pairs(quarters, pulse_activation(quarters[0::2], n),
                                   pulse_activation(quarters[1::2], n))
    assert not B.in_compound_pairs(quarters[:11], kick, snare)  # too few beats to tell


@pytest.mark.parametrize("start", [0, 1, 2])
def test_six_eight_bars_start_on_the_pulse_of_kick_and_snare(start: int) -> None:
    """In 6/8 (eighth-note beats), bars start on the dotted quarters where kick (1) and snare (4)
    alternate, even where a downbeat output marks the eighth after; a snare on the eighth before
    each pulse is not taken for the pulse."""
    n = 3100
    eighths = np.arange(0.2, 30.0, 0.2)
    kick, snare = pulse_activation(eighths[start::6], n), pulse_activation(eighths[start + 3::6], n)
    ev = D.pulse_evidence(eighths, kick, snare)
    assert set(np.flatnonzero(ev) % 3) == {start} and ev.max() == D.PULSE_EVIDENCE
    feats = np.zeros((n, 80), dtype=np.float32)
    pos, meter = D.assign_positions(eighths, feats, meter=D.Meter(6, 8), kick_activation=kick,
                                    snare_activation=snare,
                                    downbeat_activation=pulse_activation(eighths[start + 1::6], n))
    assert meter == D.Meter(6, 8) and set(np.flatnonzero(pos == 1) % 3) == {start}
    other = pulse_activation(eighths[(start + 2) % 3::3], n)  # kick on 1 and 4, snare before each
    assert not D.pulse_evidence(eighths, pulse_activation(eighths[start::3], n), other).any()
    quarters = eighths  # a back beat in quarter notes alternates on every beat, not every third
    assert not D.pulse_evidence(quarters, pulse_activation(quarters[0::2], n),
                                pulse_activation(quarters[1::2], n)).any()
