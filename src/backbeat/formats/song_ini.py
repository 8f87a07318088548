"""``song.ini`` (Clone Hero / YARG / Phase Shift song metadata) and Onyx ``song.yml``.

The reader is tolerant the way the games are: any case for section and keys,
spaces around ``=``, a UTF-8 BOM, ``;``/``#`` comments, Latin-1 text. Times in
the file are milliseconds (``preview_start_time``, ``delay``, ``song_length``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backbeat.core.chart import SongInfo
from backbeat.core.errors import ChartFormatError
from backbeat.formats.text_io import decode_text, read_bytes

#: Largest song.ini accepted (real ones are under 2 KB).
MAX_INI_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SongIni:
    """What ``song.ini`` says: the song info plus the drum flags games read.

    Attributes
    ----------
    info
        Name, artist, charter, times...
    pro_drums
        ``True``/``False`` when the file says so, else ``None``.
    five_lane_drums
        ``True`` for 5-lane charts.
    diff_drums
        Drum difficulty 0-6, -1 for "no drums" (real files sometimes say -1 wrongly).
    extra
        Every other key, lower-cased, as text.
    """

    info: SongInfo
    pro_drums: bool | None = None
    five_lane_drums: bool = False
    diff_drums: int = -1
    extra: dict[str, str] = field(default_factory=dict)


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off", ""):
        return False
    return None


def _num(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_song_ini(text: str, *, path: str | Path = "song.ini") -> SongIni:
    """Parse ``song.ini`` text.

    Keys outside a ``[song]`` section are ignored; a file with no ``[song]``
    section at all is read as if its keys were in one.

    Raises
    ------
    ChartFormatError
        If a numeric time field is not a number.
    """
    values: dict[str, str] = {}
    section: str | None = None
    saw_song = False
    loose: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line[0] in ";#" or line.startswith("//"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            saw_song = saw_song or section == "song"
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        k = key.strip().lower()
        if section == "song":
            values[k] = value.strip()
        elif section is None:
            loose[k] = value.strip()
    if not saw_song:
        values = loose

    def ms(key: str) -> float:
        if key not in values or values[key] == "":
            return 0.0
        n = _num(values[key])
        if n is None:
            raise ChartFormatError(path, f"{key} = {values[key][:20]!r} is not a number of milliseconds")
        return n

    info = SongInfo(
        name=values.get("name", "") or "Unknown song",
        artist=values.get("artist", "") or "Unknown artist",
        charter=values.get("charter", values.get("frets", "")),
        album=values.get("album", ""),
        genre=values.get("genre", ""),
        year=values.get("year", "").lstrip(", ").strip(),
        preview_start_s=max(0.0, ms("preview_start_time") / 1000.0),
        delay_ms=round(ms("delay")),
        length_s=max(0.0, ms("song_length") / 1000.0),
    )
    diff = _num(values.get("diff_drums", "-1"))
    known = {"name", "artist", "charter", "album", "genre", "year", "preview_start_time", "delay",
             "song_length", "pro_drums", "five_lane_drums", "diff_drums"}
    return SongIni(
        info=info,
        pro_drums=_bool(values["pro_drums"]) if "pro_drums" in values else None,
        five_lane_drums=bool(_bool(values.get("five_lane_drums", "false"))),
        diff_drums=int(diff) if diff is not None else -1,
        extra={k: v for k, v in values.items() if k not in known},
    )


def read_song_ini(path: str | Path) -> SongIni:
    """Read a ``song.ini`` file (see :func:`parse_song_ini`)."""
    return parse_song_ini(decode_text(read_bytes(path, max_bytes=MAX_INI_BYTES)), path=path)


def read_song_yml(path: str | Path) -> SongIni:
    """Read the metadata of an Onyx ``song.yml`` (title, artist, author, album, genre, year).

    Raises
    ------
    ChartFormatError
        If the YAML cannot be parsed.
    """
    import yaml  # optional: only needed for Onyx projects

    try:
        doc = yaml.safe_load(decode_text(read_bytes(path, max_bytes=MAX_INI_BYTES)))
    except yaml.YAMLError as exc:
        raise ChartFormatError(path, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    meta = doc.get("metadata", {}) if isinstance(doc, dict) else {}
    if not isinstance(meta, dict):
        meta = {}
    info = SongInfo(
        name=str(meta.get("title") or "Unknown song"),
        artist=str(meta.get("artist") or "Unknown artist"),
        charter=str(meta.get("author") or ""),
        album=str(meta.get("album") or ""),
        genre=str(meta.get("genre") or ""),
        year=str(meta.get("year") or ""),
    )
    return SongIni(info=info, pro_drums=True)


def song_ini_text(info: SongInfo, *, diff_drums: int = -1, pro_drums: bool = True,
                  extra: dict[str, str] | None = None) -> str:
    """``song.ini`` text for ``info`` (times written in milliseconds)."""

    def clean(v: str) -> str:
        return " ".join(str(v).split())

    lines = [
        "[song]",
        f"name = {clean(info.name)}",
        f"artist = {clean(info.artist)}",
        f"charter = {clean(info.charter)}",
        f"album = {clean(info.album)}",
        f"genre = {clean(info.genre)}",
        f"year = {clean(info.year)}",
        f"diff_drums = {diff_drums}",
        f"pro_drums = {'True' if pro_drums else 'False'}",
        "five_lane_drums = False",
        f"preview_start_time = {round(info.preview_start_s * 1000)}",
        f"delay = {info.delay_ms}",
        f"song_length = {round(info.length_s * 1000)}",
    ]
    for k, v in (extra or {}).items():
        lines.append(f"{clean(k).lower()} = {clean(v)}")
    return "\n".join(lines) + "\n"
