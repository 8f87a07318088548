"""Backbeat's own chart JSON: every track (Beginner, extra parts), exact tempo map, versioned.

Document layout (version 1)::

    {"format": "backbeat-chart", "version": 1,
     "info": {"name": ..., "artist": ..., "charter": ..., "album": ..., "genre": ..., "year": ...,
              "audio_file": ..., "preview_start_s": 0.0, "delay_ms": 0, "length_s": 0.0},
     "resolution": 192,
     "tempos": [[tick, bpm], ...],
     "time_signatures": [[tick, numerator, denominator], ...],
     "sections": [[tick, name], ...],
     "phrases": [[kind, tick, length_ticks], ...],
     "tracks": [{"part": "drums", "difficulty": "expert",
                 "notes": [[tick, pad, cymbal, velocity, dynamic, double_kick], ...]}, ...]}

``pad`` is the lane number (0 kick .. 4 green), ``dynamic`` is ``"normal"``,
``"accent"`` or ``"ghost"``. ``time_s`` is not stored: it is recomputed from
the tempo map. BPM is a JSON float, so it round-trips exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from backbeat.core.chart import Chart, ChartSection, Dynamic, Note, Phrase, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError, InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.formats.chart_build import MAX_TICK, assemble_chart, build_tempo_map, check_resolution
from backbeat.formats.text_io import decode_text, read_bytes

FORMAT_NAME = "backbeat-chart"
FORMAT_VERSION = 1
PHRASE_KINDS = ("fill", "star_power")


def chart_to_json(chart: Chart) -> dict[str, Any]:
    """The JSON document (a dict of plain values) for ``chart``."""
    info = chart.info
    tracks = []
    for (part, diff), tr in sorted(chart.tracks.items(), key=lambda kv: (kv[0][0], kv[0][1].rank)):
        tracks.append({
            "part": part,
            "difficulty": diff.value,
            "notes": [[n.tick, int(n.pad), n.cymbal, n.velocity, n.dynamic.value, n.double_kick]
                      for n in tr.notes],
        })
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "info": {
            "name": info.name, "artist": info.artist, "charter": info.charter, "album": info.album,
            "genre": info.genre, "year": info.year, "audio_file": info.audio_file,
            "preview_start_s": info.preview_start_s, "delay_ms": info.delay_ms, "length_s": info.length_s,
        },
        "resolution": chart.tempo_map.resolution,
        "tempos": [[t.tick, t.bpm] for t in chart.tempo_map.tempos],
        "time_signatures": [[s.tick, s.numerator, s.denominator] for s in chart.tempo_map.time_signatures],
        "sections": [[s.tick, s.name] for s in chart.sections],
        "phrases": [[p.kind, p.tick, p.length_ticks] for p in chart.phrases],
        "tracks": tracks,
    }


def chart_to_json_text(chart: Chart) -> str:
    """Compact JSON text (one line per track would be nicer to diff; compact is smaller)."""
    return json.dumps(chart_to_json(chart), ensure_ascii=False, separators=(",", ":")) + "\n"


class _Check:
    def __init__(self, path: str | Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ChartFormatError:
        return ChartFormatError(self.path, problem, where)

    def obj(self, v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(where, f"expected an object, got {type(v).__name__}")
        return v

    def arr(self, v: Any, where: str, length: int | None = None) -> list[Any]:
        if not isinstance(v, list):
            raise self.fail(where, f"expected a list, got {type(v).__name__}")
        if length is not None and len(v) != length:
            raise self.fail(where, f"expected {length} values, got {len(v)}")
        return v

    def int_(self, v: Any, where: str, lo: int = 0, hi: int = MAX_TICK) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(where, f"expected a whole number, got {v!r}"[:120])
        if not lo <= v <= hi:
            raise self.fail(where, f"{v} is outside {lo}-{hi}")
        return v

    def num(self, v: Any, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.fail(where, f"expected a finite number, got {v!r}"[:120])
        return float(v)

    def str_(self, v: Any, where: str) -> str:
        if not isinstance(v, str):
            raise self.fail(where, f"expected text, got {type(v).__name__}")
        return v

    def bool_(self, v: Any, where: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(where, f"expected true/false, got {v!r}"[:120])
        return v


def chart_from_json(doc: Any, *, path: str | Path = "<json>") -> Chart:
    """Validate a chart JSON document and build the :class:`Chart`.

    Raises
    ------
    ChartFormatError
        Naming the JSON path of the first bad value (wrong type, out of range,
        unknown difficulty or dynamic, unsorted tempo events, newer version).
    """
    c = _Check(path)
    d = c.obj(doc, "document")
    if d.get("format") != FORMAT_NAME:
        raise c.fail("format", f"not a Backbeat chart (format is {d.get('format')!r})")
    version = c.int_(d.get("version"), "version", 1, 10**6)
    if version > FORMAT_VERSION:
        raise c.fail("version", f"chart version {version} is newer than this Backbeat reads "
                                f"({FORMAT_VERSION}); update Backbeat")
    i = c.obj(d.get("info", {}), "info")
    info = SongInfo(
        name=c.str_(i.get("name", "Unknown song"), "info.name"),
        artist=c.str_(i.get("artist", "Unknown artist"), "info.artist"),
        charter=c.str_(i.get("charter", ""), "info.charter"),
        album=c.str_(i.get("album", ""), "info.album"),
        genre=c.str_(i.get("genre", ""), "info.genre"),
        year=c.str_(i.get("year", ""), "info.year"),
        audio_file=c.str_(i.get("audio_file", ""), "info.audio_file"),
        preview_start_s=c.num(i.get("preview_start_s", 0.0), "info.preview_start_s"),
        delay_ms=c.int_(i.get("delay_ms", 0), "info.delay_ms", -10**7, 10**7),
        length_s=c.num(i.get("length_s", 0.0), "info.length_s"),
    )
    resolution = check_resolution(path, c.int_(d.get("resolution"), "resolution", 0, 10**9), "resolution")
    tempos = []
    for k, t in enumerate(c.arr(d.get("tempos"), "tempos")):
        w = f"tempos[{k}]"
        t = c.arr(t, w, 2)
        tempos.append((c.int_(t[0], w), c.num(t[1], w)))
    sigs = []
    for k, s in enumerate(c.arr(d.get("time_signatures", [[0, 4, 4]]), "time_signatures")):
        w = f"time_signatures[{k}]"
        s = c.arr(s, w, 3)
        sigs.append((c.int_(s[0], w), c.int_(s[1], w, 1, 64), c.int_(s[2], w, 1, 32)))
    if not tempos:
        raise c.fail("tempos", "no tempo events")
    for name, evs in (("tempos", tempos), ("time_signatures", sigs)):
        for k in range(1, len(evs)):
            if evs[k][0] <= evs[k - 1][0]:
                raise c.fail(f"{name}[{k}]", "ticks must be strictly increasing")
    if tempos[0][0] != 0:
        raise c.fail("tempos[0]", "the first tempo event must be at tick 0")
    for k, (tick, bpm) in enumerate(tempos):
        if not 1.0 <= bpm <= 1000.0:
            raise c.fail(f"tempos[{k}]", f"tempo {bpm:g} BPM at tick {tick} is outside 1-1000 BPM")
    tempo_map = build_tempo_map(path, resolution, tempos, sigs)
    sections = []
    for k, s in enumerate(c.arr(d.get("sections", []), "sections")):
        w = f"sections[{k}]"
        s = c.arr(s, w, 2)
        sections.append(ChartSection(c.int_(s[0], w), c.str_(s[1], w)))
    phrases = []
    for k, p in enumerate(c.arr(d.get("phrases", []), "phrases")):
        w = f"phrases[{k}]"
        p = c.arr(p, w, 3)
        kind = c.str_(p[0], w)
        if kind not in PHRASE_KINDS:
            raise c.fail(w, f"unknown phrase kind {kind!r} (expected one of {', '.join(PHRASE_KINDS)})")
        phrases.append(Phrase(kind, c.int_(p[1], w), c.int_(p[2], w)))
    notes: dict[tuple[str, Difficulty], list[Note]] = {}
    diffs = {x.value: x for x in Difficulty}
    dyns = {x.value: x for x in Dynamic}
    for k, tr in enumerate(c.arr(d.get("tracks"), "tracks")):
        w = f"tracks[{k}]"
        tr = c.obj(tr, w)
        part = c.str_(tr.get("part", "drums"), f"{w}.part")
        dname = c.str_(tr.get("difficulty"), f"{w}.difficulty")
        if dname not in diffs:
            raise c.fail(f"{w}.difficulty", f"unknown difficulty {dname!r}")
        key = (part, diffs[dname])
        if key in notes:
            raise c.fail(w, f"track {part}/{dname} appears twice")
        out: list[Note] = []
        prev_tick = -1
        for j, n in enumerate(c.arr(tr.get("notes"), f"{w}.notes")):
            wn = f"{w}.notes[{j}]"
            n = c.arr(n, wn, 6)
            tick = c.int_(n[0], wn)
            if tick < prev_tick:
                raise c.fail(wn, f"notes out of time order (tick {tick} after {prev_tick})")
            prev_tick = tick
            pad = c.int_(n[1], wn, 0, 4)
            dyn = c.str_(n[4], wn)
            if dyn not in dyns:
                raise c.fail(wn, f"unknown dynamic {dyn!r}")
            try:
                out.append(Note(tick, Pad(pad), c.bool_(n[2], wn), velocity=c.int_(n[3], wn, 1, 127),
                                dynamic=dyns[dyn], double_kick=c.bool_(n[5], wn)))
            except InvalidArgumentError as exc:
                raise c.fail(wn, str(exc)) from None
        keys = [(x.tick, x.pad, x.cymbal) for x in out]
        if len(set(keys)) != len(keys):
            raise c.fail(f"{w}.notes", "the same note appears twice (same tick, pad and cymbal)")
        notes[key] = out
    return assemble_chart(path, info=info, tempo_map=tempo_map, notes=notes, sections=sections,
                          phrases=phrases)


def read_chart_json(path: str | Path) -> Chart:
    """Read a Backbeat chart JSON file.

    Raises
    ------
    ChartFormatError
        If the file is not JSON or not a valid chart document.
    """
    text = decode_text(read_bytes(path))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChartFormatError(path, f"not valid JSON ({exc.msg})", f"line {exc.lineno}") from None
    return chart_from_json(doc, path=path)
