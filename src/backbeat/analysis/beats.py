"""Beat and tempo tracking: activation in, beats and tempo segments out.

The tracker follows madmom's dynamic Bayesian network for beats (Krebs,
Böck & Widmer 2015) in plain numpy: a hidden state is (beat period in frames,
position inside the beat); the position advances one frame at a time, and at
the end of a beat the period may change, with a probability falling
exponentially with the relative tempo change. Beat states (the first
``1 / observation_lambda`` of a beat) see the activation, the rest see its
complement. Viterbi decoding needs only ``O(n_states + n_tempi²)`` work per
frame because all transitions but the beat-end ones are deterministic.

Any beat activation works: a learned one from the drum model when present,
else :func:`onset_activation` (spectral flux of the log filterbank, with low
bands weighted up so kicks and snares count more than hi-hats).

The tempo range is centred on a global estimate (:func:`estimate_tempo`,
autocorrelation with a comb over beat multiples and a log-normal tempo
prior), which keeps the state space small and settles octave errors once per
song, while still following tempo changes of up to ``±tempo_spread``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.song_analysis import TempoSegment

#: Frames per second of activations (the features' frame rate).
FPS = 100
#: Default tempo search range in beats per minute.
MIN_BPM = 55.0
MAX_BPM = 215.0
#: Centre and width (in octaves) of the log-normal tempo prior. The centre is the geometric mean
#: tempo of the Groove MIDI train-split beats (108 BPM; 120 made 85 BPM shuffles come out at 170).
PRIOR_BPM = 108.0
PRIOR_OCTAVES = 0.6


@dataclass(frozen=True)
class BeatTrack:
    """Beats of a song with their positions and the tempo segments.

    Attributes
    ----------
    beats_s
        Beat times in seconds, shape ``(n,)``, strictly increasing.
    positions
        1-based position of each beat in its bar, shape ``(n,)``, int.
    tempo_segments
        Stretches of steady tempo, in time order.
    beats_per_bar
        Dominant bar length in beats.
    beat_unit
        Note value of one beat (4 for x/4, 8 for 6/8 counted in eighths).
    """

    beats_s: np.ndarray
    positions: np.ndarray
    tempo_segments: tuple[TempoSegment, ...]
    beats_per_bar: int = 4
    beat_unit: int = 4

    @property
    def downbeats_s(self) -> np.ndarray:
        """Times of downbeats (position 1)."""
        return self.beats_s[self.positions == 1]


# -- conversions ----------------------------------------------------------------

def bpm_to_period_frames(bpm: float | np.ndarray, *, fps: float = FPS) -> np.ndarray:
    """Beat period in frames for a tempo in BPM."""
    return 60.0 * fps / np.asarray(bpm, dtype=np.float64)


def period_frames_to_bpm(period_frames: float | np.ndarray, *, fps: float = FPS) -> np.ndarray:
    """Tempo in BPM for a beat period in frames."""
    return 60.0 * fps / np.asarray(period_frames, dtype=np.float64)


def median_bpm(beats_s: np.ndarray, *, default: float = 120.0) -> float:
    """Tempo in BPM of the median interval between beat times; ``default`` with fewer than two beats."""
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 2:
        return default
    return 60.0 / float(np.median(np.diff(b)))


def tempo_intervals(min_bpm: float, max_bpm: float, *, fps: float = FPS,
                    max_states: int = 60) -> np.ndarray:
    """Integer beat periods (frames) covering a tempo range, log-spaced if there are many.

    Returns
    -------
    np.ndarray
        Sorted unique int periods, shape ``(k,)``, ``k <= max_states`` (plus rounding).
    """
    if not (0 < min_bpm < max_bpm):
        raise InvalidArgumentError(f"tempo range {min_bpm}-{max_bpm} BPM is not valid")
    lo = max(2, math.floor(60.0 * fps / max_bpm))
    hi = max(lo + 1, math.ceil(60.0 * fps / min_bpm))
    all_periods = np.arange(lo, hi + 1)
    if all_periods.size <= max_states:
        return all_periods
    log_spaced = np.exp(np.linspace(np.log(lo), np.log(hi), max_states))
    return np.unique(np.round(log_spaced).astype(np.int64))


# -- activation -----------------------------------------------------------------

def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x.astype(np.float64)
    kernel = np.ones(width) / width
    return np.convolve(x, kernel, mode="same")


def onset_activation(features: np.ndarray, *, fps: float = FPS, low_band_weight: float = 2.0,
                     n_low_bands: int = 24) -> np.ndarray:
    """DSP beat activation from a log filterbank spectrogram.

    Positive spectral flux summed over bands (the lowest ``n_low_bands``
    weighted by ``low_band_weight``), minus its local mean over 0.25 s,
    half-wave rectified and scaled to [0, 1] by a high percentile.

    Parameters
    ----------
    features
        Log filterbank, shape ``(n_frames, n_bands)``.
    fps
        Frame rate.

    Returns
    -------
    np.ndarray
        Shape ``(n_frames,)``, float64 in [0, 1].
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"onset_activation expects (n_frames, n_bands), got {f.shape}")
    n = f.shape[0]
    act = np.zeros(n, dtype=np.float64)
    if n < 2:
        return act
    diff = np.maximum(f[1:] - f[:-1], 0.0)
    w = np.ones(f.shape[1], dtype=np.float32)
    w[:min(n_low_bands, f.shape[1])] = low_band_weight
    act[1:] = diff @ w
    act = np.maximum(act - _moving_average(act, max(1, round(0.25 * fps))), 0.0)
    return normalize_activation(act)


def normalize_activation(act: np.ndarray, *, percentile: float = 99.0) -> np.ndarray:
    """Scale an activation to [0, 1] by a high percentile of its positive part."""
    a = np.nan_to_num(np.asarray(act, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    a = np.maximum(a, 0.0)
    pos = a[a > 0]
    if pos.size == 0:
        return a
    scale = float(np.percentile(pos, percentile))
    if scale <= 0:
        return a
    return np.clip(a / scale, 0.0, 1.0)


# -- global tempo ---------------------------------------------------------------

def tempo_salience(activation: np.ndarray, *, fps: float = FPS, min_bpm: float = MIN_BPM,
                   max_bpm: float = MAX_BPM, prior_bpm: float = PRIOR_BPM,
                   prior_octaves: float = PRIOR_OCTAVES) -> tuple[np.ndarray, np.ndarray]:
    """Salience of each candidate beat period.

    Autocorrelation of the mean-removed activation, combed over 1-4 beat
    multiples and half a beat, weighted by a log-normal prior on tempo.

    Returns
    -------
    periods_frames, salience
        Candidate periods (int frames) and their salience, same shape.
    """
    a = np.asarray(activation, dtype=np.float64)
    # Smooth over +-2 frames so beat periods between two integer lags still correlate fully.
    a = np.convolve(a, np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0, mode="same")
    a = a - a.mean()
    n = a.size
    periods = np.arange(max(2, int(60 * fps / max_bpm)), math.ceil(60 * fps / min_bpm) + 1)
    max_lag = int(periods[-1] * 4 + 2)
    if n < 4:
        return periods, np.zeros(periods.size)
    size = 1 << math.ceil(math.log2(2 * n))
    spec = np.fft.rfft(a, size)
    acf = np.fft.irfft(spec * np.conj(spec), size)[: max_lag + 1]
    acf /= max(acf[0], 1e-12)
    # Unbias: longer lags see fewer products.
    lags = np.arange(acf.size)
    acf = acf * n / np.maximum(n - lags, n * 0.25)
    acf = np.maximum(acf, 0.0)

    def at(lag: np.ndarray) -> np.ndarray:
        # Max over a +-1 frame neighbourhood, tolerant to non-integer periods.
        li = np.round(lag).astype(int)
        out = np.zeros(lag.shape)
        ok = li + 1 < acf.size
        for d in (-1, 0, 1):
            out[ok] = np.maximum(out[ok], acf[np.clip(li[ok] + d, 0, acf.size - 1)])
        return out

    p = periods.astype(np.float64)
    sal = at(p) + 0.5 * at(2 * p) + 0.33 * at(3 * p) + 0.25 * at(4 * p) - 0.25 * at(1.5 * p)
    bpm = 60.0 * fps / p
    prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    return periods, sal * prior


def estimate_tempo(activation: np.ndarray, *, fps: float = FPS, min_bpm: float = MIN_BPM,
                   max_bpm: float = MAX_BPM, prior_bpm: float = PRIOR_BPM,
                   prior_octaves: float = PRIOR_OCTAVES) -> float:
    """Dominant tempo of an activation in BPM (see :func:`tempo_salience`)."""
    periods, sal = tempo_salience(activation, fps=fps, min_bpm=min_bpm, max_bpm=max_bpm,
                                  prior_bpm=prior_bpm, prior_octaves=prior_octaves)
    if not np.any(sal > 0):
        return prior_bpm
    k = int(np.argmax(sal))
    # Parabolic refinement around the best integer period.
    p = float(periods[k])
    if 0 < k < sal.size - 1:
        y0, y1, y2 = sal[k - 1], sal[k], sal[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            p += 0.5 * (y0 - y2) / den
    return float(60.0 * fps / p)


# -- Viterbi decoding -------------------------------------------------------------

def viterbi_beats(activation: np.ndarray, *, fps: float = FPS, min_bpm: float = MIN_BPM,
                  max_bpm: float = MAX_BPM, transition_lambda: float = 100.0,
                  observation_lambda: int = 16, max_tempo_states: int = 60) -> np.ndarray:
    """Most likely beat frames under the beat-period/position model.

    Parameters
    ----------
    activation
        Beat activation in [0, 1], shape ``(n_frames,)``.
    fps
        Frame rate.
    min_bpm, max_bpm
        Tempo range.
    transition_lambda
        Tempo-change stiffness: ``P(τ→τ') ∝ exp(-λ |τ'/τ - 1|)``.
    observation_lambda
        The first ``1/observation_lambda`` of each beat are beat states.
    max_tempo_states
        Cap on the number of beat periods (log-spaced beyond it).

    Returns
    -------
    np.ndarray
        Beat frame indices (int), increasing. Empty if the activation is empty.
    """
    act = np.clip(np.asarray(activation, dtype=np.float64), 1e-6, 1 - 1e-6)
    n = act.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if observation_lambda < 2:
        raise InvalidArgumentError(f"observation_lambda must be >= 2, got {observation_lambda}")
    taus = tempo_intervals(min_bpm, max_bpm, fps=fps, max_states=max_tempo_states)
    k = taus.size
    first = np.concatenate([[0], np.cumsum(taus)[:-1]]).astype(np.int64)
    last = first + taus - 1
    n_states = int(taus.sum())
    # Beat states: positions below tau / observation_lambda (at least one).
    beat_mask = np.zeros(n_states, dtype=bool)
    for j in range(k):
        beat_mask[first[j]:first[j] + max(1, int(taus[j] / observation_lambda))] = True
    beat_idx = np.flatnonzero(beat_mask)
    # Tempo transitions at beat ends (log), rows: from tempo, cols: to tempo.
    ratio = taus[None, :] / taus[:, None]
    trans = np.exp(-transition_lambda * np.abs(ratio - 1.0))
    trans[trans < 1e-12] = 0.0
    trans /= trans.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_trans = np.log(trans)
    log_beat = np.log(act)
    log_nobeat = np.log((1.0 - act) / (observation_lambda - 1))
    # Initial: uniform over states.
    delta = np.full(n_states, -math.log(n_states)) + log_nobeat[0]
    delta[beat_idx] += log_beat[0] - log_nobeat[0]
    backptr = np.empty((n, k), dtype=np.int16 if k < 32767 else np.int32)
    backptr[0] = -1
    new = np.empty_like(delta)
    for t in range(1, n):
        ends = delta[last]
        cand = ends[:, None] + log_trans
        best = np.argmax(cand, axis=0)
        new[1:] = delta[:-1]
        new[first] = cand[best, np.arange(k)]
        backptr[t] = best
        new += log_nobeat[t]
        new[beat_idx] += log_beat[t] - log_nobeat[t]
        # Renormalise to avoid drift to -inf.
        new -= new.max()
        delta, new = new, delta
    # Backtrack.
    state = int(np.argmax(delta))
    first_of = {int(f): jj for jj, f in enumerate(first)}
    beats: list[int] = []
    for t in range(n - 1, -1, -1):
        tempo_j = first_of.get(state)
        if tempo_j is not None:
            beats.append(t)
            if t > 0:
                state = int(last[backptr[t, tempo_j]])
        else:
            state -= 1
    return np.asarray(beats[::-1], dtype=np.int64)


def refine_beats(beat_frames: np.ndarray, activation: np.ndarray, *, fps: float = FPS,
                 window_s: float = 0.03) -> np.ndarray:
    """Move each beat to the activation maximum within ``±window_s``; returns seconds."""
    act = np.asarray(activation, dtype=np.float64)
    w = max(0, round(window_s * fps))
    out = np.empty(beat_frames.size, dtype=np.float64)
    for i, b in enumerate(beat_frames):
        lo, hi = max(0, int(b) - w), min(act.size, int(b) + w + 1)
        seg = act[lo:hi]
        if seg.size and seg.max() > 0:
            # Parabolic interpolation of the peak.
            m = int(np.argmax(seg))
            pos = float(lo + m)
            if 0 < m < seg.size - 1:
                y0, y1, y2 = seg[m - 1], seg[m], seg[m + 1]
                den = y0 - 2 * y1 + y2
                if den < 0:
                    pos += 0.5 * (y0 - y2) / den
            out[i] = pos / fps
        else:
            out[i] = float(b) / fps
    # Keep strictly increasing.
    for i in range(1, out.size):
        if out[i] <= out[i - 1]:
            out[i] = out[i - 1] + 1.0 / fps
    return out


# -- tempo segments ---------------------------------------------------------------

def segment_intervals(ibi_s: np.ndarray, *, min_len: int = 6, penalty: float | None = None) -> list[int]:
    """Optimal piecewise-constant segmentation of inter-beat intervals.

    Minimises the squared deviation of ``log(ibi)`` from each segment's mean
    plus ``penalty`` per segment (dynamic programming, ``O(n²)``).

    Parameters
    ----------
    ibi_s
        Inter-beat intervals in seconds, shape ``(n,)``.
    min_len
        Shortest segment in intervals.
    penalty
        Cost of a new segment; default ``8 σ² log(n)`` with ``σ`` the robust
        interval jitter, so that timing noise alone never opens a segment.

    Returns
    -------
    list of int
        Start index of each segment (the first is 0).
    """
    x = np.log(np.asarray(ibi_s, dtype=np.float64))
    n = x.size
    if n < 2 * min_len:
        return [0]
    if penalty is None:
        d = np.diff(x)
        sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
        sigma = max(sigma, 0.004)
        penalty = 8.0 * sigma**2 * math.log(n) * min_len
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    prev = np.zeros(n + 1, dtype=np.int64)
    for end in range(min_len, n + 1):
        starts = np.arange(0, end - min_len + 1)
        ok = np.isfinite(best[starts])
        if not np.any(ok):
            continue
        starts = starts[ok]
        length = end - starts
        mean = (c1[end] - c1[starts]) / length
        cost = (c2[end] - c2[starts]) - length * mean**2
        total = best[starts] + cost + penalty
        k = int(np.argmin(total))
        best[end] = total[k]
        prev[end] = starts[k]
    if not np.isfinite(best[n]):
        return [0]
    cuts = []
    end = n
    while end > 0:
        start = int(prev[end])
        cuts.append(start)
        end = start
    return sorted(cuts)


def tempo_segments_from_beats(beats_s: np.ndarray, *, beats_per_bar: int = 4, beat_unit: int = 4,
                              tolerance: float = 0.02, min_beats: int = 6) -> tuple[TempoSegment, ...]:
    """Group beats into stretches of steady tempo.

    Segments come from :func:`segment_intervals`; neighbours whose median
    tempi differ by less than ``tolerance`` (relative) are merged.

    Parameters
    ----------
    beats_s
        Beat times, shape ``(n,)``.
    beats_per_bar, beat_unit
        Meter stored on every segment.
    tolerance
        Smallest relative tempo change reported as a new segment.
    min_beats
        Shortest segment in beats.

    Returns
    -------
    tuple of TempoSegment
        Empty if fewer than two beats.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 2:
        return ()
    ibi = np.diff(b)
    starts = segment_intervals(ibi, min_len=min_beats)
    bounds = [*starts, ibi.size]
    segs: list[tuple[int, float]] = []
    for lo, hi in itertools.pairwise(bounds):
        period = float(np.median(ibi[lo:hi]))
        if segs and abs(segs[-1][1] / period - 1.0) < tolerance:
            # Merge: re-estimate the period over the joined stretch.
            first = segs[-1][0]
            segs[-1] = (first, float(np.median(ibi[first:hi])))
            continue
        segs.append((lo, period))
    return tuple(TempoSegment(time_s=float(b[lo]), bpm=60.0 / period, beats_per_bar=beats_per_bar,
                              beat_unit=beat_unit) for lo, period in segs)


def low_band_activation(features: np.ndarray, *, n_bands: int = 6) -> np.ndarray:
    """Positive flux of the lowest ``n_bands`` bands (kick drum region), scaled to [0, 1]."""
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"low_band_activation expects (n_frames, n_bands), got {f.shape}")
    act = np.zeros(f.shape[0], dtype=np.float64)
    if f.shape[0] > 1:
        act[1:] = np.maximum(f[1:, :n_bands] - f[:-1, :n_bands], 0.0).sum(axis=1)
    return normalize_activation(act)


def grid_values(times_s: np.ndarray, activation: np.ndarray, *, fps: float = FPS,
                window_s: float = 0.035) -> np.ndarray:
    """Activation maximum within ``±window_s`` of each time (times outside the activation dropped)."""
    from scipy.ndimage import maximum_filter1d

    act = np.asarray(activation, dtype=np.float64)
    w = max(0, round(window_s * fps))
    frames = np.round(np.asarray(times_s, dtype=np.float64) * fps).astype(np.int64)
    frames = frames[(frames >= 0) & (frames < act.size)]
    if frames.size == 0:
        return np.zeros(0)
    return np.asarray(maximum_filter1d(act, size=2 * w + 1, mode="nearest")[frames], dtype=np.float64)


def grid_strength(times_s: np.ndarray, activation: np.ndarray, *, fps: float = FPS,
                  window_s: float = 0.035) -> float:
    """Mean of the activation maxima within ``±window_s`` of each time."""
    values = grid_values(times_s, activation, fps=fps, window_s=window_s)
    return float(np.mean(values)) if values.size else 0.0


def correct_offbeat(beats_s: np.ndarray, anchor: np.ndarray, *, fps: float = FPS,
                    ratio: float = 1.5) -> np.ndarray:
    """Shift beats by half a beat if the anchor (kick) activation is clearly stronger there.

    A tracker fed with all onsets may lock onto the off-beats (snare or
    hi-hat on the "and"). Bass drums land on beats far more often than
    between them, so the half-shifted grid wins only if its anchor strength
    exceeds the original's by ``ratio``.

    Returns
    -------
    np.ndarray
        The beats, possibly shifted (the count may change by one).
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 4:
        return b
    mids = 0.5 * (b[1:] + b[:-1])
    on = grid_strength(b[1:-1], anchor, fps=fps)
    off = grid_strength(mids, anchor, fps=fps)
    if off > ratio * on and off > 0:
        return mids
    return b


#: Activations weighed by :func:`correct_offbeat_cues` and their weights (logistic regression on
#: whole-song grid-versus-half-shifted-grid strength differences, no intercept; fitted on the
#: dev-renders and Groove MIDI train-split tuning renders (bench/analysis_tune_set.py), never on the
#: evaluation sets; refitted for the drum model of commit e04091a: right phase on 91 tuning files
#: 0.879 leave-one-groove-out against 0.868 for the previous weights; bench/analysis_metrical_checks.py).
OFFBEAT_CUES = ("beat", "kick", "snare", "downbeat")
OFFBEAT_WEIGHTS = (1.14, 1.15, 0.25, 1.35)


def correct_offbeat_cues(beats_s: np.ndarray, cues: dict[str, np.ndarray], *, fps: float = FPS,
                         weights: dict[str, float] | None = None) -> np.ndarray:
    """Shift beats by half a beat if the weighted cue strength favours the shifted grid.

    Each cue (an activation in [0, 1], shape ``(n_frames,)``: the drum model's
    beat, kick, snare and downbeat outputs) votes with the difference of its
    mean strength on the grid and on the half-shifted grid; the votes are
    weighted by :data:`OFFBEAT_WEIGHTS` (or ``weights``). Cues missing from
    ``cues`` are skipped.

    Returns
    -------
    np.ndarray
        The beats, possibly shifted (the count may change by one).
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 4:
        return b
    w = dict(zip(OFFBEAT_CUES, OFFBEAT_WEIGHTS, strict=True)) if weights is None else weights
    mids = 0.5 * (b[1:] + b[:-1])
    score = 0.0
    for name, weight in w.items():
        act = cues.get(name)
        if act is None:
            continue
        a = normalize_activation(np.asarray(act, dtype=np.float64))
        score += weight * (grid_strength(b[1:-1], a, fps=fps) - grid_strength(mids, a, fps=fps))
    return mids if score < 0 else b


def track_beats(activation: np.ndarray, *, fps: float = FPS, min_bpm: float = MIN_BPM,
                max_bpm: float = MAX_BPM, tempo_spread: float = 1.4,
                transition_lambda: float = 300.0, observation_lambda: int = 16,
                tempo_bpm: float | None = None, anchor: np.ndarray | None = None,
                pool: int = 1, prior_bpm: float = PRIOR_BPM,
                prior_octaves: float = PRIOR_OCTAVES) -> BeatTrack:
    """Track beats in an activation.

    Bar positions are not decided here (every beat gets position 1 .. 4
    counting from the first); :mod:`backbeat.analysis.downbeats` assigns them.

    Parameters
    ----------
    activation
        Beat activation in [0, 1], shape ``(n_frames,)``.
    fps
        Frame rate in frames per second.
    min_bpm, max_bpm
        Absolute tempo range.
    transition_lambda
        Tempo-change stiffness (see :func:`viterbi_beats`); stiffer than
        madmom's 100 because onset-flux activations also fire between beats.
    tempo_spread
        The decoder searches ``[T / spread, T * spread]`` around the global tempo ``T``.
    tempo_bpm
        Global tempo if known; else estimated with :func:`estimate_tempo`.
    prior_bpm, prior_octaves
        Centre (BPM) and width (octaves) of the tempo prior of that estimate
        (:func:`tempo_salience`).
    pool
        Decode at ``fps / pool`` frames per second on the max-pooled
        activation (4x fewer operations for ``pool=2``); beats are then
        placed on the full-rate activation peaks. The default decodes at the
        full rate: at 50 fps a tempo whose period falls between two whole
        frames must alternate periods, which the stiff tempo transitions
        penalise, so ``pool=2`` locked onto 3:2 or 4:3 tempi more often
        (tuning-set beat F 0.806 / 0.788 / 0.861 against 0.876 / 0.795 / 0.875
        for dev-renders / tune-drums / tune-mix).
    anchor
        Optional kick-drum activation, shape ``(n_frames,)``, used to settle
        beat versus off-beat (:func:`correct_offbeat`).

    Returns
    -------
    BeatTrack
    """
    act = np.asarray(activation, dtype=np.float64)
    if act.ndim != 1:
        raise InvalidArgumentError(f"activation must be 1-D, got shape {act.shape}")
    if tempo_spread < 1.0:
        raise InvalidArgumentError(f"tempo_spread must be >= 1, got {tempo_spread}")
    if act.size < 2 or not np.any(act > 0):
        return BeatTrack(np.zeros(0), np.zeros(0, dtype=np.int64), ())
    t0 = tempo_bpm
    if t0 is None:
        t0 = estimate_tempo(act, fps=fps, min_bpm=min_bpm, max_bpm=max_bpm, prior_bpm=prior_bpm,
                            prior_octaves=prior_octaves)
    lo = max(min_bpm * 0.9, t0 / tempo_spread)
    hi = min(max_bpm * 1.1, t0 * tempo_spread)
    div = max(1, int(pool))
    n_pooled = act.size // div
    if div > 1 and n_pooled >= 2:
        # Decode at fps / pool (max-pooled activation), then go back to the full-rate peak.
        pooled = act[:n_pooled * div].reshape(n_pooled, div)
        coarse = viterbi_beats(pooled.max(axis=1), fps=fps / div, min_bpm=lo, max_bpm=hi,
                               transition_lambda=transition_lambda, observation_lambda=observation_lambda)
        frames = coarse * div + np.argmax(pooled[coarse], axis=1)
    else:
        frames = viterbi_beats(act, fps=fps, min_bpm=lo, max_bpm=hi, transition_lambda=transition_lambda,
                               observation_lambda=observation_lambda)
    if frames.size == 0:
        return BeatTrack(np.zeros(0), np.zeros(0, dtype=np.int64), ())
    beats_s = refine_beats(frames, act, fps=fps)
    if anchor is not None:
        beats_s = correct_offbeat(beats_s, anchor, fps=fps)
    positions = (np.arange(beats_s.size) % 4 + 1).astype(np.int64)
    return BeatTrack(beats_s, positions, tempo_segments_from_beats(beats_s))


# -- beat level -------------------------------------------------------------------

#: Weight of the snare's back-beat alternation against the log tempo salience when deciding
#: whether the tracked beats are really half the beat level (:func:`beats_at_half_level`), and of the
#: kick's alternation, which counts against a level. Chosen on the eleven tuning sets
#: (docs/BENCHMARKS.md, twelfth and thirteenth rounds): summed beat + downbeat F 18.432 without the
#: check, 18.958 with the snare alone at 1.0, 19.115 at 2.0 with the kick at -0.5 (19.019 at 3.0 and
#: -1.0, which loses dev-renders beats).
BACKBEAT_WEIGHT = 2.0
#: Weight of the kick's alternation on the same grid (negative: see :func:`beats_at_half_level`).
KICK_ALTERNATION_WEIGHT = -0.5
#: Relative tempo range around each level whose best salience counts (tempo changes spread the peak).
LEVEL_TEMPO_TOLERANCE = 0.08


def backbeat_alternation(beats_s: np.ndarray, snare_activation: np.ndarray, *, fps: float = FPS) -> float:
    """How much the snare alternates from beat to beat, as on a back beat (2 and 4).

    The mean absolute change of the snare strength between neighbouring beats
    minus that between beats two apart: near 1 for a snare on every other
    beat, near 0 for a snare on every beat, every fourth beat or none.
    """
    return alternation(strength_at(beats_s, snare_activation, fps=fps))


def strength_at(times_s: np.ndarray, activation: np.ndarray, *, fps: float = FPS) -> np.ndarray:
    """The activation scaled to [0, 1] (:func:`normalize_activation`) and read at each time
    (:func:`grid_values`)."""
    return grid_values(times_s, normalize_activation(activation), fps=fps)


def alternation(values: np.ndarray) -> float:
    """The statistic of :func:`backbeat_alternation` on values already read at the beats: the mean
    absolute change between neighbours minus that between values two apart; 0 with fewer than 5.

    Values read once on a fine grid serve every coarser grid inside it (``values[::2]`` for the
    beats of :func:`halves`), which saves normalising and filtering the activation again.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size < 5:
        return 0.0
    return float(np.mean(np.abs(np.diff(v))) - np.mean(np.abs(v[2:] - v[:-2])))


def beats_at_half_level(beats_s: np.ndarray, activation: np.ndarray, snare_activation: np.ndarray, *,
                        kick_activation: np.ndarray | None = None, fps: float = FPS,
                        prior_bpm: float = PRIOR_BPM, prior_octaves: float = PRIOR_OCTAVES,
                        weight: float = BACKBEAT_WEIGHT,
                        kick_weight: float = KICK_ALTERNATION_WEIGHT) -> bool:
    """Whether the tracked beats are every other beat of the song, which should be counted twice as fast.

    The tracked level and twice it each score the log of their tempo salience
    in the activation (:func:`tempo_salience`, with the prior; the best within
    :data:`LEVEL_TEMPO_TOLERANCE`, as tempo changes spread the peak) plus
    ``weight`` times the snare's back-beat alternation on their grid
    (:func:`backbeat_alternation`) plus ``kick_weight`` times the kick's. The
    kick's weight is negative: alternation the kick shares is weaker evidence
    of a back beat than the snare's own (every other beat merely louder). A
    network trained mostly on mid-tempo grooves reads fast songs at half tempo
    with the snare on every beat; the back beat puts them at the level a
    drummer counts. Only this direction is
    checked: halving as well scores the same on the tuning sets, but reads
    half-time feels (snare on 3) at half their tempo.

    Returns
    -------
    bool
        False with fewer than 8 beats or when twice the tracked tempo is out of range.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 8:
        return False
    periods, sal = tempo_salience(activation, fps=fps, prior_bpm=prior_bpm, prior_octaves=prior_octaves)
    period = float(np.median(np.diff(b))) * fps
    # Each drum read once on the doubled grid; the tracked beats are its even points.
    doubled = halves(b)
    values = [(weight, strength_at(doubled, snare_activation, fps=fps))]
    if kick_activation is not None:
        values.append((kick_weight, strength_at(doubled, kick_activation, fps=fps)))
    scores = []
    for p, step in ((period, 2), (period / 2, 1)):
        near = np.abs(periods / p - 1.0) <= LEVEL_TEMPO_TOLERANCE
        salience = float(sal[near].max()) if np.any(near) else 0.0
        if salience <= 0:
            return False
        score = math.log(salience)
        for w, v in values:
            score += w * alternation(v[::step])
        scores.append(score)
    return scores[1] > scores[0]


def halves(beats_s: np.ndarray) -> np.ndarray:
    """The beats with a point halfway between each pair added (the eighth-note grid of quarter beats)."""
    b = np.asarray(beats_s, dtype=np.float64)
    return np.sort(np.concatenate([b, 0.5 * (b[1:] + b[:-1])]))


#: Thresholds of :func:`in_compound_pairs`: the gain in kick + snare alternation, and in kick + snare
#: strength on the grid (relative to their mean on the eighths), of the dotted-quarter grid over the
#: tracked one. Fixed from the eleven tuning sets' 258 files (docs/BENCHMARKS.md, fourteenth round):
#: the nine files tracked at two eighths of a compound beat have gains >= 0.87 and >= 0.31; no other
#: file has both above 0.27 and 0.09.
COMPOUND_ALTERNATION_GAIN = 0.5
COMPOUND_STRENGTH_GAIN = 0.2


def in_compound_pairs(beats_s: np.ndarray, kick_activation: np.ndarray, snare_activation: np.ndarray, *,
                      fps: float = FPS) -> bool:
    """Whether the tracked beats are pairs of eighths of a compound meter (a hemiola).

    A 6/8 or 12/8 song (kick on 1, snare on 4 of each six eighths) is often
    tracked two eighths a beat, a 3/4 in quarter notes against the grain.
    Its real beat, the dotted quarter, is every third eighth. On that grid,
    kick and snare alternate like a back beat and fall on the beats; on the
    tracked grid the snare falls between beats. The dotted-quarter grid is
    the eighths (:func:`halves`) from the phase where kick and snare are
    strongest; the beats are pairs when that grid gains on the tracked one
    both in kick and snare alternation (:func:`backbeat_alternation`,
    summed; :data:`COMPOUND_ALTERNATION_GAIN`) and in their strength on the
    beats (:data:`COMPOUND_STRENGTH_GAIN`).

    Parameters
    ----------
    beats_s
        Tracked beat times in seconds, shape ``(n,)``.
    kick_activation, snare_activation
        The drum model's frame activations, shape ``(n_frames,)`` at ``fps``.

    Returns
    -------
    bool
        False with fewer than 12 beats.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size < 12:
        return False
    eighths = halves(b)
    accents = normalize_activation(kick_activation) + normalize_activation(snare_activation)
    values = grid_values(eighths, accents, fps=fps)
    if values.size < eighths.size or values.mean() <= 0:
        return False
    phase = int(np.argmax([values[p::3].mean() for p in range(3)]))
    # Each drum read once on the eighths: the pulse is every third from the phase, the beats every other.
    drums = [strength_at(eighths, a, fps=fps) for a in (kick_activation, snare_activation)]
    alternation_gain = sum(alternation(v[phase::3]) - alternation(v[0::2]) for v in drums)
    strength_gain = (values[phase::3].mean() - values[0::2].mean()) / values.mean()
    return alternation_gain >= COMPOUND_ALTERNATION_GAIN and strength_gain >= COMPOUND_STRENGTH_GAIN
