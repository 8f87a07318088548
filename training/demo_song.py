"""Compose, render and annotate Backbeat's built-in demo song.

The demo is a ~75 s pop track at 114 BPM in 4/4 (intro, verse, pre-chorus,
chorus, bridge, chorus, outro) written here note by note, deterministically
(a fixed random seed only humanises velocities and micro-timing). It is
rendered with fluidsynth:

* the drum kit with the AVL Drumkits "Black Pearl" SoundFont (a real sampled
  acoustic kit; it sounds only on a normal MIDI channel, so it is rendered on
  channel 1 with General MIDI key numbers),
* a clap layer with the FluidR3_GM "Standard" kit (bank 128, channel 10),
* synth bass, pad, electric-piano stabs, kalimba plucks and a vocal-like lead
  with FluidR3_GM.

The stems are mixed (the music is side-chain ducked by the kick, as pop mixes
are), raised to about -16 dBFS RMS under a -2 dBFS peak limiter and encoded as Ogg Vorbis. Every drum hit in
the truth file is the MIDI time plus the measured attack latency of the
sample that plays it (fluidsynth starts a sample a few milliseconds after the
MIDI time; the pedal hi-hat is slower), so the truth is what one hears.

Outputs (in ``src/backbeat/data/demo/`` unless ``--out-dir`` is given):

``demo.ogg``
    The mix, stereo 44.1 kHz Ogg Vorbis.
``demo.truth.json``
    The true analysis in the Backbeat analysis JSON (schema_version 1):
    tempo map, beats with bar positions, sections and every drum hit.
``demo.mid``
    The whole song as a General MIDI file (drums on channel 10).

Usage::

    .venv/bin/python training/demo_song.py [--out-dir DIR] [--keep-stems DIR]

Requires the Debian packages fluidsynth, fluid-soundfont-gm and
avldrums.lv2-soundfont.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import butter, lfilter

from backbeat.core.kit import GM_DETAIL_BY_NOTE, Instrument
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section, TempoSegment
from backbeat.formats.atomic import atomic_write_bytes, atomic_write_text

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO / "src" / "backbeat" / "data" / "demo"

KIT_SF2 = Path("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2")
GM_SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

SR = 44100
BPM = 114.0
PPQ = 960
BEATS_PER_BAR = 4
#: Silent beats before the first bar.
LEAD_IN_BEATS = 1
#: Seconds of audio kept after the last note starts (the final crash rings out).
TAIL_S = 3.0
SEED = 2026

#: (label, bars) in order.
FORM: tuple[tuple[str, int], ...] = (
    ("intro", 4),
    ("verse", 8),
    ("pre-chorus", 4),
    ("chorus", 8),
    ("bridge", 4),
    ("chorus", 4),
    ("outro", 2),
)

#: Drum keys (General MIDI numbers, also the AVL kit's mapping).
KICK, SNARE, RIM, CLAP = 36, 38, 37, 39
HH_CLOSED, HH_PEDAL, HH_OPEN = 42, 44, 46
TOM_HIGH, TOM_MID, TOM_FLOOR = 48, 45, 43
CRASH, RIDE, RIDE_BELL = 49, 51, 53

#: Velocity below which a snare stroke counts as a ghost note.
GHOST_VELOCITY = 45

#: MIDI channels of the music parts (0-based) and their GM programs.
CH_BASS, CH_PAD, CH_STAB, CH_PLUCK, CH_LEAD = 0, 1, 2, 3, 4
PROGRAMS = {CH_BASS: 38, CH_PAD: 89, CH_STAB: 4, CH_PLUCK: 108, CH_LEAD: 54}
#: Lead program in choruses (GM "Lead 6 (voice)").
LEAD_CHORUS_PROGRAM = 85
GM_DRUM_CHANNEL = 9


@dataclass(frozen=True, slots=True)
class DrumStroke:
    """One drum stroke: tick on the grid plus a humanising offset in ms."""

    tick: int
    key: int
    velocity: int
    offset_ms: float = 0.0
    #: Rendered from the FluidR3 kit (the clap layer) instead of the AVL kit.
    gm_layer: bool = False


@dataclass(frozen=True, slots=True)
class Tone:
    """One pitched note of the accompaniment."""

    tick: int
    length_ticks: int
    channel: int
    pitch: int
    velocity: int


# -- musical time ---------------------------------------------------------------

def tick_at(bar: int, step16: float = 0.0) -> int:
    """Tick of a sixteenth-note step within a bar (bar 0 is the first bar after the lead-in)."""
    return round((LEAD_IN_BEATS + bar * BEATS_PER_BAR) * PPQ + step16 * PPQ / 4)


def tick_to_s(tick: float) -> float:
    """Seconds of a tick at the song's constant tempo."""
    return float(tick) * 60.0 / (BPM * PPQ)


def section_bars() -> list[tuple[str, int, int]]:
    """(label, first bar, bar count) for every section of :data:`FORM`."""
    out, bar = [], 0
    for label, n in FORM:
        out.append((label, bar, n))
        bar += n
    return out


def total_bars() -> int:
    """Number of bars in the song."""
    return sum(n for _, n in FORM)


# -- drums ------------------------------------------------------------------------

class DrumWriter:
    """Collects drum strokes with humanised velocity and micro-timing."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.strokes: list[DrumStroke] = []

    def hit(self, bar: int, step16: float, key: int, velocity: int, *, spread: int = 6,
            timing_ms: float = 3.0, gm_layer: bool = False) -> None:
        """Add a stroke; velocity varies by ``spread`` and time by ``timing_ms`` (one s.d.)."""
        vel = int(np.clip(velocity + self.rng.integers(-spread, spread + 1), 1, 127))
        off = float(np.clip(self.rng.normal(0.0, timing_ms), -2.5 * timing_ms, 2.5 * timing_ms))
        self.strokes.append(DrumStroke(tick_at(bar, step16), key, vel, round(off, 2), gm_layer))

    def snare_and_clap(self, bar: int, step16: float, velocity: int) -> None:
        """A backbeat snare with a clap layered on it at exactly the same time."""
        self.hit(bar, step16, SNARE, velocity)
        stroke = self.strokes[-1]
        self.strokes.append(DrumStroke(stroke.tick, CLAP, max(1, velocity - 10), stroke.offset_ms, True))


def hats_8ths(d: DrumWriter, bar: int, *, open_on: Iterable[int] = (), loud: int = 88,
              soft: int = 62) -> None:
    """Closed hi-hat eighths with accented downbeats; open hi-hat on the given steps."""
    opens = set(open_on)
    for step in range(0, 16, 2):
        if step in opens:
            d.hit(bar, step, HH_OPEN, loud - 4)
        else:
            d.hit(bar, step, HH_CLOSED, loud if step % 4 == 0 else soft)


def fill(d: DrumWriter, bar: int, kind: int, *, start_step: int = 8) -> None:
    """A fill over the end of a bar: snare and toms down the kit, crescendo."""
    steps = list(range(start_step, 16))
    seq = [SNARE, SNARE, TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_FLOOR, TOM_FLOOR]
    if kind == 1:
        seq = [SNARE, TOM_HIGH, SNARE, TOM_MID, SNARE, TOM_FLOOR, TOM_FLOOR, SNARE]
    seq = seq[-len(steps):]
    for i, (step, key) in enumerate(zip(steps, seq, strict=True)):
        d.hit(bar, step, key, 70 + int(45 * i / max(1, len(steps) - 1)), spread=5)
    d.hit(bar, start_step, KICK, 95)


def compose_drums(rng: np.random.Generator) -> list[DrumStroke]:
    """The drum part of the whole song, in tick order."""
    d = DrumWriter(rng)
    for label, first, n in section_bars():
        for i in range(n):
            bar = first + i
            last = i == n - 1
            if label == "intro":
                if i == 0:
                    d.hit(bar, 0, CRASH, 100)
                for step in range(0, 16, 2):
                    if not (i == 0 and step == 0):
                        d.hit(bar, step, HH_CLOSED, 72 if step % 4 == 0 else 54)
                d.hit(bar, 0, KICK, 98)
                d.hit(bar, 8 if i < 2 else 10, KICK, 86)
                if i >= 2:
                    d.hit(bar, 4, RIM, 80)
                    d.hit(bar, 12, RIM, 84)
                if last:
                    for step, vel in ((13, 60), (14, 78), (15, 96)):
                        d.hit(bar, step, SNARE, vel)
            elif label == "verse":
                if i == 0:
                    d.hit(bar, 0, CRASH, 104)
                opens = (14,) if i % 4 == 3 and not last else ()
                hats_8ths(d, bar, open_on=opens)
                for step in (0, 7, 8) if i % 2 == 0 else (0, 8, 10):
                    if not (last and step >= 8):
                        d.hit(bar, step, KICK, 100 if step == 0 else 88)
                d.hit(bar, 4, SNARE, 104)
                if not last:
                    d.hit(bar, 12, SNARE, 108)
                    d.hit(bar, 15 if i % 2 else 11, SNARE, 32, spread=6)  # ghost note
                    d.hit(bar, 6, SNARE, 28, spread=5)  # ghost note
                else:
                    fill(d, bar, 0)
            elif label == "pre-chorus":
                if i == 0:
                    d.hit(bar, 0, CRASH, 100)
                for step in range(0, 16, 4):
                    d.hit(bar, step, KICK, 96 if step == 0 else 86)
                if not last:
                    for step in range(16):
                        if step % 2:
                            d.hit(bar, step, HH_CLOSED, 48, spread=8)
                        else:
                            d.hit(bar, step, HH_CLOSED, 84 if step % 4 == 0 else 66)
                    d.hit(bar, 4, SNARE, 104)
                    d.hit(bar, 12, SNARE, 108)
                else:
                    # the build: snare eighths then sixteenths, crescendo
                    for step in range(0, 8, 2):
                        d.hit(bar, step, SNARE, 60 + 6 * step)
                    for step in range(8, 16):
                        d.hit(bar, step, SNARE, 84 + 4 * (step - 8), spread=3)
            elif label == "chorus":
                if i % 4 == 0:
                    d.hit(bar, 0, CRASH, 112)
                for step in (0, 4, 8, 12):
                    d.hit(bar, step, KICK, 106 if step == 0 else 96)
                if i % 2 == 1 and not last:
                    d.hit(bar, 14, KICK, 78)
                if not last:
                    for step in range(0, 16, 2):
                        if step % 4 == 2:
                            d.hit(bar, step, HH_OPEN, 80)
                        elif not (step == 0 and i % 4 == 0):
                            d.hit(bar, step, HH_CLOSED, 76)
                    d.snare_and_clap(bar, 4, 110)
                    d.snare_and_clap(bar, 12, 112)
                else:
                    for step in (0, 2, 4, 6):
                        d.hit(bar, step, HH_CLOSED, 74)
                    d.snare_and_clap(bar, 4, 110)
                    fill(d, bar, 1)
            elif label == "bridge":
                # half-time breakdown on the ride, claps alone on the backbeat
                if i == 0:
                    d.hit(bar, 0, CRASH, 96)
                for step in range(0, 16, 2):
                    if not (i == 0 and step == 0):
                        d.hit(bar, step, RIDE_BELL if step % 8 == 4 else RIDE, 86 if step % 4 == 0 else 66)
                d.hit(bar, 0, KICK, 98)
                if not last:
                    d.hit(bar, 8, SNARE, 106)
                    d.hit(bar, 11, KICK, 80)
                    d.hit(bar, 4, CLAP, 92, gm_layer=True)
                    d.hit(bar, 12, CLAP, 92, gm_layer=True)
                    if i % 2:
                        d.hit(bar, 14, TOM_FLOOR, 84)
                        d.hit(bar, 15, TOM_FLOOR, 92)
                else:
                    d.hit(bar, 4, SNARE, 100)
                    fill(d, bar, 0)
            elif label == "outro":
                if i == 0:
                    d.hit(bar, 0, CRASH, 112)
                    d.hit(bar, 0, KICK, 104)
                    for step in range(2, 16, 2):
                        d.hit(bar, step, HH_CLOSED, 70 if step % 4 == 0 else 56)
                    d.hit(bar, 4, SNARE, 100)
                    d.hit(bar, 12, SNARE, 104)
                    d.hit(bar, 8, KICK, 90)
                    for step, key in ((13, TOM_HIGH), (14, TOM_MID), (15, TOM_FLOOR)):
                        d.hit(bar, step, key, 96)
                else:
                    d.hit(bar, 0, CRASH, 118)
                    d.hit(bar, 0, KICK, 112)
                    d.hit(bar, 0, SNARE, 100)
    return sorted(d.strokes, key=lambda s: (s.tick, s.key))


# -- accompaniment ------------------------------------------------------------------

CHORDS: dict[str, tuple[int, tuple[int, ...]]] = {
    # name: (bass root, pad voicing)
    "Am": (45, (57, 60, 64)),
    "F": (41, (57, 60, 65)),
    "C": (36, (55, 60, 64)),
    "G": (43, (55, 59, 62)),
    "Dm": (38, (57, 62, 65)),
    "Em": (40, (55, 59, 64)),
}
PROGRESSION = {
    "intro": ("Am", "F", "C", "G"),
    "verse": ("Am", "F", "C", "G"),
    "pre-chorus": ("Dm", "Em", "F", "G"),
    "chorus": ("Am", "F", "C", "G"),
    "bridge": ("F", "G", "Em", "Am"),
    "outro": ("F", "Am"),
}
#: Chorus hook, one bar per chord: (step16, length in steps, pitch).
HOOK: tuple[tuple[tuple[int, int, int], ...], ...] = (
    ((0, 2, 76), (2, 2, 76), (4, 2, 74), (6, 4, 72), (10, 2, 69), (12, 4, 72)),
    ((0, 2, 72), (2, 2, 72), (4, 2, 74), (6, 4, 77), (10, 2, 76), (12, 4, 72)),
    ((0, 4, 76), (4, 4, 79), (8, 2, 76), (10, 2, 74), (12, 4, 72)),
    ((0, 4, 74), (4, 2, 71), (6, 4, 74), (12, 4, 67)),
)
VERSE_RHYTHMS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((2, 2), (4, 2), (6, 4), (12, 2)),
    ((0, 3), (3, 3), (6, 2), (8, 6)),
    ((2, 2), (4, 2), (6, 2), (8, 2), (10, 4)),
    ((0, 6), (8, 2), (10, 2), (12, 4)),
)


def compose_music(rng: np.random.Generator) -> tuple[list[Tone], list[tuple[int, int, int]]]:
    """Accompaniment tones and program changes ``(tick, channel, program)``."""
    tones: list[Tone] = []
    programs: list[tuple[int, int, int]] = [(0, ch, prog) for ch, prog in PROGRAMS.items()]
    step = PPQ // 4

    def tone(bar: int, s16: float, len16: float, ch: int, pitch: int, vel: int) -> None:
        v = int(np.clip(vel + rng.integers(-4, 5), 1, 127))
        tones.append(Tone(tick_at(bar, s16), int(len16 * step) - 10, ch, pitch, v))

    for label, first, n in section_bars():
        prog = PROGRESSION[label]
        if label == "chorus":
            programs.append((tick_at(first), CH_LEAD, LEAD_CHORUS_PROGRAM))
        elif label in ("verse", "bridge"):
            programs.append((tick_at(first), CH_LEAD, PROGRAMS[CH_LEAD]))
        for i in range(n):
            bar = first + i
            name = prog[i % len(prog)] if not (label == "outro" and i == n - 1) else "Am"
            root, voicing = CHORDS[name]
            last_bar_of_song = label == "outro" and i == n - 1
            # pad
            if label in ("intro", "pre-chorus", "chorus", "bridge", "outro"):
                length = 16 if not last_bar_of_song else 24
                for p in voicing:
                    tone(bar, 0, length, CH_PAD, p, 58 if label != "chorus" else 66)
            # bass
            if label == "verse":
                for s in range(0, 16, 2):
                    tone(bar, s, 1.6, CH_BASS, root + (12 if s == 14 else 0), 96 if s % 4 == 0 else 84)
            elif label == "chorus":
                for s in range(0, 16, 2):
                    tone(bar, s, 1.8, CH_BASS, root + (12 if s in (6, 14) else 0), 104 if s % 4 == 0 else 92)
            elif label == "pre-chorus":
                for s in (0, 4, 8, 12):
                    tone(bar, s, 3.5, CH_BASS, root, 96)
            elif label in ("bridge", "outro") or (label == "intro" and i >= 2):
                tone(bar, 0, 14 if not last_bar_of_song else 20, CH_BASS, root, 92)
            # stabs: off-beat electric piano in the verse
            if label == "verse":
                for s in (2, 6, 10, 14) if i % 2 else (3, 6, 10):
                    for p in voicing:
                        tone(bar, s, 1, CH_STAB, p + 12, 70)
            # plucks: sixteenth arpeggio
            if label in ("intro", "pre-chorus", "chorus"):
                arp = [voicing[0] + 12, voicing[1] + 12, voicing[2] + 12, voicing[1] + 12]
                for s in range(16):
                    tone(bar, s, 0.8, CH_PLUCK, arp[s % 4] + (12 if s % 8 == 7 else 0),
                         62 if s % 4 == 0 else 50)
            # lead
            if label == "chorus":
                for s, ln, p in HOOK[i % 4]:
                    tone(bar, s, ln, CH_LEAD, p, 100)
            elif label == "verse":
                rhythm = VERSE_RHYTHMS[i % 4]
                chord_tones = sorted({p + 12 for p in voicing} | {p for p in voicing if p >= 62})
                for s, ln in rhythm:
                    tone(bar, s, ln, CH_LEAD, int(rng.choice(chord_tones)), 88)
            elif label == "bridge":
                tone(bar, 0, 14, CH_LEAD, voicing[2] + 12, 72)
    return sorted(tones, key=lambda t: (t.tick, t.channel, t.pitch)), programs


# -- MIDI -------------------------------------------------------------------------------

def _to_track(events: list[tuple[int, int, mido.Message]], name: str) -> mido.MidiTrack:
    """Absolute-tick events (tick, order, message) to a delta-time track."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _stroke_tick(s: DrumStroke) -> int:
    return max(0, s.tick + round(s.offset_ms / 1000.0 * BPM * PPQ / 60.0))


def drum_events(strokes: Iterable[DrumStroke], channel: int) -> list[tuple[int, int, mido.Message]]:
    """Note on/off events for drum strokes on one channel (notes last a sixteenth)."""
    ev: list[tuple[int, int, mido.Message]] = []
    for s in strokes:
        t = _stroke_tick(s)
        ev.append((t, 1, mido.Message("note_on", channel=channel, note=s.key, velocity=s.velocity)))
        ev.append((t + PPQ // 4, 0, mido.Message("note_off", channel=channel, note=s.key, velocity=0)))
    return ev


def tone_events(tones: Iterable[Tone], programs: Iterable[tuple[int, int, int]]
                ) -> list[tuple[int, int, mido.Message]]:
    """Note and program-change events for the accompaniment."""
    ev: list[tuple[int, int, mido.Message]] = [
        (tick, -1, mido.Message("program_change", channel=ch, program=prog)) for tick, ch, prog in programs
    ]
    for t in tones:
        ev.append((t.tick, 1, mido.Message("note_on", channel=t.channel, note=t.pitch, velocity=t.velocity)))
        ev.append((t.tick + t.length_ticks, 0,
                   mido.Message("note_off", channel=t.channel, note=t.pitch, velocity=0)))
    return ev


def midi_file(tracks: list[tuple[str, list[tuple[int, int, mido.Message]]]]) -> mido.MidiFile:
    """A type-1 MIDI file with the song's tempo and meter and the given tracks."""
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    meta = [
        (0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM))),
        (0, 0, mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4)),
    ]
    mid.tracks.append(_to_track(meta, "Backbeat demo"))
    for name, ev in tracks:
        mid.tracks.append(_to_track(ev, name))
    return mid


# -- rendering --------------------------------------------------------------------------

def render(sf2: Path, mid: mido.MidiFile, work: Path, name: str) -> np.ndarray:
    """Render a MIDI file with fluidsynth; returns float32 stereo (n, 2) at :data:`SR`."""
    mid_path, wav_path = work / f"{name}.mid", work / f"{name}.wav"
    mid.save(str(mid_path))
    cmd = ["fluidsynth", "-ni", "-F", str(wav_path), "-r", str(SR), "-g", "0.6", str(sf2), str(mid_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not wav_path.exists():
        raise SystemExit(f"fluidsynth failed on {name}: {proc.stderr.strip()[-400:]}")
    audio, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    if sr != SR:
        raise SystemExit(f"fluidsynth wrote {sr} Hz, expected {SR}")
    return audio


#: Velocities at which attack latency is measured (the nearest one is used).
LATENCY_VELOCITIES = (30, 70, 110)
#: Seconds between probe hits when measuring latency.
PROBE_GAP_S = 1.5


def measure_latency_ms(sf2: Path, keys: Iterable[int], *, channel: int, work: Path,
                       name: str) -> dict[tuple[int, int], float]:
    """Delay from MIDI note-on to the audible attack, per (key, probe velocity), in ms.

    Each key is struck alone at each velocity of :data:`LATENCY_VELOCITIES`;
    the attack is where the rectified signal first exceeds 10 % of the hit's
    peak within 150 ms (the sound of the previous probe is cut off before).
    """
    probes = [(k, v) for k in sorted(set(keys)) for v in LATENCY_VELOCITIES]
    gap = round(PROBE_GAP_S * BPM * PPQ / 60.0)
    ev: list[tuple[int, int, mido.Message]] = []
    for i, (k, v) in enumerate(probes):
        t = (i + 1) * gap
        # "all sound off" first, so the previous probe's ring does not mask this attack
        ev.append((t - PPQ // 4, 0, mido.Message("control_change", channel=channel, control=120, value=0)))
        ev.append((t, 1, mido.Message("note_on", channel=channel, note=k, velocity=v)))
        ev.append((t + PPQ // 4, 0, mido.Message("note_off", channel=channel, note=k, velocity=0)))
    audio = render(sf2, midi_file([("probe", ev)]), work, name).mean(axis=1)
    out: dict[tuple[int, int], float] = {}
    for i, probe in enumerate(probes):
        start = round(tick_to_s((i + 1) * gap) * SR)
        seg = np.abs(audio[start: start + int(0.15 * SR)])
        peak = float(seg.max()) if seg.size else 0.0
        if peak < 1e-4:
            raise SystemExit(f"{sf2.name}: key {probe[0]} is silent; cannot use it in the demo")
        out[probe] = 1000.0 * int(np.argmax(seg > 0.1 * peak)) / SR
    return out


def latency_for(table: dict[tuple[int, int], float], key: int, velocity: int) -> float:
    """Latency in ms of a key at the probe velocity nearest ``velocity``."""
    v = min(LATENCY_VELOCITIES, key=lambda pv: abs(pv - velocity))
    return table[(key, v)]


def kick_envelope(strokes: Iterable[DrumStroke], n: int, *, depth_db: float = 4.0,
                  release_s: float = 0.18) -> np.ndarray:
    """Side-chain gain for the music: dips ``depth_db`` at each kick and recovers."""
    duck = np.zeros(n, dtype=np.float32)
    rel = np.exp(-np.arange(int(release_s * 4 * SR)) / (release_s * SR)).astype(np.float32)
    for s in strokes:
        if s.key != KICK:
            continue
        i = round((tick_to_s(s.tick) + s.offset_ms / 1000.0) * SR)
        j = min(n, i + rel.size)
        if i < n:
            duck[i:j] = np.maximum(duck[i:j], rel[: j - i] * (s.velocity / 127.0))
    return (10.0 ** (-depth_db * duck / 20.0)).astype(np.float32)


# -- truth --------------------------------------------------------------------------------

def drum_truth(strokes: list[DrumStroke], latency: dict[bool, dict[tuple[int, int], float]]) -> list[DrumHit]:
    """One hit per stroke heard; a clap layered on a snare at the same time is the snare's."""
    snare_ticks = {_stroke_tick(s) for s in strokes if s.key == SNARE}
    hits: list[DrumHit] = []
    for s in strokes:
        if s.key == CLAP and _stroke_tick(s) in snare_ticks:
            continue
        inst, detail = GM_DETAIL_BY_NOTE[s.key]
        if s.key == SNARE and s.velocity < GHOST_VELOCITY:
            detail = "snare_ghost"
        t = tick_to_s(_stroke_tick(s)) + latency_for(latency[s.gm_layer], s.key, s.velocity) / 1000.0
        hits.append(DrumHit(round(t, 5), inst, s.velocity, detail))
    return sorted(hits, key=lambda h: (h.time_s, h.instrument.value))


def build_truth(strokes: list[DrumStroke], latency: dict[bool, dict[tuple[int, int], float]],
                duration_s: float, beat_latency_ms: float) -> Analysis:
    """The demo's true analysis: beats from the grid, sections, drum hits."""
    lat_s = beat_latency_ms / 1000.0
    n_beats = total_bars() * BEATS_PER_BAR + 1  # the final downbeat (last crash) included
    beats = tuple(
        Beat(round(tick_to_s((LEAD_IN_BEATS + i) * PPQ) + lat_s, 5), i % BEATS_PER_BAR + 1)
        for i in range(n_beats)
    )
    sections = []
    bounds = section_bars()
    for k, (label, first, _) in enumerate(bounds):
        start = 0.0 if k == 0 else round(tick_to_s(tick_at(first)) + lat_s, 5)
        end = duration_s if k == len(bounds) - 1 else round(tick_to_s(tick_at(bounds[k + 1][1])) + lat_s, 5)
        sections.append(Section(start, end, label))
    return Analysis(
        duration_s=duration_s,
        tempo_map=(TempoSegment(beats[0].time_s, BPM, BEATS_PER_BAR, 4),),
        beats=beats,
        drums=tuple(drum_truth(strokes, latency)),
        sections=tuple(sections),
        source="demo.ogg",
        extra={
            "truth": True,
            "generator": "training/demo_song.py",
            "beat_latency_ms": round(beat_latency_ms, 2),
            "licence": "Backbeat project (MIT); samples: AVL Drumkits (GPL-2+), FluidR3_GM (MIT)",
        },
    )


#: Loudness the master aims at (RMS, dBFS) and its peak ceiling (dBFS).
TARGET_RMS_DBFS = -16.0
CEILING_DBFS = -2.0


def master(mix: np.ndarray, *, target_rms_dbfs: float = TARGET_RMS_DBFS,
           ceiling_dbfs: float = CEILING_DBFS, lookahead_s: float = 0.004) -> np.ndarray:
    """Remove DC, raise to the target loudness and brick-wall limit the peaks.

    The limiter's gain is the running minimum of ``ceiling / |x|`` over the
    look-ahead window, then averaged over the same window, so the output
    never exceeds the ceiling and the gain never steps (no clicks).
    """
    b, a = butter(2, 25.0 / (SR / 2), btype="highpass")
    x = lfilter(b, a, mix.astype(np.float64), axis=0)
    rms = float(np.sqrt(np.mean(x**2)))
    x *= 10 ** (target_rms_dbfs / 20) / max(rms, 1e-9)
    ceiling = 10 ** (ceiling_dbfs / 20)
    env = np.abs(x).max(axis=1)
    gain = np.minimum(1.0, ceiling / np.maximum(env, 1e-9))
    w = max(1, int(lookahead_s * SR)) | 1
    gain = uniform_filter1d(minimum_filter1d(gain, size=w), size=w)
    x *= gain[:, None]
    peak = float(np.abs(x).max())
    if peak > ceiling:  # the average of minima is never above the sample's gain; guard rounding
        x *= ceiling / peak
    return x.astype(np.float32)


def write_ogg(path: Path, audio: np.ndarray, *, compression_level: float = 0.55) -> None:
    """Encode float audio (n, channels) as Ogg Vorbis.

    Written in blocks: libsndfile's Vorbis encoder crashes on very large single writes.
    """
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=audio.shape[1], format="OGG",
                      subtype="VORBIS", compression_level=compression_level) as fh:
        for i in range(0, audio.shape[0], 4096):
            fh.write(audio[i: i + 4096])


# -- main -----------------------------------------------------------------------------------

def build(out_dir: Path, *, keep_stems: Path | None = None) -> dict[str, float]:
    """Compose, render, mix and write the demo files; returns a few figures for the log."""
    for tool, path in (("fluidsynth", None), ("", KIT_SF2), ("", GM_SF2)):
        if tool and shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (Debian package fluidsynth)")
        if path is not None and not path.exists():
            raise SystemExit(f"SoundFont {path} not found "
                             "(Debian avldrums.lv2-soundfont / fluid-soundfont-gm)")
    rng = np.random.default_rng(SEED)
    strokes = compose_drums(rng)
    tones, programs = compose_music(rng)
    kit_strokes = [s for s in strokes if not s.gm_layer]
    layer_strokes = [s for s in strokes if s.gm_layer]

    with tempfile.TemporaryDirectory(prefix="backbeat-demo-") as tmp:
        work = Path(tmp)
        lat_kit = measure_latency_ms(KIT_SF2, {s.key for s in kit_strokes}, channel=0, work=work,
                                     name="probe_kit")
        lat_gm = measure_latency_ms(GM_SF2, {s.key for s in layer_strokes}, channel=GM_DRUM_CHANNEL,
                                    work=work, name="probe_gm")
        kit = render(KIT_SF2, midi_file([("drums", drum_events(kit_strokes, 0))]), work, "kit")
        layer = render(GM_SF2, midi_file([("clap", drum_events(layer_strokes, GM_DRUM_CHANNEL))]), work,
                       "clap")
        music = render(GM_SF2, midi_file([("music", tone_events(tones, programs))]), work, "music")
        if keep_stems is not None:
            keep_stems.mkdir(parents=True, exist_ok=True)
            for f in work.glob("*.wav"):
                shutil.copy(f, keep_stems / f.name)

    last_tick = max(max(_stroke_tick(s) for s in strokes), max(t.tick for t in tones))
    n = round((tick_to_s(last_tick) + TAIL_S) * SR)
    stems = [np.pad(a, ((0, max(0, n - a.shape[0])), (0, 0)))[:n] for a in (kit, layer, music)]
    kit_a, layer_a, music_a = stems

    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)) + 1e-12)

    music_gain = 0.85 * rms(kit_a) / rms(music_a)
    mix = kit_a + 0.55 * layer_a + music_gain * music_a * kick_envelope(strokes, n)[:, None]
    fade = int(1.2 * SR)
    mix[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    mix = master(mix)
    duration_s = n / SR

    latency = {False: lat_kit, True: lat_gm}
    beat_latency_ms = float(np.median([latency_for(lat_kit, KICK, v) for v in LATENCY_VELOCITIES]
                                      + [latency_for(lat_kit, SNARE, v) for v in LATENCY_VELOCITIES]))
    truth = build_truth(strokes, latency, round(duration_s, 5), beat_latency_ms)
    truth.extra["render_latency_ms"] = {
        ("clap" if layer else "kit") + f"/{k}/v{v}": round(ms, 2)
        for layer, table in latency.items() for (k, v), ms in sorted(table.items())
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".ogg", dir=out_dir, delete=False) as fh:
        tmp_ogg = Path(fh.name)
    try:
        write_ogg(tmp_ogg, mix)
        tmp_ogg.chmod(0o644)
        tmp_ogg.replace(out_dir / "demo.ogg")
    finally:
        tmp_ogg.unlink(missing_ok=True)
    atomic_write_text(out_dir / "demo.truth.json", json.dumps(truth.to_json(), indent=1) + "\n")
    gm = midi_file([
        ("drums", drum_events(strokes, GM_DRUM_CHANNEL)),
        ("music", tone_events(tones, programs)),
    ])
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "demo.mid"
        gm.save(str(p))
        atomic_write_bytes(out_dir / "demo.mid", p.read_bytes())

    counts: dict[str, float] = {inst.value: 0 for inst in Instrument}
    for h in truth.drums:
        counts[h.instrument.value] += 1
    return {
        "duration_s": duration_s,
        "beats": len(truth.beats),
        "drum_hits": len(truth.drums),
        **counts,
        "music_gain": music_gain,
        "beat_latency_ms": beat_latency_ms,
        "ogg_bytes": (out_dir / "demo.ogg").stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    ap.add_argument("--keep-stems", type=Path, default=None, help="copy the rendered stems (wav) here")
    args = ap.parse_args(argv)
    figures = build(args.out_dir, keep_stems=args.keep_stems)
    for k, v in figures.items():
        print(f"{k:>16}: {v:.3f}" if isinstance(v, float) else f"{k:>16}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
