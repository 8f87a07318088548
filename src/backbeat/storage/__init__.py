"""SQLite storage (see docs/ARCHITECTURE.md): :class:`Database` and its typed rows."""

from backbeat.storage.database import MAX_HIT_BATCH, Database, migrate
from backbeat.storage.migrations import LATEST_VERSION, MIGRATIONS
from backbeat.storage.rows import (
    AnalysisRow,
    CalibrationRow,
    ChartRow,
    DeviceRow,
    HitRecord,
    HitRow,
    PlayerRow,
    PlayerSessionRow,
    ReplayRow,
    SessionPlayerRow,
    SessionRow,
    SongRow,
)

__all__ = [
    "LATEST_VERSION",
    "MAX_HIT_BATCH",
    "MIGRATIONS",
    "AnalysisRow",
    "CalibrationRow",
    "ChartRow",
    "Database",
    "DeviceRow",
    "HitRecord",
    "HitRow",
    "PlayerRow",
    "PlayerSessionRow",
    "ReplayRow",
    "SessionPlayerRow",
    "SessionRow",
    "SongRow",
    "migrate",
]
