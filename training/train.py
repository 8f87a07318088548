"""Train Backbeat's drum/beat activation network (a small dilated temporal conv net) with torch on CPU.

Input: the log filterbank of backbeat.analysis.features plus its positive frame
difference, normalised per channel. Outputs (sigmoid, one per frame, 100 fps):
``backbeat.analysis.nn.OUTPUTS`` = KD SD HH TT CY onsets, detail onsets (open
hi-hat, high/mid/floor tom, ride), beat and downbeat.

The run stops after ``--minutes`` of wall time with a cosine learning-rate
schedule over that time; the best checkpoint on the held-out tuning grooves is
exported to ``--export`` as a plain .npz (no pickle) that
backbeat.analysis.nn.TCN.load reads.

Usage: nice -n 10 .venv/bin/python training/train.py --minutes 60
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from backbeat.analysis.features import MAG_SCALE  # noqa: E402
from backbeat.analysis.nn import OUTPUTS  # noqa: E402
from backbeat.core.errors import InvalidArgumentError  # noqa: E402

CLASS9 = ("KD", "SD", "HHC", "HHO", "LT", "MT", "HT", "CR", "RD")
# class9 index -> output indices it turns on
_C9_TO_OUT = {0: (0,), 1: (1,), 2: (2,), 3: (2, 5), 4: (3, 8), 5: (3, 7), 6: (3, 6), 7: (4,), 8: (4, 9)}
BEAT, DOWNBEAT = OUTPUTS.index("beat"), OUTPUTS.index("downbeat")


class TCN(nn.Module):
    """Same architecture as backbeat.analysis.nn.TCN (numpy)."""

    def __init__(self, n_in: int, channels: int, dilations: tuple[int, ...], n_out: int, dropout: float):
        super().__init__()
        self.inp = nn.Conv1d(n_in, channels, 3, padding=1)
        self.dil = nn.ModuleList(nn.Conv1d(channels, channels, 3, dilation=d, padding=d) for d in dilations)
        self.mix = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.head1 = nn.Conv1d(channels, channels, 1)
        self.head2 = nn.Conv1d(channels, n_out, 1)
        self.drop = nn.Dropout(dropout)
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))

    def load_numpy(self, state: dict[str, np.ndarray]) -> None:
        """Load a torch-layout state dict held as numpy arrays (:func:`finalize.torch_state_dict`)."""
        self.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """feats (B, T, n_bands) -> logits (B, T, n_out)."""
        diff = torch.relu(feats - torch.nn.functional.pad(feats, (0, 0, 1, 0))[:, :-1])
        x = torch.cat([feats, diff], dim=2)
        x = ((x - self.mean) / self.std).transpose(1, 2)
        h = torch.relu(self.inp(x))
        for conv, mix in zip(self.dil, self.mix, strict=True):
            h = h + mix(self.drop(torch.relu(conv(h))))
        h = torch.relu(self.head1(h))
        return self.head2(self.drop(h)).transpose(1, 2)


def load_shards(ds_dirs: list[Path], seen: set[str]) -> list[dict[str, np.ndarray]]:
    """Items (feats float16 (T, B), targets uint8 (T, n_out) with 2 = onset, 1 = neighbour, tune flag)."""
    out = []
    for path in sorted(p for d in ds_dirs for p in d.glob("shard_*.npz")):
        if str(path) in seen:
            continue
        try:
            z = np.load(path, allow_pickle=False)
            z["offsets"]
        except (OSError, ValueError, zipfile.BadZipFile):  # another builder's shard still being written
            continue
        seen.add(str(path))
        feats, offs = z["feats"], z["offsets"]
        for i in range(len(offs) - 1):
            f = feats[offs[i]:offs[i + 1]]
            n = len(f)
            tg = np.zeros((n, len(OUTPUTS)), dtype=np.uint8)

            def put(frames: np.ndarray, col: int, tg: np.ndarray = tg, n: int = n) -> None:
                for off, val in ((-1, 1), (1, 1), (0, 2)):
                    fr = frames + off
                    fr = fr[(fr >= 0) & (fr < n)]
                    tg[fr, col] = np.maximum(tg[fr, col], val)

            sel = z["ev_item"] == i
            fr = np.round(z["ev_time_s"][sel] * 100).astype(int)
            c9 = z["ev_class9"][sel]
            for c, cols in _C9_TO_OUT.items():
                for col in cols:
                    put(fr[c9 == c], col)
            bsel = z["bt_item"] == i
            bfr = np.round(z["bt_time_s"][bsel] * 100).astype(int)
            put(bfr, BEAT)
            put(bfr[z["bt_pos"][bsel] == 1], DOWNBEAT)
            out.append({"feats": f, "tg": tg, "tune": bool(z["item_tune"][i]), "mix": bool(z["item_mix"][i])})
    return out


def batch(items: list[dict[str, np.ndarray]], rng: np.random.Generator, bs: int, length: int):
    xs, ys = [], []
    n_bands = items[0]["feats"].shape[1]
    for _ in range(bs):
        it = items[int(rng.integers(len(items)))]
        n = len(it["feats"])
        x = np.zeros((length, n_bands), dtype=np.float32)
        y = np.zeros((length, len(OUTPUTS)), dtype=np.float32)
        s = int(rng.integers(-length // 4, max(1, n - 3 * length // 4)))
        a, b = max(s, 0), min(s + length, n)
        x[a - s:b - s] = it["feats"][a:b]
        y[a - s:b - s] = it["tg"][a:b] / 2.0
        xs.append(x)
        ys.append(y)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def widen_state_dict(sd: dict[str, np.ndarray], channels: int, rng: np.random.Generator, *,
                     scale: float = 0.1) -> dict[str, np.ndarray]:
    """Function-preserving widening of a trained network's state dict to ``channels`` channels.

    New channels get small random weights on everything that feeds them
    (``scale`` times the standard deviation of the layer's trained weights) and
    zero weights from them into the old channels and into the outputs, so the
    widened network computes exactly the old function at step 0 while every new
    weight still receives a gradient.

    Parameters
    ----------
    sd
        Torch-layout state dict as numpy arrays (:func:`finalize.torch_state_dict`).
    channels
        The new width; at least the old one.
    rng
        Source of the random weights.
    scale
        Random weights' standard deviation relative to the layer's trained weights.

    Returns
    -------
    dict[str, np.ndarray]
        The widened state dict (float32).

    Raises
    ------
    InvalidArgumentError
        If ``channels`` is smaller than the trained width.
    """
    old = sd["inp.weight"].shape[0]
    if channels < old:
        raise InvalidArgumentError(f"cannot widen {old} channels to {channels}")
    out: dict[str, np.ndarray] = {}
    for k, w in sd.items():
        w = np.asarray(w, dtype=np.float32)
        if k in ("mean", "std", "head2.bias"):  # input normalisation and output biases keep their size
            out[k] = w
            continue
        n_out = w.shape[0] if k.startswith("head2") else channels
        if w.ndim == 1:  # bias: new channels start at 0
            nw = np.zeros(n_out, dtype=np.float32)
            nw[:w.shape[0]] = w
        else:
            n_in = w.shape[1] if k == "inp.weight" else channels
            std = float(w.std()) * scale
            nw = (rng.standard_normal((n_out, n_in, *w.shape[2:])) * std).astype(np.float32)
            nw[:w.shape[0], w.shape[1]:] = 0.0  # new channels never feed old channels or the outputs
            nw[:w.shape[0], :w.shape[1]] = w
        out[k] = nw
    return out


def deepen_state_dict(sd: dict[str, np.ndarray], dilations: tuple[int, ...], rng: np.random.Generator, *,
                      scale: float = 0.1) -> dict[str, np.ndarray]:
    """Function-preserving deepening: append residual blocks so that the network has ``len(dilations)``.

    The trained blocks keep their weights (their dilations must be the first
    ones of ``dilations``); each new block gets small random dilated-conv
    weights (``scale`` times the standard deviation of the last trained block's)
    and a zero 1x1 mix, so it adds nothing at step 0: the deeper network
    computes exactly the old function, with a longer receptive field to learn into.

    Parameters
    ----------
    sd
        Torch-layout state dict as numpy arrays (:func:`finalize.torch_state_dict`).
    dilations
        The new network's dilations.
    rng
        Source of the random weights.
    scale
        Random weights' standard deviation relative to the last trained block's.

    Returns
    -------
    dict[str, np.ndarray]
        The deepened state dict.

    Raises
    ------
    InvalidArgumentError
        If the trained network has more blocks than ``dilations``.
    """
    old = sum(1 for k in sd if k.startswith("dil.") and k.endswith(".weight"))
    if old > len(dilations):
        raise InvalidArgumentError(f"cannot deepen {old} blocks to {len(dilations)}")
    out = dict(sd)
    last = np.asarray(sd[f"dil.{old - 1}.weight"], dtype=np.float32)
    std = float(last.std()) * scale
    for i in range(old, len(dilations)):
        out[f"dil.{i}.weight"] = (rng.standard_normal(last.shape) * std).astype(np.float32)
        out[f"dil.{i}.bias"] = np.zeros(last.shape[0], dtype=np.float32)
        out[f"mix.{i}.weight"] = np.zeros((last.shape[0], last.shape[0], 1), dtype=np.float32)
        out[f"mix.{i}.bias"] = np.zeros(last.shape[0], dtype=np.float32)
    return out


def augment(x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Random gain, spectral tilt, band EQ and noise floor on log filterbank crops (B, T, bands), in place.

    Works on the linear magnitudes behind ``log10(1 + MAG_SCALE * mag)``, so a
    gain changes loud bins by a constant and leaves the silent ones silent, as
    it would on audio. Each crop is changed with probability ``p``.
    """
    n_bands = x.shape[2]
    pos = np.linspace(-1.0, 1.0, n_bands, dtype=np.float32)
    for i in range(len(x)):
        if rng.random() >= p:
            continue
        gain_db = rng.uniform(-8, 8) + rng.uniform(-6, 6) * pos
        centre, width = rng.uniform(-1, 1), rng.uniform(0.05, 0.4)
        gain_db += rng.uniform(-9, 9) * np.exp(-0.5 * ((pos - centre) / width) ** 2)
        mag = (np.power(10.0, x[i]) - 1.0) / MAG_SCALE
        mag *= np.power(10.0, gain_db / 20.0).astype(np.float32)
        if rng.random() < 0.3:
            floor = np.power(10.0, rng.uniform(-3.5, -1.5)) * np.power(10.0, rng.uniform(-10, 10) * pos / 20)
            mag += (floor * rng.exponential(1.0, mag.shape)).astype(np.float32)
        x[i] = np.log10(1.0 + MAG_SCALE * np.maximum(mag, 0.0))
    return x


def export(model: TCN, path: Path, dilations: tuple[int, ...], extra: dict[str, np.ndarray], *,
           outputs: tuple[str, ...] = OUTPUTS) -> None:
    """Write the weights as the plain .npz that backbeat.analysis.nn.TCN.load reads (atomically)."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(1), "outputs": np.array(outputs), "dilations": np.array(dilations),
        "mean": sd["mean"], "std": sd["std"], "inp_w": sd["inp.weight"], "inp_b": sd["inp.bias"],
        "head1_w": sd["head1.weight"][:, :, 0], "head1_b": sd["head1.bias"],
        "head2_w": sd["head2.weight"][:, :, 0], "head2_b": sd["head2.bias"],
    }
    for i in range(len(dilations)):
        arrays[f"dil{i}_w"] = sd[f"dil.{i}.weight"]
        arrays[f"dil{i}_b"] = sd[f"dil.{i}.bias"]
        arrays[f"mix{i}_w"] = sd[f"mix.{i}.weight"][:, :, 0]
        arrays[f"mix{i}_b"] = sd[f"mix.{i}.bias"]
    arrays.update(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO / "cache" / "dataset"],
                    help="dataset directories (shards that appear while training are picked up)")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--channels", type=int, default=48)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=400)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export", type=Path, default=REPO / "cache" / "drums_tcn.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", type=Path, default=None,
                    help="start from exported .npz weights (fine-tuning); a narrower network is widened to "
                         "--channels without changing its output (new channels start near zero)")
    ap.add_argument("--widen-scale", type=float, default=0.1,
                    help="new channels' (and new blocks') random input weights, relative to the trained "
                         "weights' std")
    ap.add_argument("--augment", type=float, default=0.0,
                    help="probability of random gain / tilt / EQ / noise floor on a training crop")
    ap.add_argument("--val-batches", type=int, default=3,
                    help="tuning batches (16 crops) for the checkpoint loss")
    ap.add_argument("--snapshot-minutes", type=float, default=0.0,
                    help="also export the current weights every this many minutes to <export>_t<minute>.npz "
                         "(to compare checkpoints by threshold-tuned F afterwards); 0: off")
    ap.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64],
                    help="dilations of the residual blocks; with --init, blocks beyond the trained ones are "
                         "appended without changing the output (a longer receptive field)")
    ap.add_argument("--tom-cymbal-weight", type=float, default=1.0,
                    help="loss weight of the tom and cymbal outputs (kick/snare/hi-hat: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dilations = tuple(args.dilations)
    seen: set[str] = set()
    items = load_shards(args.data, seen)
    train = [it for it in items if not it["tune"]]
    tune = [it for it in items if it["tune"]]
    print(f"{len(train)} train items, {len(tune)} tune items", flush=True)
    allf = np.concatenate([it["feats"][::7].astype(np.float32) for it in train[:400]])
    diff = np.maximum(np.diff(allf, axis=0, prepend=allf[:1]), 0)
    stack = np.concatenate([allf, diff], axis=1)
    model = TCN(2 * allf.shape[1], args.channels, dilations, len(OUTPUTS), 0.1)
    model.mean.copy_(torch.from_numpy(stack.mean(0)))
    model.std.copy_(torch.from_numpy(stack.std(0) + 1e-3))
    if args.init is not None:
        from finalize import torch_state_dict
        with np.load(args.init, allow_pickle=False) as z:
            init = {k: z[k] for k in z.files}
        sd = torch_state_dict(init)
        if sd["inp.weight"].shape[0] != args.channels:
            sd = widen_state_dict(sd, args.channels, np.random.default_rng(args.seed + 7),
                                  scale=args.widen_scale)
        trained = tuple(int(d) for d in init["dilations"])
        if trained != dilations[:len(trained)]:
            ap.error(f"--dilations must start with the trained network's {' '.join(map(str, trained))}")
        sd = deepen_state_dict(sd, dilations, np.random.default_rng(args.seed + 11), scale=args.widen_scale)
        model.load_numpy(sd)
        print(f"initialised from {args.init} ({init['inp_w'].shape[0]} -> {args.channels} channels, "
              f"{len(trained)} -> {len(dilations)} blocks)", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    weights = torch.ones(len(OUTPUTS))
    weights[BEAT] = weights[DOWNBEAT] = 0.5
    for name in ("tom", "cymbal", "tom_high", "tom_mid", "tom_floor", "ride"):
        if name in OUTPUTS:
            weights[OUTPUTS.index(name)] = args.tom_cymbal_weight
    pos_weight = torch.full((len(OUTPUTS),), 2.0)
    lossf = nn.BCEWithLogitsLoss(reduction="none", pos_weight=pos_weight)
    vrng = np.random.default_rng(123)
    vbatches = [batch(tune, vrng, 16, args.length) for _ in range(args.val_batches)] if tune else []
    t0 = last_snap = time.time()
    budget = args.minutes * 60
    step, best = 0, math.inf
    warmup = 50 if args.init is not None else 200
    margin = 32
    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1:
            break
        lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac))) * min(1.0, (step + 1) / warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        x, y = batch(train, rng, args.batch, args.length)
        if args.augment > 0:
            x = torch.from_numpy(augment(x.numpy(), rng, args.augment))
        out = model(x)
        loss = (lossf(out, y)[:, margin:-margin] * weights).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            model.eval()
            with torch.no_grad():
                vl = float(np.mean([(lossf(model(vx), vy)[:, margin:-margin] * weights).mean().item()
                                    for vx, vy in vbatches])) if vbatches else float(loss)
            print(f"step {step} t={time.time() - t0:.0f}s lr={lr:.2e} loss={loss.item():.4f} val={vl:.4f}",
                  flush=True)
            if vl < best:
                best = vl
                export(model, args.export, dilations, {"val_loss": np.array(vl), "steps": np.array(step)})
            if args.snapshot_minutes > 0 and time.time() - last_snap >= 60 * args.snapshot_minutes:
                last_snap = time.time()
                snap = args.export.with_name(f"{args.export.stem}_t{round((last_snap - t0) / 60):03d}.npz")
                export(model, snap, dilations, {"val_loss": np.array(vl), "steps": np.array(step)})
            new = load_shards(args.data, seen)
            if new:
                train += [it for it in new if not it["tune"]]
                tune += [it for it in new if it["tune"]]
                print(f"  +{len(new)} items: {len(train)} train, {len(tune)} tune", flush=True)
    print(f"done: {step} steps, best val {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
