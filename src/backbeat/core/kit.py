"""Kit vocabulary: instruments heard in audio and pads/lanes played in charts.

Two vocabularies meet here. *Instruments* are what analysis hears (kick,
snare, hi-hat, toms, cymbals; finer ``detail`` strings such as
``"hihat_open"``). *Pads* are the five lanes of a Rock Band / Clone Hero pro
drum chart (kick, red, yellow, blue, green), where yellow/blue/green notes are
either cymbals or toms.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Instrument(StrEnum):
    """Coarse drum instrument classes used by analysis (the JSON ``instrument`` field)."""

    KICK = "kick"
    SNARE = "snare"
    HIHAT = "hihat"
    TOM = "tom"
    CYMBAL = "cymbal"


#: Finer classes allowed in the analysis ``detail`` field, by instrument.
DETAILS: dict[Instrument, tuple[str, ...]] = {
    Instrument.KICK: ("kick",),
    Instrument.SNARE: ("snare", "snare_ghost", "snare_rim", "clap"),
    Instrument.HIHAT: ("hihat_closed", "hihat_open", "hihat_pedal"),
    Instrument.TOM: ("tom_high", "tom_mid", "tom_floor"),
    Instrument.CYMBAL: ("crash", "ride", "ride_bell", "china", "splash"),
}


class Pad(int, Enum):
    """Chart lanes, numbered as in the Clone Hero ``.chart`` drum track."""

    KICK = 0
    RED = 1
    YELLOW = 2
    BLUE = 3
    GREEN = 4


#: Pads whose notes may be cymbals (pro drums); on other pads ``cymbal`` is always False.
CYMBAL_PADS: frozenset[Pad] = frozenset({Pad.YELLOW, Pad.BLUE, Pad.GREEN})

#: Limbs: which pads are played with the feet in a standard layout.
FOOT_PADS: frozenset[Pad] = frozenset({Pad.KICK})


def instrument_to_pad(instrument: Instrument, detail: str = "") -> tuple[Pad, bool]:
    """Map an analysed instrument to a chart pad.

    Parameters
    ----------
    instrument
        Coarse class.
    detail
        Finer class from :data:`DETAILS`, or ``""``.

    Returns
    -------
    pad, cymbal
        The lane and whether the note is a cymbal. Hi-hat goes to yellow
        cymbal, ride to blue cymbal, crash and others to green cymbal; high
        tom to yellow, mid tom to blue, floor tom to green.
    """
    if instrument is Instrument.KICK:
        return Pad.KICK, False
    if instrument is Instrument.SNARE:
        return Pad.RED, False
    if instrument is Instrument.HIHAT:
        return Pad.YELLOW, True
    if instrument is Instrument.TOM:
        if detail == "tom_high":
            return Pad.YELLOW, False
        if detail == "tom_floor":
            return Pad.GREEN, False
        return Pad.BLUE, False
    if detail.startswith("ride"):
        return Pad.BLUE, True
    return Pad.GREEN, True


def pad_to_instrument(pad: Pad, cymbal: bool) -> tuple[Instrument, str]:
    """Inverse of :func:`instrument_to_pad` (up to the lossy detail).

    Returns
    -------
    instrument, detail
    """
    if pad is Pad.KICK:
        return Instrument.KICK, "kick"
    if pad is Pad.RED:
        return Instrument.SNARE, "snare"
    if not cymbal:
        detail = {Pad.YELLOW: "tom_high", Pad.BLUE: "tom_mid", Pad.GREEN: "tom_floor"}[pad]
        return Instrument.TOM, detail
    if pad is Pad.YELLOW:
        return Instrument.HIHAT, "hihat_closed"
    if pad is Pad.BLUE:
        return Instrument.CYMBAL, "ride"
    return Instrument.CYMBAL, "crash"


#: General MIDI percussion key numbers (channel 10) for each instrument detail.
GM_NOTE_BY_DETAIL: dict[str, int] = {
    "kick": 36,
    "snare": 38,
    "snare_ghost": 38,
    "snare_rim": 37,
    "clap": 39,
    "hihat_closed": 42,
    "hihat_pedal": 44,
    "hihat_open": 46,
    "tom_floor": 43,
    "tom_mid": 47,
    "tom_high": 50,
    "crash": 49,
    "ride": 51,
    "ride_bell": 53,
    "china": 52,
    "splash": 55,
}

#: General MIDI (and common e-kit) percussion keys to (instrument, detail).
GM_DETAIL_BY_NOTE: dict[int, tuple[Instrument, str]] = {
    35: (Instrument.KICK, "kick"),
    36: (Instrument.KICK, "kick"),
    37: (Instrument.SNARE, "snare_rim"),
    38: (Instrument.SNARE, "snare"),
    39: (Instrument.SNARE, "clap"),
    40: (Instrument.SNARE, "snare"),
    41: (Instrument.TOM, "tom_floor"),
    42: (Instrument.HIHAT, "hihat_closed"),
    43: (Instrument.TOM, "tom_floor"),
    44: (Instrument.HIHAT, "hihat_pedal"),
    45: (Instrument.TOM, "tom_mid"),
    46: (Instrument.HIHAT, "hihat_open"),
    47: (Instrument.TOM, "tom_mid"),
    48: (Instrument.TOM, "tom_high"),
    49: (Instrument.CYMBAL, "crash"),
    50: (Instrument.TOM, "tom_high"),
    51: (Instrument.CYMBAL, "ride"),
    52: (Instrument.CYMBAL, "china"),
    53: (Instrument.CYMBAL, "ride_bell"),
    55: (Instrument.CYMBAL, "splash"),
    57: (Instrument.CYMBAL, "crash"),
    59: (Instrument.CYMBAL, "ride"),
    # Roland TD-series articulations used by the Groove MIDI Dataset.
    22: (Instrument.HIHAT, "hihat_closed"),
    26: (Instrument.HIHAT, "hihat_open"),
    58: (Instrument.TOM, "tom_floor"),
}
