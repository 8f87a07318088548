"""The drum chart model: notes on a tick grid, tracks per level and part.

Every note carries both its tick and its time in seconds (computed from the
chart's :class:`~backbeat.core.tempo.TempoMap`), as rhythm-game engines do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import CYMBAL_PADS, Pad
from backbeat.core.tempo import TempoMap

#: Name of the ordinary one-player part.
MAIN_PART = "drums"


class Dynamic(StrEnum):
    """How hard a note is meant to be played."""

    NORMAL = "normal"
    ACCENT = "accent"
    GHOST = "ghost"


@dataclass(frozen=True, slots=True, order=True)
class Note:
    """One chart note.

    Attributes
    ----------
    tick
        Position on the chart's tick grid.
    pad
        Lane.
    cymbal
        True when a yellow/blue/green note is a cymbal (pro drums); always
        False on kick and red.
    time_s
        Time in seconds from the tempo map (derived; kept for the engine).
    velocity
        MIDI velocity 1-127.
    dynamic
        Accent / ghost marking.
    double_kick
        Kick note that belongs to the second (left) pedal; Expert+ only.
    """

    tick: int
    pad: Pad
    cymbal: bool = False
    time_s: float = field(default=0.0, compare=False)
    velocity: int = field(default=100, compare=False)
    dynamic: Dynamic = field(default=Dynamic.NORMAL, compare=False)
    double_kick: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.tick < 0:
            raise InvalidArgumentError(f"note tick must be >= 0, got {self.tick}")
        if self.cymbal and self.pad not in CYMBAL_PADS:
            raise InvalidArgumentError(f"{self.pad.name} cannot be a cymbal")
        if not 1 <= self.velocity <= 127:
            raise InvalidArgumentError(f"velocity {self.velocity} outside 1-127")
        if self.double_kick and self.pad is not Pad.KICK:
            raise InvalidArgumentError("only kick notes can be double-kick notes")


@dataclass(frozen=True, slots=True)
class ChartSection:
    """A named section starting at ``tick`` (e.g. "Verse 1", "Chorus")."""

    tick: int
    name: str
    time_s: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A marked span of ticks: a drum fill or a star-power phrase."""

    kind: str  # "fill" | "star_power"
    tick: int
    length_ticks: int


@dataclass(frozen=True)
class Track:
    """The notes of one part at one difficulty, sorted by (tick, pad)."""

    difficulty: Difficulty
    notes: tuple[Note, ...]
    part: str = MAIN_PART

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(sorted(self.notes)))


@dataclass(frozen=True)
class SongInfo:
    """Song metadata shown in menus and written to ``song.ini``."""

    name: str = "Unknown song"
    artist: str = "Unknown artist"
    charter: str = "Backbeat"
    album: str = ""
    genre: str = ""
    year: str = ""
    audio_file: str = ""
    preview_start_s: float = 0.0
    delay_ms: int = 0
    length_s: float = 0.0


@dataclass(frozen=True)
class Chart:
    """A complete drum chart: sync track, sections, phrases and tracks.

    ``tracks`` maps ``(part, difficulty)`` to a :class:`Track`.
    """

    info: SongInfo
    tempo_map: TempoMap
    tracks: dict[tuple[str, Difficulty], Track]
    sections: tuple[ChartSection, ...] = ()
    phrases: tuple[Phrase, ...] = ()

    def track(self, difficulty: Difficulty, part: str = MAIN_PART) -> Track:
        """The track of ``part`` at ``difficulty``.

        Raises
        ------
        InvalidArgumentError
            If the chart has no such track.
        """
        try:
            return self.tracks[(part, difficulty)]
        except KeyError:
            have = ", ".join(f"{p}/{d.value}" for p, d in sorted(self.tracks, key=str))
            raise InvalidArgumentError(
                f"chart has no {part}/{difficulty.value} track (has: {have or 'none'})"
            ) from None

    @property
    def parts(self) -> list[str]:
        """Part names in the chart, main part first."""
        names = sorted({p for p, _ in self.tracks}, key=lambda p: (p != MAIN_PART, p))
        return names

    def difficulties(self, part: str = MAIN_PART) -> list[Difficulty]:
        """Levels present for a part, easiest first."""
        return sorted((d for p, d in self.tracks if p == part), key=lambda d: d.rank)

    def end_tick(self) -> int:
        """Tick of the last note in any track (0 for an empty chart)."""
        return max((t.notes[-1].tick for t in self.tracks.values() if t.notes), default=0)


def timed_notes(notes: Iterable[Note], tempo_map: TempoMap) -> tuple[Note, ...]:
    """Return ``notes`` with ``time_s`` recomputed from ``tempo_map``."""
    ns = list(notes)
    times = tempo_map.ticks_to_seconds([n.tick for n in ns])
    return tuple(replace(n, time_s=float(t)) for n, t in zip(ns, times))


def timed_sections(sections: Iterable[ChartSection], tempo_map: TempoMap) -> tuple[ChartSection, ...]:
    """Return ``sections`` with ``time_s`` recomputed from ``tempo_map``."""
    return tuple(replace(s, time_s=tempo_map.tick_to_seconds(s.tick)) for s in sections)
