"""Synthetic drum performances in several meters, with song-like phrasing, for the beat network.

Groove MIDI is almost all 4/4 improvisation, so the beat network sees few 3/4,
6/8 or 12/8 bars and little of what marks bar 1 in songs (a fill in the last
bar of a phrase, a crash and kick on the next downbeat, a new groove at a new
section). :func:`performance` writes such a performance as a
:class:`render.Groove` (events, beats and bar positions), which the training
renderers turn into drum-only audio or a full-band mix
(``training/build_meter_set.py``).

Meters and how their beats are annotated (as in the Groove MIDI renders):
4/4 and 3/4 in quarter notes, 6/8 and 12/8 in dotted quarters (2 and 4 beats a
bar, 3 eighths each). Patterns are drawn per section from a few rules per
meter (backbeat, half-time, waltz, compound), played with a per-drummer timing
spread, swing, ghost notes, accents, tempo drift and now and then a tempo step
at a phrase boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from render import Groove

KICK, SNARE, HH_CLOSED, HH_PEDAL, HH_OPEN = 36, 38, 42, 44, 46
TOMS = (50, 48, 47, 45, 43, 41)  # high to low
CRASHES, RIDE = (49, 57), 51


@dataclass(frozen=True)
class Meter:
    """A meter: annotated beats per bar, subdivisions per beat, tempo range of the beat (BPM), weight."""

    name: str
    beats: int
    sub: int
    bpm: tuple[float, float]
    weight: float


METERS = (
    Meter("4/4", 4, 4, (68.0, 172.0), 0.40),
    Meter("3/4", 3, 2, (70.0, 180.0), 0.22),
    Meter("6/8", 2, 3, (40.0, 78.0), 0.22),
    Meter("12/8", 4, 3, (48.0, 96.0), 0.16),
)


def _pattern(meter: Meter, rng: np.random.Generator) -> dict[int, list[tuple[int, float]]]:
    """One bar's groove: key -> [(step, relative velocity)], steps over ``beats * sub``."""
    n = meter.beats * meter.sub
    s = meter.sub
    pat: dict[int, list[tuple[int, float]]] = {}
    kick = [0]
    if meter.name == "4/4":
        style = rng.choice(["backbeat", "halftime", "four"], p=[0.72, 0.16, 0.12])
        snare = [4, 12] if style != "halftime" else [8]
        if style == "four":
            kick = [0, 4, 8, 12]
        else:
            cands = {8: 0.6, 10: 0.3, 6: 0.2, 14: 0.15, 3: 0.1, 11: 0.2, 7: 0.1}
            if style == "halftime":
                cands = {6: 0.3, 10: 0.35, 14: 0.3, 3: 0.15, 12: 0.2}
            kick += [k for k, p in cands.items() if rng.random() < p]
    elif meter.name == "3/4":
        snare = [[2, 4], [4], [2]][int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
        kick += [k for k, p in {3: 0.3, 5: 0.15, 2: 0.1}.items() if rng.random() < p and k not in snare]
    elif meter.name == "6/8":
        snare = [3]
        kick += [k for k, p in {5: 0.3, 2: 0.25, 4: 0.1}.items() if rng.random() < p]
    else:  # 12/8: a shuffle or slow blues feel
        snare = [3, 9]
        kick += [k for k, p in {6: 0.7, 8: 0.3, 5: 0.2, 11: 0.15}.items() if rng.random() < p]
    pat[KICK] = [(k, 1.0 if k == 0 else 0.85) for k in sorted(set(kick))]
    pat[SNARE] = [(k, 1.0) for k in snare]
    if rng.random() < 0.3:  # ghost notes
        ghosts = [k for k in range(n) if k not in snare and k % s != 0 and rng.random() < 0.25]
        pat[SNARE] += [(k, 0.3) for k in ghosts]
    # Time-keeping voice: closed hat, ride, or open hat on the off-beats.
    voice = rng.choice([HH_CLOSED, RIDE, HH_OPEN], p=[0.68, 0.22, 0.10])
    if voice == HH_OPEN and meter.name == "4/4" and s == 4:
        pat[HH_CLOSED] = [(k, 0.8) for k in range(0, n, s)]
        pat[HH_OPEN] = [(k, 0.9) for k in range(s // 2, n, s)]
    else:
        voice = HH_CLOSED if voice == HH_OPEN else voice
        if meter.sub == 3 and rng.random() < 0.4:  # shuffle: 1st and 3rd triplet
            steps = [k for k in range(n) if k % 3 != 1]
        else:
            every = 1 if (s == 2 or s == 3 or rng.random() < 0.35) else 2
            steps = list(range(0, n, every))
        pat[int(voice)] = [(k, 1.0 if k % s == 0 else 0.7) for k in steps]
    if rng.random() < 0.15:  # pedal hat on the beats
        pat[HH_PEDAL] = [(k, 0.6) for k in range(0, n, s)]
    return pat


def _fill(meter: Meter, rng: np.random.Generator) -> tuple[int, list[tuple[int, int, float]]]:
    """A fill over the end of a bar: ``(rate, [(step, key, velocity)])``, steps at ``rate`` per sub-step."""
    n = meter.beats * meter.sub
    length = meter.sub * int(rng.choice([1, 2])) if meter.beats > 2 else meter.sub
    start = n - length
    rate = 2 if (meter.sub == 2 and rng.random() < 0.5) else 1
    toms = list(TOMS[int(rng.integers(0, 2)):])
    notes = []
    total = length * rate
    for j in range(total):
        if rng.random() < 0.12:
            continue
        i = min(len(toms) - 1, int(j * len(toms) / total))
        key = SNARE if rng.random() < 0.3 else toms[i]
        notes.append((start * rate + j, key, 0.75 + 0.25 * j / total))
    return rate, notes


def performance(rng: np.random.Generator, *, duration_s: float = 36.0, name: str = "meter",
                meter: Meter | None = None) -> Groove:
    """A drummer playing a song-like passage in a random meter.

    Parameters
    ----------
    rng
        Random generator (every choice comes from it).
    duration_s
        Length of the passage in seconds.
    name
        Name stored in the groove (``<name>_<meter>``).
    meter
        Play this meter (and its tempo range) instead of drawing one from :data:`METERS`.

    Returns
    -------
    Groove
        Events ``(time_s, key, key, velocity)``, beat times and 1-based positions in the bar.
    """
    if meter is None:
        weights = np.array([m.weight for m in METERS])
        meter = METERS[int(rng.choice(len(METERS), p=weights / weights.sum()))]
    bpm = float(np.exp(rng.uniform(np.log(meter.bpm[0]), np.log(meter.bpm[1]))))
    timing_sd_s = float(rng.uniform(0.003, 0.016))
    swing = float(rng.uniform(0.54, 0.66)) if meter.sub in (2, 4) and rng.random() < 0.25 else 0.5
    phrase = int(rng.choice([4, 8], p=[0.6, 0.4]))
    lead_in_s = float(rng.uniform(0.0, 1.0))
    # Beat times: a slowly drifting tempo, sometimes a step at a phrase boundary.
    beats_s, positions = [], []
    t, period = lead_in_s, 60.0 / bpm
    n_bars = 0
    step_bar = int(rng.integers(phrase, 4 * phrase)) // phrase * phrase if rng.random() < 0.15 else -1
    while t < duration_s + 2 * period:
        if n_bars == step_bar:
            period /= float(rng.choice([0.88, 0.92, 1.08, 1.12]))
        for b in range(meter.beats):
            beats_s.append(t)
            positions.append(b + 1)
            t += period
            period *= float(np.exp(rng.normal(0.0, 0.004)))
        n_bars += 1
    beats = np.array(beats_s)

    def step_time(bar_i: int, step: float) -> float:
        beat_i = bar_i * meter.beats + int(step // meter.sub)
        k = step % meter.sub
        frac = k / meter.sub
        if swing != 0.5 and k == int(k) and meter.sub in (2, 4):  # swung eighths (and sixteenths)
            fracs = (0.0, swing) if meter.sub == 2 else (0.0, swing / 2, swing, (1 + swing) / 2)
            frac = fracs[int(k)]
        return float(beats[beat_i] + frac * (beats[beat_i + 1] - beats[beat_i]))

    events: list[tuple[float, int, int, int]] = []
    pat = _pattern(meter, rng)
    loud = float(rng.uniform(0.75, 1.0))
    push = {KICK: rng.normal(0, 0.004), SNARE: rng.normal(0, 0.006)}
    crash_next = rng.random() < 0.5
    for bi in range(n_bars - 1):
        in_phrase = bi % phrase
        if in_phrase == 0 and bi > 0 and rng.random() < 0.45:  # a new section: a new groove
            pat = _pattern(meter, rng)
            loud = float(rng.uniform(0.7, 1.0))
        fill_rate, fill = (1, [])
        if in_phrase == phrase - 1 and rng.random() < 0.65:
            fill_rate, fill = _fill(meter, rng)
        fill_from = min((s for s, _, _ in fill), default=10 ** 9) / fill_rate
        notes: list[tuple[float, int, float]] = []
        for key, hits in pat.items():
            for step, v in hits:
                if step >= fill_from and key != KICK:
                    continue
                if key not in (KICK, SNARE) and bi > 0 and rng.random() < 0.03:
                    continue
                notes.append((float(step), key, v))
        notes += [(s / fill_rate, key, v) for s, key, v in fill]
        if crash_next:
            notes.append((0.0, int(rng.choice(CRASHES)), 1.0))
            if not any(k == KICK and s == 0 for s, k, _ in notes):
                notes.append((0.0, KICK, 1.0))
            notes = [nt for nt in notes if not (nt[0] == 0.0 and nt[1] in (HH_CLOSED, RIDE, HH_OPEN))]
        crash_next = (bool(fill) and rng.random() < 0.75) or (in_phrase == phrase - 1 and rng.random() < 0.2)
        for step, key, v in notes:
            tt = step_time(bi, step) + rng.normal(0.0, timing_sd_s) + push.get(key, 0.0)
            accent = 1.0 if step % meter.sub == 0 else 0.85
            vel = int(np.clip(127 * loud * v * accent * rng.uniform(0.85, 1.05), 12, 127))
            if 0.0 <= tt < duration_s:
                events.append((float(tt), key, key, vel))
    events.sort()
    keep = beats < duration_s
    return Groove(f"{name}_{meter.name.replace('/', '-')}", events, beats[keep], np.array(positions)[keep],
                  float(duration_s), bpm, beat_subdivision=3 if meter.sub == 3 else 2)
