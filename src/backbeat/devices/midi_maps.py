"""Electronic drum kit note maps: MIDI note number -> chart lane (pad, cymbal).

Presets for General MIDI and the default kits of Roland TD, Alesis and
Yamaha DTX modules (heads, rims, hi-hat bow/edge, crash edges, ride
bow/edge/bell). The hi-hat pedal (44) is ignored, as in the rhythm games.
The browser loads these maps from ``GET /api/midi-maps`` (and lets the
player edit a custom copy); the velocity of each hit is kept as sent.
"""

from __future__ import annotations

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad

#: Lane actions by name, as the front end names them.
ACTIONS: dict[str, tuple[Pad, bool]] = {
    "kick": (Pad.KICK, False), "red": (Pad.RED, False),
    "yellow_cym": (Pad.YELLOW, True), "yellow_tom": (Pad.YELLOW, False),
    "blue_cym": (Pad.BLUE, True), "blue_tom": (Pad.BLUE, False),
    "green_cym": (Pad.GREEN, True), "green_tom": (Pad.GREEN, False),
}

_GM: dict[int, str] = {
    35: "kick", 36: "kick",
    37: "red", 38: "red", 39: "red", 40: "red",
    42: "yellow_cym", 46: "yellow_cym",
    48: "yellow_tom", 50: "yellow_tom",
    45: "blue_tom", 47: "blue_tom",
    41: "green_tom", 43: "green_tom",
    51: "blue_cym", 53: "blue_cym", 59: "blue_cym",
    49: "green_cym", 52: "green_cym", 55: "green_cym", 57: "green_cym",
}

#: Preset name -> {MIDI note: action name}.
PRESETS: dict[str, dict[int, str]] = {
    "gm": dict(_GM),
    # Roland TD: hi-hat edge (22 closed, 26 open), floor tom rim 58.
    "roland": {**_GM, 22: "yellow_cym", 26: "yellow_cym", 58: "green_tom"},
    # Alesis modules send GM keys for every pad by default.
    "alesis": dict(_GM),
    # Yamaha DTX default kits: snare 31, kick 33, snare rim 34, besides the GM keys.
    "yamaha": {**_GM, 31: "red", 33: "kick", 34: "red"},
}


def note_to_pad(note: int, *, preset: str = "gm") -> tuple[Pad, bool] | None:
    """The lane a kit note plays, or None for notes the preset ignores.

    Raises
    ------
    InvalidArgumentError
        On an unknown preset or a note outside 0-127.
    """
    if preset not in PRESETS:
        raise InvalidArgumentError(f"unknown MIDI map {preset!r} (one of {', '.join(PRESETS)})")
    if not 0 <= note <= 127:
        raise InvalidArgumentError(f"MIDI note {note} outside 0-127")
    action = PRESETS[preset].get(note)
    return None if action is None else ACTIONS[action]


def presets_json() -> dict[str, dict[str, str]]:
    """The presets as JSON (note numbers as strings)."""
    return {name: {str(n): a for n, a in sorted(m.items())} for name, m in PRESETS.items()}
