"""Write tempo-change sets: grooves played with a changing tempo, in the layout of ``cache/eval``.

The analysis must give a tempo map that follows tempo changes. These sets
replay Groove MIDI excerpts with a tempo curve (``render.warp``: every note and
beat moves with the curve, so the annotations stay exact) of one of three
kinds, in turn:

* ``step``: the tempo jumps by 8-20 % (up or down) somewhere in the middle
  third, as at a section change;
* ``ramp``: the tempo moves steadily by 10-25 % (up or down) over the excerpt
  (accelerando / ritardando);
* ``drift``: the tempo wanders ±3-6 % around its own with a 8-20 s period, as
  a band without a click does.

Two sources:

* ``--source tune`` (default): the tuning grooves and training kits of
  ``bench/analysis_tune_set.py`` -> ``cache/tune_tempo``. TUNING DATA.
* ``--source eval2``: the held-out grooves of ``cache/eval2`` with the same
  held-out kit per item -> ``cache/eval2_tempo``. HELD OUT: for figures only.

The index gains the curve kind and its size (``kind``, ``change`` = last or
extreme tempo ratio minus 1).

Usage: nice -n 10 .venv/bin/python bench/analysis_tempo_set.py [--source tune|eval2]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "bench"))

from analysis_tune_set import SAMPLER_KITS, tune_excerpts  # noqa: E402
from build_eval_set import excerpt, render_sf2_real, write_index, write_set_item  # noqa: E402
from kits import CACHE, SF2_KITS  # noqa: E402
from render import GMD_DIR, Groove, render_drums, warp  # noqa: E402

KINDS = ("step", "ramp", "drift")
STEP_S = 0.001


def tempo_curve(kind: str, duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Tempo ratio every millisecond of the original excerpt, and the size of the change."""
    t = np.arange(int(duration_s / STEP_S) + 2) * STEP_S
    sign = rng.choice([-1.0, 1.0])
    if kind == "step":
        change = sign * rng.uniform(0.08, 0.20)
        at = rng.uniform(1 / 3, 2 / 3) * duration_s
        return np.where(t < at, 1.0, 1.0 + change), change
    if kind == "ramp":
        change = sign * rng.uniform(0.10, 0.25)
        return 1.0 + change * np.clip(t / duration_s, 0.0, 1.0), change
    if kind == "drift":
        depth, period = rng.uniform(0.03, 0.06), rng.uniform(8.0, 20.0)
        return 1.0 + depth * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi)), depth
    raise ValueError(f"unknown tempo curve {kind!r}")


def eval2_items() -> list[tuple[str, Groove, str, str]]:
    """(name, excerpt, drum-only kit, mix kit) of every groove of cache/eval2, as it was rendered."""
    with (CACHE / "eval2" / "index.csv").open() as f:
        rows = list(csv.DictReader(f))
    kits = {(r["set"], r["name"]): r["kit"] for r in rows}
    with (GMD_DIR / "info.csv").open() as f:
        midi = {r["id"].replace("/", "__"): GMD_DIR / r["midi_filename"] for r in csv.DictReader(f)}
    names = sorted({r["name"] for r in rows})
    return [(n, excerpt(midi[n], n), kits[("drums", n)], kits[("mix", n)]) for n in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=("tune", "eval2"), default="tune")
    ap.add_argument("--seed", type=int, default=7000)
    args = ap.parse_args()
    if args.source == "tune":
        out = CACHE / "tune_tempo"
        items = [(name, g, SAMPLER_KITS[i % len(SAMPLER_KITS)], SAMPLER_KITS[(i + 7) % len(SAMPLER_KITS)])
                 for i, (name, g) in enumerate(tune_excerpts(24, crops=2))]
    else:
        out = CACHE / "eval2_tempo"
        items = eval2_items()
    index = []
    for i, (name, g, drum_kit, mix_kit) in enumerate(items):
        rng = np.random.default_rng(args.seed + i)
        kind = KINDS[i % len(KINDS)]
        curve, change = tempo_curve(kind, g.duration_s, rng)
        wg = warp(g, curve, step_s=STEP_S)
        for sub, kit in (("drums", drum_kit), ("mix", mix_kit)):
            # As in the sets they come from: eval2 renders SoundFont kits with fluidsynth itself.
            real = args.source == "eval2" and kit in SF2_KITS
            d = render_sf2_real(wg, kit) if real else render_drums(wg, kit, rng)
            row = write_set_item(out, sub, f"{name}__{kind}", d, wg, kit, rng)
            index.append((*row, kind, round(change, 3)))
    write_index(out, index, extra_columns=("kind", "change"))


if __name__ == "__main__":
    main()
