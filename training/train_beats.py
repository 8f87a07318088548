"""Train Backbeat's beat/downbeat network (a dilated temporal conv net with a long receptive field).

Same layer layout as the drum model (``backbeat.analysis.nn.TCN``, read in numpy
by ``backbeat.analysis.beat_model``): the 80-band log filterbank of
``backbeat.analysis.features`` plus its positive frame difference, an input
convolution, residual dilated convolutions with dilations 1, 2, 4, ..., 512
(receptive field ±10.2 s), and two sigmoid outputs per 10 ms frame: ``beat``
and ``downbeat``. Targets come from the metronome beats of the rendered
training set (``cache/dataset/shard_*.npz``, ``training/build_dataset.py``):
1 on the beat frame, 0.5 on its neighbours.

Augmentation: tempo change by resampling the feature frames (linear
interpolation, stretch factor log-uniform in ``±--stretch``), so the beats of
every groove are also seen at other tempi; with ``--tempo-range LO HI`` each
crop is instead stretched towards a tempo drawn log-uniform in LO..HI BPM, so
fast tempi, rare in Groove MIDI, are seen as often as slow ones; a random band
of filterbank bands is blanked now and then.

The ``item_tune`` items (~5 % of the grooves, never trained on) are the
validation set: the checkpoint with the lowest validation loss is exported as a
plain ``.npz`` (no pickle) with a torch reference output for the numpy test.
The run stops after ``--minutes`` of wall time (cosine learning-rate schedule).

Usage: nice -n 10 .venv/bin/python training/train_beats.py --minutes 45 --data cache/dataset cache/dataset_x
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from train import TCN, export  # the drum model's trainer: same layer layout and .npz format

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("beat", "downbeat")
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
FPS = 100


def load_items(ds_dirs: list[Path], seen: set[Path]) -> list[dict]:
    """Items of shards not in ``seen``: feats float16 (T, bands), beat times, downbeat, tune, mix flags."""
    out = []
    for path in sorted(p for d in ds_dirs for p in d.glob("shard_*.npz")):
        if path in seen:
            continue
        seen.add(path)
        with np.load(path, allow_pickle=False) as z:
            feats, offs = z["feats"], z["offsets"]
            bt_item, bt_time, bt_pos = z["bt_item"], z["bt_time_s"], z["bt_pos"]
            for i in range(len(offs) - 1):
                sel = bt_item == i
                if sel.sum() < 4:
                    continue
                out.append({"feats": feats[offs[i]:offs[i + 1]], "beats": bt_time[sel],
                            "down": bt_pos[sel] == 1, "tune": bool(z["item_tune"][i]),
                            "mix": bool(z["item_mix"][i])})
    return out


def targets(beats_s: np.ndarray, down: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) float32 targets: 1 on the beat frame, 0.5 on its neighbours."""
    y = np.zeros((n, 2), dtype=np.float32)
    fr = np.round(beats_s * FPS).astype(np.int64)
    for col, frames in ((0, fr), (1, fr[down])):
        for off, val in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            f = frames + off
            f = f[(f >= 0) & (f < n)]
            y[f, col] = np.maximum(y[f, col], val)
    return y


def stretched(item: dict, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets with time stretched by ``r`` (new length = r x old), linear interpolation."""
    f = item["feats"].astype(np.float32)
    n = len(f)
    m = max(2, int(n * r))
    if abs(r - 1.0) < 1e-3:
        g = f
        m = n
    else:
        src = np.minimum(np.arange(m) / r, n - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n - 1)
        w = (src - i0)[:, None].astype(np.float32)
        g = f[i0] * (1 - w) + f[i1] * w
    return g, targets(item["beats"] * r, item["down"], m)


def stretch_factor(item: dict, rng: np.random.Generator, stretch: float,
                   tempo_range: tuple[float, float] | None) -> float:
    """Time-stretch factor of one crop: log-uniform in ``±stretch``, or, with ``tempo_range``
    (lo, hi) in BPM, the factor that brings the item's tempo to a tempo drawn log-uniform in
    that range, clipped to ``±stretch`` (so every tempo of the range is seen about as often)."""
    if tempo_range is None:
        return float(np.exp(rng.uniform(-math.log(stretch), math.log(stretch))))
    bpm = 60.0 / float(np.median(np.diff(item["beats"])))
    target = float(np.exp(rng.uniform(math.log(tempo_range[0]), math.log(tempo_range[1]))))
    return float(np.clip(bpm / target, 1.0 / stretch, stretch))


def batch(items: list[dict], rng: np.random.Generator, bs: int, length: int, stretch: float,
          tempo_range: tuple[float, float] | None = None):
    xs, ys, ms = [], [], []
    n_bands = items[0]["feats"].shape[1]
    for _ in range(bs):
        it = items[int(rng.integers(len(items)))]
        r = stretch_factor(it, rng, stretch, tempo_range)
        f, y = stretched(it, r)
        n = len(f)
        x = np.zeros((length, n_bands), dtype=np.float32)
        t = np.zeros((length, 2), dtype=np.float32)
        mask = np.zeros((length, 1), dtype=np.float32)
        s = int(rng.integers(0, max(1, n - length + 1)))
        k = min(length, n - s)
        x[:k] = f[s:s + k]
        t[:k] = y[s:s + k]
        mask[:k] = 1.0
        if rng.random() < 0.3:  # blank a random band of bands
            w = int(rng.integers(4, 16))
            b0 = int(rng.integers(0, n_bands - w))
            x[:k, b0:b0 + w] = x[:k, b0:b0 + w].mean()
        xs.append(x)
        ys.append(t)
        ms.append(mask)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(ms))



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO / "cache" / "dataset"],
                    help="dataset dirs (shards that appear during training are added at each evaluation)")
    ap.add_argument("--minutes", type=float, default=50.0)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=1600, help="crop length in frames")
    ap.add_argument("--stretch", type=float, default=1.25, help="tempo augmentation: max stretch factor")
    ap.add_argument("--tempo-range", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                    help="tempo-balanced augmentation: stretch each crop to a tempo drawn log-uniform "
                         "in LO..HI BPM (clipped to --stretch) instead of a log-uniform stretch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--export", type=Path, default=REPO / "cache" / "beats_tcn.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export-last", type=Path, default=None,
                    help="also export the weights at every evaluation to this file (the run's last state)")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from exported .npz weights (same channels; keeps their input normalisation)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    seen: set[Path] = set()
    items = load_items(args.data, seen)
    train = [it for it in items if not it["tune"]]
    tune = [it for it in items if it["tune"]]
    print(f"{len(train)} train items, {len(tune)} tune items", flush=True)
    # Validation items stay fixed for the whole run, so checkpoints are compared on the same data.
    allf = np.concatenate([it["feats"][::5].astype(np.float32) for it in train[::2]])
    diff = np.maximum(np.diff(allf, axis=0, prepend=allf[:1]), 0)
    stack = np.concatenate([allf, diff], axis=1)
    model = TCN(2 * allf.shape[1], args.channels, DILATIONS, len(OUTPUTS), 0.1)
    model.mean.copy_(torch.from_numpy(stack.mean(0)))
    model.std.copy_(torch.from_numpy(stack.std(0) + 1e-3))
    if args.init is not None:
        from finalize import torch_state_dict
        with np.load(args.init, allow_pickle=False) as z:
            sd = torch_state_dict({k: z[k] for k in z.files})
        model.load_numpy(sd)
        print(f"initialised from {args.init}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    lossf = nn.BCEWithLogitsLoss(reduction="none", pos_weight=torch.tensor([4.0, 8.0]))
    vdata = [(torch.from_numpy(it["feats"].astype(np.float32))[None],
              torch.from_numpy(targets(it["beats"], it["down"], len(it["feats"])))[None]) for it in tune]

    def val_loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(np.mean([lossf(model(vx), vy).mean().item() for vx, vy in vdata]))

    t0 = time.time()
    budget = args.minutes * 60
    step, best = 0, math.inf
    if args.init is not None:  # export only what beats the starting weights
        best = val_loss()
        print(f"start val {best:.4f}", flush=True)
    warmup = 50 if args.init is not None else 200
    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1:
            break
        lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac))) * min(1.0, (step + 1) / warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        x, y, m = batch(train, rng, args.batch, args.length, args.stretch,
                        tuple(args.tempo_range) if args.tempo_range else None)
        loss = (lossf(model(x), y) * m).sum() / (m.sum() * 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % args.eval_every == 0:
            vl = val_loss()
            print(f"step {step} t={time.time() - t0:.0f}s lr={lr:.2e} loss={loss.item():.4f} val={vl:.4f}",
                  flush=True)
            new = load_items(args.data, seen)
            if new:
                train += [it for it in new if not it["tune"]]
                print(f"  +{len(new)} items: {len(train)} train", flush=True)
            if vl < best or args.export_last is not None:
                ref_in = tune[0]["feats"][:1200].astype(np.float32)
                with torch.no_grad():
                    ref_out = torch.sigmoid(model(torch.from_numpy(ref_in)[None]))[0].numpy()
                extra = {"val_loss": np.array(vl), "steps": np.array(step),
                         "ref_input": ref_in, "ref_output": ref_out.astype(np.float32)}
                if vl < best:
                    best = vl
                    export(model, args.export, DILATIONS, outputs=OUTPUTS, extra=extra)
                if args.export_last is not None:
                    export(model, args.export_last, DILATIONS, outputs=OUTPUTS, extra=extra)
    print(f"done: {step} steps, best val {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
