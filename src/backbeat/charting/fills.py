"""Find drum fills: the beats before a new section or a crash where time keeping stops.

A fill, as chart authors mark it, is a run of tom/snare activity at the end
of a bar leading into a section change or a crash on the next downbeat,
during which the steady hi-hat/ride pattern stops.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from backbeat.charting.grid import MeterGrid
from backbeat.core.chart import Note, Phrase
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap

#: Phrase kind used for fills.
FILL = "fill"
#: A fill needs at least this many snare/tom notes.
MIN_FILL_NOTES = 3
#: ... and at least this many per beat it spans.
MIN_FILL_NOTES_PER_BEAT = 1.5


def is_time_keeping(note: Note) -> bool:
    """True for the notes that keep time in a groove: hi-hat (yellow cymbal) and ride (blue cymbal)."""
    return note.cymbal and note.pad in (Pad.YELLOW, Pad.BLUE)


def is_fill_voice(note: Note) -> bool:
    """True for the notes a fill is made of: snare and toms."""
    return note.pad is Pad.RED or (note.pad in (Pad.YELLOW, Pad.BLUE, Pad.GREEN) and not note.cymbal)


def is_crash(note: Note) -> bool:
    """True for a crash (green cymbal)."""
    return note.cymbal and note.pad is Pad.GREEN


def detect_fills(notes: Sequence[Note], tempo_map: TempoMap, *,
                 section_ticks: Iterable[int] = ()) -> tuple[Phrase, ...]:
    """Mark fills in one (Expert) track.

    Parameters
    ----------
    notes
        The track's notes, any order.
    tempo_map
        The chart's sync track.
    section_ticks
        Ticks where sections start; a fill may lead into one of them.

    Returns
    -------
    tuple of Phrase
        ``kind == "fill"``, each ending at the downbeat that the fill leads
        into, in tick order.
    """
    if not notes:
        return ()
    grid = MeterGrid(tempo_map)
    ordered = sorted(notes)
    by_tick: dict[int, list[Note]] = {}
    for n in ordered:
        by_tick.setdefault(n.tick, []).append(n)
    targets = set(section_ticks)
    targets.update(t for t, ns in by_tick.items() if any(is_crash(n) for n in ns))
    ticks = [n.tick for n in ordered]
    end = ordered[-1].tick
    phrases: list[Phrase] = []
    for downbeat in sorted(targets):
        if downbeat <= 0 or downbeat > end + grid.bar_length(end):
            continue
        if grid.bar_start(downbeat) != downbeat:
            continue  # only fills that lead into a downbeat
        bar_start = grid.bar_start(downbeat - 1)
        beat = grid.beat_ticks_at(bar_start)
        best: int | None = None
        # Try the longest span first: from the bar's first beat to its last.
        for start in range(bar_start, downbeat, beat):
            span = ordered[bisect.bisect_left(ticks, start):bisect.bisect_left(ticks, downbeat)]
            voices = [n for n in span if is_fill_voice(n)]
            keepers = [n for n in span if is_time_keeping(n)]
            beats = (downbeat - start) / beat
            if (len(voices) >= MIN_FILL_NOTES and len(voices) >= MIN_FILL_NOTES_PER_BEAT * beats
                    and len(keepers) <= max(0, int(beats // 4))
                    and (any(n.pad is not Pad.RED for n in voices) or len(voices) >= 2 * beats)):
                best = start
                break
        if best is not None:
            phrases.append(Phrase(FILL, best, downbeat - best))
    return tuple(phrases)


def in_phrases(tick: int, phrases: Sequence[Phrase]) -> bool:
    """True when ``tick`` lies inside one of ``phrases`` (start inclusive, end exclusive)."""
    return any(p.tick <= tick < p.tick + p.length_ticks for p in phrases)
