"""Clone Hero / YARG / Moonscraper ``.chart`` drum charts: reader and writer.

Format (text, sections of ``tick = TYPE values`` lines):

* ``[Song]``: ``Resolution`` (ticks per quarter), ``Offset`` (s), ``Name``, ``Artist``, ...
* ``[SyncTrack]``: ``TS num [den_exp]`` (denominator ``2**den_exp``, default 4) and
  ``B milli_bpm`` (BPM x 1000, so 120.5 BPM is ``B 120500``); ``A`` anchors are ignored.
* ``[Events]``: ``E "section Name"``.
* ``[ExpertDrums]``, ``[HardDrums]``, ``[MediumDrums]``, ``[EasyDrums]``: ``N lane len`` with
  lanes 0 kick, 1 red, 2 yellow, 3 blue, 4 green, 32 double kick (Expert+), 66/67/68 cymbal
  markers for yellow/blue/green (without one the note is a tom), 34-37 accent and 40-43 ghost
  markers for red/yellow/blue/green (the format has none for kick: kick accents/ghosts are lost);
  ``S 64 len`` drum fill, ``S 2 len`` star power; local ``E mix_3_drums0d`` events start disco
  flip (on pro charts red and yellow swap, as the games play them).

Beginner and extra parts (duet, split kit) have no slot in this format; write them as JSON.
"""

from __future__ import annotations

from pathlib import Path

from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Dynamic, Note, Phrase, SongInfo
from backbeat.core.difficulty import GAME_DIFFICULTIES, Difficulty
from backbeat.core.errors import ChartFormatError
from backbeat.core.kit import Pad
from backbeat.formats.chart_build import (
    ACCENT_VELOCITY,
    GHOST_VELOCITY,
    MAX_TICK,
    apply_disco_flip,
    assemble_chart,
    build_tempo_map,
    check_bpm,
    check_resolution,
    dedupe_notes,
    parse_mix_event,
)
from backbeat.formats.text_io import decode_text, read_bytes

DRUM_SECTIONS: dict[str, Difficulty] = {
    "ExpertDrums": Difficulty.EXPERT,
    "HardDrums": Difficulty.HARD,
    "MediumDrums": Difficulty.MEDIUM,
    "EasyDrums": Difficulty.EASY,
}
SECTION_BY_DIFFICULTY: dict[Difficulty, str] = {d: s for s, d in DRUM_SECTIONS.items()}

DOUBLE_KICK = 32
CYMBAL_MARKER: dict[Pad, int] = {Pad.YELLOW: 66, Pad.BLUE: 67, Pad.GREEN: 68}
#: Accent / ghost markers exist for red, yellow, blue and green only: kick dynamics are lost in .chart.
ACCENT_MARKER: dict[Pad, int] = {Pad.RED: 34, Pad.YELLOW: 35, Pad.BLUE: 36, Pad.GREEN: 37}
GHOST_MARKER: dict[Pad, int] = {Pad.RED: 40, Pad.YELLOW: 41, Pad.BLUE: 42, Pad.GREEN: 43}
PAD_BY_CYMBAL_MARKER = {v: k for k, v in CYMBAL_MARKER.items()}
PAD_BY_ACCENT_MARKER = {v: k for k, v in ACCENT_MARKER.items()}
PAD_BY_GHOST_MARKER = {v: k for k, v in GHOST_MARKER.items()}
PHRASE_CODES: dict[str, int] = {"star_power": 2, "fill": 64}
PHRASE_BY_CODE = {v: k for k, v in PHRASE_CODES.items()}
#: 5-lane charts put their green on lane 5; it is read as the 4-lane green.
FIVE_LANE_GREEN = 5


# -- reading -------------------------------------------------------------------

def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _parse_sections(text: str, path: str | Path) -> dict[str, list[tuple[int, str]]]:
    """Split the file into sections: name -> list of (line number, stripped line)."""
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    current_name = ""
    state = "outside"  # outside -> header -> body -> outside
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if state == "outside":
            if line.startswith("[") and line.endswith("]"):
                current_name = line[1:-1].strip()
                if current_name in sections:
                    raise ChartFormatError(path, f"section [{current_name}] appears twice", f"line {lineno}")
                current = sections.setdefault(current_name, [])
                state = "header"
                continue
            raise ChartFormatError(path, f"expected a [Section] header, found {line[:40]!r}",
                                   f"line {lineno}")
        if state == "header":
            if line != "{":
                raise ChartFormatError(path, f"expected '{{' after [{current_name}], found {line[:40]!r}",
                                       f"line {lineno}")
            state = "body"
            continue
        if line == "}":
            state = "outside"
            continue
        if line.startswith("[") and line.endswith("]") and "=" not in line:
            raise ChartFormatError(path, f"section [{current_name}] is not closed with '}}' before "
                                         f"{line}", f"line {lineno}")
        if current is not None:
            current.append((lineno, line))
    if state != "outside":
        raise ChartFormatError(path, f"file ends inside section [{current_name}] "
                                     "(truncated? no closing '}')")
    return sections


def _split_event(line: str, lineno: int, path: str | Path) -> tuple[int, str, list[str]]:
    key, sep, value = line.partition("=")
    if not sep:
        raise ChartFormatError(path, f"malformed line {line[:60]!r} (expected 'tick = TYPE values')",
                               f"line {lineno}")
    try:
        tick = int(key)
    except ValueError:
        raise ChartFormatError(path, f"tick {key.strip()[:20]!r} is not a whole number",
                               f"line {lineno}") from None
    if tick < 0:
        raise ChartFormatError(path, f"negative tick {tick}", f"line {lineno}")
    if tick > MAX_TICK:
        raise ChartFormatError(path, f"tick {tick} is absurdly large", f"line {lineno}")
    parts = value.split(None, 1)
    if not parts:
        raise ChartFormatError(path, "event has no type", f"line {lineno}")
    kind = parts[0]
    rest = parts[1] if len(parts) > 1 else ""
    return tick, kind, ([rest] if kind == "E" else rest.split())


def _ints(values: list[str], count: int, lineno: int, path: str | Path, kind: str) -> list[int]:
    if len(values) < count:
        raise ChartFormatError(path, f"{kind} event needs {count} number(s), got {len(values)}",
                               f"line {lineno}")
    try:
        return [int(v) for v in values[:count]]
    except ValueError:
        raise ChartFormatError(path, f"{kind} event has a value that is not a whole number: "
                                     f"{' '.join(values)[:40]!r}", f"line {lineno}") from None


def _read_song(lines: list[tuple[int, str]], path: str | Path) -> tuple[SongInfo, int]:
    values: dict[str, tuple[int, str]] = {}
    for lineno, line in lines:
        key, sep, value = line.partition("=")
        if not sep:
            raise ChartFormatError(path, f"malformed [Song] line {line[:60]!r}", f"line {lineno}")
        values[key.strip().lower()] = (lineno, _unquote(value))

    def text(key: str, default: str = "") -> str:
        return values[key][1] if key in values else default

    def number(key: str, default: float) -> float:
        if key not in values:
            return default
        lineno, raw = values[key]
        try:
            return float(raw)
        except ValueError:
            raise ChartFormatError(path, f"[Song] {key} = {raw[:20]!r} is not a number",
                                   f"line {lineno}") from None

    res_f = number("resolution", 192.0)
    where = f"line {values['resolution'][0]}" if "resolution" in values else None
    if res_f != int(res_f):
        raise ChartFormatError(path, f"resolution {res_f:g} is not a whole number", where)
    resolution = check_resolution(path, int(res_f), where)
    year = text("year").lstrip(", ").strip()
    info = SongInfo(
        name=text("name", "Unknown song") or "Unknown song",
        artist=text("artist", "Unknown artist") or "Unknown artist",
        charter=text("charter", ""),
        album=text("album"),
        genre=text("genre"),
        year=year,
        audio_file=text("musicstream"),
        preview_start_s=max(0.0, number("previewstart", 0.0)),
        delay_ms=round(number("offset", 0.0) * 1000),
    )
    return info, resolution


def _check_order(prev: int, tick: int, lineno: int, path: str | Path, section: str) -> None:
    if tick < prev:
        raise ChartFormatError(path, f"[{section}] events are not in time order "
                                     f"(tick {tick} after {prev})", f"line {lineno}")


def read_clone_hero_chart(path: str | Path) -> Chart:
    """Read a ``.chart`` file's drum tracks.

    Parameters
    ----------
    path
        The ``.chart`` file.

    Returns
    -------
    Chart
        Tracks for the drum difficulties present (main part), sections from
        ``[Events]``, fills and star-power phrases (taken from every
        difficulty, duplicates merged).

    Raises
    ------
    ChartFormatError
        On a missing ``[SyncTrack]``, no drum track, bad resolution or tempo,
        negative or out-of-order ticks, malformed lines or truncation; the
        message names the file and line.
    """
    text = decode_text(read_bytes(path))
    sections = _parse_sections(text, path)
    info, resolution = _read_song(sections.get("Song", []), path)
    if "SyncTrack" not in sections:
        raise ChartFormatError(path, "no [SyncTrack] section (tempo map missing)")
    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    prev = 0
    for lineno, line in sections["SyncTrack"]:
        tick, kind, values = _split_event(line, lineno, path)
        _check_order(prev, tick, lineno, path, "SyncTrack")
        prev = tick
        if kind == "B":
            (milli,) = _ints(values, 1, lineno, path, "B")
            tempos.append((tick, check_bpm(path, milli / 1000.0, f"line {lineno}")))
        elif kind == "TS":
            nums = _ints(values, 1, lineno, path, "TS")
            num = nums[0]
            exp = _ints(values, 2, lineno, path, "TS")[1] if len(values) > 1 else 2
            if not 1 <= num <= 64 or not 0 <= exp <= 5:
                raise ChartFormatError(path, f"time signature TS {' '.join(values)} is not valid",
                                       f"line {lineno}")
            sigs.append((tick, num, 2**exp))
    tempo_map = build_tempo_map(path, resolution, tempos, sigs)

    chart_sections: list[ChartSection] = []
    prev = 0
    for lineno, line in sections.get("Events", []):
        tick, kind, values = _split_event(line, lineno, path)
        _check_order(prev, tick, lineno, path, "Events")
        prev = tick
        if kind == "E" and values:
            ev = _unquote(values[0])
            if ev.startswith("section "):
                chart_sections.append(ChartSection(tick, ev[len("section "):].strip()))

    notes: dict[tuple[str, Difficulty], list[Note]] = {}
    phrases: set[Phrase] = set()
    all_switches: dict[Difficulty, list[tuple[int, bool]]] = {}
    for name, diff in DRUM_SECTIONS.items():
        if name not in sections:
            continue
        track_notes, track_phrases, switches = _read_drum_section(sections[name], path, name, diff)
        notes[(MAIN_PART, diff)] = track_notes
        all_switches[diff] = switches
        phrases.update(track_phrases)
    if any(n.cymbal for ns in notes.values() for n in ns):  # pro drums: disco flip swaps red/yellow
        for (part, diff), ns in notes.items():
            notes[(part, diff)] = apply_disco_flip(ns, all_switches.get(diff, []))
    if not notes:
        raise ChartFormatError(path, "no drum track ([ExpertDrums], [HardDrums], [MediumDrums] or "
                                     "[EasyDrums])")
    return assemble_chart(path, info=info, tempo_map=tempo_map, notes=notes,
                          sections=chart_sections, phrases=phrases)


def _read_drum_section(lines: list[tuple[int, str]], path: str | Path, section: str,
                       difficulty: Difficulty) -> tuple[list[Note], set[Phrase], list[tuple[int, bool]]]:
    # Group events by tick: lanes, markers.
    notes: list[Note] = []
    phrases: set[Phrase] = set()
    switches: list[tuple[int, bool]] = []
    prev = 0
    cur_tick = -1
    lanes: set[int] = set()

    def flush(tick: int, lanes: set[int]) -> None:
        if not lanes:
            return
        for lane in lanes:
            if lane > 4 and lane != DOUBLE_KICK and lane != FIVE_LANE_GREEN:
                continue
            if lane == DOUBLE_KICK:
                pad = Pad.KICK
            elif lane == FIVE_LANE_GREEN:
                if 4 in lanes:
                    continue
                pad = Pad.GREEN
            else:
                pad = Pad(lane)
            cymbal = pad in CYMBAL_MARKER and CYMBAL_MARKER[pad] in lanes
            dynamic = Dynamic.NORMAL
            velocity = 100
            if ACCENT_MARKER.get(pad) in lanes:
                dynamic, velocity = Dynamic.ACCENT, ACCENT_VELOCITY
            elif GHOST_MARKER.get(pad) in lanes:
                dynamic, velocity = Dynamic.GHOST, GHOST_VELOCITY
            notes.append(Note(tick, pad, cymbal, velocity=velocity, dynamic=dynamic,
                              double_kick=lane == DOUBLE_KICK))

    for lineno, line in lines:
        tick, kind, values = _split_event(line, lineno, path)
        _check_order(prev, tick, lineno, path, section)
        prev = tick
        if kind == "N":
            lane, _length = _ints(values, 2, lineno, path, "N")
            if tick != cur_tick:
                flush(cur_tick, lanes)
                lanes = set()
                cur_tick = tick
            lanes.add(lane)
        elif kind == "S":
            code, length = _ints(values, 2, lineno, path, "S")
            if length < 0:
                raise ChartFormatError(path, f"negative phrase length {length}", f"line {lineno}")
            if code in PHRASE_BY_CODE:
                phrases.add(Phrase(PHRASE_BY_CODE[code], tick, length))
        elif kind == "E" and values:
            mix = parse_mix_event(_unquote(values[0]))
            if mix is not None and mix[0] is difficulty:
                switches.append((tick, mix[1]))
    flush(cur_tick, lanes)
    return dedupe_notes(notes), phrases, switches


# -- writing -------------------------------------------------------------------

def _clean(text: str) -> str:
    return " ".join(str(text).replace('"', "'").split())


def _seconds(value: float) -> str:
    """Seconds with millisecond precision and no trailing zeros (``1.5``, ``0``, ``-0.25``)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def chart_to_text(chart: Chart, *, part: str = MAIN_PART) -> str:
    """Render ``chart`` as ``.chart`` text (Easy to Expert of ``part``; CRLF is added by the writer).

    Accents and ghosts are written as markers; double kicks as note 32;
    cymbals as 66-68 markers. Phrases are written into every difficulty.
    """
    tm = chart.tempo_map
    info = chart.info
    out: list[str] = ["[Song]", "{"]
    out.append(f'  Name = "{_clean(info.name)}"')
    out.append(f'  Artist = "{_clean(info.artist)}"')
    out.append(f'  Charter = "{_clean(info.charter)}"')
    if info.album:
        out.append(f'  Album = "{_clean(info.album)}"')
    if info.year:
        out.append(f'  Year = ", {_clean(info.year)}"')
    if info.genre:
        out.append(f'  Genre = "{_clean(info.genre)}"')
    out.append(f"  Offset = {_seconds(info.delay_ms / 1000)}")
    out.append(f"  Resolution = {tm.resolution}")
    out.append("  Player2 = bass")
    out.append("  Difficulty = 0")
    out.append(f"  PreviewStart = {_seconds(info.preview_start_s)}")
    out.append("  PreviewEnd = 0")
    out.append('  MediaType = "cd"')
    if info.audio_file:
        out.append(f'  MusicStream = "{_clean(info.audio_file)}"')
    out += ["}", "[SyncTrack]", "{"]
    events: list[tuple[int, int, str]] = []
    for ts in tm.time_signatures:
        exp = ts.denominator.bit_length() - 1
        body = f"TS {ts.numerator}" if ts.denominator == 4 else f"TS {ts.numerator} {exp}"
        events.append((ts.tick, 0, body))
    for t in tm.tempos:
        events.append((t.tick, 1, f"B {round(t.bpm * 1000)}"))
    out += [f"  {tick} = {body}" for tick, _, body in sorted(events)]
    out += ["}", "[Events]", "{"]
    out += [f'  {s.tick} = E "section {_clean(s.name)}"' for s in chart.sections]
    out.append("}")
    for diff in reversed(GAME_DIFFICULTIES):
        key = (part, diff)
        if key not in chart.tracks:
            continue
        out += [f"[{SECTION_BY_DIFFICULTY[diff]}]", "{"]
        lines: list[tuple[int, int, int, str]] = []
        for n in chart.tracks[key].notes:
            lane = DOUBLE_KICK if n.double_kick else int(n.pad)
            lines.append((n.tick, 0, lane, f"N {lane} 0"))
            if n.cymbal:
                m = CYMBAL_MARKER[n.pad]
                lines.append((n.tick, 0, m, f"N {m} 0"))
            if n.dynamic is Dynamic.ACCENT and n.pad in ACCENT_MARKER:
                m = ACCENT_MARKER[n.pad]
                lines.append((n.tick, 0, m, f"N {m} 0"))
            elif n.dynamic is Dynamic.GHOST and n.pad in GHOST_MARKER:
                m = GHOST_MARKER[n.pad]
                lines.append((n.tick, 0, m, f"N {m} 0"))
        for ph in chart.phrases:
            code = PHRASE_CODES.get(ph.kind)
            if code is not None:
                lines.append((ph.tick, 1, code, f"S {code} {ph.length_ticks}"))
        seen: set[tuple[int, int, int]] = set()
        for tick, order, code, body in sorted(lines):
            if (tick, order, code) in seen:
                continue
            seen.add((tick, order, code))
            out.append(f"  {tick} = {body}")
        out.append("}")
    return "\r\n".join(out) + "\r\n"


def chart_to_bytes(chart: Chart, *, part: str = MAIN_PART) -> bytes:
    """``.chart`` file bytes (UTF-8 with BOM, CRLF line ends, as Moonscraper writes)."""
    return b"\xef\xbb\xbf" + chart_to_text(chart, part=part).encode("utf-8")
