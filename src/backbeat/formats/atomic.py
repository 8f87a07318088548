"""Atomic file output: write to a temporary file beside the target, then rename.

Readers of a target path never see a half-written file: either the old
content or the complete new content. Everyone in Backbeat who writes user
files goes through these helpers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from backbeat.core.errors import BackbeatError


class OutputWriteError(BackbeatError):
    """An output file or directory could not be written."""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path
        Target file; its parent directory is created if missing.
    data
        Bytes to write.
    fsync
        Flush the file (and directory) to disk before returning.

    Returns
    -------
    Path
        The target path.

    Raises
    ------
    OutputWriteError
        If the directory cannot be created or the file cannot be written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputWriteError(f"{target}: cannot write ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputWriteError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8",
                      newline: str = "\n", fsync: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path
        Target file.
    text
        Text to write; ``"\\n"`` line ends are translated to ``newline``.
    encoding
        Text encoding (UTF-8 by default).
    newline
        Line terminator written for each ``"\\n"`` (``"\\r\\n"`` for Windows-style files).
    fsync
        Flush to disk before returning.

    Returns
    -------
    Path
        The target path.
    """
    if newline != "\n":
        text = text.replace("\n", newline)
    return atomic_write_bytes(path, text.encode(encoding), fsync=fsync)


@contextlib.contextmanager
def atomic_output_dir(path: str | Path, *, replace_existing: bool = True) -> Iterator[Path]:
    """Build a directory atomically.

    Yields a fresh temporary directory next to ``path``; fill it, and on a
    clean exit it is renamed to ``path`` (an existing directory at ``path``
    is replaced when ``replace_existing``). On an exception the temporary
    directory is removed and ``path`` is left untouched.

    Parameters
    ----------
    path
        Final directory.
    replace_existing
        Replace an existing directory; otherwise raise if it exists.

    Yields
    ------
    Path
        The temporary directory to write into.

    Raises
    ------
    OutputWriteError
        If ``path`` exists and may not be replaced, or the rename fails.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputWriteError(f"{target}: exists and is not a directory")
    if target.exists() and not replace_existing:
        raise OutputWriteError(f"{target}: directory already exists")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise OutputWriteError(f"{target}: cannot create directory ({exc.strerror or exc})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except OSError:
                os.replace(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputWriteError(f"{target}: cannot write directory ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
