"""Fit the 4/4 bar-template downbeat weights (``downbeats.TEMPLATE_WEIGHTS``) on the tuning sets.

Tuning files: dev-renders and ``cache/tune/{drums,mix}`` (Groove MIDI
train-split tuning grooves, ``bench/analysis_tune_set.py``), never
``cache/eval``. Beats are tracked as in the pipeline; each tracked beat is
labelled "is a downbeat" from the annotation (±70 ms). Input: the
:func:`backbeat.analysis.downbeats.template_cues` of the beat and of the next
three (:func:`~backbeat.analysis.downbeats.template_inputs`); logistic
regression. Prints downbeat F with leave-one-groove-out fits (excerpts of one
performance, drum-only and mix, are left out together) for the cue weights
and for the template, then the weights to paste.

Usage: nice -n 10 .venv/bin/python bench/analysis_fit_templates.py [--C 0.3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from analysis_diagnose import SETS, cached_inputs  # noqa: E402

TUNING_SETS = ("dev-renders", "tune-drums", "tune-mix")


def collect() -> list[dict]:  # type: ignore[type-arg]
    import mir_eval

    from backbeat.analysis import downbeats as D
    from backbeat.analysis.pipeline import Analyzer

    an = Analyzer()
    items = []
    for s in TUNING_SETS:
        for flac in sorted(SETS[s][0].glob("*.flac")):
            ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
            ref_b, ref_p = ann[:, 0], ann[:, 1].astype(int)
            feats, acts, dur = cached_inputs(s, flac, an)
            a = an.analyze_activations(feats, acts, duration_s=dur)
            b = np.array([x.time_s for x in a.beats])
            if b.size < 8:
                continue
            cues = D.template_cues(b, feats, downbeat_activation=acts.downbeat, kick_activation=acts.kick,
                                   snare_activation=acts.snare)
            j = np.argmin(np.abs(b[:, None] - ref_b[None, :]), axis=1)
            y = ((np.abs(ref_b[j] - b) < 0.07) & (ref_p[j] == 1)).astype(int)
            cue_ev = D.downbeat_evidence(b, feats, downbeat_activation=acts.downbeat,
                                         kick_activation=acts.kick, snare_activation=acts.snare)
            items.append({"group": flac.stem.split("__c")[0], "b": b, "x": D.template_inputs(cues), "y": y,
                          "ref_down": ref_b[ref_p == 1], "cue_ev": cue_ev,
                          "beat_f": mir_eval.beat.f_measure(ref_b, b)})
    return items


def down_f(item: dict, evidence: np.ndarray) -> float:  # type: ignore[type-arg]
    import mir_eval

    from backbeat.analysis import downbeats as D

    pos = D.decode_positions(evidence, 4, slip_cost=D.SLIP_COST)
    return float(mir_eval.onset.f_measure(item["ref_down"], item["b"][pos == 1], window=0.07)[0])


def main() -> int:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=0.3, help="inverse L2 strength")
    args = ap.parse_args()
    items = collect()
    groups = sorted({it["group"] for it in items})
    f_tmpl, f_cue = np.zeros(len(items)), np.zeros(len(items))
    for g in groups:
        train = [it for it in items if it["group"] != g]
        m = LogisticRegression(C=args.C, max_iter=3000).fit(np.concatenate([it["x"] for it in train]),
                                                              np.concatenate([it["y"] for it in train]))
        for i, it in enumerate(items):
            if it["group"] == g:
                f_tmpl[i] = down_f(it, m.decision_function(it["x"]))
                f_cue[i] = down_f(it, it["cue_ev"])
    ok = np.array([it["beat_f"] >= 0.9 for it in items])
    print(f"{len(items)} tuning files from {len(groups)} grooves; beat F >= 0.9 on {ok.sum()}")
    print(f"leave-one-groove-out downbeat F: template {np.mean(f_tmpl):.3f}, "
          f"cue weights {np.mean(f_cue):.3f}; "
          f"on files with right beats: template {np.mean(f_tmpl[ok]):.3f}, "
          f"cue weights {np.mean(f_cue[ok]):.3f}")
    m = LogisticRegression(C=args.C, max_iter=3000).fit(np.concatenate([it["x"] for it in items]),
                                                          np.concatenate([it["y"] for it in items]))
    print("TEMPLATE_WEIGHTS = np.array(", np.round(m.coef_[0].reshape(4, -1), 3).tolist(), ")")
    print("TEMPLATE_BIAS =", round(float(m.intercept_[0]), 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
