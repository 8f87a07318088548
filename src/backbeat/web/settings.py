"""Settings of the play server (one frozen value, built by the CLI or by tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from backbeat.core.errors import InvalidArgumentError

#: Default upload limit: 200 MB is several long lossless songs.
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def default_data_dir() -> Path:
    """``$BACKBEAT_DATA_DIR`` or ``~/.local/share/backbeat``."""
    env = os.environ.get("BACKBEAT_DATA_DIR")
    return Path(env) if env else Path.home() / ".local" / "share" / "backbeat"


@dataclass(frozen=True)
class ServerSettings:
    """Where the server keeps its data and how it limits clients.

    Attributes
    ----------
    data_dir
        Uploaded audio and generated charts live under ``data_dir / "songs"``.
    db_path
        SQLite database file (default ``data_dir / "backbeat.db"``).
    host, port
        Address to listen on (used by ``backbeat serve``).
    max_upload_bytes
        Larger uploads are refused with HTTP 413 while streaming.
    add_demo
        Add the bundled demo song to the library at start-up if absent.
    workers
        Processes for analysis and charting.
    allowed_import_dirs
        Directories from which songs may be added by server-side path (empty:
        any readable path; the server is meant for localhost).
    """

    data_dir: Path = field(default_factory=default_data_dir)
    db_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    add_demo: bool = True
    workers: int = 1
    allowed_import_dirs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1024:
            raise InvalidArgumentError(
                f"upload limit must be at least 1 KB, got {self.max_upload_bytes} bytes")
        if not 0 <= self.port <= 65535:
            raise InvalidArgumentError(f"port {self.port} outside 0-65535")
        if self.workers < 1:
            raise InvalidArgumentError(f"workers must be at least 1, got {self.workers}")

    @property
    def database_path(self) -> Path:
        """The SQLite file actually used."""
        return self.db_path if self.db_path is not None else self.data_dir / "backbeat.db"

    @property
    def songs_dir(self) -> Path:
        """Where uploaded audio and generated charts are stored."""
        return self.data_dir / "songs"
