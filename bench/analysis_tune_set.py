"""Write a beat/downbeat tuning set: cache/tune/{drums,mix}/<name>.flac + .beats + .onsets.tsv.

Grooves are the Groove MIDI *train*-split tuning items (``is_tune``: crc32 of
the id mod 20 == 0, held out from the drum model's training, never in the
evaluation sets), 30-45 s from the first downbeat, rendered with *training*
kits only (never ``kits.EVAL_KITS``), in the same layout as ``cache/eval`` so
that ``bench/analysis.py --sets tune-drums,tune-mix`` measures it.

With ``--flat-velocity V`` every stroke is played at velocity V, as programmed drums and the
community charts (which carry no dynamics) are: ``--flat-velocity 100 --out cache/tune_flat`` makes
the tune-flat sets, the same excerpts and kits without the drummers' dynamics.

With ``--free-bass`` only the mix set is written, its band's bass playing a line of its own on the
beat grid instead of on every kick (``render.free_bass_times``), as real bass players often do:
``--free-bass --out cache/tune_free`` makes the tune-free-mix set, the tune-mix excerpts and kits
under such a band (a mix where the bass is no cue for the kick).

Usage: nice -n 10 .venv/bin/python bench/analysis_tune_set.py [--n 24] [--out cache/tune] [--flat-velocity V]
       [--free-bass]
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from build_dataset import is_tune  # noqa: E402
from build_eval_set import write_index, write_set_item  # noqa: E402
from kits import CACHE, TRAIN_KITS  # noqa: E402
from render import (  # noqa: E402
    GMD_DIR,
    Groove,
    crop,
    load_groove,
    render_drums,
)

#: Training kits the tuning sets are drummed on (AVL Black Pearl left out, as when cache/tune was made).
SAMPLER_KITS = tuple(k for k in TRAIN_KITS if k != "avl_black_pearl")


def tune_grooves(n: int, *, min_s: float = 30.0) -> list[tuple[str, Path]]:
    """Up to ``n`` train-split tuning grooves (beat type) of at least ``min_s`` seconds."""
    with (GMD_DIR / "info.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train" and r["beat_type"] == "beat"
                and float(r["duration"]) >= min_s and is_tune(r["id"])]
    rows.sort(key=lambda r: r["id"])
    rng = np.random.default_rng(11)
    rng.shuffle(rows)  # type: ignore[arg-type]
    return [(r["id"].replace("/", "__"), GMD_DIR / r["midi_filename"]) for r in rows[:n]]


def tune_excerpts(n: int, *, crops: int = 4) -> list[tuple[str, Groove]]:
    """Excerpts of the first ``n`` tuning grooves: 20-45 s each, from the first downbeat after 45 s steps."""
    jobs = []
    for name, path in tune_grooves(n, min_s=20.0):
        full = load_groove(path, name=name)
        downs = full.beats_s[full.positions == 1] if (full.positions == 1).any() else np.zeros(1)
        # Long performances give several excerpts, each from the first downbeat after a 45 s step.
        for k in range(crops):
            later = downs[downs >= k * 45.0]
            if later.size == 0 or full.duration_s - later[0] < 20.0:
                break
            start = float(later[0])
            g = crop(full, start, min(45.0, full.duration_s - start))
            if len(g.events) >= 40:  # the end of a take may be silence
                jobs.append((name if k == 0 else f"{name}__c{k}", g))
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="grooves per set")
    ap.add_argument("--out", type=Path, default=CACHE / "tune")
    ap.add_argument("--crops", type=int, default=4, help="most excerpts per groove (45 s apart)")
    ap.add_argument("--flat-velocity", type=int, default=None, metavar="V",
                    help="play every stroke at velocity V (1-127): drums without dynamics")
    ap.add_argument("--free-bass", action="store_true",
                    help="write only the mix set, its bass playing a line of its own (not on the kick)")
    args = ap.parse_args()
    if args.flat_velocity is not None and not 1 <= args.flat_velocity <= 127:
        ap.error(f"--flat-velocity must be a MIDI velocity, 1-127 (got {args.flat_velocity})")
    index = []
    for i, (name, g) in enumerate(tune_excerpts(args.n, crops=args.crops)):
        if args.flat_velocity is not None:
            g = replace(g, events=[(t, p, k, args.flat_velocity) for t, p, k, _ in g.events])
        rng = np.random.default_rng(5000 + i)
        bass_rng = np.random.default_rng([5000 + i, 7]) if args.free_bass else None
        for sub, kit in (("drums", SAMPLER_KITS[i % len(SAMPLER_KITS)]),
                         ("mix", SAMPLER_KITS[(i + 7) % len(SAMPLER_KITS)])):
            drums = render_drums(g, kit, rng)  # also when not written: the mix's draws stay tune-mix's
            if sub == "drums" and args.free_bass:
                continue
            index.append(write_set_item(args.out, sub, name, drums, g, kit, rng, bass_rng=bass_rng))
    write_index(args.out, index)


if __name__ == "__main__":
    main()
