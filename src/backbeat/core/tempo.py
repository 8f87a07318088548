"""Musical time: tempo changes, time signatures and tick <-> seconds conversion.

A :class:`TempoMap` is the sync track of a chart: tempo and meter events at
integer ticks, with ``resolution`` ticks per quarter note. Tick 0 is at
0 seconds. BPM is kept as a float so that a ``.chart`` value such as
``B 120500`` (120.5 BPM) survives a round trip exactly.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from backbeat.core.errors import InvalidArgumentError

#: Sane bounds for a tempo event; beyond them a file is considered malformed.
MIN_BPM = 1.0
MAX_BPM = 1000.0
#: Lead-ins before the first beat shorter than this are merged into it.
MERGE_LEAD_IN_S = 0.07


@dataclass(frozen=True, slots=True)
class TempoChange:
    """A tempo event: from ``tick`` on, quarter notes go at ``bpm`` beats per minute."""

    tick: int
    bpm: float


@dataclass(frozen=True, slots=True)
class TimeSignature:
    """A meter event: from ``tick`` on, bars hold ``numerator`` notes of 1/``denominator``."""

    tick: int
    numerator: int = 4
    denominator: int = 4


@dataclass(frozen=True)
class TempoMap:
    """Sync track: tempo and meter events on a tick grid.

    Parameters
    ----------
    resolution
        Ticks per quarter note (192 is usual for ``.chart``, 480 for MIDI).
    tempos
        Tempo events sorted by tick; the first must be at tick 0.
    time_signatures
        Meter events sorted by tick; the first must be at tick 0.
    """

    resolution: int
    tempos: tuple[TempoChange, ...]
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature(0, 4, 4),)
    _tick_s: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.resolution <= 0:
            raise InvalidArgumentError(f"resolution must be positive, got {self.resolution}")
        if not self.tempos or self.tempos[0].tick != 0:
            raise InvalidArgumentError("the first tempo event must be at tick 0")
        if not self.time_signatures or self.time_signatures[0].tick != 0:
            raise InvalidArgumentError("the first time signature must be at tick 0")
        for a, b in zip(self.tempos, self.tempos[1:]):
            if b.tick <= a.tick:
                raise InvalidArgumentError(f"tempo events not strictly increasing at tick {b.tick}")
        for a2, b2 in zip(self.time_signatures, self.time_signatures[1:]):
            if b2.tick <= a2.tick:
                raise InvalidArgumentError(f"time signatures not strictly increasing at tick {b2.tick}")
        for t in self.tempos:
            if not (MIN_BPM <= t.bpm <= MAX_BPM):
                raise InvalidArgumentError(
                    f"tempo {t.bpm} BPM at tick {t.tick} is outside {MIN_BPM}-{MAX_BPM} BPM"
                )
        for ts in self.time_signatures:
            if ts.numerator < 1 or ts.numerator > 64 or ts.denominator not in (1, 2, 4, 8, 16, 32):
                raise InvalidArgumentError(
                    f"time signature {ts.numerator}/{ts.denominator} at tick {ts.tick} is not valid"
                )
        starts = [0.0]
        for a, b in zip(self.tempos, self.tempos[1:]):
            starts.append(starts[-1] + (b.tick - a.tick) * 60.0 / (a.bpm * self.resolution))
        object.__setattr__(self, "_tick_s", tuple(starts))

    # -- conversions -------------------------------------------------------
    def tick_to_seconds(self, tick: float) -> float:
        """Time in seconds of a (possibly fractional) tick."""
        i = max(0, bisect.bisect_right([t.tick for t in self.tempos], tick) - 1)
        t = self.tempos[i]
        return self._tick_s[i] + (tick - t.tick) * 60.0 / (t.bpm * self.resolution)

    def seconds_to_tick(self, time_s: float) -> float:
        """Fractional tick at a time in seconds (negative times extrapolate the first tempo)."""
        i = max(0, bisect.bisect_right(self._tick_s, time_s) - 1)
        t = self.tempos[i]
        return t.tick + (time_s - self._tick_s[i]) * t.bpm * self.resolution / 60.0

    def ticks_to_seconds(self, ticks: Sequence[float] | np.ndarray) -> np.ndarray:
        """Vectorised :meth:`tick_to_seconds`; shape is preserved."""
        arr = np.asarray(ticks, dtype=float)
        starts = np.array([t.tick for t in self.tempos], dtype=float)
        bpms = np.array([t.bpm for t in self.tempos], dtype=float)
        idx = np.clip(np.searchsorted(starts, arr, side="right") - 1, 0, None)
        base = np.asarray(self._tick_s)[idx]
        return base + (arr - starts[idx]) * 60.0 / (bpms[idx] * self.resolution)

    def seconds_to_ticks(self, times_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """Vectorised :meth:`seconds_to_tick`; shape is preserved."""
        arr = np.asarray(times_s, dtype=float)
        starts_s = np.asarray(self._tick_s)
        ticks = np.array([t.tick for t in self.tempos], dtype=float)
        bpms = np.array([t.bpm for t in self.tempos], dtype=float)
        idx = np.clip(np.searchsorted(starts_s, arr, side="right") - 1, 0, None)
        return ticks[idx] + (arr - starts_s[idx]) * bpms[idx] * self.resolution / 60.0

    def bpm_at(self, tick: float) -> float:
        """Tempo in BPM in force at ``tick``."""
        i = max(0, bisect.bisect_right([t.tick for t in self.tempos], tick) - 1)
        return self.tempos[i].bpm

    def time_signature_at(self, tick: float) -> TimeSignature:
        """Time signature in force at ``tick``."""
        i = max(0, bisect.bisect_right([t.tick for t in self.time_signatures], tick) - 1)
        return self.time_signatures[i]

    def ticks_per_beat(self, ts: TimeSignature) -> int:
        """Ticks in one beat (one 1/denominator note) of a meter."""
        return self.resolution * 4 // ts.denominator

    def beat_ticks(self, end_tick: int) -> list[tuple[int, int]]:
        """Every beat from tick 0 up to ``end_tick`` (inclusive) with its position in the bar.

        Returns
        -------
        list of (tick, position)
            ``position`` is 1-based; 1 is a downbeat. A time-signature event
            starts a new bar.
        """
        out: list[tuple[int, int]] = []
        sigs = self.time_signatures
        for k, ts in enumerate(sigs):
            stop = sigs[k + 1].tick if k + 1 < len(sigs) else end_tick + 1
            step = self.ticks_per_beat(ts)
            pos = 0
            tick = ts.tick
            while tick < stop and tick <= end_tick:
                out.append((tick, pos % ts.numerator + 1))
                pos += 1
                tick += step
        return out

    def bar_ticks(self, end_tick: int) -> list[int]:
        """Ticks of every downbeat up to ``end_tick``."""
        return [t for t, p in self.beat_ticks(end_tick) if p == 1]


def constant_tempo_map(bpm: float, *, resolution: int = 192, numerator: int = 4,
                       denominator: int = 4) -> TempoMap:
    """A tempo map with one tempo and one meter."""
    return TempoMap(resolution, (TempoChange(0, float(bpm)),),
                    (TimeSignature(0, numerator, denominator),))


def tempo_map_from_beats(beat_times_s: Sequence[float], positions: Sequence[int], *,
                         resolution: int = 192, beat_denominator: int = 4,
                         tolerance_s: float = 0.0) -> TempoMap:
    """Build a tick tempo map whose beats land on the given beat times.

    Each beat becomes one 1/``beat_denominator`` note: beat *i* falls on a
    tick multiple of the beat length and the tempo changes at every beat, so
    the map follows any tempo drift. Before the first beat the grid is
    extended backwards at the first beat period; the remaining lead-in
    becomes one grid beat of its own, unless it is shorter than
    :data:`MERGE_LEAD_IN_S`, when the first beat is moved to 0 s (so no tempo
    above :data:`MAX_BPM` appears).

    Parameters
    ----------
    beat_times_s
        Strictly increasing beat times in seconds, at least two.
    positions
        1-based position of each beat in its bar (1 = downbeat).
    resolution
        Ticks per quarter note.
    beat_denominator
        Note value of a beat: 4 for x/4 meters, 8 for 6/8 counted in eighths.
    tolerance_s
        0 (default) puts every beat exactly on its time, with a tempo event
        at each beat. A positive tolerance merges runs of beats that one
        steady tempo (rounded to 0.001 BPM, as ``.chart`` stores it) fits
        within ``tolerance_s`` into a single tempo event, so a steady song
        gets a steady tempo map; every beat then lies within the tolerance.

    Returns
    -------
    TempoMap
        Time signatures are placed at every change of bar length.
    """
    times = [float(t) for t in beat_times_s]
    pos = [int(p) for p in positions]
    if len(times) < 2 or len(times) != len(pos):
        raise InvalidArgumentError("need at least two beats, each with a position")
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise InvalidArgumentError("beat times must be strictly increasing")
    period = times[1] - times[0]
    # Extend backwards at the first period, continuing the bar count.
    bar_len = max(pos[: max(1, len(pos))]) if pos else 4
    while times[0] - period > 1e-3:
        times.insert(0, times[0] - period)
        pos.insert(0, pos[0] - 1 if pos[0] > 1 else bar_len)
    lead = times[0]
    step = resolution * 4 // beat_denominator
    if lead >= MERGE_LEAD_IN_S:
        times.insert(0, 0.0)
        pos.insert(0, pos[0] - 1 if pos[0] > 1 else bar_len)
    else:
        times[0] = 0.0  # a lead-in this short is merged into the first beat
    tempos = _fit_tempos(times, step=step, beat_denominator=beat_denominator, tolerance_s=tolerance_s)
    # Time signatures from bar lengths (downbeat to downbeat).
    sigs: list[TimeSignature] = []
    down = [i for i, p in enumerate(pos) if p == 1]
    first_num = pos[down[0] - 1] if down and down[0] > 0 else (max(pos) if pos else 4)
    if not down or down[0] != 0:
        sigs.append(TimeSignature(0, max(1, first_num if not down else down[0]), beat_denominator))
    for k, i in enumerate(down):
        nxt = down[k + 1] if k + 1 < len(down) else None
        num = (nxt - i) if nxt is not None else (sigs[-1].numerator if sigs else max(pos))
        if not sigs or sigs[-1].numerator != num:
            sigs.append(TimeSignature(i * step, max(1, min(num, 64)), beat_denominator))
    return TempoMap(resolution, tuple(tempos), tuple(sigs))


def _fit_tempos(times: list[float], *, step: int, beat_denominator: int,
                tolerance_s: float) -> list[TempoChange]:
    """Tempo events for beats ``times`` (beat *i* at tick ``i * step``); see :func:`tempo_map_from_beats`."""
    quarter_per_beat = 4 / beat_denominator
    arr = np.asarray(times, dtype=float)
    tempos: list[TempoChange] = []
    a, t_a = 0, arr[0]
    while a < len(arr) - 1:
        b, bpm = a + 1, 60.0 / (arr[a + 1] - t_a) * quarter_per_beat
        if tolerance_s > 0:
            for end in range(a + 2, len(arr)):
                k = np.arange(1, end - a + 1, dtype=float)
                y = arr[a + 1 : end + 1] - t_a
                fit_bpm = round(60.0 / (float(k @ y) / float(k @ k)) * quarter_per_beat, 3)
                period = 60.0 / fit_bpm * quarter_per_beat
                if np.max(np.abs(t_a + k * period - arr[a + 1 : end + 1])) > tolerance_s:
                    break
                b, bpm = end, fit_bpm
        bpm = float(min(max(bpm, MIN_BPM), MAX_BPM))
        if not tempos or abs(tempos[-1].bpm - bpm) > 1e-9:
            tempos.append(TempoChange(a * step, bpm))
        t_a += (b - a) * 60.0 / bpm * quarter_per_beat
        a = b
    return tempos
