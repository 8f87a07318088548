"""Ship a trained model: tune per-class peak thresholds, embed a torch reference, copy into the package.

1. Reads the exported weights (default ``cache/drums_tcn.npz``).
2. Tunes one peak-picking threshold per instrument on the *tuning* grooves of
   the training set (never on cache/eval or dev-renders), maximising onset F
   (±50 ms) over summed counts.
3. Rebuilds the torch network from the .npz and stores ``ref_input`` /
   ``ref_output`` (torch's output on a real clip) so the numpy forward pass can
   be checked against torch without torch installed (tests/test_analysis_nn.py).
4. Writes ``src/backbeat/analysis/models/drums_tcn.npz``.

Usage: nice -n 10 .venv/bin/python training/finalize.py [--weights cache/drums_tcn.npz]
       nice -n 10 .venv/bin/python training/finalize.py --compare A.npz B.npz --data DIR ... [--max-items N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from backbeat.analysis.drums import INSTRUMENTS, MODEL_PATH, pick_peaks  # noqa: E402
from backbeat.analysis.features import log_filterbank  # noqa: E402
from backbeat.analysis.nn import TCN  # noqa: E402
from evaluate import f_from_counts, match_counts  # noqa: E402

C9_TO_C5 = np.array([0, 1, 2, 2, 3, 3, 3, 4, 4])


class TuningItem(NamedTuple):
    """A tuning item: features, reference onset times per class5, its dataset directory name, mix or not."""

    feats: np.ndarray
    ref: list[np.ndarray]
    set_name: str
    mix: bool


def tuning_items(ds_dirs: list[Path], *, max_items: int = 120) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Up to ``max_items`` tuning items (features, reference onsets), shared equally among the directories."""
    return [(it.feats, it.ref) for it in tuning_items_meta(ds_dirs, max_items=max_items)]


def tuning_items_meta(ds_dirs: list[Path], *, max_items: int = 120) -> list[TuningItem]:
    """Like :func:`tuning_items`, with each item's dataset name and mix flag.

    Parameters
    ----------
    ds_dirs
        Dataset directories (``shard_*.npz``).
    max_items
        Total number of items, shared equally among ``ds_dirs`` (first shards first).

    Returns
    -------
    list[TuningItem]
        The items, directory by directory.
    """
    items: list[TuningItem] = []
    for d in ds_dirs:
        items += _tuning_items_of(d, max_items=max_items // len(ds_dirs))
    return items


def _tuning_items_of(ds_dir: Path, *, max_items: int) -> list[TuningItem]:
    items: list[TuningItem] = []
    for path in sorted(ds_dir.glob("shard_*.npz")):
        z = np.load(path, allow_pickle=False)
        offs = z["offsets"]
        for i in np.nonzero(z["item_tune"])[0]:
            sel = z["ev_item"] == i
            c5 = C9_TO_C5[z["ev_class9"][sel]]
            ref = [np.sort(z["ev_time_s"][sel][c5 == k]) for k in range(5)]
            items.append(TuningItem(z["feats"][offs[i]:offs[i + 1]].astype(np.float32), ref, ds_dir.name,
                                    bool(z["item_mix"][i])))
            if len(items) >= max_items:
                return items
    return items


def report(weights: list[Path], ds_dirs: list[Path], *, max_items: int) -> None:
    """Threshold-tuned onset F of several weights on the same tuning items, overall and per subset.

    Each weights file gets its own thresholds (as :func:`tune_thresholds` would
    ship them); F is then counted over all items and over drum-only items,
    mixes and each dataset directory, at those thresholds.
    """
    items = tuning_items_meta(ds_dirs, max_items=max_items)
    n_mix = sum(it.mix for it in items)
    print(f"{len(items)} tuning items ({n_mix} mixes) from {', '.join(d.name for d in ds_dirs)}")
    names = [it.value for it in INSTRUMENTS]
    subsets: list[tuple[str, list[int]]] = [("all", list(range(len(items)))),
                                            ("drums", [i for i, it in enumerate(items) if not it.mix]),
                                            ("mix", [i for i, it in enumerate(items) if it.mix])]
    subsets += [(d.name, [i for i, it in enumerate(items) if it.set_name == d.name]) for d in ds_dirs]
    refs = [it.ref for it in items]
    for path in weights:
        net = TCN.load(path)
        acts = [net.forward(it.feats) for it in items]
        thr = best_thresholds(acts, refs, quiet=True)
        print(f"== {path}  thresholds " + " ".join(f"{t:.2f}" for t in thr))
        print(f"   {'subset':12s} " + " ".join(f"{n:>6s}" for n in names) + "  KD/SD/HH")
        for label, idx in subsets:
            sub_acts, sub_refs = [acts[i] for i in idx], [refs[i] for i in idx]
            fs = [summed_f(sub_acts, sub_refs, k, float(thr[k])) for k in range(5)]
            print(f"   {label:12s} " + " ".join(f"{f:6.3f}" for f in fs) + f"  {np.mean(fs[:3]):.3f}"
                  + f"   ({len(idx)} items)", flush=True)


def summed_f(acts: list[np.ndarray], refs: list[list[np.ndarray]], k: int, threshold: float) -> float:
    """Onset F of output ``k`` over items (counts summed), peaks picked at ``threshold``."""
    cnt = np.zeros(3, dtype=int)
    for a, ref in zip(acts, refs, strict=True):
        cnt += match_counts(ref[k], pick_peaks(a[:, k], threshold=threshold))
    return f_from_counts(*map(int, cnt))


def best_thresholds(acts: list[np.ndarray], refs: list[list[np.ndarray]], *,
                    quiet: bool = False) -> np.ndarray:
    """Per-instrument peak threshold maximising :func:`summed_f` over a grid (0.04 to 0.90)."""
    out = np.zeros(5, dtype=np.float32)
    for k in range(5):
        best = (-1.0, 0.5)
        for t in np.arange(0.04, 0.91, 0.02):
            best = max(best, (summed_f(acts, refs, k, float(t)), round(float(t), 3)))
        out[k] = best[1]
        if not quiet:
            print(f"{INSTRUMENTS[k].value:7s} threshold {best[1]:.3f}  tuning F {best[0]:.3f}", flush=True)
    return out


def tune_thresholds(net: TCN, items: list[tuple[np.ndarray, list[np.ndarray]]], *,
                    quiet: bool = False) -> np.ndarray:
    """Per-instrument peak threshold maximising summed-count onset F on ``items``."""
    return best_thresholds([net.forward(f) for f, _ in items], [ref for _, ref in items], quiet=quiet)


def torch_state_dict(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The torch state dict (as numpy arrays) of exported .npz weights."""
    dil = tuple(int(d) for d in weights["dilations"])
    sd = {"mean": weights["mean"], "std": weights["std"], "inp.weight": weights["inp_w"],
          "inp.bias": weights["inp_b"], "head1.weight": weights["head1_w"][:, :, None],
          "head1.bias": weights["head1_b"], "head2.weight": weights["head2_w"][:, :, None],
          "head2.bias": weights["head2_b"]}
    for i in range(len(dil)):
        sd[f"dil.{i}.weight"] = weights[f"dil{i}_w"]
        sd[f"dil.{i}.bias"] = weights[f"dil{i}_b"]
        sd[f"mix.{i}.weight"] = weights[f"mix{i}_w"][:, :, None]
        sd[f"mix.{i}.bias"] = weights[f"mix{i}_b"]
    return sd


def torch_reference(weights: dict[str, np.ndarray], feats: np.ndarray) -> np.ndarray:
    import torch

    from train import TCN as TorchTCN

    dil = tuple(int(d) for d in weights["dilations"])
    ch = weights["inp_w"].shape[0]
    model = TorchTCN(weights["inp_w"].shape[1], ch, dil, weights["head2_w"].shape[0], 0.0)
    model.load_numpy(torch_state_dict(weights))
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(feats[None]))).numpy()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=REPO / "cache" / "drums_tcn.npz")
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO / "cache" / "dataset"])
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--max-items", type=int, default=120,
                    help="tuning items, shared equally among --data (120 for the shipped models so far)")
    ap.add_argument("--compare", type=Path, nargs="+", default=None,
                    help="only report threshold-tuned F of these weights on the same tuning items "
                         "(overall, drums-only, mixes, per set); writes nothing")
    ap.add_argument("--set-threshold", action="append", default=[], metavar="CLASS=VALUE",
                    help="only replace these peak thresholds in --weights (e.g. tom=0.7; classes: "
                         + ", ".join(i.value for i in INSTRUMENTS) + ") and write --out; nothing is re-tuned")
    args = ap.parse_args()
    if args.compare:
        report(args.compare, args.data, max_items=args.max_items)
        return
    with np.load(args.weights, allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    if args.set_threshold:
        if "thresholds" not in weights:
            ap.error(f"--set-threshold needs finalized weights (this script's output); "
                     f"{args.weights} has no thresholds")
        thr = np.array(weights["thresholds"], dtype=np.float32)
        names = [i.value for i in INSTRUMENTS]
        for spec in args.set_threshold:
            name, _, value = spec.partition("=")
            if name not in names:
                ap.error(f"--set-threshold: unknown class {name!r}")
            try:
                thr[names.index(name)] = float(value)
            except ValueError:
                ap.error(f"--set-threshold: {spec!r} is not CLASS=NUMBER")
        weights["thresholds"] = thr
        save(weights, args.out)
        print("thresholds " + " ".join(f"{i.value}={t:.2f}" for i, t in zip(INSTRUMENTS, thr, strict=True)))
        return
    net = TCN.load(args.weights)
    weights["thresholds"] = tune_thresholds(net, tuning_items(args.data, max_items=args.max_items))
    import soundfile as sf
    clip = REPO.parent / "shared" / "data" / "fixtures" / "madmom-sample"
    wav = next(iter(sorted(clip.glob("*.wav")) + sorted(clip.glob("*.flac"))), None)
    if wav is not None:
        y, sr = sf.read(wav, dtype="float32", always_2d=True)
        feats = log_filterbank(y.mean(axis=1), sr=sr)[:200]
    else:
        feats = tuning_items(args.data, max_items=1)[0][0][:200]
    weights["ref_input"] = feats.astype(np.float32)
    weights["ref_output"] = torch_reference(weights, feats).astype(np.float32)
    err = float(np.abs(net.forward(feats) - weights["ref_output"]).max())
    print(f"numpy vs torch max abs difference: {err:.2e}")
    save(weights, args.out)


def save(weights: dict[str, np.ndarray], out: Path) -> None:
    """Write the weights as a compressed ``.npz`` (through a temporary file, so no half-written model)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez_compressed(tmp, **weights)
    tmp.replace(out)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
