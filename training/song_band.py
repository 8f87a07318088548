"""A song's band in General MIDI, with a part, chords, motif and loudness per section type.

Written for the section benchmark's arranged songs (``bench/section_songs.py``)
and used by the training set's song-band mixes (``build_dataset.py
--song-band-p``): unlike :func:`render.accompaniment_midi`, whose bass follows
the kick, this band plays on the beats whatever the drums do, changes
instruments and density at every section, and drops parts out (an intro of
keys alone, a bridge without guitar).
"""

from __future__ import annotations

import numpy as np
import pretty_midi

#: Band parts that play per section type: bass, keys, guitar, lead.
PARTS = {"intro": (0, 1, 0, 0), "verse": (1, 1, 0, 1), "pre-chorus": (1, 1, 1, 0),
         "chorus": (1, 1, 1, 1), "bridge": (1, 1, 0, 1), "outro": (1, 1, 0, 0)}
_PROGRESSIONS = ((0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 4, 4), (1, 4, 0, 0), (3, 4, 5, 5),
                 (0, 0, 3, 4), (5, 4, 3, 4), (3, 0, 4, 5), (0, 2, 3, 4))
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
#: GM programs of the bass part.
BASS_PROGRAMS = (33, 34, 38, 39, 35, 32)
_KEYS = (0, 1, 4, 5, 16, 18, 48, 49, 50, 88, 89, 90, 91, 94, 52)
_GUITARS = (24, 25, 27, 29, 30, 28)
_LEADS = (53, 54, 85, 52, 80, 81, 65, 73, 56, 11, 10)


def compose_band(rng: np.random.Generator, form: tuple[tuple[str, int], ...], *, bpb: int, t0_s: float,
                 period_s: float) -> pretty_midi.PrettyMIDI:
    """General MIDI band: progression, instruments, motif and loudness per section type."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / period_s)
    tonic = int(rng.integers(0, 12))
    scale = _SCALES["major" if rng.random() < 0.5 else "minor"]
    types = list(dict.fromkeys(label for label, _ in form))
    prog_ids = rng.permutation(len(_PROGRESSIONS))
    progs = {t: _PROGRESSIONS[int(prog_ids[i])] for i, t in enumerate(types)}
    if rng.random() < 0.3:
        progs["chorus"] = progs["verse"]  # sometimes the chorus keeps the verse's chords
    for t in ("intro", "outro"):
        if t in progs and rng.random() < 0.5:
            progs[t] = progs["chorus"]
    keys_prog = {t: int(rng.choice(_KEYS)) for t in types}
    lead_prog = {t: int(rng.choice(_LEADS)) for t in types}
    insts = {"bass": pretty_midi.Instrument(program=int(rng.choice(BASS_PROGRAMS))),
             "guitar": pretty_midi.Instrument(program=int(rng.choice(_GUITARS)))}
    keys_by_prog: dict[int, pretty_midi.Instrument] = {}
    lead_by_prog: dict[int, pretty_midi.Instrument] = {}
    # a 2-bar melody motif per section type: (beat, length in beats, scale degree)
    motifs = {}
    for t in types:
        beat, notes = 0.0, []
        while beat < 2 * bpb:
            ln = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
            if rng.random() > 0.15:
                notes.append((beat, ln, int(rng.integers(7, 14))))
            beat += ln
        motifs[t] = notes

    def degree_pitch(deg: int, octave: int) -> int:
        return 12 * octave + tonic + scale[deg % 7] + 12 * (deg // 7)

    bar0 = 0
    for label, bars in form:
        vel = {"intro": 60, "verse": 72, "pre-chorus": 80, "chorus": 96, "bridge": 70, "outro": 80}[label]
        parts = PARTS[label]
        kp = keys_prog[label]
        keys = keys_by_prog.setdefault(kp, pretty_midi.Instrument(program=kp))
        lp = lead_prog[label]
        lead = lead_by_prog.setdefault(lp, pretty_midi.Instrument(program=lp))
        rhythmic = label in ("verse", "pre-chorus") or (label == "chorus" and kp < 48)
        for i in range(bars):
            t_bar = t0_s + (bar0 + i) * bpb * period_s
            chord = progs[label][i % 4]
            if parts[0]:
                step = 1 if label in ("chorus", "pre-chorus") else 2
                for b in range(0, bpb, step):
                    t = t_bar + b * period_s
                    p = degree_pitch(chord, 3) - 12 + (12 if label == "chorus" and b % 2 else 0)
                    v = int(np.clip(vel + rng.integers(-6, 7), 1, 127))
                    insts["bass"].notes.append(pretty_midi.Note(v, p, t, t + step * period_s * 0.9))
            if parts[1]:
                notes = [degree_pitch(chord + d, 4) for d in (0, 2, 4)]
                hits = [t_bar + b * period_s for b in range(bpb)] if rhythmic else [t_bar]
                dur = period_s * 0.85 if rhythmic else bpb * period_s * 0.98
                for h in hits:
                    for p in notes:
                        v = int(np.clip(vel - 10 + rng.integers(-5, 6), 1, 127))
                        keys.notes.append(pretty_midi.Note(v, p, h, h + dur))
            if parts[2]:
                for b in range(bpb * 2):
                    t = t_bar + b * period_s / 2
                    for j, d in enumerate((0, 4, 7)):
                        p = degree_pitch(chord, 3) + d + 12
                        insts["guitar"].notes.append(pretty_midi.Note(
                            int(np.clip(vel - 8 + rng.integers(-8, 9), 1, 127)), p, t + 0.008 * j,
                            t + period_s * 0.45))
            if parts[3] and i % 2 == 0:
                for b, ln, deg in motifs[label]:
                    if rng.random() < 0.1:  # small variations between repeats
                        deg += int(rng.choice([-1, 1]))
                    t = t_bar + b * period_s
                    v = int(np.clip(vel + rng.integers(-5, 6), 1, 127))
                    lead.notes.append(pretty_midi.Note(v, degree_pitch(deg + chord % 3, 4), t,
                                                       t + ln * period_s * 0.95))
        bar0 += bars
    parts = (*insts.values(), *keys_by_prog.values(), *lead_by_prog.values())
    pm.instruments += [i for i in parts if i.notes]
    return pm
