"""Render Groove MIDI performances to exactly annotated audio (drums only or full-band mixes).

Drums are rendered by a numpy sampler from the one-shot banks of :mod:`kits`
(fast, so every training item can use a different kit and mix). The
accompaniment (bass on the kick pattern and chord roots, sustained keys or
pads, guitar strums, a sung-like lead with vibrato) is written as General MIDI
that follows the groove's own tempo and meter and rendered by fluidsynth with
FluidR3_GM (or another GM SoundFont), then mixed under the drums with random levels, EQ, reverb,
side-chain pumping and loud mastering.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from scipy.signal import fftconvolve, lfilter

from kits import CLASS5_BY_CLASS9, CLASS9_BY_KEY, SF2_DIR, SR, load_bank

GMD_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "groove-midi"
#: Roland TD-11 pitches of the Groove MIDI Dataset -> the GM key we render (as in dev-renders).
TD11_TO_GM = {22: 42, 26: 46, 58: 43, 55: 49, 52: 57, 59: 51, 50: 48, 47: 45}
CLASS9 = ("KD", "SD", "HHC", "HHO", "LT", "MT", "HT", "CR", "RD")


@dataclass
class Groove:
    """A parsed performance: events (time_s, gmd_pitch, render_key, velocity), beats, downbeats."""

    name: str
    events: list[tuple[float, int, int, int]]
    beats_s: np.ndarray
    positions: np.ndarray
    duration_s: float
    bpm: float
    #: Notes per annotated beat that the band subdivides it into: 2, or 3 for compound meters (6/8,
    #: 12/8), whose annotated beat is the dotted quarter. Groove MIDI files keep 2, as rendered so far.
    beat_subdivision: int = 2


def load_groove(path: Path, *, name: str = "") -> Groove:
    """Parse a Groove MIDI file into drum events and its metronome grid."""
    pm = pretty_midi.PrettyMIDI(str(path))
    events = []
    for inst in pm.instruments:
        for n in inst.notes:
            key = TD11_TO_GM.get(n.pitch, n.pitch)
            if key in CLASS9_BY_KEY and n.velocity > 0:
                events.append((float(n.start), int(n.pitch), key, int(n.velocity)))
    events.sort()
    end = max(pm.get_end_time(), events[-1][0] + 0.5 if events else 1.0)
    beats = pm.get_beats()
    downs = set(np.round(pm.get_downbeats(), 6))
    positions = np.zeros(len(beats), dtype=int)
    pos = 0
    for i, b in enumerate(beats):
        pos = 1 if round(b, 6) in downs else pos + 1
        positions[i] = pos
    beats_keep = beats < end
    return Groove(name or path.stem, events, beats[beats_keep], positions[beats_keep], float(end),
                  float(pm.get_tempo_changes()[1][0]))


def crop(g: Groove, start_s: float, dur_s: float) -> Groove:
    """Cut ``[start_s, start_s + dur_s)`` out of a groove, re-based to 0."""
    ev = [(t - start_s, p, k, v) for t, p, k, v in g.events if start_s <= t < start_s + dur_s]
    keep = (g.beats_s >= start_s) & (g.beats_s < start_s + dur_s)
    return Groove(g.name, ev, g.beats_s[keep] - start_s, g.positions[keep],
                  min(dur_s, g.duration_s - start_s), g.bpm, g.beat_subdivision)


def warp(g: Groove, tempo_ratio: np.ndarray, *, step_s: float = 0.001) -> Groove:
    """Play a groove with a changing tempo: ``tempo_ratio[i]`` times its own tempo at ``i * step_s``.

    Every event and beat moves to ``w(t) = integral of 1 / ratio`` over its
    original time, so notes and annotations stay exactly aligned (nothing is
    time-stretched in audio). ``tempo_ratio`` must be positive; times past
    its end keep its last value.
    """
    ratio = np.asarray(tempo_ratio, dtype=np.float64)
    if ratio.ndim != 1 or ratio.size < 2 or np.any(ratio <= 0):
        raise ValueError("tempo_ratio must be a positive 1-D curve")
    grid = np.arange(ratio.size) * step_s
    new = np.concatenate([[0.0], np.cumsum(step_s / ratio[:-1])])

    def w(t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        beyond = np.maximum(t - grid[-1], 0.0) / ratio[-1]
        return np.interp(t, grid, new) + beyond

    events = [(float(w(t)), p, k, v) for t, p, k, v in g.events]
    duration = float(w(g.duration_s))
    mean_ratio = g.duration_s / duration if duration > 0 else 1.0
    return Groove(g.name, events, w(g.beats_s), g.positions.copy(), duration, g.bpm * mean_ratio,
                  g.beat_subdivision)


def _pick_layer(layers: list[tuple[int, np.ndarray]], vel: int) -> tuple[np.ndarray, float]:
    for vmax, wav in layers:
        if vel <= vmax:
            return wav, vel / vmax if len(layers) > 1 else (vel / 127) ** 1.2
    vmax, wav = layers[-1]
    return wav, min(vel / vmax, 1.2)


def render_drums(g: Groove, kit: str, rng: np.random.Generator, *, fallback_kit: str = "fluid_standard",
                 class_gain_db: float = 4.0,
                 bank: dict[int, list[list[tuple[int, np.ndarray]]]] | None = None) -> np.ndarray:
    """Sampler render of a groove with one kit (or a ready ``bank``); returns mono float32 at SR."""
    bank = load_bank(kit) if bank is None else bank
    fb = load_bank(fallback_kit)
    variant = {k: int(rng.integers(len(v))) for k, v in bank.items()}
    gains = {c: 10 ** (rng.uniform(-class_gain_db, class_gain_db) / 20) for c in CLASS9}
    n = int(g.duration_s * SR) + 3 * SR
    out = np.zeros(n, dtype=np.float32)
    hh_times = [t for t, _, k, _ in g.events if k in (42, 44)]
    for t, _, key, vel in g.events:
        cls = CLASS9_BY_KEY[key]
        layers = None
        if key in bank:
            layers = bank[key][variant[key]]
        else:
            same = [k for k in bank if CLASS9_BY_KEY[k] == cls] or \
                   [k for k in bank if CLASS5_BY_CLASS9[CLASS9_BY_KEY[k]] == CLASS5_BY_CLASS9[cls]]
            if same:
                k2 = same[0]
                layers = bank[k2][variant[k2]]
            elif key in fb:
                layers = fb[key][0]
        if layers is None:
            continue
        wav, amp = _pick_layer(layers, vel)
        amp *= gains[cls] * 10 ** (rng.normal(0, 0.5) / 20)
        start = round(t * SR)
        seg = wav
        if key == 46:  # an open hi-hat is choked by the next closed/pedal hi-hat
            nxt = [h for h in hh_times if h > t + 0.02]
            if nxt:
                stop = int((nxt[0] - t) * SR)
                if stop < len(seg):
                    seg = seg[: stop + 441].copy()
                    seg[-441:] *= np.linspace(1, 0, 441, dtype=np.float32)
        m = min(len(seg), n - start)
        if m > 0 and start >= 0:
            out[start:start + m] += amp * seg[:m]
    return out[: int(g.duration_s * SR) + SR // 2]


def _shelf(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random tilt EQ: a one-pole low/high split re-weighted by a few dB."""
    fc = rng.uniform(200, 4000)
    a = np.exp(-2 * np.pi * fc / SR)
    low = lfilter([1 - a], [1, -a], x).astype(np.float32)
    high = x - low
    return (low * 10 ** (rng.uniform(-6, 6) / 20) + high * 10 ** (rng.uniform(-6, 6) / 20)).astype(np.float32)


def _reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt = rng.uniform(0.2, 1.5)
    n = int(rt * SR)
    ir = (rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)).astype(np.float32)
    ir /= np.sqrt((ir ** 2).sum())
    wet = fftconvolve(x, ir)[: len(x)].astype(np.float32)
    return x + wet * 10 ** (rng.uniform(-22, -8) / 20)


def _compress(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Crude broadband compressor/limiter (envelope follower + static curve)."""
    thr = 10 ** (rng.uniform(-24, -10) / 20) * (np.abs(x).max() + 1e-9)
    ratio = rng.uniform(2, 8)
    env = np.abs(x)
    rel = np.exp(-1 / (rng.uniform(0.03, 0.2) * SR))
    env = lfilter([1 - rel], [1, -rel], env).astype(np.float32)
    gain = np.where(env > thr, (thr / np.maximum(env, 1e-9)) ** (1 - 1 / ratio), 1.0).astype(np.float32)
    return x * gain


def process_drums(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random production of a drum bus: EQ, reverb, compression, saturation."""
    if rng.random() < 0.7:
        x = _shelf(x, rng)
    if rng.random() < 0.5:
        x = _reverb(x, rng)
    if rng.random() < 0.4:
        x = _compress(x, rng)
    if rng.random() < 0.2:
        drive = rng.uniform(1.5, 4)
        x = np.tanh(drive * x / (np.abs(x).max() + 1e-9)).astype(np.float32)
    return x


# ---------------------------------------------------------------- accompaniment

_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_PROGRESSIONS = ((0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 4, 4), (0, 0, 3, 4), (1, 4, 0, 0))
_BASS = (33, 34, 38, 39, 35, 32)
_KEYS = (0, 1, 4, 5, 16, 18)
_PADS = (48, 49, 50, 88, 89, 90, 91, 94, 52)
_GUITARS = (24, 25, 27, 29, 30, 28)
_LEADS = (53, 54, 85, 52, 80, 81, 65, 73, 56)
_DRIVEN_GUITARS = (29, 30, 27, 81)


def accompaniment_midi(g: Groove, rng: np.random.Generator, *, dense: bool = False,
                       bass_rng: np.random.Generator | None = None) -> pretty_midi.PrettyMIDI:
    """General MIDI band parts following the groove's beats, bars and kick pattern.

    With ``dense`` every part is more likely to play and a second, driven
    guitar doubles the chords in eighth notes (palm-muted power chords or open
    strums), so the band covers the snare and cymbal range more often. Guitars
    subdivide each beat into ``g.beat_subdivision`` notes (three in 6/8).

    The bass plays on the kick hits and bar lines, unless ``bass_rng`` is given:
    then it plays a line of its own on the beat grid, whatever the kick does
    (:func:`free_bass_times`), its timing and loudness drawn from ``bass_rng``.
    """
    pm = pretty_midi.PrettyMIDI(initial_tempo=max(g.bpm, 30.0))
    tonic = int(rng.integers(0, 12))
    scale = _SCALES["major" if rng.random() < 0.5 else "minor"]
    prog = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    beats = list(g.beats_s)
    if len(beats) < 2:
        return pm
    period = float(np.median(np.diff(beats)))
    while beats[-1] < g.duration_s + period:
        beats.append(beats[-1] + period)
    pos = list(g.positions)
    bpb = int(max(pos)) if len(pos) else 4
    while len(pos) < len(beats):
        pos.append(pos[-1] % bpb + 1 if pos else 1)
    bars = [b for b, p in zip(beats, pos, strict=False) if p == 1] or [beats[0]]
    if bars[0] > 0:
        bars.insert(0, bars[0] - bpb * period)
    bar_len = bpb * period

    def chord_at(t: float) -> int:
        i = max(0, int(np.searchsorted(bars, t, side="right")) - 1)
        return prog[i % len(prog)]

    def degree_pitch(deg: int, octave: int) -> int:
        return 12 * octave + tonic + scale[deg % 7] + 12 * (deg // 7)

    # bass, keys/pad, guitar, lead
    parts = rng.random(4) < ((1.0, 0.9, 0.9, 0.8) if dense else (0.9, 0.7, 0.6, 0.7))
    vol = {}
    if parts[0]:
        inst = pretty_midi.Instrument(program=int(rng.choice(_BASS)))
        if bass_rng is None:
            kicks = [t for t, _, k, _ in g.events if k in (35, 36)]
            times = sorted(set(np.round(kicks, 3)) | set(np.round(bars, 3)))
            intervals = [0] * len(times)
        else:
            times, intervals = free_bass_times(bars, period, bpb, g.beat_subdivision, bass_rng)
        vel_rng = rng if bass_rng is None else bass_rng
        for i, t in enumerate(times):
            if t < 0 or t > g.duration_s:
                continue
            end = times[i + 1] if i + 1 < len(times) else t + period
            end = min(end, t + 2 * period) - 0.02
            if end - t < 0.05:
                continue
            p = degree_pitch(chord_at(t + 0.01), 3) - 12 + intervals[i]
            inst.notes.append(pretty_midi.Note(int(vel_rng.integers(70, 110)), p, float(t), float(end)))
        pm.instruments.append(inst)
        vol["bass"] = inst
    if parts[1]:
        inst = pretty_midi.Instrument(program=int(rng.choice(_KEYS + _PADS)))
        rhythmic = rng.random() < 0.5
        for b in bars:
            deg = chord_at(b + 0.01)
            notes = [degree_pitch(deg + d, 4) for d in (0, 2, 4)]
            hits = [b + k * period for k in range(bpb)] if rhythmic else [b]
            dur = period * 0.9 if rhythmic else bar_len * 0.98
            for h in hits:
                if 0 <= h < g.duration_s:
                    for p in notes:
                        vel = int(rng.integers(50, 90))
                        inst.notes.append(pretty_midi.Note(vel, p, float(h), float(h + dur)))
        pm.instruments.append(inst)
    if parts[2]:
        inst = pretty_midi.Instrument(program=int(rng.choice(_GUITARS)))
        sub = g.beat_subdivision if rng.random() < 0.6 else 1
        for b in beats:
            for s in range(sub):
                t = b + s * period / sub
                if t >= g.duration_s or rng.random() < 0.2:
                    continue
                deg = chord_at(t + 0.01)
                for j, d in enumerate((0, 4, 7)):
                    p = degree_pitch(deg, 3) + d + 12
                    inst.notes.append(pretty_midi.Note(int(rng.integers(60, 100)), p,
                                                       float(t + 0.008 * j), float(t + period / sub * 0.9)))
        pm.instruments.append(inst)
    if parts[3]:
        inst = pretty_midi.Instrument(program=int(rng.choice(_LEADS)))
        t = float(bars[0] + bar_len) if len(bars) > 1 else 0.0
        deg = 7 + int(rng.integers(0, 5))
        while t < g.duration_s:
            dur = period * float(rng.choice([0.5, 1, 1, 1.5, 2, 3]))
            if rng.random() < 0.15:
                t += dur
                continue
            deg = int(np.clip(deg + rng.integers(-2, 3), 3, 14))
            p = degree_pitch(deg, 4)
            inst.notes.append(pretty_midi.Note(int(rng.integers(70, 110)), p, t, t + dur * 0.95))
            # vibrato as pitch bends (about +-30 cents at 5.5 Hz)
            depth = int(rng.uniform(400, 1400))
            for k in range(int(dur * 40)):
                tt = t + k / 40
                inst.pitch_bends.append(pretty_midi.PitchBend(int(depth * np.sin(2 * np.pi * 5.5 * k / 40)),
                                                              float(tt)))
            t += dur
        pm.instruments.append(inst)
    if dense:
        inst = pretty_midi.Instrument(program=int(rng.choice(_DRIVEN_GUITARS)))
        muted = rng.random() < 0.5
        n_sub = g.beat_subdivision
        for b in beats:
            for s in range(n_sub):
                t = b + s * period / n_sub
                if t >= g.duration_s:
                    continue
                root = degree_pitch(chord_at(t + 0.01), 3)
                end = t + period / n_sub * (0.45 if muted else 0.95)
                for j, d in enumerate((0, 7, 12)):
                    inst.notes.append(pretty_midi.Note(int(rng.integers(80, 120)), root + d,
                                                       float(t + 0.004 * j), float(end)))
        pm.instruments.append(inst)
    return pm


def free_bass_times(bars_s: list[float], period_s: float, beats_per_bar: int, subdivision: int,
                    rng: np.random.Generator) -> tuple[list[float], list[int]]:
    """Onsets of a bass line on the beat grid that ignores the kick, and each note's interval.

    One style per song: whole or half notes, every beat, every subdivision
    (eighths, or triplet eighths in compound meters), or a repeated one- or
    two-bar rhythm on the subdivision grid that always starts on the bar line.
    Intervals (semitones above the chord root) are mostly 0, sometimes the
    octave or the fifth, as bass players walk between roots.

    Parameters
    ----------
    bars_s
        Bar-line times (s), ascending; the grid continues one bar past the last.
    period_s
        Beat period (s).
    beats_per_bar, subdivision
        Beats in a bar and grid steps in a beat.
    rng
        Random stream for the style, rhythm and intervals.

    Returns
    -------
    times_s, intervals
        Note onsets (s), ascending, and the semitones each adds to the chord root.
    """
    n_grid = beats_per_bar * subdivision
    style = rng.choice(["long", "beats", "grid", "riff"], p=[0.15, 0.3, 0.2, 0.35])
    if style == "long":
        every = beats_per_bar if rng.random() < 0.4 or beats_per_bar % 2 else beats_per_bar // 2
        riff = [[k * subdivision for k in range(0, beats_per_bar, every)]]
    elif style == "beats":
        riff = [[k * subdivision for k in range(beats_per_bar)]]
    elif style == "grid":
        riff = [list(range(n_grid))]
    else:
        riff = []
        for _ in range(int(rng.integers(1, 3))):
            on = rng.random(n_grid) < rng.uniform(0.3, 0.6)
            on[0] = True
            riff.append([int(k) for k in np.flatnonzero(on)])
    step_s = period_s / subdivision
    times: list[float] = []
    intervals: list[int] = []
    for j, bar in enumerate([*bars_s, bars_s[-1] + beats_per_bar * period_s]):
        for k in riff[j % len(riff)]:
            times.append(float(bar + k * step_s))
            intervals.append(0 if k == 0 else int(rng.choice([0, 0, 0, 0, 12, 7])))
    return times, intervals


def render_midi(pm: pretty_midi.PrettyMIDI, duration_s: float, *, sf2: str = "FluidR3_GM.sf2",
                reverb: bool = False) -> np.ndarray:
    """Render General MIDI with fluidsynth (no chorus; reverb only if ``reverb``) to mono float32 at SR.

    ``sf2`` is a file in :data:`kits.SF2_DIR` or an absolute path (e.g. an .sf3).
    """
    n = int(duration_s * SR)
    if not pm.instruments:
        return np.zeros(n, dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        mpath, wpath = Path(tmp) / "a.mid", Path(tmp) / "a.wav"
        pm.write(str(mpath))
        subprocess.run(["fluidsynth", "-ni", "-R", "1" if reverb else "0", "-C", "0", "-g", "0.4",
                        "-r", str(SR), "-F", str(wpath), str(SF2_DIR / sf2), str(mpath)],
                       check=True, capture_output=True)
        audio, _ = sf.read(wpath, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    out = np.zeros(n, dtype=np.float32)
    m = min(n, len(mono))
    out[:m] = mono[:m]
    return out


def mix(drums: np.ndarray, band: np.ndarray, g: Groove, rng: np.random.Generator, *,
        level_db: tuple[float, float] = (-9.0, 1.0)) -> np.ndarray:
    """Mix drums under a band at a random realistic level, with pumping and loud mastering.

    ``level_db`` is the range of the drums' level relative to the band (RMS, dB).
    """
    n = min(len(drums), len(band)) if len(band) else len(drums)
    drums, band = drums[:n], band[:n]
    rms_d = float(np.sqrt(np.mean(drums ** 2)) + 1e-9)
    rms_b = float(np.sqrt(np.mean(band ** 2)) + 1e-9)
    if rms_b < 1e-5:
        return drums
    band = _shelf(band, rng) if rng.random() < 0.5 else band
    if rng.random() < 0.4:  # side-chain pumping from the kick
        env = np.zeros(n, dtype=np.float32)
        for t, _, k, _ in g.events:
            if k in (35, 36):
                i = int(t * SR)
                if i < n:
                    env[i] = 1.0
        rel = np.exp(-1 / (rng.uniform(0.08, 0.25) * SR))
        env = lfilter([1.0], [1, -rel], env).astype(np.float32)
        depth = 1 - 10 ** (-rng.uniform(2, 8) / 20)
        band = band * (1 - depth * np.clip(env, 0, 1))
    rel_db = rng.uniform(*level_db)  # drums relative to the band
    y = band / rms_b + drums / rms_d * 10 ** (rel_db / 20)
    if rng.random() < 0.5:
        y = _compress(y, rng)
    if rng.random() < 0.3:
        drive = rng.uniform(1.2, 3)
        y = np.tanh(drive * y / (np.abs(y).max() + 1e-9))
    return y.astype(np.float32)


def loud_master(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Aggressive mastering: a fast limiter driven 4-14 dB into, then a soft or hard clip.

    Flattens transients the way a loud commercial master does, so snare and
    cymbal attacks under a band lose much of their peak. The output peaks at
    1 (hard clip) or at most 1 / tanh(1.5) = 1.105 (soft clip); callers
    normalise afterwards.
    """
    peak = float(np.abs(x).max()) + 1e-9
    y = x / peak * 10 ** (rng.uniform(4, 14) / 20)
    att = np.exp(-1 / (rng.uniform(0.0005, 0.003) * SR))
    rel = np.exp(-1 / (rng.uniform(0.02, 0.15) * SR))
    env = np.abs(y)
    env = lfilter([1 - att], [1, -att], env)
    env = np.maximum(env, lfilter([1 - rel], [1, -rel], env))
    y = y / np.maximum(env, 1.0)
    y = np.tanh(1.5 * y) / np.tanh(1.5) if rng.random() < 0.5 else np.clip(y, -1.0, 1.0)
    return y.astype(np.float32)


def normalise(x: np.ndarray, *, peak_db: float = -1.0) -> np.ndarray:
    """Peak-normalise to ``peak_db`` dBFS."""
    return (x / (np.abs(x).max() + 1e-9) * 10 ** (peak_db / 20)).astype(np.float32)


def onset_rows(g: Groove) -> list[tuple[float, str, str, int, int, int]]:
    """Ground truth rows (time, class5, class9, gmd_pitch, render_pitch, velocity) as in dev-renders."""
    rows = []
    for t, p, k, v in g.events:
        c9 = CLASS9_BY_KEY[k]
        rows.append((t, CLASS5_BY_CLASS9[c9], c9, p, k, v))
    return rows
