"""Rock Band / Clone Hero / YARG ``notes.mid`` drum charts: reader and writer.

Layout:

* first track: tempo map (``set_tempo``, ``time_signature``), named after the song;
* ``PART DRUMS``: gems Easy 60-64, Medium 72-76, Hard 84-88, Expert 96-100 (kick, red,
  yellow, blue, green); 95 Expert+ double kick; 110/111/112 tom markers for
  yellow/blue/green (with pro drums, gems on those lanes are cymbals unless a tom marker
  covers them); 120-124 drum fill (all five together), 116 star power; velocity 127 accent
  and 1 ghost when the ``[ENABLE_CHART_DYNAMICS]`` text event is present; disco-flip mix
  events (``[mix 3 drums0d]``) swap red and yellow as pro-drums games play them;
* ``EVENTS``: sections as text events ``[section Name]`` (``[prc_name]`` is read too).

A file without tom markers is pro only if ``song.ini`` says ``pro_drums = True``
(:func:`read_rb_midi` takes ``pro_drums``); otherwise its gems are toms, as
Clone Hero and scan-chart read them. Fractional BPM is kept to MIDI's 1 µs per
quarter precision.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from pathlib import Path

from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Dynamic, Note, Phrase, SongInfo
from backbeat.core.difficulty import GAME_DIFFICULTIES, Difficulty
from backbeat.core.errors import ChartFormatError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap
from backbeat.formats.chart_build import (
    apply_disco_flip,
    assemble_chart,
    build_tempo_map,
    check_resolution,
    dedupe_notes,
    parse_mix_event,
)
from backbeat.formats.midi_file import MidiFile, MidiTrack, TrackBuilder, encode_midi, parse_midi
from backbeat.formats.text_io import read_bytes

DRUMS_TRACK = "PART DRUMS"
EVENTS_TRACK = "EVENTS"
BASE_KEY: dict[Difficulty, int] = {
    Difficulty.EASY: 60, Difficulty.MEDIUM: 72, Difficulty.HARD: 84, Difficulty.EXPERT: 96,
}
DOUBLE_KICK_KEY = 95
TOM_MARKER_KEY: dict[Pad, int] = {Pad.YELLOW: 110, Pad.BLUE: 111, Pad.GREEN: 112}
STAR_POWER_KEY = 116
FILL_KEYS = (120, 121, 122, 123, 124)
DYNAMICS_EVENT = "[ENABLE_CHART_DYNAMICS]"
ACCENT_MIDI_VELOCITY = 127
GHOST_MIDI_VELOCITY = 1
#: Length of a written gem in ticks per quarter note of resolution (a 1/64 note).
GEM_FRACTION = 16


def bpm_to_us_per_quarter(bpm: float) -> int:
    """MIDI tempo (µs per quarter note, rounded) for a BPM."""
    return max(1, min(0xFFFFFF, round(60_000_000 / bpm)))


def us_per_quarter_to_bpm(us: int) -> float:
    """BPM of a MIDI tempo in µs per quarter note."""
    return 60_000_000 / us


def is_rb_drum_midi(midi: MidiFile) -> bool:
    """True if the file has a ``PART DRUMS`` track (a Rock Band-style chart)."""
    return any(t.name.strip().upper() == DRUMS_TRACK for t in midi.tracks)


def tempo_map_from_midi(midi: MidiFile, path: str | Path) -> TempoMap:
    """Tempo map from every ``set_tempo``/``time_signature`` event in the file.

    Returns
    -------
    TempoMap
    """
    resolution = check_resolution(path, midi.resolution, "MIDI header")
    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    for t in midi.tracks:
        for tick, us in t.tempos:
            if us <= 0:
                raise ChartFormatError(path, "set_tempo of 0 µs per quarter note", f"tick {tick}")
            bpm = us_per_quarter_to_bpm(us)
            if not 1.0 <= bpm <= 1000.0:
                raise ChartFormatError(path, f"tempo {bpm:.6g} BPM is outside 1-1000 BPM", f"tick {tick}")
            tempos.append((tick, bpm))
        for tick, num, den in t.time_signatures:
            if not 1 <= num <= 64 or den not in (1, 2, 4, 8, 16, 32):
                raise ChartFormatError(path, f"time signature {num}/{den} is not valid", f"tick {tick}")
            sigs.append((tick, num, den))
    tempos.sort(key=lambda e: e[0])
    sigs.sort(key=lambda e: e[0])
    return build_tempo_map(path, resolution, tempos, sigs)


def _section_name(text: str) -> str | None:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1].strip()
    if t.startswith("section "):
        return t[len("section "):].strip()
    if t.startswith("section_"):
        return t[len("section_"):].replace("_", " ").strip()
    if t.startswith("prc_"):
        return t[len("prc_"):].replace("_", " ").strip()
    return None


def _spans(track: MidiTrack, key: int) -> list[tuple[int, int]]:
    """Disjoint, sorted [start, end) spans of the notes on ``key`` (zero-length notes cover their tick)."""
    raw = sorted((n.tick, max(n.end_tick, n.tick + 1)) for n in track.notes if n.key == key)
    merged: list[tuple[int, int]] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _covered(spans: list[tuple[int, int]], starts: list[int], tick: int) -> bool:
    i = bisect.bisect_right(starts, tick) - 1
    return i >= 0 and spans[i][0] <= tick < spans[i][1]


def read_rb_midi(path: str | Path, *, pro_drums: bool | None = None, info: SongInfo | None = None) -> Chart:
    """Read the ``PART DRUMS`` track of a Rock Band-style ``notes.mid``.

    Parameters
    ----------
    path
        The MIDI file.
    pro_drums
        ``True``/``False`` from ``song.ini``; ``None`` means pro if any tom marker is present.
    info
        Song metadata (from ``song.ini``); else the name of the tempo track is used.

    Raises
    ------
    ChartFormatError
        If the file is not valid MIDI, has no ``PART DRUMS`` track, or has an invalid tempo map.
    """
    midi = parse_midi(read_bytes(path), path=path)
    return chart_from_rb_midi(midi, path, pro_drums=pro_drums, info=info)


def chart_from_rb_midi(midi: MidiFile, path: str | Path, *, pro_drums: bool | None = None,
                       info: SongInfo | None = None) -> Chart:
    """Build a chart from a parsed RB-style MIDI (see :func:`read_rb_midi`)."""
    drums = [t for t in midi.tracks if t.name.strip().upper() == DRUMS_TRACK]
    if not drums:
        raise ChartFormatError(path, f"no '{DRUMS_TRACK}' track")
    track = drums[0]
    tempo_map = tempo_map_from_midi(midi, path)
    if info is None:
        first = midi.tracks[0].name.strip()
        info = SongInfo(name=first) if first and first.upper() != DRUMS_TRACK else SongInfo()
    has_markers = any(n.key in (110, 111, 112) for n in track.notes)
    pro = has_markers if pro_drums is None else (pro_drums or has_markers)
    dynamics = any(txt.strip() in (DYNAMICS_EVENT, DYNAMICS_EVENT[1:-1]) for _, _, txt in track.texts)
    tom_spans = {pad: _spans(track, key) for pad, key in TOM_MARKER_KEY.items()}
    tom_starts = {pad: [s for s, _ in sp] for pad, sp in tom_spans.items()}
    notes: dict[tuple[str, Difficulty], list[Note]] = {}
    key_to_gem: dict[int, tuple[Difficulty, Pad, bool]] = {}
    for diff, base in BASE_KEY.items():
        for lane in range(5):
            key_to_gem[base + lane] = (diff, Pad(lane), False)
    key_to_gem[DOUBLE_KICK_KEY] = (Difficulty.EXPERT, Pad.KICK, True)
    present: set[Difficulty] = set()
    for n in track.notes:
        gem = key_to_gem.get(n.key)
        if gem is None:
            continue
        diff, pad, double = gem
        present.add(diff)
        cymbal = False
        if pro and pad in TOM_MARKER_KEY:
            cymbal = not _covered(tom_spans[pad], tom_starts[pad], n.tick)
        dynamic = Dynamic.NORMAL
        if dynamics and n.velocity == ACCENT_MIDI_VELOCITY:
            dynamic = Dynamic.ACCENT
        elif dynamics and n.velocity == GHOST_MIDI_VELOCITY:
            dynamic = Dynamic.GHOST
        notes.setdefault((MAIN_PART, diff), []).append(
            Note(n.tick, pad, cymbal, velocity=max(1, min(127, n.velocity)), dynamic=dynamic,
                 double_kick=double))
    if pro:
        switches: dict[Difficulty, list[tuple[int, bool]]] = {}
        for tick, _mtype, text in track.texts:
            mix = parse_mix_event(text)
            if mix is not None:
                switches.setdefault(mix[0], []).append((tick, mix[1]))
        for (part_name, diff), ns in notes.items():
            notes[(part_name, diff)] = apply_disco_flip(ns, switches.get(diff, []))
    for key in list(notes):
        notes[key] = dedupe_notes(notes[key])
    phrases: list[Phrase] = [Phrase("star_power", n.tick, n.end_tick - n.tick)
                             for n in track.notes if n.key == STAR_POWER_KEY]
    phrases += [Phrase("fill", n.tick, n.end_tick - n.tick) for n in track.notes if n.key == FILL_KEYS[0]]
    sections: list[ChartSection] = []
    for t in midi.tracks:
        if t.name.strip().upper() != EVENTS_TRACK:
            continue
        for tick, _mtype, text in t.texts:
            name = _section_name(text)
            if name:
                sections.append(ChartSection(tick, name))
    return assemble_chart(path, info=info, tempo_map=tempo_map, notes=notes,
                          sections=sections, phrases=phrases)


# -- writing -------------------------------------------------------------------

def tempo_track(chart: Chart, name: str) -> TrackBuilder:
    """The first track: song name, tempo and time-signature events."""
    tb = TrackBuilder(name=name)
    for ts in chart.tempo_map.time_signatures:
        tb.time_signature(ts.tick, ts.numerator, ts.denominator)
    for t in chart.tempo_map.tempos:
        tb.tempo(t.tick, bpm_to_us_per_quarter(t.bpm))
    return tb


def _gem_velocity(note: Note) -> int:
    if note.dynamic is Dynamic.ACCENT:
        return ACCENT_MIDI_VELOCITY
    if note.dynamic is Dynamic.GHOST:
        return GHOST_MIDI_VELOCITY
    return max(GHOST_MIDI_VELOCITY + 1, min(ACCENT_MIDI_VELOCITY - 1, note.velocity))


def _tom_marker_runs(chart: Chart, part: str) -> dict[Pad, list[tuple[int, int]]]:
    """Spans for tom markers: runs of tom notes with no cymbal of the same lane between.

    Markers apply to every difficulty; where levels disagree at one tick, the
    hardest level wins.
    """
    runs: dict[Pad, list[tuple[int, int]]] = {}
    for pad in TOM_MARKER_KEY:
        kind: dict[int, bool] = {}
        for diff in reversed(GAME_DIFFICULTIES):
            tr = chart.tracks.get((part, diff))
            if tr is None:
                continue
            for n in tr.notes:
                if n.pad is pad and n.tick not in kind:
                    kind[n.tick] = not n.cymbal
        spans: list[tuple[int, int]] = []
        start = last = -1
        for tick in sorted(kind):
            if kind[tick]:
                if start < 0:
                    start = tick
                last = tick
            elif start >= 0:
                spans.append((start, last + 1))
                start = -1
        if start >= 0:
            spans.append((start, last + 1))
        runs[pad] = spans
    return runs


def _harmless_marker(chart: Chart, part: str) -> tuple[int, int]:
    """(tick, key) of a tom marker that covers a gem but no gem of the marker's own lane."""
    lanes_at: dict[int, set[Pad]] = {}
    for diff in GAME_DIFFICULTIES:
        tr = chart.tracks.get((part, diff))
        if tr is not None:
            for n in tr.notes:
                lanes_at.setdefault(n.tick, set()).add(n.pad)
    for pad, key in TOM_MARKER_KEY.items():
        for tick in sorted(lanes_at):
            if pad not in lanes_at[tick]:
                return tick, key
    return chart.end_tick() + chart.tempo_map.resolution, TOM_MARKER_KEY[Pad.YELLOW]


def _gem_lengths(ticks: Iterable[int], length: int) -> list[tuple[int, int]]:
    ts = sorted(set(ticks))
    out = []
    for a, b in zip(ts, [*ts[1:], None]):
        out.append((a, length if b is None else max(1, min(length, b - a))))
    return out


def chart_to_rb_midi(chart: Chart, *, part: str = MAIN_PART) -> bytes:
    """``notes.mid`` bytes: tempo track, ``PART DRUMS`` (Easy-Expert of ``part``) and ``EVENTS``."""
    res = chart.tempo_map.resolution
    gem_len = max(1, res // GEM_FRACTION)
    tempo = tempo_track(chart, chart.info.name)
    drums = TrackBuilder(name=DRUMS_TRACK)
    drums.text(0, DYNAMICS_EVENT)
    by_key: dict[int, list[tuple[int, int]]] = {}
    for diff in GAME_DIFFICULTIES:
        tr = chart.tracks.get((part, diff))
        if tr is None:
            continue
        base = BASE_KEY[diff]
        for n in tr.notes:
            key = DOUBLE_KICK_KEY if (n.double_kick and diff is Difficulty.EXPERT) else base + int(n.pad)
            by_key.setdefault(key, []).append((n.tick, _gem_velocity(n)))
    for key, evs in by_key.items():
        vel_at: dict[int, int] = {}
        for tick, vel in evs:
            vel_at.setdefault(tick, vel)
        for tick, length in _gem_lengths(vel_at, gem_len):
            drums.note(tick, length, key, vel_at[tick])
    runs = _tom_marker_runs(chart, part)
    for pad, spans in runs.items():
        for a, b in spans:
            drums.note(a, b - a, TOM_MARKER_KEY[pad], 100)
    has_cymbal = any(n.cymbal for (p, _), tr in chart.tracks.items() if p == part for n in tr.notes)
    if has_cymbal and not any(runs.values()):
        # Readers treat a file without any tom marker as non-pro (all toms). One 1-tick tom
        # marker over a gem of another lane keeps the file pro without song.ini and changes no
        # note (scan-chart only counts markers that cover a gem).
        marker_tick, marker_key = _harmless_marker(chart, part)
        drums.note(marker_tick, 1, marker_key, 100)
    for ph in chart.phrases:
        length = max(1, ph.length_ticks)
        if ph.kind == "star_power":
            drums.note(ph.tick, length, STAR_POWER_KEY, 100)
        elif ph.kind == "fill":
            for key in FILL_KEYS:
                drums.note(ph.tick, length, key, 100)
    events = TrackBuilder(name=EVENTS_TRACK)
    for s in chart.sections:
        events.text(s.tick, f"[section {' '.join(s.name.split())}]")
    return encode_midi([tempo, drums, events], resolution=res)
