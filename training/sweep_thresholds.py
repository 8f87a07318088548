"""Drum onset F on the benchmark's tuning sets for a weights file at other peak thresholds.

Scores hits as ``bench/analysis.py`` does (beats tracked by the pipeline on the
weights' own activations, mir_eval ±50 ms, mean over a set's files), for the
weights' own thresholds and for each value given per class, one class changed at
a time; features come from ``cache/acts`` (``bench/analysis_diagnose.cached_inputs``
computes them once per file). Used to choose the tom and cymbal thresholds on the
15 tuning sets; prints per-set figures, then each variant's means over the sets.

Usage::

    .venv/bin/python training/sweep_thresholds.py --weights cache/final_s16.npz \\
        --sets dev-renders,tune-drums --values tom=0.5,0.55,0.6 cymbal=0.45,0.5,0.55
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench")]

from backbeat.core.kit import Instrument  # noqa: E402

CLASSES = tuple(i.value for i in Instrument)


def main() -> None:
    """Parse the options, score every variant on every set and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, required=True, help="finalized drum weights (finalize.py --out)")
    ap.add_argument("--sets", required=True, help="comma-separated tuning sets of bench/analysis.py")
    ap.add_argument("--values", nargs="*", default=[], metavar="CLASS=V1,V2",
                    help="thresholds to try per class (classes: " + ", ".join(CLASSES) + ")")
    args = ap.parse_args()

    import mir_eval

    from analysis import read_annotations
    from analysis_diagnose import SETS, cached_inputs
    from backbeat.analysis.drums import DrumModel, transcribe
    from backbeat.analysis.pipeline import Analyzer

    variants: list[tuple[str, dict[Instrument, float]]] = [("own", {})]
    for spec in args.values:
        cls, _, values = spec.partition("=")
        if cls not in CLASSES or not values:
            ap.error(f"--values {spec!r}: expected CLASS=V1,V2 with CLASS one of {', '.join(CLASSES)}")
        try:
            variants += [(f"{cls}={v}", {Instrument(cls): float(v)}) for v in values.split(",")]
        except ValueError:
            ap.error(f"--values {spec!r}: the thresholds must be numbers")
    sets = args.sets.split(",")
    unknown = [s for s in sets if s not in SETS or not SETS[s][1]]
    if unknown:
        ap.error(f"not tuning sets of bench/analysis.py: {', '.join(unknown)}")

    model = DrumModel.load(args.weights)
    shipped = Analyzer()  # the features cache is filled with the shipped model's activations
    analyzer = Analyzer()
    analyzer.model = model
    own = dict(model.thresholds)
    means: dict[str, dict[str, list[float]]] = {name: {c: [] for c in CLASSES} for name, _ in variants}
    for s in sets:
        folder = SETS[s][0]
        per: dict[str, dict[str, list[float]]] = {name: {} for name, _ in variants}
        for flac in sorted(folder.glob("*.flac")):
            truth = read_annotations(folder / flac.stem)
            if truth is None:
                continue
            feats, _, dur = cached_inputs(s, flac, shipped)
            acts = model.activations(feats)
            tracked = analyzer.analyze_activations(feats, acts, duration_s=dur).beats
            beats = np.array([b.time_s for b in tracked])
            for name, change in variants:
                hits = transcribe(acts, thresholds={**own, **change}, beats_s=beats)
                for cls, ref in truth[2].items():
                    if ref.size:
                        est = np.array([h.time_s for h in hits if h.instrument.value == cls])
                        f = mir_eval.onset.f_measure(ref, est, window=0.05)[0] if est.size else 0.0
                        per[name].setdefault(cls, []).append(f)
        for name, _ in variants:
            for cls in CLASSES:
                means[name][cls].append(float(np.mean(per[name].get(cls, [np.nan]))))
        o = {c: means["own"][c][-1] for c in CLASSES}
        print(f"{s:18s} " + " ".join(f"{c}={o[c]:.3f}" for c in CLASSES)
              + f"  mean KD/SD/HH={np.mean([o['kick'], o['snare'], o['hihat']]):.3f}", flush=True)
    print(f"\nmeans over {len(sets)} sets")
    for name, _ in variants:
        m = {c: float(np.nanmean(means[name][c])) for c in CLASSES}
        print(f"{name:14s} " + " ".join(f"{c}={m[c]:.4f}" for c in CLASSES)
              + f"  mean KD/SD/HH={np.mean([m['kick'], m['snare'], m['hihat']]):.4f}")


if __name__ == "__main__":
    main()
