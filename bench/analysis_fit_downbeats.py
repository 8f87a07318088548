"""Fit the downbeat cue weights (``backbeat.analysis.downbeats.CUE_WEIGHTS``) and check them.

Data: the feature shards DRUM-MODEL's training builds in ``cache/dataset``
(Groove MIDI *train* split rendered with several kits, drum-only and full
mixes, with beat/downbeat annotations). Items of at least 20 s are used.
Beats are tracked as in the pipeline; each tracked beat within ±70 ms of an
annotated beat gets the label "is a downbeat". A logistic regression on
:func:`backbeat.analysis.downbeats.beat_cues` gives weights in log-odds.

The script fits on ``--fit-shards`` and reports downbeat F (±70 ms) on
``--test-shards`` for the shipped weights and for the fitted ones; paste the
printed weights into downbeats.py if they are better.

Usage::

    nice -n 10 .venv/bin/python bench/analysis_fit_downbeats.py [--fit-shards 0,1] [--test-shards 2,3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def items(shards: list[int]):  # type: ignore[no-untyped-def]
    for sh in shards:
        path = ROOT / "cache" / "dataset" / f"shard_{sh:02d}.npz"
        if not path.exists():
            continue
        z = np.load(path, allow_pickle=False)
        feats, off = z["feats"], z["offsets"]
        bi, bt, bp, mix = z["bt_item"], z["bt_time_s"], z["bt_pos"], z["item_mix"]
        for i in range(len(off) - 1):
            if off[i + 1] - off[i] < 2000:
                continue
            yield feats[off[i]:off[i + 1]].astype(np.float32), bt[bi == i], bp[bi == i], bool(mix[i])


def tracked(feats: np.ndarray) -> np.ndarray:
    from backbeat.analysis import beats as B

    return B.track_beats(B.onset_activation(feats), anchor=B.low_band_activation(feats)).beats_s


def collect(shards: list[int]) -> tuple[np.ndarray, np.ndarray]:
    from backbeat.analysis.downbeats import beat_cues

    xs, ys = [], []
    for feats, ref, pos, _mix in items(shards):
        b = tracked(feats)
        if b.size < 8:
            continue
        cues = beat_cues(b, feats)
        d = np.abs(b[:, None] - ref[None, :])
        j = np.argmin(d, axis=1)
        ok = d[np.arange(b.size), j] < 0.07
        xs.append(cues[ok])
        ys.append((pos[j[ok]] == 1).astype(float))
    return np.concatenate(xs), np.concatenate(ys)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0,
                 iters: int = 300) -> tuple[np.ndarray, float]:
    """Newton's method for L2-regularised logistic regression."""
    xa = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xa.shape[1])
    reg = l2 * np.eye(xa.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xa @ w)))
        grad = xa.T @ (p - y) + reg @ w
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w[:-1], float(w[-1])


def evaluate(shards: list[int], weights: np.ndarray, bias: float) -> dict[str, float]:
    import mir_eval

    from backbeat.analysis import downbeats as D

    old_w, old_b = D.CUE_WEIGHTS, D.CUE_BIAS
    D.CUE_WEIGHTS, D.CUE_BIAS = weights, bias
    try:
        scores: dict[str, list[float]] = {"drums": [], "mix": []}
        for feats, ref, pos, mix in items(shards):
            b = tracked(feats)
            p, _m = D.assign_positions(b, feats)
            scores["mix" if mix else "drums"].append(
                mir_eval.onset.f_measure(ref[pos == 1], b[p == 1], window=0.07)[0])
    finally:
        D.CUE_WEIGHTS, D.CUE_BIAS = old_w, old_b
    return {k: float(np.mean(v)) for k, v in scores.items() if v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-shards", default="0,1")
    parser.add_argument("--test-shards", default="2,3")
    args = parser.parse_args()
    fit_shards = [int(s) for s in args.fit_shards.split(",")]
    test_shards = [int(s) for s in args.test_shards.split(",")]
    from backbeat.analysis import downbeats as D

    x, y = collect(fit_shards)
    if x.size == 0:
        print("no data in cache/dataset (built by the drum model's training scripts)")
        return 1
    w, c = fit_logistic(x, y)
    print(f"fitted on {x.shape[0]} beats ({y.mean():.2f} downbeats): cues {D.CUE_NAMES}")
    print(f"weights {np.round(w, 3).tolist()} bias {c:.3f}")
    print(f"test downbeat F, shipped weights: {evaluate(test_shards, D.CUE_WEIGHTS, D.CUE_BIAS)}")
    print(f"test downbeat F, fitted weights:  {evaluate(test_shards, w, c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
