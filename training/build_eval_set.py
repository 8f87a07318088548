"""Write the held-out evaluation set: cache/eval/{drums,mix}/<name>.flac + .beats + .onsets.tsv.

Grooves come from the Groove MIDI *validation* split (never trained on; the
12 dev-renders grooves are left out), 30-45 s each, rendered with kits never
used in training (AVL Red Zeppelin rendered by fluidsynth itself, the Hydrogen
kits ForzeeStereo and HardElectro1 by the sampler). ``mix`` puts the same
grooves, with another held-out kit, under a generated band. Files use the
dev-renders formats (see /work/shared/data/dev-renders/RENDERING.txt).

A second, fresh held-out set from the validation grooves the first one left
out (made after the first had been looked at many times):
``build_eval_set.py --n 14 --exclude cache/eval/index.csv --out cache/eval2 --seed 2000 --kit-offset 1``.

Usage: .venv/bin/python training/build_eval_set.py [--n 16] [--out cache/eval]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kits import CACHE, EVAL_KITS, SF2_DIR, SF2_KITS, SR, played_key
from render import (
    GMD_DIR,
    Groove,
    accompaniment_midi,
    crop,
    load_groove,
    mix,
    normalise,
    onset_rows,
    process_drums,
    render_drums,
    render_midi,
)

DEV_RENDERS = GMD_DIR.parent / "dev-renders"


def validation_grooves(n: int, *, min_s: float = 30.0, exclude: frozenset[str] = frozenset()
                       ) -> list[tuple[str, Path]]:
    """Up to ``n`` validation-split beats of at least ``min_s`` seconds, not in dev-renders or ``exclude``."""
    dev_ids = set(exclude)
    idx = DEV_RENDERS / "index.csv"
    if idx.exists():
        with idx.open() as f:
            dev_ids |= {row["gmd_id"] for row in csv.DictReader(f)}
    out = []
    with (GMD_DIR / "info.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "validation" and r["beat_type"] == "beat"
                and float(r["duration"]) >= min_s and r["id"] not in dev_ids]
    rows.sort(key=lambda r: r["id"])
    rng = np.random.default_rng(7)
    rng.shuffle(rows)  # type: ignore[arg-type]
    for r in rows[:n]:
        out.append((r["id"].replace("/", "__"), GMD_DIR / r["midi_filename"]))
    return out


def excerpt(path: Path, name: str) -> Groove:
    """The evaluation excerpt of a groove: up to 45 s from its first downbeat."""
    full = load_groove(path, name=name)
    start = float(full.beats_s[full.positions == 1][0]) if (full.positions == 1).any() else 0.0
    return crop(full, start, min(45.0, full.duration_s - start))


def render_sf2_real(g: Groove, kit: str) -> np.ndarray:
    """Render with fluidsynth itself (not the sampler), as dev-renders were made; each GM key is played
    on the key where the kit keeps that instrument (:func:`kits.played_key`)."""
    sf2, _bank, program, channel = SF2_KITS[kit]
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=program, is_drum=channel == 9)
    for t, _p, k, v in g.events:
        inst.notes.append(pretty_midi.Note(v, played_key(kit, k), t, t + 0.3))
    pm.instruments.append(inst)
    with tempfile.TemporaryDirectory() as tmp:
        mp, wp = Path(tmp) / "d.mid", Path(tmp) / "d.wav"
        pm.write(str(mp))
        subprocess.run(["fluidsynth", "-ni", "-g", "0.5", "-r", str(SR), "-F", str(wp), str(SF2_DIR / sf2),
                        str(mp)], check=True, capture_output=True)
        audio, _ = sf.read(wp, dtype="float32", always_2d=True)
    y = audio.mean(axis=1)
    return y[: int(g.duration_s * SR)]


def write_item(out_dir: Path, name: str, audio: np.ndarray, g: Groove) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    sf.write(out_dir / f"{name}.flac", normalise(audio[: int(g.duration_s * SR)]), SR, subtype="PCM_16")
    write_truth(out_dir, name, g)


def write_truth(out_dir: Path, name: str, g: Groove) -> None:
    """``name.beats`` and ``name.onsets.tsv`` of a performance, as in dev-renders."""
    with (out_dir / f"{name}.beats").open("w") as f:
        for b, p in zip(g.beats_s, g.positions, strict=True):
            f.write(f"{b:.6f}\t{int(p)}\n")
    with (out_dir / f"{name}.onsets.tsv").open("w") as f:
        f.write("time\tclass5\tclass9\tgmd_pitch\trender_pitch\tvelocity\n")
        for t, c5, c9, p, k, v in onset_rows(g):
            f.write(f"{t:.6f}\t{c5}\t{c9}\t{p}\t{k}\t{v}\n")


def write_set_item(out: Path, sub: str, name: str, drums: np.ndarray, g: Groove, kit: str,
                   rng: np.random.Generator, *,
                   bass_rng: np.random.Generator | None = None) -> tuple[str, str, str, float, int, float]:
    """Write one item of set ``sub`` ("drums" as is, "mix" under a generated band); its index row.

    With ``bass_rng`` the band's bass plays a line of its own rather than on the kick
    (``render.accompaniment_midi``)."""
    if sub == "mix":
        processed = process_drums(drums, rng)  # before the band, as the sets made so far drew them
        band = render_midi(accompaniment_midi(g, rng, bass_rng=bass_rng), g.duration_s)
        drums = mix(processed, band, g, rng)
    write_item(out / sub, name, drums, g)
    print(sub, name, kit, f"{g.duration_s:.1f}s", len(g.events), flush=True)
    return (sub, name, kit, round(g.duration_s, 3), len(g.events), round(g.bpm, 2))


def write_index(out: Path, rows: Sequence[tuple[object, ...]], *,
                extra_columns: tuple[str, ...] = ()) -> None:
    """``out/index.csv``: one line per item (a :func:`write_set_item` row, then ``extra_columns``)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "index.csv").open("w") as f:
        f.write(",".join(("set", "name", "kit", "duration_s", "n_onsets", "bpm", *extra_columns)) + "\n")
        for row in rows:
            f.write(",".join(map(str, row)) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16, help="grooves per set")
    ap.add_argument("--out", type=Path, default=CACHE / "eval")
    ap.add_argument("--exclude", type=Path, nargs="*", default=[],
                    help="index.csv files of earlier evaluation sets whose grooves are left out")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--kit-offset", type=int, default=0, help="rotate the held-out kits")
    ap.add_argument("--free-bass", action="store_true",
                    help="write only the mix set, its bass playing a line of its own (not on the kick)")
    args = ap.parse_args()
    used = frozenset(row["name"].replace("__", "/") for idx in args.exclude
                     for row in csv.DictReader(idx.open()))
    index = []
    for i, (name, path) in enumerate(validation_grooves(args.n, exclude=used)):
        rng = np.random.default_rng(args.seed + i)
        bass_rng = np.random.default_rng([args.seed + i, 7]) if args.free_bass else None
        g = excerpt(path, name)
        k = i + args.kit_offset
        for sub, kit in (("drums", EVAL_KITS[k % 3]), ("mix", EVAL_KITS[(k + 1) % 3])):
            d = render_sf2_real(g, kit) if kit in SF2_KITS else render_drums(g, kit, rng)
            if sub == "drums" and args.free_bass:
                continue  # rendered all the same: the mix's draws stay those of the set without --free-bass
            index.append(write_set_item(args.out, sub, name, d, g, kit, rng, bass_rng=bass_rng))
    write_index(args.out, index)


if __name__ == "__main__":
    main()
