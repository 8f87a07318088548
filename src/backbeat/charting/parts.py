"""Two-player parts: a duet at two levels, and one kit split between two players.

* :func:`duet` gives a host and a guest the same song at their own levels
  (parts ``"duet_host"`` and ``"duet_guest"``); both play along together.
* :func:`split_kit` shares one groove between two players: ``"split_hands"``
  plays hi-hats, cymbals, toms and the snare between the backbeats, and
  ``"split_feet"`` plays the kick and the backbeat snare (beats 2 and 4).
  The two parts never share a note and their union is the original track.
"""

from __future__ import annotations

from collections.abc import Iterable

from backbeat.charting.grid import MeterGrid
from backbeat.charting.levels import build_levels
from backbeat.core.chart import MAIN_PART, Chart, Note, Track
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap

DUET_HOST = "duet_host"
DUET_GUEST = "duet_guest"
SPLIT_HANDS = "split_hands"
SPLIT_FEET = "split_feet"


def _with_levels(chart: Chart, needed: Iterable[Difficulty]) -> Chart:
    missing = [d for d in needed if (MAIN_PART, d) not in chart.tracks]
    if not missing:
        return chart
    have = set(chart.difficulties(MAIN_PART))
    return build_levels(chart, levels=have | set(missing))


def duet(chart: Chart, *, host: Difficulty = Difficulty.EXPERT,
         guest: Difficulty = Difficulty.BEGINNER) -> Chart:
    """Add a two-player duet: the host and the guest each play the song at their own level.

    Parameters
    ----------
    chart
        A chart with at least an Expert main part; missing levels are built.
    host, guest
        Levels of the two players (they may be equal).

    Returns
    -------
    Chart
        The chart with parts ``"duet_host"`` (at ``host``) and ``"duet_guest"`` (at ``guest``) added.
    """
    full = _with_levels(chart, (host, guest))
    tracks = dict(chart.tracks)
    tracks[(DUET_HOST, host)] = Track(host, full.track(host).notes, DUET_HOST)
    tracks[(DUET_GUEST, guest)] = Track(guest, full.track(guest).notes, DUET_GUEST)
    return Chart(chart.info, chart.tempo_map, tracks, chart.sections, full.phrases)


def is_backbeat(note: Note, grid: MeterGrid) -> bool:
    """True for a snare on an even beat of its bar (2 and 4 in 4/4)."""
    if note.pad is not Pad.RED:
        return False
    beat = grid.beat_ticks_at(note.tick)
    rel = note.tick - grid.bar_start(note.tick)
    return rel % beat == 0 and (rel // beat) % 2 == 1


def split_notes(notes: Iterable[Note], tempo_map: TempoMap) -> tuple[tuple[Note, ...], tuple[Note, ...]]:
    """Split one track's notes into (hands, feet) parts: disjoint, and together the whole track."""
    grid = MeterGrid(tempo_map)
    hands: list[Note] = []
    feet: list[Note] = []
    for n in notes:
        (feet if n.pad is Pad.KICK or is_backbeat(n, grid) else hands).append(n)
    return tuple(hands), tuple(feet)


def split_kit(chart: Chart, *, levels: Iterable[Difficulty] | None = None) -> Chart:
    """Share the kit between two players at every level of the main part.

    Parameters
    ----------
    chart
        A chart with a main part.
    levels
        Levels to split (default: every level the main part has).

    Returns
    -------
    Chart
        The chart with parts ``"split_hands"`` and ``"split_feet"`` added at each level.

    Raises
    ------
    InvalidArgumentError
        If the main part has none of the requested levels.
    """
    wanted = list(levels) if levels is not None else chart.difficulties(MAIN_PART)
    present = [d for d in wanted if (MAIN_PART, d) in chart.tracks]
    if not present:
        raise InvalidArgumentError("the chart has no main-part track to split")
    tracks = dict(chart.tracks)
    for level in present:
        hands, feet = split_notes(chart.track(level).notes, chart.tempo_map)
        tracks[(SPLIT_HANDS, level)] = Track(level, hands, SPLIT_HANDS)
        tracks[(SPLIT_FEET, level)] = Track(level, feet, SPLIT_FEET)
    return Chart(chart.info, chart.tempo_map, tracks, chart.sections, chart.phrases)
