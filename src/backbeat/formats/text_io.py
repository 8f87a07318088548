"""Reading text files the way real charts arrive: BOMs, odd encodings, size limits."""

from __future__ import annotations

from pathlib import Path

from backbeat.core.errors import ChartFormatError

#: Largest chart, MIDI or ini file Backbeat reads (real charts are well under 5 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_bytes(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole file with a size limit.

    Raises
    ------
    ChartFormatError
        If the file is missing, unreadable, a directory, or larger than ``max_bytes``.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise ChartFormatError(p, "is a directory, expected a file")
        if size > max_bytes:
            raise ChartFormatError(p, f"file is {size} bytes, larger than the {max_bytes}-byte limit")
        return p.read_bytes()
    except FileNotFoundError:
        raise ChartFormatError(p, "file not found") from None
    except OSError as exc:
        raise ChartFormatError(p, f"cannot read file ({exc.strerror or exc})") from None


def decode_text(data: bytes) -> str:
    """Decode chart/ini text: UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1.

    Latin-1 never fails, so a file saved by an old Windows editor still opens
    (accented names may look slightly wrong, notes are unaffected).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
