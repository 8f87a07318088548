"""One door for chart files: :func:`read_chart`, :func:`write_chart`, :func:`write_song_folder`."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from backbeat.core.chart import MAIN_PART, Chart, SongInfo, timed_notes
from backbeat.core.difficulty import GAME_DIFFICULTIES, Difficulty
from backbeat.core.errors import ChartFormatError, InvalidArgumentError
from backbeat.formats.atomic import OutputWriteError, atomic_write_bytes
from backbeat.formats.chart_json import chart_to_json_text, read_chart_json
from backbeat.formats.clone_hero_chart import chart_to_bytes, read_clone_hero_chart
from backbeat.formats.gm_midi import chart_from_gm_midi, chart_to_gm_midi
from backbeat.formats.midi_file import parse_midi
from backbeat.formats.rb_midi import chart_from_rb_midi, chart_to_rb_midi, is_rb_drum_midi
from backbeat.formats.song_ini import SongIni, read_song_ini, read_song_yml, song_ini_text
from backbeat.formats.text_io import read_bytes

#: Output formats of :func:`write_chart`, with their usual file suffix.
FORMAT_SUFFIX: dict[str, str] = {
    "chart": ".chart",
    "mid": ".mid",
    "gm-mid": ".mid",
    "musicxml": ".musicxml",
    "tab": ".txt",
    "json": ".json",
}
#: File name of the full-fidelity JSON in a song folder (Beginner, extra parts).
FOLDER_JSON = "backbeat.json"
#: Audio suffixes Clone Hero / YARG play.
GAME_AUDIO_SUFFIXES = (".ogg", ".opus", ".mp3", ".wav")


def _find(folder: Path, *names: str) -> Path | None:
    lower = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _song_ini_beside(path: Path) -> SongIni | None:
    ini = _find(path.parent, "song.ini")
    if ini is not None:
        return read_song_ini(ini)
    yml = _find(path.parent, "song.yml")
    if yml is not None:
        try:
            return read_song_yml(yml)
        except ImportError:
            return None
    return None


def _merge_info(chart_info: SongInfo, ini: SongIni | None) -> SongInfo:
    if ini is None:
        return chart_info
    base = SongInfo()
    changes = {}
    for field_name in ("name", "artist", "charter", "album", "genre", "year", "preview_start_s",
                       "delay_ms", "length_s"):
        v = getattr(ini.info, field_name)
        if v != getattr(base, field_name) and v not in ("", 0, 0.0):
            changes[field_name] = v
    return replace(chart_info, **changes)


def read_chart(path: str | Path) -> Chart:
    """Read any chart Backbeat knows, dispatching on the file type.

    Parameters
    ----------
    path
        A ``.chart``; a ``.mid`` with a ``PART DRUMS`` track (Rock Band / Clone Hero) or
        without one (General MIDI drums, read as one Expert track); a Backbeat ``.json``;
        a ``.musicxml``/``.xml`` score; a drum tab ``.txt``/``.tab``; or a song folder
        holding ``notes.mid`` or ``notes.chart`` (``notes.mid`` wins when both exist, as in
        Clone Hero) with ``song.ini``/``song.yml`` metadata. A folder's ``backbeat.json``
        adds the tracks the game files cannot hold (Beginner, extra parts).

    Returns
    -------
    Chart

    Raises
    ------
    ChartFormatError
        If the file is missing, of an unknown type, or malformed.
    """
    p = Path(path)
    if p.is_dir():
        return _read_folder(p)
    if not p.exists():
        raise ChartFormatError(p, "file not found")
    suffix = p.suffix.lower()
    ini = _song_ini_beside(p) if suffix in (".chart", ".mid", ".midi") else None
    if suffix == ".chart":
        chart = read_clone_hero_chart(p)
        return replace(chart, info=_merge_info(chart.info, ini))
    if suffix in (".mid", ".midi"):
        midi = parse_midi(read_bytes(p), path=p)
        if is_rb_drum_midi(midi):
            chart = chart_from_rb_midi(midi, p, pro_drums=ini.pro_drums if ini else None)
        else:
            chart = chart_from_gm_midi(midi, p)
        return replace(chart, info=_merge_info(chart.info, ini))
    if suffix == ".json":
        return read_chart_json(p)
    if suffix in (".musicxml", ".xml"):
        from backbeat.formats.musicxml import read_musicxml

        return read_musicxml(p)
    if suffix in (".txt", ".tab"):
        from backbeat.formats.drum_tab import read_drum_tab

        return read_drum_tab(p)
    raise ChartFormatError(p, f"unknown chart file type {suffix or '(no suffix)'!r}; expected .chart, "
                              ".mid, .json, .musicxml, .txt or a song folder")


def _read_folder(folder: Path) -> Chart:
    chart_file = _find(folder, "notes.mid", "notes.chart")
    if chart_file is None:
        candidates = sorted(q for q in folder.iterdir()
                            if q.is_file() and q.suffix.lower() in (".chart", ".mid"))
        if len(candidates) == 1:
            chart_file = candidates[0]
    full = _find(folder, FOLDER_JSON)
    if chart_file is None:
        if full is not None:
            return read_chart_json(full)
        raise ChartFormatError(folder, "song folder has no notes.mid or notes.chart")
    chart = read_chart(chart_file)
    if full is not None:
        extra = read_chart_json(full)
        if extra.tempo_map.resolution == chart.tempo_map.resolution:
            tracks = dict(chart.tracks)
            for key, tr in extra.tracks.items():
                if key not in tracks:
                    tracks[key] = replace(tr, notes=timed_notes(tr.notes, chart.tempo_map))
            chart = replace(chart, tracks=tracks)
    audio = chart.info.audio_file
    if not audio or not (folder / audio).is_file():
        found = _find(folder, *(f"song{sfx}" for sfx in GAME_AUDIO_SUFFIXES))
        chart = replace(chart, info=replace(chart.info, audio_file=found.name if found else ""))
    return chart


def chart_bytes(chart: Chart, *, fmt: str, difficulty: Difficulty = Difficulty.EXPERT,
                part: str = MAIN_PART) -> bytes:
    """The file content of ``chart`` in format ``fmt`` (see :data:`FORMAT_SUFFIX`).

    ``difficulty``/``part`` choose the track for one-track formats (gm-mid, musicxml, tab);
    ``part`` chooses the part for ``chart``/``mid``.
    """
    if fmt == "chart":
        return chart_to_bytes(chart, part=part)
    if fmt == "mid":
        return chart_to_rb_midi(chart, part=part)
    if fmt == "gm-mid":
        return chart_to_gm_midi(chart, difficulty=difficulty, part=part)
    if fmt == "json":
        return chart_to_json_text(chart).encode("utf-8")
    if fmt == "musicxml":
        from backbeat.formats.musicxml import chart_to_musicxml

        return chart_to_musicxml(chart, difficulty=difficulty, part=part).encode("utf-8")
    if fmt == "tab":
        from backbeat.formats.drum_tab import chart_to_tab

        return chart_to_tab(chart, difficulty=difficulty, part=part).encode("utf-8")
    raise InvalidArgumentError(f"unknown chart format {fmt!r}; expected one of {', '.join(FORMAT_SUFFIX)}")


def write_chart(chart: Chart, path: str | Path, *, fmt: str, difficulty: Difficulty = Difficulty.EXPERT,
                part: str = MAIN_PART) -> Path:
    """Write ``chart`` to ``path`` in format ``fmt`` atomically (see :func:`chart_bytes`).

    Returns
    -------
    Path
        The written file.
    """
    data = chart_bytes(chart, fmt=fmt, difficulty=difficulty, part=part)
    return atomic_write_bytes(path, data)


def drum_difficulty_estimate(chart: Chart, *, part: str = MAIN_PART) -> int:
    """``diff_drums`` for ``song.ini`` (0-6) from the Expert note rate; -1 without an Expert track."""
    tr = chart.tracks.get((part, Difficulty.EXPERT))
    if tr is None or not tr.notes:
        return -1
    span_s = max(1.0, tr.notes[-1].time_s - tr.notes[0].time_s)
    per_s = len(tr.notes) / span_s
    for level, limit in enumerate((1.5, 3.0, 4.5, 6.0, 7.5, 9.0)):
        if per_s < limit:
            return level
    return 6


def write_song_folder(chart: Chart, out_dir: str | Path, *, audio_path: str | Path | None = None,
                      part: str = MAIN_PART, formats: tuple[str, ...] = ("chart", "mid")) -> list[Path]:
    """Write a Clone Hero / YARG song folder.

    Writes ``notes.chart`` and/or ``notes.mid`` (``formats``), ``song.ini``
    (``pro_drums = True``), ``backbeat.json`` (every track, including Beginner
    and extra parts, which the game files have no slot for) and, when
    ``audio_path`` is given, a copy of the audio as ``song.<ext>``. Every file
    is rendered before the first is written and each is replaced atomically.

    Note: with both ``notes.chart`` and ``notes.mid`` present, Clone Hero uses
    ``notes.mid`` and some scanners flag the folder; pass ``formats=("mid",)``
    for a folder with one chart file. A ``notes.chart``/``notes.mid`` already in
    the folder but not in ``formats`` is removed, so no stale chart shadows the new one.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InvalidArgumentError
        If ``formats`` names something other than ``chart``/``mid``.
    OutputWriteError
        If the folder cannot be written or the audio cannot be copied.
    """
    out = Path(out_dir)
    bad = [f for f in formats if f not in ("chart", "mid")]
    if bad or not formats:
        raise InvalidArgumentError(f"song folder formats must be 'chart' and/or 'mid', got {formats!r}")
    audio = Path(audio_path) if audio_path is not None else None
    if audio is not None and not audio.is_file():
        raise OutputWriteError(f"{audio}: audio file not found")
    info = chart.info
    if audio is not None:
        info = replace(info, audio_file=f"song{audio.suffix.lower()}")
    if info.length_s <= 0:
        last = max((t.notes[-1].time_s for t in chart.tracks.values() if t.notes), default=0.0)
        info = replace(info, length_s=round(last + 2.0, 3))
    chart = replace(chart, info=info)
    if not any((part, d) in chart.tracks for d in GAME_DIFFICULTIES):
        raise InvalidArgumentError(f"chart has no {part} track at Easy-Expert to write to a song folder")
    files: list[tuple[str, bytes]] = []
    if "chart" in formats:
        files.append(("notes.chart", chart_to_bytes(chart, part=part)))
    if "mid" in formats:
        files.append(("notes.mid", chart_to_rb_midi(chart, part=part)))
    files.append(("song.ini", song_ini_text(info, diff_drums=drum_difficulty_estimate(chart, part=part))
                  .encode("utf-8")))
    files.append((FOLDER_JSON, chart_to_json_text(chart).encode("utf-8")))
    written = [atomic_write_bytes(out / name, data) for name, data in files]
    for fmt, name in (("chart", "notes.chart"), ("mid", "notes.mid")):
        if fmt not in formats and (out / name).is_file():
            # A stale chart file left from an earlier write would shadow the new one in games.
            try:
                (out / name).unlink()
            except OSError as exc:
                raise OutputWriteError(f"{out / name}: cannot remove stale chart ({exc.strerror})") from None
    if audio is not None:
        written.append(_copy_atomic(audio, out / info.audio_file))
    return written


def _copy_atomic(src: Path, dst: Path) -> Path:
    try:
        if dst.exists() and os.path.samefile(src, dst):
            return dst
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dst)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputWriteError(f"{dst}: cannot copy audio from {src} ({exc.strerror or exc})") from None
    return dst


