"""Everything that decides how a player's hits are judged, in one validated value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import HitWindows

#: Judging modes: ``"pads"`` judges each note on its own pad; ``"any_pad"``
#: (beginner) judges rhythm only: any pad matches any note and a chord is one target.
Mode = Literal["pads", "any_pad"]
MODES: tuple[str, ...] = ("pads", "any_pad")

#: Practice playback rates the engine accepts.
MIN_PLAYBACK_RATE = 0.25
MAX_PLAYBACK_RATE = 2.0

#: Largest accepted lateness tolerance, seconds of song time.
MAX_INPUT_LATENCY_S = 2.0


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Settings of one :class:`~backbeat.engine.player.PlayerEngine`.

    Attributes
    ----------
    windows
        Hit windows in real milliseconds.
    mode
        ``"pads"`` or ``"any_pad"``.
    playback_rate
        Song speed (0.5 = half speed practice). Windows stay in real ms: in
        song time they are ``window_ms * playback_rate``.
    strict_cymbals
        In pads mode, a hit that says it is a cymbal (or a tom) only matches a
        cymbal (or tom) note on its pad; hits with ``cymbal=None`` match both.
    max_input_latency_s
        Lateness tolerance in song seconds: the engine finalises notes and hits
        only when they are older than ``now_s - max_input_latency_s``, so a hit
        that arrives this much after its own time (or out of order) is still
        judged exactly as if it had arrived on time. Judgments are therefore
        reported this much after the fact.
    calibration_offset_ms
        The player's input latency in real ms (from calibration): hit times
        are moved earlier by this much before judging.
    overhit_breaks_combo
        Whether a hit that matches no note resets the combo. None (default)
        means True in pads mode (as Clone Hero and YARG do on drums) and False
        in any-pad mode (a beginner's flams and extra hands are forgiven).
    """

    windows: HitWindows = field(default_factory=HitWindows)
    mode: Mode = "pads"
    playback_rate: float = 1.0
    strict_cymbals: bool = False
    max_input_latency_s: float = 0.15
    calibration_offset_ms: float = 0.0
    overhit_breaks_combo: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.windows, HitWindows):
            raise InvalidArgumentError(f"windows must be HitWindows, got {type(self.windows).__name__}")
        if self.mode not in MODES:
            raise InvalidArgumentError(f"unknown engine mode {self.mode!r} (expected one of {MODES})")
        _check_number("playback_rate", self.playback_rate, MIN_PLAYBACK_RATE, MAX_PLAYBACK_RATE)
        _check_number("max_input_latency_s", self.max_input_latency_s, 0.0, MAX_INPUT_LATENCY_S)
        _check_number("calibration_offset_ms", self.calibration_offset_ms, -1000.0, 1000.0)
        if not isinstance(self.strict_cymbals, bool):
            raise InvalidArgumentError(f"strict_cymbals must be true or false, got {self.strict_cymbals!r}")
        if self.overhit_breaks_combo is not None and not isinstance(self.overhit_breaks_combo, bool):
            raise InvalidArgumentError(
                f"overhit_breaks_combo must be true, false or null, got {self.overhit_breaks_combo!r}"
            )

    @property
    def overhits_break_combo(self) -> bool:
        """The effective overhit rule (resolving the None default by mode)."""
        if self.overhit_breaks_combo is None:
            return self.mode == "pads"
        return self.overhit_breaks_combo

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "windows": self.windows.to_dict(),
            "mode": self.mode,
            "playback_rate": self.playback_rate,
            "strict_cymbals": self.strict_cymbals,
            "max_input_latency_s": self.max_input_latency_s,
            "calibration_offset_ms": self.calibration_offset_ms,
            "overhit_breaks_combo": self.overhit_breaks_combo,
        }

    @classmethod
    def from_dict(cls, data: object) -> EngineSettings:
        """Inverse of :meth:`to_dict`; missing fields take their defaults.

        Raises
        ------
        InvalidArgumentError
            On unknown fields or invalid values.
        """
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"engine settings must be an object, got {type(data).__name__}")
        known = {
            "windows", "mode", "playback_rate", "strict_cymbals", "max_input_latency_s",
            "calibration_offset_ms", "overhit_breaks_combo",
        }
        unknown = set(data) - known
        if unknown:
            raise InvalidArgumentError(f"unknown engine settings: {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k != "windows"}
        if "windows" in data:
            kwargs["windows"] = HitWindows.from_dict(data["windows"])
        return cls(**kwargs)


def _check_number(name: str, value: object, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise InvalidArgumentError(f"{name} must be between {lo} and {hi}, got {value}")
