"""Three candidate fixes for whole-file metrical errors, measured on the tuning sets.

Each is measured against the shipped pipeline on dev-renders and
``cache/tune/{drums,mix}`` (Groove MIDI train-split tuning grooves,
``bench/analysis_tune_set.py``); ``cache/eval`` is only reported with
``--sets``, never used to choose. None of the three is in the pipeline:
figures and reasons are in docs/BENCHMARKS.md (``## Analysis``).

* ``phase-cue``: the snare (and kick) backbeat contrast of the bar
  (|s1 + s3 - s2 - s4| / 2 of the beat-synchronous activation averaged per
  bar position) on the grid minus on the half-shifted grid, as a fifth and
  sixth input to the beat/off-beat vote (``beats.correct_offbeat_cues``);
  right-phase accuracy and beat F with leave-one-groove-out logistic fits.
* ``segment-phase``: the off-beat vote per beat, smoothed over ``W`` beats;
  stretches whose smoothed vote favours the half-shifted grid by more than a
  margin are shifted (phase slips part-way through a file).
* ``hihat-octave``: double the tempo when the hi-hat is as strong on the
  sixteenth positions (a quarter and three quarters of a beat) as on the
  beats (ratio ≥ ``R``) and the doubled tempo is at most 200 BPM (170 BPM
  breakbeats tracked at 85).

Usage: nice -n 10 .venv/bin/python bench/analysis_metrical_checks.py
       [--checks phase-cue,segment-phase,hihat-octave] [--sets dev-renders,tune-drums,tune-mix]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from analysis_diagnose import SETS, cached_inputs, evaluate, pipeline_track  # noqa: E402

TUNING_SETS = ("dev-renders", "tune-drums", "tune-mix")
_ANALYZER: Any = None


def _analyzer() -> Any:
    global _ANALYZER
    if _ANALYZER is None:
        from backbeat.analysis.pipeline import Analyzer

        _ANALYZER = Analyzer()
    return _ANALYZER


def _sync(act: np.ndarray, times_s: np.ndarray, *, w: int = 3) -> np.ndarray:
    """Activation maxima within ±w frames of each time (normalised activation)."""
    from scipy.ndimage import maximum_filter1d

    from backbeat.analysis import beats as B

    a = maximum_filter1d(B.normalize_activation(np.asarray(act, dtype=np.float64)), 2 * w + 1)
    fr = np.clip(np.round(times_s * 100).astype(int), 0, a.size - 1)
    return np.asarray(a[fr])


def _bar_contrast(x: np.ndarray) -> float:
    n = x.size // 4 * 4
    if n < 8:
        return 0.0
    m = x[:n].reshape(-1, 4).mean(0)
    return float(abs(m[0] + m[2] - m[1] - m[3]) / 2)


def phase_cue() -> None:
    """Leave-one-groove-out right-phase accuracy with and without the backbeat-contrast cues."""
    import mir_eval
    from sklearn.linear_model import LogisticRegression

    from backbeat.analysis import beats as B

    an = _analyzer()
    groups, xs, ys, f_on, f_mid = [], [], [], [], []
    for set_name in TUNING_SETS:
        for flac in sorted(SETS[set_name][0].glob("*.flac")):
            ref = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)[:, 0]
            feats, acts, _dur = cached_inputs(set_name, flac, an)
            b = B.track_beats(an.beat_activation(feats, acts), fps=100).beats_s
            mids = 0.5 * (b[1:] + b[:-1])
            fo, fm = mir_eval.beat.f_measure(ref, b), mir_eval.beat.f_measure(ref, mids)
            if max(fo, fm) < 0.5:  # wrong tempo: phase is not the question
                continue
            x = []
            for k in B.OFFBEAT_CUES:
                a = B.normalize_activation(np.asarray(getattr(acts, k), dtype=np.float64))
                x.append(B.grid_strength(b[1:-1], a) - B.grid_strength(mids, a))
            for k in ("snare", "kick"):
                act = getattr(acts, k)
                x.append(_bar_contrast(_sync(act, b[1:-1])) - _bar_contrast(_sync(act, mids)))
            groups.append(flac.stem.split("__c")[0])
            xs.append(x)
            ys.append(int(fo >= fm))
            f_on.append(fo)
            f_mid.append(fm)
    g, X, y = np.array(groups), np.array(xs), np.array(ys)
    fo_a, fm_a = np.array(f_on), np.array(f_mid)
    shipped = (X[:, :4] @ np.array(B.OFFBEAT_WEIGHTS) >= 0).astype(int)
    print(f"phase-cue: {len(y)} files; shipped weights: right phase {np.mean(shipped == y):.3f}, "
          f"beat F {np.mean(np.where(shipped == 1, fo_a, fm_a)):.3f} "
          f"(best phase {np.mean(np.maximum(fo_a, fm_a)):.3f})")
    for label, cols in (("4 cues", [0, 1, 2, 3]), ("+ snare contrast", [0, 1, 2, 3, 4]),
                        ("+ kick contrast", [0, 1, 2, 3, 5]), ("+ both", [0, 1, 2, 3, 4, 5])):
        pred = np.zeros_like(y)
        for grp in np.unique(g):
            tr, te = g != grp, g == grp
            m = LogisticRegression(fit_intercept=False, C=0.3).fit(X[tr][:, cols], y[tr])
            pred[te] = m.predict(X[te][:, cols])
        print(f"  leave-one-groove-out {label:18s} right phase {np.mean(pred == y):.3f}  "
              f"beat F {np.mean(np.where(pred == 1, fo_a, fm_a)):.3f}")


def segment_phase_track(width_beats: int, margin: float) -> Any:
    """A ``track`` function for :func:`evaluate`: pipeline, then per-stretch phase shifts."""
    from scipy.ndimage import uniform_filter1d

    from backbeat.analysis import beats as B

    def track(feats: np.ndarray, acts: Any, dur: float) -> tuple[np.ndarray, np.ndarray]:
        b, p = pipeline_track(feats, acts, dur)
        if b.size < 2 * width_beats:
            return b, p
        mids = 0.5 * (b[1:] + b[:-1])
        vote = np.zeros(mids.size)
        for k, w in zip(B.OFFBEAT_CUES, B.OFFBEAT_WEIGHTS, strict=True):
            vote += w * (_sync(getattr(acts, k), b[:-1]) - _sync(getattr(acts, k), mids))
        flip = uniform_filter1d(vote, width_beats, mode="nearest") < -margin
        out = np.where(np.append(flip, False), np.append(mids, b[-1]), b)
        return out, p

    return track


def hihat_octave_track(ratio: float, *, max_bpm: float = 200.0) -> Any:
    """A ``track`` function for :func:`evaluate`: pipeline, then the hi-hat sixteenth-rate tempo doubling."""
    from backbeat.analysis import beats as B
    from backbeat.analysis import downbeats as DB

    def track(feats: np.ndarray, acts: Any, dur: float) -> tuple[np.ndarray, np.ndarray]:
        b, p = pipeline_track(feats, acts, dur)
        if b.size < 8:
            return b, p
        hh = B.normalize_activation(np.asarray(acts.hihat, dtype=np.float64))
        on = B.grid_strength(b[1:-1], hh)
        q = 0.5 * (B.grid_strength(0.75 * b[:-1] + 0.25 * b[1:], hh)
                   + B.grid_strength(0.25 * b[:-1] + 0.75 * b[1:], hh))
        if q >= ratio * on and 120.0 / np.median(np.diff(b)) <= max_bpm:
            b2 = np.sort(np.concatenate([b, 0.5 * (b[1:] + b[:-1])]))
            p2, _meter = DB.assign_positions(b2, feats, fps=100, downbeat_activation=acts.downbeat,
                                             kick_activation=acts.kick, snare_activation=acts.snare)
            return b2, p2
        return b, p

    return track


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checks", default="phase-cue,segment-phase,hihat-octave")
    ap.add_argument("--sets", default=",".join(TUNING_SETS))
    args = ap.parse_args()
    sets = args.sets.split(",")
    checks = args.checks.split(",")
    print("shipped pipeline:")
    evaluate(sets, pipeline_track, quiet=True)
    if "phase-cue" in checks:
        phase_cue()
    if "segment-phase" in checks:
        for width, margin in ((16, 0.1), (16, 0.3), (32, 0.1), (32, 0.3)):
            print(f"segment-phase W={width} margin={margin}:")
            evaluate(sets, segment_phase_track(width, margin), quiet=True)
    if "hihat-octave" in checks:
        for ratio in (0.7, 0.8, 0.85):
            print(f"hihat-octave R={ratio}:")
            evaluate(sets, hihat_octave_track(ratio), quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
