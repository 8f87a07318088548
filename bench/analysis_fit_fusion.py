"""Fit and check the fused bar-phase decision of the default beat path (tuning sets only).

On the beats tracked from the beat network's output, each beat gets two downbeat
log-odds: the drum cues' 4/4 bar template (``downbeats.template_evidence``, drum
model's kick, snare and downbeat outputs plus spectral cues) and the beat
network's downbeat output (``downbeats.log_odds``). A logistic regression of the
per-beat downbeat label (annotated position 1 within ±70 ms) on the two gives the
network's weight relative to the template (``downbeats.NET_DOWNBEAT_WEIGHT``);
the grid then prints mean downbeat F per tuning set for weights times phase-slip
costs (``downbeats.FUSED_SLIP_COST``) through ``downbeats.assign_positions``.

Inputs are the features and drum-model activations cached by
``bench/analysis_diagnose.py`` (``cache/acts/<set>/``); the beat network runs on them.
Only the tuning sets (dev-renders, tune-drums, tune-mix) are read.

Usage: nice -n 10 .venv/bin/python bench/analysis_fit_fusion.py [--weights 0,0.25,0.6,1] [--slips 5,12,20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from analysis_diagnose import SETS, cached_inputs  # noqa: E402

TUNING_SETS = ("dev-renders", "tune-drums", "tune-mix")


def load_items(set_name: str) -> list[dict[str, Any]]:
    """Per file: beats tracked from the beat network, features, drum activations, annotations."""
    from backbeat.analysis import beats as beats_mod
    from backbeat.analysis.beat_model import BeatModel
    from backbeat.analysis.pipeline import Analyzer

    analyzer = Analyzer(beat_source="model")
    net = BeatModel.load()
    folder, tuning = SETS[set_name]
    if not tuning:
        raise SystemExit(f"{set_name} is not a tuning set")
    items = []
    for flac in sorted(folder.glob("*.flac")):
        feats, acts, dur = cached_inputs(set_name, flac, analyzer)
        bacts = net.activations(feats)
        b = beats_mod.track_beats(bacts.beat).beats_s
        ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
        items.append({"beats": b[b < dur], "feats": feats, "acts": acts, "down": bacts.downbeat,
                      "ref_b": ann[:, 0], "ref_p": ann[:, 1].astype(int)})
    return items


def two_log_odds(it: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Template evidence and the network's (unweighted) downbeat log-odds of each beat."""
    from backbeat.analysis import downbeats as db

    a = it["acts"]
    cues = db.template_cues(it["beats"], it["feats"], downbeat_activation=a.downbeat,
                            kick_activation=a.kick, snare_activation=a.snare)
    return db.template_evidence(cues), db.network_downbeat_evidence(it["beats"], it["down"], weight=1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="0,0.25,0.375,0.5,0.6,0.75,1")
    ap.add_argument("--slips", default="5,8,12,20")
    args = ap.parse_args()
    import mir_eval
    from sklearn.linear_model import LogisticRegression

    from backbeat.analysis import downbeats as db

    data = {s: load_items(s) for s in TUNING_SETS}
    xs, ys = [], []
    for items in data.values():
        for it in items:
            b, ref_b = it["beats"], it["ref_b"]
            if b.size == 0:
                continue
            j = np.argmin(np.abs(b[:, None] - ref_b[None, :]), axis=1)
            near = np.abs(ref_b[j] - b) < 0.07
            tmpl, net = two_log_odds(it)
            xs.append(np.stack([tmpl[near], net[near]], axis=1))
            ys.append(it["ref_p"][j[near]] == 1)
    lr = LogisticRegression(C=1.0).fit(np.concatenate(xs), np.concatenate(ys))
    w_t, w_n = lr.coef_[0]
    print(f"logistic fit: template {w_t:.3f}, network {w_n:.3f}, intercept {lr.intercept_[0]:.3f}; "
          f"network / template = {w_n / w_t:.3f}")
    print("downbeat F per tuning set (" + ", ".join(TUNING_SETS) + ")")
    for w in (float(v) for v in args.weights.split(",")):
        for slip in (float(v) for v in args.slips.split(",")):
            row = []
            for items in data.values():
                fs = []
                for it in items:
                    a = it["acts"]
                    extra = db.network_downbeat_evidence(it["beats"], it["down"], weight=w)
                    pos, _ = db.assign_positions(it["beats"], it["feats"], downbeat_activation=a.downbeat,
                                                 kick_activation=a.kick, snare_activation=a.snare,
                                                 extra_evidence=extra, slip_cost=slip)
                    fs.append(mir_eval.onset.f_measure(it["ref_b"][it["ref_p"] == 1], it["beats"][pos == 1],
                                                       window=0.07)[0])
                row.append(float(np.mean(fs)))
            print(f"  weight {w:5.3f} slip {slip:4.1f}: " + "  ".join(f"{v:.3f}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
