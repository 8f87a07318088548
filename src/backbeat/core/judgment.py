"""Timing judgments and hit windows shared by the engine, storage, web and reports.

Windows are half-widths in *real* milliseconds: a Perfect window of 25 ms
accepts hits from 25 ms early to 25 ms late. When practice slows the song
down, the windows stay the same in real time (the engine converts them to
song time with the playback rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from backbeat.core.errors import InvalidArgumentError


class Judgment(StrEnum):
    """How one note (or one stray hit) was judged."""

    PERFECT = "perfect"
    GREAT = "great"
    GOOD = "good"
    MISS = "miss"
    OVERHIT = "overhit"

    @property
    def is_hit(self) -> bool:
        """True for Perfect, Great and Good (a note was played in time)."""
        return self in (Judgment.PERFECT, Judgment.GREAT, Judgment.GOOD)


#: Judgments that count as a played note, best first.
HIT_JUDGMENTS: tuple[Judgment, ...] = (Judgment.PERFECT, Judgment.GREAT, Judgment.GOOD)


@dataclass(frozen=True, slots=True)
class HitWindows:
    """Half-widths of the timing windows, in real milliseconds.

    Attributes
    ----------
    perfect_ms, great_ms, good_ms
        A hit whose absolute offset from its note is at most ``perfect_ms`` is
        Perfect, else at most ``great_ms`` Great, else at most ``good_ms``
        Good; beyond ``good_ms`` it does not match the note at all.
        Must satisfy ``0 < perfect_ms <= great_ms <= good_ms <= 1000``.
    """

    perfect_ms: float = 25.0
    great_ms: float = 50.0
    good_ms: float = 90.0

    def __post_init__(self) -> None:
        values = (self.perfect_ms, self.great_ms, self.good_ms)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise InvalidArgumentError(f"hit windows must be numbers, got {values!r}")
        if not all(math.isfinite(v) for v in values):
            raise InvalidArgumentError(f"hit windows must be finite, got {values!r}")
        if not 0 < self.perfect_ms <= self.great_ms <= self.good_ms <= 1000:
            raise InvalidArgumentError(
                "hit windows must satisfy 0 < perfect_ms <= great_ms <= good_ms <= 1000 ms, got "
                f"perfect={self.perfect_ms}, great={self.great_ms}, good={self.good_ms}"
            )

    def judge(self, offset_ms: float) -> Judgment | None:
        """Judge a hit ``offset_ms`` real milliseconds from its note (negative = early).

        Returns
        -------
        Judgment or None
            Perfect/Great/Good, or None when the hit is outside the Good window.
        """
        a = abs(offset_ms)
        # A hair of tolerance so that a hit exactly on a window edge, computed in
        # song time and converted back, is not lost to floating-point rounding.
        eps = 1e-6
        if a <= self.perfect_ms + eps:
            return Judgment.PERFECT
        if a <= self.great_ms + eps:
            return Judgment.GREAT
        if a <= self.good_ms + eps:
            return Judgment.GOOD
        return None

    def to_dict(self) -> dict[str, float]:
        """JSON-able form."""
        return {"perfect_ms": self.perfect_ms, "great_ms": self.great_ms, "good_ms": self.good_ms}

    @classmethod
    def from_dict(cls, data: object) -> HitWindows:
        """Inverse of :meth:`to_dict`, validating the input.

        Raises
        ------
        InvalidArgumentError
            If ``data`` is not a mapping of the three window widths.
        """
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"hit windows must be an object, got {type(data).__name__}")
        unknown = set(data) - {"perfect_ms", "great_ms", "good_ms"}
        if unknown:
            raise InvalidArgumentError(f"unknown hit-window fields: {sorted(unknown)}")
        try:
            return cls(
                perfect_ms=data.get("perfect_ms", 25.0),
                great_ms=data.get("great_ms", 50.0),
                good_ms=data.get("good_ms", 90.0),
            )
        except TypeError as exc:  # pragma: no cover - dataclass signature is fixed
            raise InvalidArgumentError(f"bad hit windows: {exc}") from None


#: Forgiving windows for the beginner "any pad" mode.
BEGINNER_WINDOWS = HitWindows(perfect_ms=40.0, great_ms=80.0, good_ms=130.0)
