"""Build a training set of synthetic performances in 4/4, 3/4, 6/8 and 12/8 (``meter_grooves``).

Each item is one performance (``meter_grooves.performance``) rendered like the
Groove MIDI sets (``build_dataset.py``): a random training kit (sampled,
synthesized or pitch-shifted), random production, and for about half the items
a full band that follows the beats, bars and kick. Shards have the same arrays
as ``build_dataset.py`` writes, so ``train_beats.py`` (and ``train.py``) read
them as they are. No item is a tuning item: checkpoints are still chosen on the
Groove MIDI tuning items.

Usage: nice -n 10 .venv/bin/python training/build_meter_set.py --items 1200 --out cache/dataset_meter
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_dataset import save_shard, shard_item
from kits import CACHE, EXTRA_KITS, TRAIN_KITS, load_bank
from meter_grooves import performance
from render import accompaniment_midi, mix, process_drums, render_drums, render_midi
from synth_kit import pitch_shift_bank, synth_bank


def make_item(seed: int, kits: tuple[str, ...], *, duration_s: float, mix_p: float) -> dict[str, np.ndarray]:
    """Render one synthetic performance to features, onsets and beats (the shard item layout)."""
    rng = np.random.default_rng(seed)
    g = performance(rng, duration_s=duration_s, name=f"m{seed}")
    kit = kits[int(rng.integers(len(kits)))]
    bank = None
    if rng.random() < 0.3:
        bank = synth_bank(rng)
    elif rng.random() < 0.4:
        bank = pitch_shift_bank(load_bank(kit), rng)
    y = render_drums(g, kit, rng, bank=bank)
    as_mix = bool(rng.random() < mix_p)
    if as_mix or rng.random() < 0.6:
        y = process_drums(y, rng)
    if as_mix:
        band = render_midi(accompaniment_midi(g, rng), g.duration_s + 0.5)
        y = mix(y, band, g, rng)
    y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-14, -0.5) / 20)
    return shard_item(y, g, tune=False, as_mix=as_mix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1200)
    ap.add_argument("--duration-s", type=float, default=24.0)
    ap.add_argument("--mix-p", type=float, default=0.5, help="share of full-band mixes")
    ap.add_argument("--shard-items", type=int, default=200)
    ap.add_argument("--seed-offset", type=int, default=500000)
    ap.add_argument("--out", type=Path, default=CACHE.parent / "dataset_meter")
    args = ap.parse_args()
    kits = tuple(k for k in TRAIN_KITS if k not in EXTRA_KITS and (CACHE / "banks" / f"{k}.npz").exists())
    args.out.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, np.ndarray]] = []
    shard = 0
    for i in range(args.items):
        items.append(make_item(args.seed_offset + i, kits, duration_s=args.duration_s, mix_p=args.mix_p))
        if len(items) == args.shard_items or i == args.items - 1:
            save_shard(items, args.out / f"shard_{shard:02d}.npz")
            print(f"shard {shard} saved ({i + 1}/{args.items} items)", flush=True)
            items, shard = [], shard + 1


if __name__ == "__main__":
    main()
