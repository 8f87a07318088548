"""ASCII drum tab: writer and reader.

One line per drum, one character per grid step, bars between ``|``::

    Backbeat drum tab
    Title: Song
    Artist: Band
    Resolution: 192
    Steps per quarter: 4
    Tempo: 0 120.5
    Meter: 0 4/4

       1               2
    CC|x---------------|----------------|
    HH|--x-x-x-x-x-x-x-|x-x-x-x-x-x-x-x-|
    Rd|----------------|----------------|
    SD|----o-------o---|----o--g----O---|
    T1|----------------|----------------|
    T2|----------------|----------------|
    FT|----------------|----------------|
    BD|o-------o-o-----|o-------o-o-----|

Lines: ``CC`` crash (green cymbal), ``HH`` hi-hat (yellow cymbal), ``Rd`` ride (blue
cymbal), ``SD`` snare (red), ``T1``/``T2``/``FT`` high/mid/floor tom (yellow/blue/green),
``BD`` kick. Characters: ``x`` (cymbals) or ``o`` (drums) a hit, ``X``/``O`` accent,
``g`` ghost, ``d`` double kick (BD line), ``-`` nothing. The header keeps the exact
tempo map; a tab without one is read as 4/4 at 120 BPM with the grid taken from the
first bar. Velocities are not kept (hits read back at 100, accents 127, ghosts 40).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

from backbeat.core.chart import MAIN_PART, Chart, Dynamic, Note, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError, InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap
from backbeat.formats.chart_build import (
    ACCENT_VELOCITY,
    GHOST_VELOCITY,
    assemble_chart,
    bar_bounds,
    build_tempo_map,
    check_bpm,
    check_resolution,
)
from backbeat.formats.text_io import decode_text, read_bytes

#: Tab lines, top to bottom, with the lane they stand for.
LINES: tuple[tuple[str, Pad, bool], ...] = (
    ("CC", Pad.GREEN, True),
    ("HH", Pad.YELLOW, True),
    ("Rd", Pad.BLUE, True),
    ("SD", Pad.RED, False),
    ("T1", Pad.YELLOW, False),
    ("T2", Pad.BLUE, False),
    ("FT", Pad.GREEN, False),
    ("BD", Pad.KICK, False),
)
LINE_BY_LANE = {(pad, cym): label for label, pad, cym in LINES}
LANE_BY_LINE = {label.upper(): (pad, cym) for label, pad, cym in LINES}
BARS_PER_SYSTEM = 4
MAX_STEPS_PER_QUARTER = 48
_LINE_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]{0,2})\s*\|(.*)$")


def _bar_layout(tm: TempoMap, end_tick: int, steps_per_quarter: int) -> tuple[list[int], Fraction]:
    return bar_bounds(tm, end_tick), Fraction(tm.resolution, steps_per_quarter)


def _to_step(tick: int, step_ticks: Fraction) -> int:
    # Nearest grid step, halves rounded up, in exact integer arithmetic.
    return (2 * tick * step_ticks.denominator + step_ticks.numerator) // (2 * step_ticks.numerator)


def chart_to_tab(chart: Chart, *, difficulty: Difficulty = Difficulty.EXPERT, part: str = MAIN_PART,
                 steps_per_quarter: int = 4) -> str:
    """Drum tab text for one track of ``chart``, quantised to ``steps_per_quarter`` steps per quarter.

    Raises
    ------
    InvalidArgumentError
        If ``steps_per_quarter`` is outside 1-48.
    """
    if not 1 <= steps_per_quarter <= MAX_STEPS_PER_QUARTER:
        raise InvalidArgumentError(f"steps_per_quarter must be 1-{MAX_STEPS_PER_QUARTER}, "
                                   f"got {steps_per_quarter}")
    tm = chart.tempo_map
    track = chart.track(difficulty, part)
    step_ticks = Fraction(tm.resolution, steps_per_quarter)
    # The last bar must hold the last note after rounding to the grid.
    last_step = max((_to_step(n.tick, step_ticks) for n in track.notes), default=0)
    bars, _ = _bar_layout(tm, math.ceil(last_step * step_ticks), steps_per_quarter)
    bar_steps = [_to_step(b, step_ticks) for b in bars]
    cells: dict[tuple[str, int], str] = {}
    for n in track.notes:
        label = LINE_BY_LANE[(n.pad, n.cymbal)]
        step = _to_step(n.tick, step_ticks)
        if n.double_kick:
            ch = "d"
        elif n.dynamic is Dynamic.GHOST:
            ch = "g"
        elif n.dynamic is Dynamic.ACCENT:
            ch = "X" if n.cymbal else "O"
        else:
            ch = "x" if n.cymbal else "o"
        old = cells.get((label, step))
        if old is None or old == "d":
            cells[(label, step)] = ch
    info = chart.info
    out = [
        "Backbeat drum tab",
        f"Title: {' '.join(info.name.split())}",
        f"Artist: {' '.join(info.artist.split())}",
        f"Charter: {' '.join(info.charter.split())}",
        f"Resolution: {tm.resolution}",
        f"Steps per quarter: {steps_per_quarter}",
    ]
    out += [f"Tempo: {t.tick} {t.bpm!r}" for t in tm.tempos]
    out += [f"Meter: {s.tick} {s.numerator}/{s.denominator}" for s in tm.time_signatures]
    n_bars = len(bars) - 1
    for first in range(0, n_bars, BARS_PER_SYSTEM):
        idx = range(first, min(n_bars, first + BARS_PER_SYSTEM))
        out.append("")
        header = "  "
        for b in idx:
            width = bar_steps[b + 1] - bar_steps[b]
            header += " " + str(b + 1).ljust(width)
        out.append(header.rstrip())
        for label, _pad, _cym in LINES:
            row = [label]
            for b in idx:
                row.append("|" + "".join(cells.get((label, s), "-")
                                         for s in range(bar_steps[b], bar_steps[b + 1])))
            out.append("".join(row) + "|")
    return "\n".join(out) + "\n"


def read_drum_tab(path: str | Path) -> Chart:
    """Read a drum tab (see module notes) into a one-track Expert chart.

    Raises
    ------
    ChartFormatError
        On unknown drum lines, unknown characters, bars whose length does not
        match the meter, bad header values, or no tab lines at all; the message
        names the line.
    """
    text = decode_text(read_bytes(path))
    header: dict[str, str] = {}
    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    systems: list[list[tuple[int, str, list[str]]]] = []
    current: list[tuple[int, str, list[str]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        m = _LINE_RE.match(line)
        if m:
            label = m.group(1).upper()
            if label not in LANE_BY_LINE:
                raise ChartFormatError(path, f"unknown drum line {m.group(1)!r} (expected one of "
                                             f"{', '.join(lab for lab, _, _ in LINES)})", f"line {lineno}")
            body = m.group(2).rstrip()
            if body.endswith("|"):
                body = body[:-1]
            current.append((lineno, label, body.split("|")))
            continue
        if current:
            systems.append(current)
            current = []
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            k = key.strip().lower()
            v = value.strip()
            where = f"line {lineno}"
            try:
                if k == "tempo":
                    tick_s, bpm_s = v.split()
                    tempos.append((int(tick_s), check_bpm(path, float(bpm_s), where)))
                elif k == "meter":
                    tick_s, sig = v.split()
                    num_s, den_s = sig.split("/")
                    sigs.append((int(tick_s), int(num_s), int(den_s)))
                else:
                    header[k] = v
            except ValueError:
                raise ChartFormatError(path, f"cannot read header value {line.strip()[:60]!r}",
                                       where) from None
            if k in ("tempo", "meter") and ((sigs and sigs[-1][0] < 0) or (tempos and tempos[-1][0] < 0)):
                raise ChartFormatError(path, "negative tick in header", where)
    if current:
        systems.append(current)
    if not systems:
        raise ChartFormatError(path, "no drum tab lines (like 'SD|----o-------o---|')")
    try:
        resolution = check_resolution(path, int(header.get("resolution", "192")), "Resolution header")
        spq_text = header.get("steps per quarter")
        first_len = len(systems[0][0][2][0]) if systems[0][0][2] else 16
        spq = int(spq_text) if spq_text else max(1, first_len // 4)
    except ValueError:
        raise ChartFormatError(path, "Resolution / Steps per quarter must be whole numbers") from None
    if not 1 <= spq <= MAX_STEPS_PER_QUARTER:
        raise ChartFormatError(path, f"steps per quarter {spq} is outside 1-{MAX_STEPS_PER_QUARTER}")
    tempo_map = build_tempo_map(path, resolution, tempos, sigs)
    step_ticks = Fraction(resolution, spq)
    notes: dict[tuple[int, Pad, bool], Note] = {}
    bar_index = 0
    bar_starts: list[int] = []

    def bar_start_step(b: int) -> tuple[int, int]:
        # Extend the bar list as far as needed; return (start step, length in steps).
        while len(bar_starts) < b + 2:
            if not bar_starts:
                bar_starts.append(0)
                continue
            prev_tick = round(bar_starts[-1] * step_ticks)
            ts = tempo_map.time_signature_at(prev_tick)
            nominal = prev_tick + tempo_map.ticks_per_beat(ts) * ts.numerator
            nxt_sig = next((s.tick for s in tempo_map.time_signatures if prev_tick < s.tick < nominal), None)
            nxt = nxt_sig if nxt_sig is not None else nominal
            bar_starts.append(_to_step(nxt, step_ticks))
        return bar_starts[b], bar_starts[b + 1] - bar_starts[b]

    for system in systems:
        n_bars = max(len(bars) for _, _, bars in system)
        for lineno, label, bars in system:
            if len(bars) != n_bars:
                raise ChartFormatError(path, f"line {label} has {len(bars)} bars, others have {n_bars}",
                                       f"line {lineno}")
            pad, cym = LANE_BY_LINE[label]
            for j, bar in enumerate(bars):
                start, length = bar_start_step(bar_index + j)
                if len(bar) != length:
                    raise ChartFormatError(path, f"bar {bar_index + j + 1} of {label} has {len(bar)} steps, "
                                                 f"the meter needs {length}", f"line {lineno}")
                for i, ch in enumerate(bar):
                    if ch in "-. ":
                        continue
                    dyn, vel, double = Dynamic.NORMAL, 100, False
                    if ch in "xo":
                        pass
                    elif ch in "XO":
                        dyn, vel = Dynamic.ACCENT, ACCENT_VELOCITY
                    elif ch == "g":
                        dyn, vel = Dynamic.GHOST, GHOST_VELOCITY
                    elif ch == "d" and pad is Pad.KICK:
                        double = True
                    else:
                        raise ChartFormatError(path, f"unknown character {ch!r} in bar {bar_index + j + 1} "
                                                     f"of {label}", f"line {lineno}")
                    tick = round((start + i) * step_ticks)
                    notes[(tick, pad, cym)] = Note(tick, pad, cym, velocity=vel, dynamic=dyn,
                                                   double_kick=double)
        bar_index += n_bars
    info = SongInfo(name=header.get("title", "") or "Unknown song",
                    artist=header.get("artist", "") or "Unknown artist",
                    charter=header.get("charter", ""))
    return assemble_chart(path, info=info, tempo_map=tempo_map,
                          notes={(MAIN_PART, Difficulty.EXPERT): sorted(notes.values())})
