"""What goes into the engine (timestamped pad hits) and what comes out (judgment events)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import Judgment
from backbeat.core.kit import Pad


@dataclass(frozen=True, slots=True)
class InputHit:
    """One pad hit from a player.

    Attributes
    ----------
    time_s
        When the hit happened, in *song* time (seconds from the start of the
        chart at the song's own tempo, whatever the playback rate).
    pad
        Lane that was hit.
    velocity
        MIDI velocity 1-127 (100 for keyboards and touch).
    cymbal
        For yellow/blue/green: True when the player hit the cymbal, False for
        the tom, None when the device cannot tell (matches either).
    seq
        Caller's sequence number for the hit (e.g. the WebSocket message
        number); carried through to the judgment event and used only to
        order otherwise identical hits.
    """

    time_s: float
    pad: Pad
    velocity: int = 100
    cymbal: bool | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.time_s, bool) or not isinstance(self.time_s, int | float):
            raise InvalidArgumentError(f"hit time must be a number of seconds, got {self.time_s!r}")
        if not math.isfinite(self.time_s):
            raise InvalidArgumentError(f"hit time must be finite, got {self.time_s!r}")
        if not isinstance(self.pad, Pad):
            try:
                object.__setattr__(self, "pad", Pad(self.pad))
            except ValueError:
                raise InvalidArgumentError(f"unknown pad {self.pad!r} (expected 0-4)") from None
        if isinstance(self.velocity, bool) or not isinstance(self.velocity, int) or not (
            1 <= self.velocity <= 127
        ):
            raise InvalidArgumentError(f"hit velocity must be an integer 1-127, got {self.velocity!r}")
        if self.cymbal is not None and not isinstance(self.cymbal, bool):
            raise InvalidArgumentError(f"cymbal flag must be true, false or null, got {self.cymbal!r}")
        if self.seq is not None and (isinstance(self.seq, bool) or not isinstance(self.seq, int)):
            raise InvalidArgumentError(f"hit sequence number must be an integer, got {self.seq!r}")

    def sort_key(self) -> tuple[float, int, int, int, int]:
        """Total order used to process hits: time, then pad, cymbal, velocity, seq."""
        cym = -1 if self.cymbal is None else int(self.cymbal)
        seq = -1 if self.seq is None else self.seq
        return (float(self.time_s), int(self.pad), cym, self.velocity, seq)

    def to_list(self) -> list[Any]:
        """Compact JSON form ``[time_s, pad, velocity, cymbal, seq]``."""
        return [self.time_s, int(self.pad), self.velocity, self.cymbal, self.seq]

    @classmethod
    def from_list(cls, data: object) -> InputHit:
        """Inverse of :meth:`to_list`, validating the input.

        Raises
        ------
        InvalidArgumentError
            If ``data`` is not a valid compact hit.
        """
        if not isinstance(data, list | tuple) or not 2 <= len(data) <= 5:
            raise InvalidArgumentError(f"a hit must be [time_s, pad, velocity, cymbal, seq], got {data!r}")
        time_s, pad, *rest = data
        velocity = rest[0] if len(rest) > 0 else 100
        cymbal = rest[1] if len(rest) > 1 else None
        seq = rest[2] if len(rest) > 2 else None
        if isinstance(pad, bool) or not isinstance(pad, int):
            raise InvalidArgumentError(f"hit pad must be an integer 0-4, got {pad!r}")
        return cls(time_s=time_s, pad=pad, velocity=velocity, cymbal=cymbal, seq=seq)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class JudgmentEvent:
    """One judgment the engine made, with the running score after it.

    Attributes
    ----------
    judgment
        Perfect/Great/Good for a played note, Miss for a note nobody played in
        time, Overhit for a hit that matched no note.
    time_s
        Song time of the event: the (calibrated) hit time, or for a Miss the
        moment its Good window closed.
    pad
        Lane of the note (of the hit, for an overhit; of the chord's first
        note in any-pad mode).
    note_index
        Index of the judged target in :attr:`PlayerEngine.targets`
        (None for an overhit).
    note_time_s
        Song time of the judged note (None for an overhit).
    offset_ms
        Hit minus note time in *real* milliseconds (negative = early);
        None for misses and overhits.
    input
        The hit that caused the event (None for a miss).
    combo, multiplier, score
        Running values after this event.
    free
        True for a *free* overhit: a stray hit before any note has been
        judged or after every note has been judged (warming up, playing on
        after the end). Free hits are not counted as overhits and never
        break the combo.
    """

    judgment: Judgment
    time_s: float
    pad: Pad
    note_index: int | None
    note_time_s: float | None
    offset_ms: float | None
    input: InputHit | None
    combo: int
    multiplier: int
    score: int
    free: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (pad as its lowercase name)."""
        return {
            "judgment": self.judgment.value,
            "time_s": self.time_s,
            "pad": self.pad.name.lower(),
            "note_index": self.note_index,
            "note_time_s": self.note_time_s,
            "offset_ms": self.offset_ms,
            "seq": None if self.input is None else self.input.seq,
            "velocity": None if self.input is None else self.input.velocity,
            "combo": self.combo,
            "multiplier": self.multiplier,
            "score": self.score,
            "free": self.free,
        }
