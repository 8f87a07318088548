"""Measure drum transcription: onset F-measure (mir_eval, ±50 ms) per class on annotated audio sets.

Each set is a directory of ``<name>.flac`` + ``<name>.onsets.tsv`` (dev-renders
format). Counts are summed over all files of a set (micro F); the per-file
mean F is printed too. Also reports model inference speed.

Usage:
  .venv/bin/python training/evaluate.py                      # cache/eval/drums, cache/eval/mix, dev-renders
  .venv/bin/python training/evaluate.py --baseline           # also the classical DSP baseline
  .venv/bin/python training/evaluate.py --by-kit             # also a row per held-out kit
  .venv/bin/python training/evaluate.py --speed              # start-up and inference time, 3.5-min song
  .venv/bin/python training/evaluate.py DIR [DIR ...] [--model path.npz]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mir_eval
import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from backbeat.analysis.drums import INSTRUMENTS, DrumModel, transcribe  # noqa: E402
from backbeat.analysis.features import log_filterbank  # noqa: E402

CLASS5 = ("KD", "SD", "HH", "TT", "CY")
WINDOW_S = 0.05
DEFAULT_SETS = (REPO / "cache" / "eval" / "drums", REPO / "cache" / "eval" / "mix",
                REPO.parent / "shared" / "data" / "dev-renders")

Transcriber = Callable[[np.ndarray], dict[str, np.ndarray]]  # features -> class5 -> onset times


def read_onsets(path: Path) -> dict[str, np.ndarray]:
    """Reference onset times per class5 from an ``.onsets.tsv``."""
    rows: dict[str, list[float]] = {c: [] for c in CLASS5}
    with path.open() as f:
        next(f)
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1] in rows:
                rows[parts[1]].append(float(parts[0]))
    return {c: np.array(sorted(v)) for c, v in rows.items()}


def match_counts(ref: np.ndarray, est: np.ndarray, *, window_s: float = WINDOW_S) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) with mir_eval's one-to-one matching."""
    if len(ref) == 0 or len(est) == 0:
        return 0, len(est), len(ref)
    tp = len(mir_eval.util.match_events(ref, est, window_s))
    return tp, len(est) - tp, len(ref) - tp


def f_from_counts(tp: int, fp: int, fn: int) -> float:
    """F-measure from counts (1.0 when there is nothing to find and nothing found)."""
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / max(2 * tp + fp + fn, 1)


def model_transcriber(model: DrumModel) -> Transcriber:
    def run(feats: np.ndarray) -> dict[str, np.ndarray]:
        hits = transcribe(model.activations(feats), thresholds=model.thresholds)
        out: dict[str, list[float]] = {c: [] for c in CLASS5}
        for h in hits:
            out[CLASS5[INSTRUMENTS.index(h.instrument)]].append(h.time_s)
        return {c: np.array(v) for c, v in out.items()}
    return run


def kits_of(directory: Path) -> dict[str, str]:
    """File stem -> kit, from the ``index.csv`` beside an evaluation set (empty when there is none)."""
    index = directory.parent / "index.csv"
    if not index.exists():
        return {}
    with index.open() as f:
        return {r["name"]: r["kit"] for r in csv.DictReader(f) if r["set"] == directory.name}


def evaluate_set(directory: Path, run: Transcriber, *, only: set[str] | None = None) -> dict[str, float]:
    """Summed-count F per class5 plus mean KD/SD/HH F, file count, audio seconds and run seconds.

    ``only`` restricts the set to these file stems.
    """
    counts = {c: np.zeros(3, dtype=int) for c in CLASS5}
    per_file = []
    audio_s = run_s = 0.0
    files = [f for f in sorted(directory.glob("*.flac"))
             if only is None or f.name[: -len(".flac")] in only]
    for flac in files:
        tsv = flac.with_name(flac.name[: -len(".flac")] + ".onsets.tsv")
        if not tsv.exists():
            continue
        y, sr = sf.read(flac, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        audio_s += len(y) / sr
        t0 = time.perf_counter()
        est = run(log_filterbank(y, sr=sr))
        run_s += time.perf_counter() - t0
        ref = read_onsets(tsv)
        fs = []
        for c in CLASS5:
            tp, fp, fn = match_counts(ref[c], est[c])
            counts[c] += (tp, fp, fn)
            fs.append(f_from_counts(tp, fp, fn))
        per_file.append(np.mean(fs[:3]))
    res = {c: f_from_counts(*map(int, counts[c])) for c in CLASS5}
    res["mean_kd_sd_hh"] = float(np.mean([res["KD"], res["SD"], res["HH"]]))
    res["per_file_mean_kd_sd_hh"] = float(np.mean(per_file)) if per_file else float("nan")
    res["files"] = float(len(per_file))
    res["audio_s"] = audio_s
    res["run_s"] = run_s
    return res


def print_row(label: str, r: dict[str, float]) -> None:
    print(f"{label:34s} " + " ".join(f"{r[c]:.3f}" for c in CLASS5)
          + f"  {r['mean_kd_sd_hh']:.3f}   {int(r['files']):3d} files {r['audio_s'] / 60:5.1f} min"
          + f"  {r['audio_s'] / max(r['run_s'], 1e-9):6.0f}x RT")


def speed(model_path: Path | None, *, duration_s: float = 210.0, repeats: int = 3) -> None:
    """Time start-up and each stage on a synthetic song, beside a numpy matmul anchor from the same run."""
    t0 = time.perf_counter()
    DrumModel._cache.clear()
    model = DrumModel.load(model_path)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(int(duration_s * 44100)) * 0.1).astype(np.float32)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    best: dict[str, float] = {}
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(10):
            a @ a
        anchor = time.perf_counter() - t
        t = time.perf_counter()
        feats = log_filterbank(y)
        t_feat = time.perf_counter() - t
        t = time.perf_counter()
        acts = model.activations(feats)
        t_net = time.perf_counter() - t
        t = time.perf_counter()
        transcribe(acts, thresholds=model.thresholds)
        t_pick = time.perf_counter() - t
        for k, v in (("anchor", anchor), ("features", t_feat), ("network", t_net), ("peaks", t_pick)):
            best[k] = min(best.get(k, 1e9), v)
    total = best["features"] + best["network"] + best["peaks"]
    print(f"model load (start-up): {load_s * 1000:.0f} ms")
    print(f"anchor: 10 x float32 1024^2 matmul = {best['anchor']:.3f} s "
          f"({10 * 2 * 1024**3 / best['anchor'] / 1e9:.1f} GFLOP/s)")
    print(f"{duration_s:.0f} s song: features {best['features']:.3f} s, network {best['network']:.3f} s, "
          f"peak picking {best['peaks']:.3f} s, total {total:.3f} s = {duration_s / total:.0f}x real time "
          f"(best of {repeats})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--baseline", action="store_true", help="also evaluate the classical DSP baseline")
    ap.add_argument("--speed", action="store_true", help="only time start-up and inference")
    ap.add_argument("--by-kit", action="store_true", help="also a row per kit (sets with an index.csv)")
    args = ap.parse_args()
    if args.speed:
        speed(args.model)
        return
    dirs = args.dirs or [d for d in DEFAULT_SETS if d.exists()]
    model = DrumModel.load(args.model)
    runners: list[tuple[str, Transcriber]] = [("model", model_transcriber(model))]
    if args.baseline:
        from baseline import baseline_transcriber
        runners.append(("dsp-baseline", baseline_transcriber()))
    print(f"{'set':34s}    KD    SD    HH    TT    CY  KD/SD/HH   (onset F, ±50 ms, summed counts)")
    for d in dirs:
        for name, run in runners:
            print_row(f"{name}: {d.parent.name}/{d.name}", evaluate_set(d, run))
            kits = kits_of(d) if args.by_kit else {}
            for kit in sorted(set(kits.values())):
                stems = {stem for stem, k in kits.items() if k == kit}
                print_row(f"  {kit}", evaluate_set(d, run, only=stems))


if __name__ == "__main__":
    main()
