"""Write a meter tuning set: cache/tune_meter/{drums,mix}/<name>.flac + .beats + .onsets.tsv.

Synthetic performances (``training/meter_grooves.py``) in 4/4, 3/4, 6/8 and
12/8, 30 s each, rendered with *training* kits (never ``kits.EVAL_KITS``), in
the layout of ``cache/eval`` so that ``bench/analysis.py --sets
tune-meter-drums,tune-meter-mix`` measures them. Seeds differ from the
training set's (``build_meter_set.py`` uses 500000 on), but the generator is
the one the beat network was trained with, so this set checks meter handling
(especially 6/8, which Groove MIDI barely has); it is tuning data, not a
held-out measure.

Annotations count the beat the generator plays: quarter notes in 4/4 and 3/4,
dotted quarters in 6/8 (2 a bar) and 12/8 (4 a bar), as the Groove MIDI 6/8
renders do. The mixes' band strums those dotted quarters in three (since 2026-11-24, session 9;
before, in two, which misled the tracker into a 3:2 reading).

``--fast`` writes ``cache/tune_fast`` instead: 4/4 only, at 140-200 BPM (rock, punk and
metal tempi, which Groove MIDI barely has and the networks tend to halve), annotated at
that tempo with the snare on 2 and 4 as such songs are counted. Also tuning data.

Usage: nice -n 10 .venv/bin/python bench/analysis_meter_set.py [--n 24] [--out cache/tune_meter] [--fast]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from build_eval_set import write_index, write_set_item  # noqa: E402
from kits import CACHE, EXTRA_KITS, TRAIN_KITS  # noqa: E402
from meter_grooves import METERS, performance  # noqa: E402
from render import render_drums  # noqa: E402

#: Tempo range of the ``--fast`` set, BPM.
FAST_BPM = (140.0, 200.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="performances per set")
    ap.add_argument("--out", type=Path, default=None, help="default cache/tune_meter (cache/tune_fast)")
    ap.add_argument("--seed", type=int, default=None, help="default 900000 (910000 with --fast)")
    ap.add_argument("--fast", action="store_true", help="fast 4/4 only (140-200 BPM)")
    args = ap.parse_args()
    out = args.out or CACHE / ("tune_fast" if args.fast else "tune_meter")
    seed = args.seed if args.seed is not None else (910000 if args.fast else 900000)
    meter = replace(METERS[0], bpm=FAST_BPM) if args.fast else None
    kits = [k for k in TRAIN_KITS if k not in EXTRA_KITS and (CACHE / "banks" / f"{k}.npz").exists()]
    index = []
    for i in range(args.n):
        rng = np.random.default_rng(seed + i)
        g = performance(rng, duration_s=30.0, name=f"{'fast' if args.fast else 'meter'}{i:02d}", meter=meter)
        for sub in ("drums", "mix"):
            kit = kits[int(rng.integers(len(kits)))]
            index.append(write_set_item(out, sub, g.name, render_drums(g, kit, rng), g, kit, rng))
    write_index(out, index)


if __name__ == "__main__":
    main()
