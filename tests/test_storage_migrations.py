"""Schema migrations and refusing files that are not (our) databases."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from backbeat.core.errors import StorageError
from backbeat.storage import LATEST_VERSION, MIGRATIONS, Database, HitRecord, migrate


def _old_database(path: Path, version: int, *statements: str) -> Path:
    """A database file at an older schema version, with some rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=version) == version
    for sql in statements:
        conn.execute(sql)
    conn.close()
    return path


def test_upgrade_from_v1_keeps_data(tmp_path: Path) -> None:
    path = _old_database(
        tmp_path / "old.db", 1,
        "INSERT INTO songs (title, artist, audio_path, added_at, status) "
        "VALUES ('Old song', 'Old band', '', 1.0, 'ready')",
        "INSERT INTO players (name, created_at) VALUES ('Ann', 1.0)",
        "INSERT INTO sessions (song_id, settings, started_at) VALUES (1, '{}', 2.0)",
        "INSERT INTO hits (session_id, player_id, seq, time_s, pad, velocity, received_at) "
        "VALUES (1, 1, 0, 0.5, 1, 100, 3.0)")

    with Database(path) as db:
        assert db.schema_version == LATEST_VERSION == len(MIGRATIONS)
        assert db.get_song(1) is not None and db.get_song(1).title == "Old song"  # type: ignore[union-attr]
        (hit,) = db.hits(1)
        assert hit.time_s == 0.5 and hit.cymbal is None
        db.record_hits(1, 1, [HitRecord(seq=1, time_s=0.75, pad=2, cymbal=True)])
        assert db.hits(1)[1].cymbal is True
        db.save_replay(1, 1, "{}")  # v2 table exists
    with Database(path) as db:  # reopening an up-to-date file is a no-op
        assert db.count_hits(1) == 2


def test_upgrade_from_v2_adds_the_tempo_hint_of_pending_work(tmp_path: Path) -> None:
    path = _old_database(tmp_path / "v2.db", 2, "INSERT INTO songs (title, audio_path, added_at, status) "
                         "VALUES ('Half done', '/music/a.flac', 1.0, 'analysing')")

    with Database(path) as db:
        assert db.schema_version == LATEST_VERSION >= 3
        song = db.get_song(1)
        assert song is not None and song.status == "analysing" and song.tempo_hint_bpm is None
        assert db.update_song(1, tempo_hint_bpm=128.0).tempo_hint_bpm == 128.0
    with Database(path) as db:
        assert db.list_songs(status="analysing")[0].tempo_hint_bpm == 128.0


def test_failed_migration_step_leaves_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "clash.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=1)
    conn.execute("CREATE TABLE replays (x INTEGER)")  # a clash makes step 2 fail
    with pytest.raises(StorageError, match="from schema v1 to v2"):
        migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    cols = [r[1] for r in conn.execute("PRAGMA table_info(hits)")]
    assert "cymbal" not in cols  # the step's ALTER was rolled back
    conn.close()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer Backbeat"):
        Database(path)


def test_corrupt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StorageError, match=r"corrupt\.db.*not a Backbeat database or damaged"):
        Database(path)


def test_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.db"
    with Database(path) as db:
        for i in range(200):
            db.add_song(title=f"song {i}" * 20)
    data = path.read_bytes()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(data[:100] + b"\xff" * 50 + data[150:])  # smash the header
    with pytest.raises(StorageError):
        Database(path)


def test_damaged_pages_give_storage_errors(tmp_path: Path) -> None:
    path = tmp_path / "pages.db"
    with Database(path) as db:
        for i in range(300):
            db.add_song(title=f"song number {i} " * 10, artist="band " * 10)
        db.check_integrity()
        db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for k in range(2, len(data) // page):  # smash the middle of every page after the first two
        mid = k * page + page // 2
        data[mid:mid + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"pages\.db"):
        with Database(path) as db:
            db.check_integrity()
    try:
        with Database(path) as db:
            db.list_songs()
    except StorageError:
        pass  # reading damaged pages is reported as a StorageError, never a raw sqlite3 error


def test_directory_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        Database(tmp_path)
    with pytest.raises(StorageError, match="does not exist"):
        Database(tmp_path / "nope" / "x.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_unwritable_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    Database(path).close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(StorageError, match=r"ro\.db"):
            db = Database(path)
            db.add_song(title="x")
    finally:
        tmp_path.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_database_locked_by_another_program(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    Database(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with Database(path, timeout_s=0.05) as db:
            with pytest.raises(StorageError, match=r"locked\.db: cannot add song \(database is locked\)"):
                db.add_song(title="x")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Database(path) as db:
        assert db.add_song(title="x").id == 1


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_location_where_no_file_can_be_created() -> None:
    # Works even as root, unlike file permissions.
    with pytest.raises(StorageError, match=r"/proc/backbeat-test\.db: cannot open database"):
        Database("/proc/backbeat-test.db")


def test_memory_database() -> None:
    with Database(":memory:") as db:
        assert db.add_song(title="m").id == 1
