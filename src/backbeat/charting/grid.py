"""Metric positions on a chart's tick grid: bars, beats and how "strong" a tick is.

Reduction keeps notes by grid priority (downbeat > half bar > beat > eighth >
sixteenth > anything finer), so every charting module asks the same question:
where in its bar does a tick fall, and in beats of which length?
"""

from __future__ import annotations

import bisect

from backbeat.core.tempo import TempoMap, TimeSignature

#: Metric strength of a tick, strongest first (lower is stronger).
DOWNBEAT, HALF_BAR, BEAT, EIGHTH, SIXTEENTH, TRIPLET, OFF_GRID = range(7)


class MeterGrid:
    """Fast bar/beat lookups for one tempo map.

    Parameters
    ----------
    tempo_map
        The chart's sync track (only its meter events and resolution are used).
    """

    def __init__(self, tempo_map: TempoMap) -> None:
        self.tempo_map = tempo_map
        self._sig_ticks = [ts.tick for ts in tempo_map.time_signatures]
        self._strength: dict[int, int] = {}

    def signature_at(self, tick: int) -> TimeSignature:
        """Time signature in force at ``tick``."""
        i = max(0, bisect.bisect_right(self._sig_ticks, tick) - 1)
        return self.tempo_map.time_signatures[i]

    def beat_ticks_at(self, tick: int) -> int:
        """Length in ticks of one beat (one 1/denominator note) at ``tick``."""
        return self.tempo_map.ticks_per_beat(self.signature_at(tick))

    def bar_start(self, tick: int) -> int:
        """Tick of the downbeat of the bar holding ``tick``."""
        ts = self.signature_at(tick)
        bar = self.tempo_map.ticks_per_beat(ts) * ts.numerator
        return ts.tick + (tick - ts.tick) // bar * bar

    def bar_length(self, tick: int) -> int:
        """Length in ticks of the bar holding ``tick``."""
        ts = self.signature_at(tick)
        return self.tempo_map.ticks_per_beat(ts) * ts.numerator

    def strength(self, tick: int) -> int:
        """Metric strength of ``tick`` (cached); see :meth:`_strength_of`."""
        got = self._strength.get(tick)
        if got is None:
            got = self._strength[tick] = self._strength_of(tick)
        return got

    def _strength_of(self, tick: int) -> int:
        """Metric strength of ``tick``: one of DOWNBEAT ... OFF_GRID (lower is stronger).

        Eighths and sixteenths are measured against a quarter note (or the
        beat when the beat is shorter), so 6/8 and 4/4 both see their pulse.
        """
        ts = self.signature_at(tick)
        beat = self.tempo_map.ticks_per_beat(ts)
        bar = beat * ts.numerator
        rel = (tick - ts.tick) % bar
        if rel == 0:
            return DOWNBEAT
        if ts.numerator % 2 == 0 and rel % (bar // 2) == 0:
            return HALF_BAR
        if rel % beat == 0:
            return BEAT
        quarter = self.tempo_map.resolution
        unit = min(beat, quarter)
        if (unit % 2 == 0) and rel % (unit // 2) == 0:
            return EIGHTH
        if (unit % 4 == 0) and rel % (unit // 4) == 0:
            return SIXTEENTH
        if (unit % 3 == 0) and rel % (unit // 3) == 0:
            return TRIPLET
        return OFF_GRID

    def beats_between(self, tick_a: int, tick_b: int) -> float:
        """Distance from ``tick_a`` to ``tick_b`` in beats of the meter at ``tick_a``."""
        return (tick_b - tick_a) / self.beat_ticks_at(tick_a)
