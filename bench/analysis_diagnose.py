"""Per-file beat/downbeat error breakdown: metrical level and phase of each miss.

For each file: beat F, CMLt, AMLt (mir_eval), the tracked/annotated
beat-period ratio and a verdict: ``ok`` (F >= 0.9), ``off-beat`` (right
period, half a beat out), ``double`` / ``half`` (2:1 / 1:2), ``3:4`` / ``4:3``,
or ``other``; and downbeat F with the phase error (in beats) of the downbeats.
Features and drum-model activations are cached in ``cache/acts/<set>/`` so
that tracker changes can be measured without re-running the model.

Usage: nice -n 10 .venv/bin/python bench/analysis_diagnose.py [--sets tune-drums,tune-mix] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from analysis import SETS as ANALYSIS_SETS  # noqa: E402

#: The annotated sets of ``bench/analysis.py`` (tuning or held out there): name -> (folder, tuning).
SETS = {name: (folder, tuning) for name, (folder, pattern, tuning) in ANALYSIS_SETS.items()
        if pattern == "*.flac"}
ACT_NAMES = ("kick", "snare", "hihat", "tom", "cymbal", "beat", "downbeat")


def cached_inputs(set_name: str, flac: Path, analyzer):  # type: ignore[no-untyped-def]
    """(features, activations-namespace) for a file, cached as .npz."""
    from types import SimpleNamespace

    from backbeat.analysis.audio import load_audio
    from backbeat.analysis.drums import MODEL_PATH
    from backbeat.analysis.features import SR
    from backbeat.analysis.pipeline import chunked_log_filterbank

    cache = ROOT / "cache" / "acts" / set_name / (flac.stem + ".npz")
    newest_input = max(flac.stat().st_mtime, MODEL_PATH.stat().st_mtime)  # retrained weights: recompute
    if cache.exists() and cache.stat().st_mtime > newest_input:
        z = np.load(cache, allow_pickle=False)
        acts = SimpleNamespace(**{k: z[k] for k in ACT_NAMES if k in z})
        return z["features"], acts, float(z["duration_s"])
    sig = load_audio(flac, sr=SR)
    feats = chunked_log_filterbank(sig.samples, sr=SR)
    acts = analyzer.model.activations(feats)
    arrays = {k: np.asarray(getattr(acts, k), dtype=np.float32) for k in ACT_NAMES
              if getattr(acts, k, None) is not None}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, features=feats, duration_s=sig.duration_s, **arrays)
    return feats, SimpleNamespace(**arrays), sig.duration_s


def verdict(est: np.ndarray, ref: np.ndarray, f: float) -> tuple[str, float]:
    if est.size < 2 or ref.size < 2:
        return "none", 0.0
    ratio = float(np.median(np.diff(est)) / np.median(np.diff(ref)))
    if f >= 0.9:
        return "ok", ratio
    for name, r in (("double", 0.5), ("half", 2.0), ("3:4", 0.75), ("4:3", 4 / 3), ("2:3", 2 / 3),
                    ("3:2", 1.5)):
        if abs(ratio / r - 1) < 0.06:
            return name, ratio
    if abs(ratio - 1) < 0.06:
        return "off-beat", ratio
    return "other", ratio


def down_phase(est_b: np.ndarray, est_p: np.ndarray, ref_b: np.ndarray, ref_p: np.ndarray) -> int:
    """Most common (annotated position - 1) at tracked downbeats (0 = right)."""
    d = est_b[est_p == 1]
    if d.size == 0 or ref_b.size == 0:
        return -1
    j = np.argmin(np.abs(d[:, None] - ref_b[None, :]), axis=1)
    close = np.abs(ref_b[j] - d) < 0.07
    if not close.any():
        return -1
    vals = ref_p[j[close]] - 1
    return int(np.bincount(vals).argmax())


def evaluate(set_names: list[str], track, *, quiet: bool = False) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Run ``track(features, acts, duration_s) -> (beats_s, positions)`` over sets; mean F per set."""
    import mir_eval

    from backbeat.analysis.beats import median_bpm
    from backbeat.analysis.pipeline import Analyzer

    analyzer = Analyzer()
    out = {}
    for set_name in set_names:
        folder, _tuning = SETS[set_name]
        files = sorted(folder.glob("*.flac"))
        bf, df, verdicts = [], [], {}
        for flac in files:
            ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
            ref_b, ref_p = ann[:, 0], ann[:, 1].astype(int)
            feats, acts, dur = cached_inputs(set_name, flac, analyzer)
            est_b, est_p = track(feats, acts, dur)
            f = mir_eval.beat.f_measure(ref_b, est_b)
            _cmlc, cmlt, _amlc, amlt = mir_eval.beat.continuity(ref_b, est_b)
            dfm = mir_eval.onset.f_measure(ref_b[ref_p == 1], est_b[est_p == 1], window=0.07)[0]
            v, ratio = verdict(est_b, ref_b, f)
            verdicts[v] = verdicts.get(v, 0) + 1
            bf.append(f)
            df.append(dfm)
            ref_bpm = median_bpm(ref_b)
            if not quiet:
                print(f"  {set_name:11s} {flac.stem[:28]:28s} ref {ref_bpm:5.1f} BPM  F {f:.3f} "
                      f"CMLt {cmlt:.2f} "
                      f"AMLt {amlt:.2f} ratio {ratio:.2f} {v:8s} downF {dfm:.3f} "
                      f"phase {down_phase(est_b, est_p, ref_b, ref_p)}")
        out[set_name] = (float(np.mean(bf)), float(np.mean(df)))
        print(f"{set_name}: beat F {np.mean(bf):.3f}  downbeat F {np.mean(df):.3f}  {verdicts}", flush=True)
    return out


def pipeline_track(feats, acts, dur):  # type: ignore[no-untyped-def]
    """The shipped pipeline (``Analyzer.analyze_activations``) on cached activations."""
    global _AN
    if "_AN" not in globals():
        from backbeat.analysis.pipeline import Analyzer

        _AN = Analyzer()
    a = _AN.analyze_activations(feats, acts, duration_s=dur)
    return np.array([x.time_s for x in a.beats]), np.array([x.position for x in a.beats], dtype=int)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dev-renders,tune-drums,tune-mix")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    evaluate(args.sets.split(","), pipeline_track, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
