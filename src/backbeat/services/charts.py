"""Use-case: build drum charts at every level from a song, an analysis or an existing chart.

``build_charts(source, out_dir, ...)`` accepts

* an audio file: analysed first (``backbeat.services.analyze``, imported only then);
* an analysis JSON (``schema_version`` 1);
* a chart: Clone Hero ``.chart``, Rock Band style ``notes.mid``, a General
  MIDI drum ``.mid`` (a played performance is quantised onto a grid), a
  Backbeat chart ``.json`` or a song folder.

and writes a Clone Hero / YARG song folder (``notes.chart``, ``notes.mid``,
``song.ini``, the audio when the source is audio, as a format the games
play: see :mod:`backbeat.services.game_audio`) plus any extra
formats, all at once: on failure nothing is left behind.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from backbeat.charting.levels import MIN_AUTHORED_NOTES, build_levels
from backbeat.charting.parts import duet, split_kit
from backbeat.charting.quantize import chart_from_analysis, is_quantized, requantize_chart
from backbeat.charting.rules import check_chart
from backbeat.core.chart import MAIN_PART, Chart, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError, ChartRuleError, InvalidArgumentError
from backbeat.core.song_analysis import Analysis
from backbeat.formats import atomic_output_dir, read_chart, write_chart, write_song_folder
from backbeat.services.game_audio import game_audio

#: Audio file extensions treated as songs to analyse.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff"})
#: Chart formats this service can write, and the file name used for each extra format.
EXTRA_FORMAT_FILES: dict[str, str] = {
    "chart": "notes.chart",
    "mid": "notes.mid",
    "gm-mid": "drums_gm.mid",
    "musicxml": "drums.musicxml",
    "tab": "drums_tab.txt",
    "json": "backbeat.json",
}
ALL_FORMATS: tuple[str, ...] = tuple(EXTRA_FORMAT_FILES)
#: Largest analysis/chart JSON accepted.
MAX_JSON_BYTES = 64 * 1024 * 1024


def parse_levels(text: str | Iterable[str] | None) -> list[Difficulty]:
    """Levels from ``"expert,hard"`` / ``"all"`` / a list of names.

    Raises
    ------
    InvalidArgumentError
        On an unknown level name.
    """
    if text is None:
        return list(Difficulty)
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text)]
    items = [t for t in items if t]
    if not items or items == ["all"]:
        return list(Difficulty)
    out = []
    for item in items:
        try:
            out.append(Difficulty(item))
        except ValueError:
            names = ", ".join(d.value for d in Difficulty)
            raise InvalidArgumentError(f"unknown level {item!r} (choose from: {names}, all)") from None
    return sorted(set(out), key=lambda d: d.rank)


def parse_formats(text: str | Iterable[str] | None) -> list[str]:
    """Formats from ``"chart,json"`` / ``"all"``; the song folder (chart, mid) is always written."""
    if text is None:
        return []
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text)]
    items = [t for t in items if t]
    if items == ["all"]:
        return list(ALL_FORMATS)
    for item in items:
        if item not in EXTRA_FORMAT_FILES:
            raise InvalidArgumentError(
                f"unknown format {item!r} (choose from: {', '.join(ALL_FORMATS)}, all)")
    return list(dict.fromkeys(items))


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidArgumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_JSON_BYTES:
        raise InvalidArgumentError(f"{path}: JSON file is too large ({size} bytes)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChartFormatError(path, f"not valid JSON ({exc})") from None


def _read_chart_file(path: Path) -> Chart:
    return read_chart(path)


def load_source(source_path: str | Path, *, info: SongInfo | None = None) -> tuple[Chart, Path | None]:
    """Turn any accepted source into a chart with (at least) an Expert main part.

    Returns
    -------
    chart, audio_path
        ``audio_path`` is the source when it is audio (to copy into the song folder).

    Raises
    ------
    InvalidArgumentError, ChartFormatError, AudioError
        When the source is missing, of an unknown kind or malformed.
    """
    path = Path(source_path)
    if not path.exists():
        raise InvalidArgumentError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_file() and suffix in AUDIO_EXTENSIONS:
        from backbeat.services.analyze import analyze  # heavy: imported only for audio

        analysis = analyze(path)
        if not analysis.drums:
            notes = "; ".join(str(w) for w in analysis.extra.get("warnings", []))
            raise InvalidArgumentError(f"{path}: no drum hits found in the audio, nothing to chart"
                                       + (f" ({notes})" if notes else ""))
        song = info or SongInfo(name=path.stem, audio_file=f"song{suffix}")
        return chart_from_analysis(analysis, info=song), path
    if path.is_file() and suffix == ".json":
        doc = _read_json(path)
        if isinstance(doc, dict) and "schema_version" in doc and "drums" in doc:
            try:
                analysis = Analysis.from_json(doc)
            except InvalidArgumentError as exc:
                raise ChartFormatError(path, f"bad analysis: {exc}") from None
            name = Path(analysis.source).stem if analysis.source else path.stem
            song = info or SongInfo(name=name or path.stem)
            if not analysis.drums:
                raise ChartFormatError(path, "the analysis has no drum hits to chart")
            return chart_from_analysis(analysis, info=song), None
        chart = _read_chart_file(path)
    else:
        chart = _read_chart_file(path)
    if (MAIN_PART, Difficulty.EXPERT) not in chart.tracks or not chart.track(Difficulty.EXPERT).notes:
        raise ChartFormatError(path, "the chart has no Expert drum notes")
    only_expert = all(d is Difficulty.EXPERT for p, d in chart.tracks if p == MAIN_PART)
    if only_expert and not is_quantized(chart.track(Difficulty.EXPERT).notes, chart.tempo_map):
        # A played performance (e.g. General MIDI drums): put it on a musical grid.
        chart = requantize_chart(chart)
    if info is not None:
        chart = replace(chart, info=info)
    return chart, None


def _write_extra(chart: Chart, fmt: str, folder: Path) -> list[Path]:
    """Write one extra format into ``folder``; one-track formats get a file per main-part level."""
    if fmt in ("chart", "mid", "json"):
        target = folder / EXTRA_FORMAT_FILES[fmt]
        if target.exists():
            return []
        return [write_chart(chart, target, fmt=fmt)]
    out = []
    stem, dot, ext = EXTRA_FORMAT_FILES[fmt].partition(".")
    for level in chart.difficulties(MAIN_PART):
        target = folder / f"{stem}_{level.value}{dot}{ext}"
        out.append(write_chart(chart, target, fmt=fmt, difficulty=level))
    return out


def prepare_chart(chart: Chart, *, levels: Sequence[Difficulty], regenerate: bool = False,
                  parts: Sequence[str] = ()) -> Chart:
    """Levels (hand-made ones kept unless ``regenerate``) and two-player parts, rule-checked.

    Parameters
    ----------
    chart
        A chart with an Expert main part.
    levels
        Main-part levels the result holds.
    regenerate
        Rebuild every lower level from Expert.
    parts
        Extra parts: ``"duet"`` (Expert host, Beginner guest) and/or ``"split"``.

    Raises
    ------
    ChartRuleError
        If a generated level breaks its rules (a bug: generated levels are built to obey them).
    """
    authored = {d for (p, d), t in chart.tracks.items()
                if p == MAIN_PART and len(t.notes) >= MIN_AUTHORED_NOTES and d is not Difficulty.EXPERT}
    full = build_levels(chart, regenerate=regenerate)
    generated = set(Difficulty) - {Difficulty.EXPERT} - (set() if regenerate else authored)
    report = check_chart(full)
    for (part, level), violations in report.items():
        if part == MAIN_PART and level in generated and violations:
            v = violations[0]
            raise ChartRuleError(f"generated {level.value} level breaks rule {v.rule} at tick {v.tick}: "
                                 f"{v.message}")
    for name in parts:
        if name == "duet":
            full = duet(full)
        elif name == "split":
            full = split_kit(full, levels=[Difficulty.EXPERT])
        else:
            raise InvalidArgumentError(f"unknown part {name!r} (choose from: duet, split)")
    keep = set(levels)
    tracks = {k: t for k, t in full.tracks.items() if k[0] != MAIN_PART or k[1] in keep}
    return replace(full, tracks=tracks)


def build_charts(source_path: str | Path, out_dir: str | Path, *,
                 levels: Sequence[Difficulty] | None = None, formats: Sequence[str] = (),
                 regenerate: bool = False, parts: Sequence[str] = (),
                 info: SongInfo | None = None) -> list[Path]:
    """Build charts from ``source_path`` and write them into the song folder ``out_dir``.

    Parameters
    ----------
    source_path
        Audio file, analysis JSON, chart file or song folder.
    out_dir
        Song folder to create (replaced atomically if it exists).
    levels
        Levels to write (default all five; Clone Hero files carry Easy..Expert,
        the JSON carries Beginner too).
    formats
        Extra formats beyond the song folder: any of ``chart, mid, gm-mid, musicxml, tab, json``.
    regenerate
        Rebuild the lower levels of an existing chart from its Expert.
    parts
        Extra two-player parts: ``"duet"``, ``"split"`` (written to the JSON).
    info
        Override song metadata.

    Returns
    -------
    list of Path
        Files written, inside ``out_dir``.
    """
    wanted = list(levels) if levels is not None else list(Difficulty)
    if not wanted:
        raise InvalidArgumentError("no levels requested")
    fmts = parse_formats(list(formats))
    chart, audio = load_source(source_path, info=info)
    full = prepare_chart(chart, levels=sorted(set(wanted), key=lambda d: d.rank), regenerate=regenerate,
                         parts=parts)
    out = Path(out_dir)
    with (atomic_output_dir(out) as tmp,
          tempfile.TemporaryDirectory(prefix=".backbeat-audio.", dir=tmp.parent) as scratch):
        playable = game_audio(audio, scratch) if audio is not None else None
        if playable is not None:
            full = replace(full, info=replace(full.info, audio_file=f"song{playable.suffix.lower()}"))
        write_song_folder(full, tmp, audio_path=playable)
        for fmt in fmts:
            _write_extra(full, fmt, tmp)
        written = sorted(p.name for p in tmp.iterdir() if p.is_file() and not p.name.startswith("."))
    return [out / name for name in written]
