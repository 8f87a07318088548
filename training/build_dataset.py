"""Build the training set: Groove MIDI *train* split rendered with the training kits.

Every groove gives one drums-only item and (if long enough) one full-band mix
item, each a random crop of up to ``--max-s`` seconds with a random training kit
(:data:`kits.TRAIN_KITS`) and random production. Stored per shard as
``cache/dataset/shard_<k>.npz`` with plain arrays (no pickle):

``feats``      float16 (total_frames, N_BANDS)  log filterbank (backbeat.analysis.features)
``offsets``    int64 (n_items + 1,)             frame offsets of each item in ``feats``
``ev_item``, ``ev_time_s``, ``ev_class9``, ``ev_vel``   onsets (class9 index into render.CLASS9)
``bt_item``, ``bt_time_s``, ``bt_pos``                  metronome beats (pos 1 = downbeat)
``item_tune``  bool (n_items,)   True for the ~5 % of grooves held out for thresholds / early stopping
``item_mix``   bool (n_items,)   True for full-band mixes

Usage: nice -n 10 .venv/bin/python training/build_dataset.py [--workers 2] [--max-s 30]
"""

from __future__ import annotations

import argparse
import csv
import sys
import zlib
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pretty_midi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backbeat.analysis.features import log_filterbank
from kits import (
    CACHE,
    CLASS9_BY_KEY,
    EXTRA_KITS,
    FIFTH_KITS,
    MUSESCORE_SF3,
    PERMISSIVE_KITS,
    TENTH_KITS,
    TRAIN_KITS,
    load_bank,
    sonic_pi_bank,
)
from render import (
    CLASS9,
    GMD_DIR,
    Groove,
    accompaniment_midi,
    crop,
    load_groove,
    loud_master,
    mix,
    process_drums,
    render_drums,
    render_midi,
)
from song_band import PARTS, compose_band
from synth_kit import pitch_shift_bank, synth_bank, timbre_eq_bank


def is_tune(gmd_id: str) -> bool:
    """Deterministic ~5 % hold-out of training-split grooves for tuning."""
    return zlib.crc32(gmd_id.encode()) % 20 == 0


#: SoundFonts the band of a mix may be rendered with (``--band-sf-p``): file in kits.SF2_DIR or a path.
#: The first two are MIT; ``--permissive-only`` leaves out TimGM6mb (GPL-2).
BAND_SOUNDFONTS = ("FluidR3_GM.sf2", MUSESCORE_SF3, "TimGM6mb.sf2")


class Production(NamedTuple):
    """Options of the fourth and fifth sets; the defaults reproduce the first three sets' renders exactly."""

    extra_kit_p: float = 0.0
    band_sf_p: float = 0.0
    dense_p: float = 0.0
    loud_p: float = 0.0
    level_db: tuple[float, float] = (-9.0, 1.0)
    extra_kits: tuple[str, ...] = ()
    band_soundfonts: tuple[str, ...] = BAND_SOUNDFONTS
    fifth_kit_p: float = 0.0
    fifth_kits: tuple[str, ...] = ()
    song_band_p: float = 0.0
    free_bass_p: float = 0.0
    mixed_kit_p: float = 0.0
    tenth_kit_p: float = 0.0
    timbre_eq_p: float = 0.0


#: Drum groups that a mixed kit (``--mixed-kit-p``) draws from one source each: the hi-hat's closed and
#: open sounds, and the toms, stay one instrument.
KIT_GROUPS = (("KD",), ("SD",), ("HHC", "HHO"), ("LT", "MT", "HT"), ("CR",), ("RD",))
#: Chance that a group of a mixed kit comes from a freshly synthesized electronic kit (one per item).
MIXED_SYNTH_P = 0.2


def mixed_bank(kit: str, pool: tuple[str, ...], rng: np.random.Generator) -> dict:
    """A kit of drums from different kits: each of :data:`KIT_GROUPS` from a random kit of ``pool``
    (or, with :data:`MIXED_SYNTH_P`, from one synthesized kit), as modern productions layer an
    electronic kick under a sampled snare; ``kit``'s sounds where the source lacks the group."""
    synth: dict | None = None
    bank = {}
    for group in KIT_GROUPS:
        if rng.random() < MIXED_SYNTH_P:
            synth = synth_bank(rng) if synth is None else synth
            src = synth
        else:
            src = load_bank(pool[int(rng.integers(len(pool)))])
        part = {k: v for k, v in src.items() if CLASS9_BY_KEY[k] in group}
        if not part:  # ``kit`` is read only for a group the source lacks
            part = {k: v for k, v in load_bank(kit).items() if CLASS9_BY_KEY[k] in group}
        bank.update(part)
    return bank


class Job(NamedTuple):
    seed: int
    gmd_id: str
    midi: str
    as_mix: bool
    max_s: float
    synth_p: float
    shift_p: float
    kits: tuple[str, ...]
    prod: Production = Production()


def make_item(job: Job) -> dict[str, np.ndarray] | None:
    seed, gmd_id, midi, as_mix, max_s, synth_p, shift_p, kits, prod = job
    rng = np.random.default_rng(seed)
    # The fourth set's choices come from their own stream, so the defaults draw exactly as before.
    prng = np.random.default_rng([seed, 4])
    try:
        full = load_groove(GMD_DIR / midi, name=gmd_id)
    except Exception as exc:  # a broken MIDI file: skip it
        print("skip", midi, exc, flush=True)
        return None
    if not full.events:
        return None
    dur = min(max_s, full.duration_s)
    start = float(rng.uniform(0, max(0.0, full.duration_s - dur)))
    g = crop(full, start, dur)
    if len(g.events) < 4:
        return None
    kit = kits[int(rng.integers(len(kits)))]
    if prod.extra_kits and prng.random() < prod.extra_kit_p:
        kit = prod.extra_kits[int(prng.integers(len(prod.extra_kits)))]
    # The fifth set's kits likewise come from a stream of their own.
    frng = np.random.default_rng([seed, 5])
    if prod.fifth_kits and frng.random() < prod.fifth_kit_p:
        kit = prod.fifth_kits[int(frng.integers(len(prod.fifth_kits)))]
    # The tenth set's kits and voicing likewise come from streams of their own.
    xrng = np.random.default_rng([seed, 9])
    sonic_pi = None
    if xrng.random() < prod.tenth_kit_p:
        pick = TENTH_KITS[int(xrng.integers(len(TENTH_KITS)))]
        if pick == "sonic_pi":  # the drawn kit plays only what Sonic Pi lacks (the ride)
            sonic_pi = sonic_pi_bank(load_bank(kit), xrng)
        else:
            kit = pick
    bank = None
    if rng.random() < synth_p:
        bank = synth_bank(rng)
    elif rng.random() < shift_p:
        bank = pitch_shift_bank(load_bank(kit) if sonic_pi is None else sonic_pi, rng)
    # The ninth set's mixed kits likewise come from a stream of their own.
    mrng = np.random.default_rng([seed, 8])
    if bank is None and mrng.random() < prod.mixed_kit_p:
        bank = mixed_bank(kit, kits + prod.extra_kits + prod.fifth_kits, mrng)
        if mrng.random() < shift_p:
            bank = pitch_shift_bank(bank, mrng)
    bank = sonic_pi if bank is None else bank
    erng = np.random.default_rng([seed, 10])
    if erng.random() < prod.timbre_eq_p:
        bank = timbre_eq_bank(load_bank(kit) if bank is None else bank, erng)
    # The sixth set's song bands (and their softer drummers) likewise draw from a stream of their own.
    srng = np.random.default_rng([seed, 6])
    song = (as_mix and srng.random() < prod.song_band_p and len(g.beats_s) >= 2
            and int(g.positions.max()) in (3, 4))
    if srng.random() < prod.song_band_p / 2:  # a drummer holding back, as in a song's verse
        scale = srng.uniform(0.7, 1.05)
        g = replace(g, events=[(t, p, k, int(np.clip(round(v * scale), 1, 127))) for t, p, k, v in g.events])
    y = render_drums(g, kit, rng, bank=bank)
    if as_mix or rng.random() < 0.6:
        y = process_drums(y, rng)
    if as_mix:
        sfs = prod.band_soundfonts
        sf2 = sfs[int(prng.integers(len(sfs)))] if prng.random() < prod.band_sf_p else BAND_SOUNDFONTS[0]
        if song:
            band = render_midi(song_band_midi(g, srng), g.duration_s + 0.5, sf2=sf2,
                               reverb=bool(srng.random() < 0.5))
        else:
            # The seventh set's free bass lines draw from a stream of their own, too.
            brng = np.random.default_rng([seed, 7])
            free = brng if brng.random() < prod.free_bass_p else None
            dense = bool(prng.random() < prod.dense_p)
            band = render_midi(accompaniment_midi(g, rng, dense=dense, bass_rng=free), g.duration_s + 0.5,
                               sf2=sf2)
        y = mix(y, band, g, rng, level_db=prod.level_db)
        if prng.random() < prod.loud_p:
            y = loud_master(y, prng)
    y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-14, -0.5) / 20)
    if rng.random() < 0.3:
        y = y + rng.standard_normal(len(y)).astype(np.float32) * 10 ** (rng.uniform(-80, -50) / 20)
    return shard_item(y, g, tune=is_tune(gmd_id), as_mix=as_mix)


def song_band_midi(g: Groove, rng: np.random.Generator) -> pretty_midi.PrettyMIDI:
    """The arranged songs' band (:func:`song_band.compose_band`) over a groove crop, in random sections.

    The crop's grid is the groove's metronome (Groove MIDI is played to a
    click): the band starts at the bar line at or before 0 s and runs in
    random sections of 2-8 bars; notes that start before 0 s are left out.
    """
    period = float(np.median(np.diff(g.beats_s)))
    bpb = int(g.positions.max())
    downs = g.beats_s[g.positions == 1]
    first = float(downs[0]) if downs.size else float(g.beats_s[0])
    bar_s = bpb * period
    t0 = first - np.ceil(first / bar_s) * bar_s
    n_bars = int(np.ceil((g.duration_s - t0) / bar_s)) + 1
    labels = tuple(PARTS)
    form: list[tuple[str, int]] = []
    while sum(n for _, n in form) < n_bars:
        form.append((labels[int(rng.integers(len(labels)))], int(rng.choice([2, 4, 4, 8]))))
    # compose_band may give the chorus the verse's chords: both must be in the form (past the crop if need be)
    form += [(label, 2) for label in ("verse", "chorus") if label not in dict(form)]
    pm = compose_band(rng, tuple(form), bpb=bpb, t0_s=t0, period_s=period)
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start >= 0]
        inst.pitch_bends = [b for b in inst.pitch_bends if b.time >= 0]
    return pm


def shard_item(audio: np.ndarray, g: Groove, *, tune: bool, as_mix: bool) -> dict[str, np.ndarray]:
    """One shard item (see :func:`save_shard`) of rendered ``audio`` (mono, kits.SR) and its groove."""
    feats = log_filterbank(audio.astype(np.float32)).astype(np.float16)
    ev = np.array([(t, CLASS9.index(CLASS9_BY_KEY[k]), v) for t, _p, k, v in g.events], dtype=np.float64)
    return {"feats": feats, "ev": ev, "beats": np.stack([g.beats_s, g.positions], axis=1)
            if len(g.beats_s) else np.zeros((0, 2)), "tune": np.array(tune), "mix": np.array(as_mix)}


def save_shard(items: list[dict[str, np.ndarray]], path: Path) -> None:
    offsets = np.cumsum([0] + [len(it["feats"]) for it in items]).astype(np.int64)
    ev_item = np.concatenate([np.full(len(it["ev"]), i) for i, it in enumerate(items)])
    evs = np.concatenate([it["ev"].reshape(-1, 3) for it in items])
    bt_item = np.concatenate([np.full(len(it["beats"]), i) for i, it in enumerate(items)])
    bts = np.concatenate([it["beats"].reshape(-1, 2) for it in items])
    # Written under another name and renamed, so a trainer picking up shards never reads half a file.
    tmp = path.with_name(f"partial_{path.name}")
    np.savez(tmp, feats=np.concatenate([it["feats"] for it in items]), offsets=offsets,
             ev_item=ev_item.astype(np.int32), ev_time_s=evs[:, 0], ev_class9=evs[:, 1].astype(np.int8),
             ev_vel=evs[:, 2].astype(np.int16), bt_item=bt_item.astype(np.int32), bt_time_s=bts[:, 0],
             bt_pos=bts[:, 1].astype(np.int16), item_tune=np.array([bool(it["tune"]) for it in items]),
             item_mix=np.array([bool(it["mix"]) for it in items]))
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-s", type=float, default=30.0)
    ap.add_argument("--min-mix-s", type=float, default=8.0)
    ap.add_argument("--out", type=Path, default=CACHE / "dataset")
    ap.add_argument("--shard-items", type=int, default=400)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N grooves (for a quick test)")
    ap.add_argument("--synth-p", type=float, default=0.0,
                    help="share of items drummed on a freshly synthesized electronic kit (synth_kit.py)")
    ap.add_argument("--shift-p", type=float, default=0.0,
                    help="share of the other items whose sampled kit is pitch-shifted per drum class")
    ap.add_argument("--permissive-only", action="store_true",
                    help="only kits whose samples have permissive licences (kits.PERMISSIVE_KITS)")
    ap.add_argument("--extra-kit-p", type=float, default=0.0,
                    help="share of the sampled-kit items drummed on a kit added for the fourth set "
                         "(kits.EXTRA_KITS); the rest draw from the first three sets' kits")
    ap.add_argument("--fifth-kit-p", type=float, default=0.0,
                    help="share of the sampled-kit items drummed on a kit added for the fifth set "
                         "(kits.FIFTH_KITS: Csound's GM bank, OPL-3 FM drums)")
    ap.add_argument("--band-sf-p", type=float, default=0.0,
                    help="share of mixes whose band is rendered with a random SoundFont of BAND_SOUNDFONTS")
    ap.add_argument("--dense-p", type=float, default=0.0,
                    help="share of mixes with a denser band (all parts likelier, driven eighth-note guitar)")
    ap.add_argument("--loud-p", type=float, default=0.0,
                    help="share of mixes given an aggressive limiter/clipper master (render.loud_master)")
    ap.add_argument("--level-db", type=float, nargs=2, default=(-9.0, 1.0),
                    help="range of the drums' level relative to the band in mixes (dB)")
    ap.add_argument("--song-band-p", type=float, default=0.0,
                    help="share of mixes under the arranged songs' band (song_band.py: parts, chords and "
                         "loudness per section, bass on the beats); half that share of all items is "
                         "played softer")
    ap.add_argument("--free-bass-p", type=float, default=0.0,
                    help="share of the generated bands whose bass plays a line of its own, not on the kick")
    ap.add_argument("--mixed-kit-p", type=float, default=0.0,
                    help="share of the sampled-kit items drummed on a mixed kit: kick, snare, hi-hat, toms, "
                         "crash and ride each from a random training kit (or a synthesized one)")
    ap.add_argument("--tenth-kit-p", type=float, default=0.0,
                    help="share of items drummed on a tenth-set kit: Hydrogen's GMRockKit or "
                         "TR808EmulationKit, or a kit drawn per item from Sonic Pi's one-shots")
    ap.add_argument("--timbre-eq-p", type=float, default=0.0,
                    help="share of items whose kit has each drum class re-voiced by a random EQ of its own")
    ap.add_argument("--first-shard", type=int, default=0,
                    help="number of the first shard written (to add a second pass to an existing set)")
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="added to every item's seed, so a second set draws new crops, kits and production")
    args = ap.parse_args()
    with (GMD_DIR / "info.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    if args.limit:
        rows = rows[: args.limit]
    pool_kits = PERMISSIVE_KITS if args.permissive_only else TRAIN_KITS
    kits = tuple(k for k in pool_kits if k not in EXTRA_KITS)
    prod = Production(args.extra_kit_p, args.band_sf_p, args.dense_p, args.loud_p,
                      (float(args.level_db[0]), float(args.level_db[1])),
                      tuple(k for k in pool_kits if k in EXTRA_KITS),
                      BAND_SOUNDFONTS[:2] if args.permissive_only else BAND_SOUNDFONTS,
                      args.fifth_kit_p, FIFTH_KITS, args.song_band_p, args.free_bass_p,  # all permissive
                      args.mixed_kit_p, args.tenth_kit_p, args.timbre_eq_p)
    jobs = []
    for i, r in enumerate(rows):
        base = args.seed_offset + 2 * i
        for as_mix in (False, True):
            if not as_mix or float(r["duration"]) >= args.min_mix_s:
                jobs.append(Job(base + as_mix, r["id"], r["midi_filename"], as_mix, args.max_s, args.synth_p,
                                args.shift_p, kits, prod))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(jobs))
    jobs = [jobs[i] for i in order]
    args.out.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, np.ndarray]] = []
    shard = args.first_shard
    with Pool(args.workers) as pool:
        for k, it in enumerate(pool.imap_unordered(make_item, jobs, chunksize=4)):
            if it is not None:
                items.append(it)
            if len(items) >= args.shard_items:
                save_shard(items, args.out / f"shard_{shard:02d}.npz")
                print(f"shard {shard} saved ({k + 1}/{len(jobs)} jobs)", flush=True)
                shard += 1
                items = []
    if items:
        save_shard(items, args.out / f"shard_{shard:02d}.npz")
        print(f"shard {shard} saved (done)", flush=True)


if __name__ == "__main__":
    main()
