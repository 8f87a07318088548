"""Write the section benchmark songs: cache/sections/{tune,eval}/{mix,drums}/<name>.flac + .sections.json.

Each song has a known form (intro, verse, pre-chorus, chorus, bridge, outro in
one of several orders, 4/4 or 3/4, 80-150 BPM, 60-150 s). Its drum part is
built from Groove MIDI performances: every section type gets its own groove
(a 2- or 4-bar loop cut at a downbeat of one performance), so repeated
sections share a groove; the last bar of most sections is a fill (from the
Groove MIDI ``fill`` takes, or a tom run), and most sections open on a crash.
The band (bass, keys/pad, guitar, lead; ``training/song_band.py``) has a chord
progression, instruments, melody motif and loudness per section type, rendered
by fluidsynth. The drums are rendered by the project's sampler
(``training/render.py``) with one kit per song.

Splits (fixed before any tuning of the section finder):

* ``tune``: Groove MIDI *train* split grooves and fills, training kits,
  FluidR3_GM band. TUNING DATA.
* ``eval``: Groove MIDI *validation* split grooves and fills, the held-out kits
  (``kits.EVAL_KITS``), TimGM6mb band, other seeds and forms. Held out: for
  reporting only.

Every song is written twice, as a full mix (``mix/``) and as drums alone
(``drums/``), with the same truth: ``<name>.sections.json`` holds
``{"sections": [{"start_s", "end_s", "label"}], "beats": [[time_s, position]],
"bpm", "beats_per_bar", "kit", "form"}``; section starts (other than the
first, at 0) are downbeats. ``<name>.beats`` and ``<name>.onsets.tsv`` (as in
dev-renders) make the songs a benchmark of the whole analysis as well
(``bench/analysis.py --sets tune-song-drums,tune-song-mix``): arranged songs,
with fills, crashes and changes of groove, which the groove excerpts lack.

Usage::

    chrt --idle 0 nice -n 19 .venv/bin/python bench/section_songs.py [--n 12] [--splits tune,eval]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from build_eval_set import write_truth  # noqa: E402
from kits import SR  # noqa: E402
from render import GMD_DIR, Groove, load_groove, render_drums, render_midi  # noqa: E402
from song_band import compose_band  # noqa: E402

OUT = ROOT / "cache" / "sections"
#: Kits with a cached sample bank: training kits for ``tune``, the held-out kits for ``eval``.
KITS = {
    "tune": ("fluid_standard", "fluid_room", "fluid_power", "fluid_electronic", "fluid_tr808",
             "avl_black_pearl", "h2_BJA_Pacific", "h2_ColomboAcousticDrumkit", "h2_ElectricEmpireKit",
             "h2_Millo-Drums_v.1", "h2_VariBreaks", "h2_Audiophob"),
    "eval": ("avl_red_zeppelin", "h2_ForzeeStereo", "h2_HardElectro1"),
}
BAND_SF2 = {"tune": "FluidR3_GM.sf2", "eval": "TimGM6mb.sf2"}
GMD_SPLIT = {"tune": "train", "eval": "validation"}
SEED_BASE = {"tune": 1000, "eval": 9000}

#: Forms: (label, bars) in order. The eval split draws from all of them too, with other seeds.
FORMS: tuple[tuple[tuple[str, int], ...], ...] = (
    (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 8),
     ("chorus", 8), ("outro", 4)),
    (("intro", 4), ("verse", 8), ("pre-chorus", 4), ("chorus", 8), ("verse", 8), ("pre-chorus", 4),
     ("chorus", 8), ("outro", 4)),
    (("intro", 8), ("verse", 16), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4)),
    (("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 8), ("chorus", 8)),
    (("intro", 2), ("verse", 8), ("pre-chorus", 4), ("chorus", 8), ("bridge", 8), ("chorus", 8),
     ("outro", 2)),
    (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 4),
     ("chorus", 8), ("chorus", 4), ("outro", 4)),
)
#: Velocity scale of the drums per section type.
DRUM_LEVEL = {"intro": 0.7, "verse": 0.85, "pre-chorus": 0.9, "chorus": 1.0, "bridge": 0.8, "outro": 0.9}
#: Fill keys (GM): snare and toms.
_TOM_RUN = (38, 38, 48, 48, 45, 45, 43, 43)


@dataclass
class Loop:
    """A drum pattern in beats: events ``(beat, gmd_pitch, key, velocity)`` over ``n_beats``."""

    events: list[tuple[float, int, int, int]]
    n_beats: int


def groove_rows(split: str, beat_type: str, *, min_s: float) -> list[dict[str, str]]:
    """4/4 Groove MIDI rows of one split and type, at least ``min_s`` long, in id order."""
    with (GMD_DIR / "info.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split and r["beat_type"] == beat_type
                and r["time_signature"] == "4-4" and float(r["duration"]) >= min_s]
    return sorted(rows, key=lambda r: r["id"])


def to_beats(g: Groove) -> list[tuple[float, int, int, int]]:
    """Events with times in beats from the first downbeat (fractional, by the groove's beat grid)."""
    b = g.beats_s
    if b.size < 2:
        return []
    first = int(np.flatnonzero(g.positions == 1)[0]) if (g.positions == 1).any() else 0
    period = float(np.median(np.diff(b)))
    grid = np.concatenate([b, b[-1] + period * np.arange(1, 64)])
    idx = np.arange(grid.size, dtype=np.float64)
    out = []
    for t, p, k, v in g.events:
        beat = float(np.interp(t, grid, idx, left=(t - grid[0]) / period)) - first
        out.append((beat, p, k, v))
    return out


def cut_loop(events: list[tuple[float, int, int, int]], *, start_bar: int, bars: int, bpb: int) -> Loop:
    """``bars`` bars of 4/4 material from ``start_bar`` as a loop of ``bpb`` beats per bar.

    For 3/4 (``bpb`` 3) the fourth beat of every source bar is dropped.
    """
    lo, hi = start_bar * 4 - 0.15, (start_bar + bars) * 4 - 0.15
    out = []
    for beat, p, k, v in events:
        if not lo <= beat < hi:
            continue
        rel = beat - start_bar * 4
        bar, within = divmod(rel + 0.15, 4.0)
        within -= 0.15
        if within >= bpb - 0.15:
            continue
        out.append((bar * bpb + within, p, k, v))
    return Loop(out, bars * bpb)


def pick_loop(rng: np.random.Generator, rows: list[dict[str, str]], *, bpb: int, bars: int,
              used: set[str]) -> Loop:
    """A loop from a random groove not used yet in this song, dense enough to be a groove."""
    for _ in range(40):
        r = rows[int(rng.integers(len(rows)))]
        if r["id"] in used:
            continue
        g = load_groove(GMD_DIR / r["midi_filename"])
        ev = to_beats(g)
        n_bars = int(max((e[0] for e in ev), default=0) // 4)
        if n_bars < bars + 2:
            continue
        start = int(rng.integers(1, n_bars - bars))
        loop = cut_loop(ev, start_bar=start, bars=bars, bpb=bpb)
        if len(loop.events) >= 4 * bars * bpb * 0.6:
            used.add(r["id"])
            return loop
    raise SystemExit("no usable groove found")


def pick_fill(rng: np.random.Generator, rows: list[dict[str, str]], *, bpb: int) -> Loop:
    """One bar of a Groove MIDI fill take (its first bar), or a snare/tom run."""
    for _ in range(20):
        r = rows[int(rng.integers(len(rows)))]
        ev = to_beats(load_groove(GMD_DIR / r["midi_filename"]))
        loop = cut_loop(ev, start_bar=0, bars=1, bpb=bpb)
        if sum(1 for e in loop.events if e[2] in (38, 43, 45, 48, 50, 47, 41)) >= 3:
            return loop
    steps = np.arange(bpb * 2) / 2.0
    seq = _TOM_RUN[-len(steps):]
    return Loop([(float(s), k, k, 70 + 6 * i) for i, (s, k) in enumerate(zip(steps, seq, strict=False))], bpb)


def thin(loop: Loop, keep: tuple[str, ...]) -> Loop:
    """Only some instruments of a loop: ``"kick"``, ``"hats"``, ``"snare"``, ``"ride"``."""
    keys = {"kick": (35, 36), "hats": (42, 44, 46, 22, 26), "snare": (37, 38, 40), "ride": (51, 53, 59)}
    allowed = {k for name in keep for k in keys[name]}
    return Loop([e for e in loop.events if e[2] in allowed], loop.n_beats)


def half_time(loop: Loop, bpb: int) -> Loop:
    """Kick on 1, snare on the middle of the bar, the loop's cymbals and hats kept."""
    ev = [e for e in loop.events if e[2] not in (35, 36, 37, 38, 40)]
    for bar in range(loop.n_beats // bpb):
        ev.append((bar * bpb, 36, 36, 100))
        ev.append((bar * bpb + (2 if bpb == 4 else 1.5), 38, 38, 105))
    return Loop(sorted(ev), loop.n_beats)


def drum_plan(rng: np.random.Generator, split: str, form: tuple[tuple[str, int], ...],
              bpb: int) -> dict[str, Loop]:
    """One loop per section type of the form."""
    rows = groove_rows(GMD_SPLIT[split], "beat", min_s=20.0)
    used: set[str] = set()
    loops: dict[str, Loop] = {}
    types = list(dict.fromkeys(label for label, _ in form))
    verse = pick_loop(rng, rows, bpb=bpb, bars=2 if rng.random() < 0.5 else 4, used=used)
    loops["verse"] = verse
    loops["chorus"] = pick_loop(rng, rows, bpb=bpb, bars=2, used=used)
    for t in types:
        if t in loops:
            continue
        if t == "intro":
            choice = rng.integers(3)
            loops[t] = thin(verse, ("hats", "kick")) if choice == 0 else \
                thin(verse, ("hats",)) if choice == 1 else pick_loop(rng, rows, bpb=bpb, bars=2, used=used)
        elif t == "pre-chorus":
            loops[t] = pick_loop(rng, rows, bpb=bpb, bars=2, used=used) if rng.random() < 0.5 else \
                thin(loops["chorus"], ("hats", "kick"))
        elif t == "bridge":
            loops[t] = half_time(loops["chorus"], bpb) if rng.random() < 0.4 else \
                pick_loop(rng, rows, bpb=bpb, bars=2, used=used)
        elif t == "outro":
            loops[t] = loops["chorus"] if rng.random() < 0.5 else \
                thin(loops["chorus"], ("kick", "ride", "hats"))
    return loops


def compose_drums(rng: np.random.Generator, split: str, form: tuple[tuple[str, int], ...], *, bpb: int,
                  t0_s: float, period_s: float) -> list[tuple[float, int, int, int]]:
    """Drum events ``(time_s, gmd_pitch, key, velocity)`` of the whole song."""
    loops = drum_plan(rng, split, form, bpb)
    fills = groove_rows(GMD_SPLIT[split], "fill", min_s=1.0)
    events: list[tuple[float, int, int, int]] = []
    bar0 = 0
    for k, (label, bars) in enumerate(form):
        loop = loops[label]
        level = DRUM_LEVEL[label] * rng.uniform(0.92, 1.08)
        fill_last = k < len(form) - 1 and rng.random() < 0.75
        fill = pick_fill(rng, fills, bpb=bpb) if fill_last else None
        for i in range(bars):
            bar = bar0 + i
            src = fill if (fill is not None and i == bars - 1) else None
            if src is None:
                off = (i * bpb) % loop.n_beats
                bar_ev = [(b - off, p, key, v) for b, p, key, v in loop.events
                          if off - 0.15 <= b < off + bpb - 0.15]
            else:
                bar_ev = list(src.events)
            for b, p, key, v in bar_ev:
                t = t0_s + (bar * bpb + b) * period_s
                if t >= 0:
                    events.append((t, p, key, int(np.clip(round(v * level), 1, 127))))
        if k > 0 and rng.random() < 0.8:  # a crash (and kick) opens the section
            t = t0_s + bar0 * bpb * period_s
            _add_unless_played(events, [(t, 49, 49, int(rng.integers(95, 120))), (t, 36, 36, 100)])
        bar0 += bars
    # the song ends on a crash
    t_end = t0_s + bar0 * bpb * period_s
    _add_unless_played(events, [(t_end, 49, 49, 110), (t_end, 36, 36, 100)])
    return sorted(events)


#: Keys that sound as one drum: an added crash or kick is left out where the loop already plays one.
_SAME_DRUM = {36: (35, 36), 49: (49, 52, 55, 57)}


def _add_unless_played(events: list[tuple[float, int, int, int]],
                       new: list[tuple[float, int, int, int]], *, within_s: float = 0.03) -> None:
    """Append ``new`` events, except those whose drum the part already plays within ``within_s``
    (a second kick on the loop's own downbeat kick would be one sound annotated twice)."""
    for t, p, key, v in new:
        if not any(abs(t - t2) < within_s and k2 in _SAME_DRUM[key] for t2, _, k2, _ in events):
            events.append((t, p, key, v))


def song_spec(rng: np.random.Generator, index: int, *, form_offset: int = 0
              ) -> tuple[tuple[tuple[str, int], ...], int, float]:
    """Form, beats per bar and tempo of song ``index``: 60-150 s long."""
    form = FORMS[(index + form_offset) % len(FORMS)]
    if rng.random() < 0.3:  # vary section lengths
        form = tuple((lab, n * 2 if lab == "verse" and n == 8 else n) for lab, n in form)
    bpb = 3 if index % 4 == 3 else 4
    beats = sum(n for _, n in form) * bpb
    lo, hi = max(80.0, beats * 60 / 150), min(150.0, beats * 60 / 60)
    if lo > hi:
        form = tuple((lab, max(2, n // 2)) for lab, n in form)
        beats = sum(n for _, n in form) * bpb
        lo, hi = max(80.0, beats * 60 / 150), min(150.0, beats * 60 / 60)
    return form, bpb, float(rng.uniform(lo, hi))


@dataclass
class Song:
    """A song before mixing: its form, drum part (as played and rendered) and band (as MIDI)."""

    form: tuple[tuple[str, int], ...]
    bpb: int
    bpm: float
    t0_s: float
    kit: str
    groove: Groove
    drums: np.ndarray
    band: pretty_midi.PrettyMIDI
    #: The song's random stream after the band: the mix draws from it.
    rng: np.random.Generator


def compose_song(split: str, index: int) -> Song:
    """Song ``index`` of ``split`` from its seed: form, tempo, drum part rendered, band composed."""
    rng = np.random.default_rng(SEED_BASE[split] + index)
    form, bpb, bpm = song_spec(rng, index, form_offset=3 if split == "eval" else 0)
    period = 60.0 / bpm
    t0 = float(rng.uniform(0.2, 1.0))
    kit = KITS[split][index % len(KITS[split])]
    events = compose_drums(rng, split, form, bpb=bpb, t0_s=t0, period_s=period)
    n_bars = sum(n for _, n in form)
    end_s = t0 + n_bars * bpb * period + 2.5
    beats = t0 + period * np.arange(n_bars * bpb + 1)
    positions = np.arange(beats.size) % bpb + 1
    g = Groove(f"{split}{index:02d}", events, beats, positions, end_s, bpm)
    drums = render_drums(g, kit, rng)
    band = compose_band(rng, form, bpb=bpb, t0_s=t0, period_s=period)
    return Song(form, bpb, bpm, t0, kit, g, drums, band, rng)


def make_song(split: str, index: int, out: Path) -> str:
    """Render one song (mix and drums) with its truth; returns a one-line summary."""
    song = compose_song(split, index)
    g, bpb, form = song.groove, song.bpb, song.form
    period = 60.0 / song.bpm
    end_s = g.duration_s
    n = int(end_s * SR)
    drums = np.pad(song.drums, (0, max(0, n - song.drums.size)))[:n]
    # (n + 0.5) / SR seconds is exactly n samples
    band = render_midi(song.band, (n + 0.5) / SR, sf2=BAND_SF2[split], reverb=True)
    fade = int(1.5 * SR)
    level_db = float(song.rng.uniform(-7.0, 1.0))
    rms_d = float(np.sqrt(np.mean(drums ** 2)) + 1e-9)
    rms_b = float(np.sqrt(np.mean(band ** 2)) + 1e-9)
    mixed = band / rms_b + drums / rms_d * 10 ** (level_db / 20)
    name = f"{split}{index:02d}_{bpb}4_{round(song.bpm)}bpm"
    sections, bar0 = [], 0
    for k, (label, bars) in enumerate(form):
        start = 0.0 if k == 0 else song.t0_s + bar0 * bpb * period
        bar0 += bars
        end = end_s if k == len(form) - 1 else song.t0_s + bar0 * bpb * period
        sections.append({"start_s": round(start, 6), "end_s": round(end, 6), "label": label})
    truth = {"sections": sections,
             "beats": [[round(float(b), 6), int(p)] for b, p in zip(g.beats_s, g.positions, strict=True)],
             "bpm": round(song.bpm, 3), "beats_per_bar": bpb, "kit": song.kit,
             "form": [list(f) for f in form]}
    for sub, audio in (("mix", mixed), ("drums", drums)):
        y = audio.astype(np.float32).copy()
        y[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
        y = y / (np.abs(y).max() + 1e-9) * 10 ** (-1 / 20)
        d = out / split / sub
        d.mkdir(parents=True, exist_ok=True)
        sf.write(str(d / f"{name}.flac"), y, SR)
        (d / f"{name}.sections.json").write_text(json.dumps(truth, indent=1) + "\n")
        write_truth(d, name, g)
    return f"{split} {name} {song.kit} {end_s:.1f}s " + " ".join(f"{lab}{n}" for lab, n in form)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=12, help="songs per split")
    ap.add_argument("--splits", default="tune,eval")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    for split in args.splits.split(","):
        for i in range(args.n):
            print(make_song(split, i, args.out), flush=True)


if __name__ == "__main__":
    main()
