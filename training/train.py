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
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from backbeat.analysis.nn import OUTPUTS  # noqa: E402

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
        seen.add(str(path))
        z = np.load(path, allow_pickle=False)
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
    ap.add_argument("--init", type=Path, default=None, help="start from exported .npz weights (fine-tuning)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dilations = (1, 2, 4, 8, 16, 32, 64)
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
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                               for k, v in torch_state_dict(init).items()})
        print(f"initialised from {args.init}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    weights = torch.ones(len(OUTPUTS))
    weights[BEAT] = weights[DOWNBEAT] = 0.5
    pos_weight = torch.full((len(OUTPUTS),), 2.0)
    lossf = nn.BCEWithLogitsLoss(reduction="none", pos_weight=pos_weight)
    vrng = np.random.default_rng(123)
    vbatches = [batch(tune, vrng, 16, args.length) for _ in range(3)] if tune else []
    t0 = time.time()
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
            new = load_shards(args.data, seen)
            if new:
                train += [it for it in new if not it["tune"]]
                tune += [it for it in new if it["tune"]]
                print(f"  +{len(new)} items: {len(train)} train, {len(tune)} tune", flush=True)
    print(f"done: {step} steps, best val {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
