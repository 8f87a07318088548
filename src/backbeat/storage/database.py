"""SQLite storage of songs, analyses, charts, players, devices, sessions, hits and replays.

One :class:`Database` wraps one SQLite connection in WAL mode with foreign
keys on and ``synchronous=NORMAL``: every committed transaction survives the
process being killed (only a power cut may lose the last few). Each write
method is one transaction; :meth:`Database.record_hits` commits every batch
as it arrives, so a killed server loses no hit that reached it.

Thread-safety: the connection is shared and guarded by a lock, so one
``Database`` may be used from several threads (e.g. a web server's executor).
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backbeat.core.errors import InvalidArgumentError, StorageError
from backbeat.core.kit import Pad
from backbeat.engine.inputs import InputHit
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

#: Most hits accepted in one :meth:`Database.record_hits` call.
MAX_HIT_BATCH = 10_000
_INSERT_HIT = ("INSERT INTO hits (session_id, player_id, seq, time_s, pad, velocity, cymbal, judgment, "
               "offset_ms, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT(session_id, player_id, seq) DO NOTHING")

#: Columns of a :class:`SongRow`, in its field order.
_SONG_COLUMNS = "id, title, artist, audio_path, duration_s, added_at, status, tempo_hint_bpm"

#: Hit rows per INSERT statement in :meth:`Database.record_hit_rows` (10 parameters each).
_HIT_ROWS_PER_INSERT = 64


@functools.lru_cache(maxsize=_HIT_ROWS_PER_INSERT)
def _insert_hits_sql(n_rows: int) -> str:
    head, _, tail = _INSERT_HIT.partition(" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    return head + " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * n_rows) + tail


JsonLike = dict[str, Any] | list[Any] | str


class Database:
    """The Backbeat database.

    Parameters
    ----------
    path
        SQLite file (created with its tables if missing; migrated if older).
        ``":memory:"`` gives a private in-memory database (tests).
    timeout_s
        How long to wait for another process's write lock.
    clock
        Wall-clock function for ``added_at`` / ``created_at`` / ``received_at``
        stamps (seconds since the epoch).

    Raises
    ------
    StorageError
        If the file is not a database, is damaged, cannot be written, or was
        written by a newer Backbeat.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        if self.path != ":memory:":
            p = Path(self.path)
            if p.is_dir():
                raise StorageError(f"{self.path}: is a directory, not a database file")
            if not p.parent.is_dir():
                raise StorageError(f"{self.path}: folder {p.parent} does not exist")
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: cannot open database ({exc})") from None
        try:
            self._setup()
        except BaseException:
            self._conn.close()
            raise

    # ----------------------------------------------------------- lifecycle

    def _setup(self) -> None:
        conn = self._conn
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > LATEST_VERSION:
                raise StorageError(
                    f"{self.path}: database schema v{version} was written by a newer Backbeat "
                    f"(this version reads up to v{LATEST_VERSION}); upgrade Backbeat"
                )
            if self.path != ":memory:":
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StorageError(f"{self.path}: cannot switch the database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.OperationalError as exc:
            # Read-only file or folder, locked by another program, disk full...
            raise StorageError(f"{self.path}: cannot open the database for writing ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path}: not a Backbeat database or damaged ({exc})") from None
        migrate(conn, path=self.path)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open database."""
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def check_integrity(self) -> None:
        """Run SQLite's quick check of every page and index.

        Opening a database checks only its header; call this (e.g. at server
        start) to find damage deeper in the file.

        Raises
        ------
        StorageError
            Naming the file and the first problems SQLite reports.
        """
        with self._read() as c:
            rows = [str(r[0]) for r in c.execute("PRAGMA quick_check(5)")]
        if rows != ["ok"]:
            raise StorageError(f"{self.path}: the database is damaged: {'; '.join(rows)}")

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; sqlite errors become StorageError naming ``what``."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: cannot {what} ({exc})") from None
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise StorageError(f"{self.path}: cannot {what}: {_integrity_message(exc)}") from None
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StorageError(f"{self.path}: cannot {what} ({exc})") from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: cannot read ({exc})") from None

    def _now(self) -> float:
        return float(self._clock())

    # --------------------------------------------------------------- songs

    def add_song(self, *, title: str, artist: str = "", audio_path: str = "",
                 duration_s: float | None = None, status: str = "new") -> SongRow:
        """Add a song to the library."""
        _text("title", title, allow_empty=False)
        _text("artist", artist)
        _text("audio_path", audio_path)
        _text("status", status, allow_empty=False)
        _opt_number("duration_s", duration_s)
        with self._tx("add song") as c:
            cur = c.execute(
                "INSERT INTO songs (title, artist, audio_path, duration_s, added_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (title, artist, audio_path, duration_s, self._now(), status),
            )
            song_id = int(cur.lastrowid or 0)
        song = self.get_song(song_id)
        if song is None:  # pragma: no cover - just inserted
            raise StorageError(f"{self.path}: song vanished after insert")
        return song

    def get_song(self, song_id: int) -> SongRow | None:
        """A song by id, or None."""
        with self._read() as c:
            r = c.execute(f"SELECT {_SONG_COLUMNS} FROM songs WHERE id = ?", (song_id,)).fetchone()
        return None if r is None else SongRow(*r)

    def list_songs(self, *, status: str | None = None) -> list[SongRow]:
        """All songs (optionally with one status), oldest first."""
        sql = f"SELECT {_SONG_COLUMNS} FROM songs"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        with self._read() as c:
            return [SongRow(*r) for r in c.execute(sql + " ORDER BY id", args)]

    def update_song(self, song_id: int, *, title: str | None = None, artist: str | None = None,
                    duration_s: float | None = None, status: str | None = None,
                    tempo_hint_bpm: float | None = None, clear_tempo_hint: bool = False) -> SongRow:
        """Change some fields of a song (None leaves a field as it is).

        Parameters
        ----------
        song_id
            The song.
        title, artist, duration_s, status
            New values.
        tempo_hint_bpm
            Store the tempo hint of the song's pending re-analysis.
        clear_tempo_hint
            Forget the stored tempo hint (the re-analysis has finished).

        Raises
        ------
        StorageError
            If there is no such song, a value is invalid, or both ``tempo_hint_bpm``
            and ``clear_tempo_hint`` are given.
        """
        fields: dict[str, Any] = {}
        if title is not None:
            fields["title"] = _text("title", title, allow_empty=False)
        if artist is not None:
            fields["artist"] = _text("artist", artist)
        if duration_s is not None:
            fields["duration_s"] = _opt_number("duration_s", duration_s)
        if status is not None:
            fields["status"] = _text("status", status, allow_empty=False)
        if tempo_hint_bpm is not None:
            if clear_tempo_hint:
                raise StorageError("give either tempo_hint_bpm or clear_tempo_hint, not both")
            fields["tempo_hint_bpm"] = _number("tempo_hint_bpm", tempo_hint_bpm)
        elif clear_tempo_hint:
            fields["tempo_hint_bpm"] = None
        with self._tx("update song") as c:
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                cur = c.execute(f"UPDATE songs SET {sets} WHERE id = ?", (*fields.values(), song_id))
                missing = cur.rowcount == 0
            else:
                missing = c.execute("SELECT 1 FROM songs WHERE id = ?", (song_id,)).fetchone() is None
            if missing:
                raise StorageError(f"{self.path}: no song with id {song_id}")
        song = self.get_song(song_id)
        if song is None:  # pragma: no cover - concurrent delete
            raise StorageError(f"{self.path}: no song with id {song_id}")
        return song

    def delete_song(self, song_id: int) -> bool:
        """Delete a song with its analyses and charts (sessions keep their hits). True if it existed."""
        with self._tx("delete song") as c:
            return c.execute("DELETE FROM songs WHERE id = ?", (song_id,)).rowcount > 0

    # ---------------------------------------------------- analyses, charts

    def save_analysis(self, song_id: int, analysis: JsonLike) -> AnalysisRow:
        """Store an analysis (a JSON-able object or JSON text) for a song."""
        text = _json_text("analysis", analysis)
        now = self._now()
        with self._tx(f"save analysis of song {song_id}") as c:
            cur = c.execute("INSERT INTO analyses (song_id, json, created_at) VALUES (?, ?, ?)",
                            (song_id, text, now))
            return AnalysisRow(int(cur.lastrowid or 0), song_id, text, now)

    def latest_analysis(self, song_id: int) -> AnalysisRow | None:
        """The most recent analysis of a song, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, song_id, json, created_at FROM analyses WHERE song_id = ? "
                          "ORDER BY id DESC LIMIT 1", (song_id,)).fetchone()
        return None if r is None else AnalysisRow(*r)

    def save_chart(self, song_id: int, chart: JsonLike, *, levels: Sequence[str] = ()) -> ChartRow:
        """Store a chart (chart JSON object or text) and the names of the levels it holds."""
        text = _json_text("chart", chart)
        lv = tuple(_text("level", x, allow_empty=False) for x in levels)
        now = self._now()
        with self._tx(f"save chart of song {song_id}") as c:
            cur = c.execute("INSERT INTO charts (song_id, json, levels, created_at) VALUES (?, ?, ?, ?)",
                            (song_id, text, ",".join(lv), now))
            return ChartRow(int(cur.lastrowid or 0), song_id, text, lv, now)

    def latest_chart(self, song_id: int) -> ChartRow | None:
        """The most recent chart of a song, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, song_id, json, levels, created_at FROM charts WHERE song_id = ? "
                          "ORDER BY id DESC LIMIT 1", (song_id,)).fetchone()
        return None if r is None else _chart_row(r)

    def get_chart(self, chart_id: int) -> ChartRow | None:
        """A chart by id, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, song_id, json, levels, created_at FROM charts WHERE id = ?",
                          (chart_id,)).fetchone()
        return None if r is None else _chart_row(r)

    # ------------------------------------------------------------- players

    def add_player(self, name: str) -> PlayerRow:
        """Add a player, or return the existing one with that name."""
        _text("name", name, allow_empty=False)
        with self._tx(f"add player {name!r}") as c:
            c.execute("INSERT INTO players (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                      (name, self._now()))
            r = c.execute("SELECT id, name, created_at FROM players WHERE name = ?", (name,)).fetchone()
        return PlayerRow(*r)

    def get_player(self, player_id: int) -> PlayerRow | None:
        """A player by id, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, name, created_at FROM players WHERE id = ?", (player_id,)).fetchone()
        return None if r is None else PlayerRow(*r)

    def list_players(self) -> list[PlayerRow]:
        """All players, by id."""
        with self._read() as c:
            return [PlayerRow(*r) for r in c.execute("SELECT id, name, created_at FROM players ORDER BY id")]

    # ---------------------------------------------- devices, calibrations

    def add_device(self, name: str, kind: str) -> DeviceRow:
        """Add a device, or return the existing one with that name and kind."""
        _text("name", name, allow_empty=False)
        _text("kind", kind, allow_empty=False)
        with self._tx(f"add device {name!r}") as c:
            c.execute("INSERT INTO devices (name, kind) VALUES (?, ?) ON CONFLICT(name, kind) DO NOTHING",
                      (name, kind))
            r = c.execute("SELECT id, name, kind FROM devices WHERE name = ? AND kind = ?",
                          (name, kind)).fetchone()
        return DeviceRow(*r)

    def get_device(self, device_id: int) -> DeviceRow | None:
        """A device by id, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, name, kind FROM devices WHERE id = ?", (device_id,)).fetchone()
        return None if r is None else DeviceRow(*r)

    def list_devices(self) -> list[DeviceRow]:
        """All devices, by id."""
        with self._read() as c:
            return [DeviceRow(*r) for r in c.execute("SELECT id, name, kind FROM devices ORDER BY id")]

    def add_calibration(self, device_id: int, *, audio_offset_ms: float,
                        video_offset_ms: float) -> CalibrationRow:
        """Store a calibration of a device (offsets in real ms, kept apart)."""
        _number("audio_offset_ms", audio_offset_ms)
        _number("video_offset_ms", video_offset_ms)
        now = self._now()
        with self._tx(f"save calibration of device {device_id}") as c:
            cur = c.execute(
                "INSERT INTO calibrations (device_id, audio_offset_ms, video_offset_ms, created_at) "
                "VALUES (?, ?, ?, ?)", (device_id, audio_offset_ms, video_offset_ms, now))
            return CalibrationRow(int(cur.lastrowid or 0), device_id, float(audio_offset_ms),
                                  float(video_offset_ms), now)

    def latest_calibration(self, device_id: int) -> CalibrationRow | None:
        """The most recent calibration of a device, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, device_id, audio_offset_ms, video_offset_ms, created_at "
                          "FROM calibrations WHERE device_id = ? ORDER BY id DESC LIMIT 1",
                          (device_id,)).fetchone()
        return None if r is None else CalibrationRow(*r)

    def list_calibrations(self, device_id: int) -> list[CalibrationRow]:
        """Every calibration of a device, oldest first (to show drift over time)."""
        with self._read() as c:
            return [CalibrationRow(*r) for r in c.execute(
                "SELECT id, device_id, audio_offset_ms, video_offset_ms, created_at FROM calibrations "
                "WHERE device_id = ? ORDER BY id", (device_id,))]

    # ------------------------------------------------------------ sessions

    def create_session(self, song_id: int | None, *, settings: JsonLike | None = None) -> SessionRow:
        """Start a session on a song with its settings (JSON object or text)."""
        text = _json_text("session settings", {} if settings is None else settings)
        now = self._now()
        with self._tx(f"create session for song {song_id}") as c:
            cur = c.execute("INSERT INTO sessions (song_id, settings, started_at, status) "
                            "VALUES (?, ?, ?, 'active')", (song_id, text, now))
            return SessionRow(int(cur.lastrowid or 0), song_id, text, now, None, "active")

    def end_session(self, session_id: int, *, status: str = "finished") -> SessionRow:
        """Mark a session ended now with ``status``.

        Raises
        ------
        StorageError
            If there is no such session.
        """
        _text("status", status, allow_empty=False)
        with self._tx(f"end session {session_id}") as c:
            cur = c.execute("UPDATE sessions SET ended_at = ?, status = ? WHERE id = ?",
                            (self._now(), status, session_id))
            if cur.rowcount == 0:
                raise StorageError(f"{self.path}: no session with id {session_id}")
        row = self.get_session(session_id)
        if row is None:  # pragma: no cover - concurrent delete
            raise StorageError(f"{self.path}: no session with id {session_id}")
        return row

    def get_session(self, session_id: int) -> SessionRow | None:
        """A session by id, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, song_id, settings, started_at, ended_at, status FROM sessions "
                          "WHERE id = ?", (session_id,)).fetchone()
        return None if r is None else SessionRow(*r)

    def list_sessions(self, *, song_id: int | None = None, status: str | None = None) -> list[SessionRow]:
        """Sessions, newest first, optionally of one song and/or with one status."""
        where: list[str] = []
        args: list[Any] = []
        if song_id is not None:
            where.append("song_id = ?")
            args.append(song_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT id, song_id, settings, started_at, ended_at, status FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read() as c:
            return [SessionRow(*r) for r in c.execute(sql + " ORDER BY id DESC", args)]

    def add_session_player(self, session_id: int, player_id: int, *, part: str = "drums",
                           difficulty: str = "expert") -> SessionPlayerRow:
        """Seat a player in a session (again: updates part and level)."""
        _text("part", part, allow_empty=False)
        _text("difficulty", difficulty, allow_empty=False)
        with self._tx(f"add player {player_id} to session {session_id}") as c:
            c.execute(
                "INSERT INTO session_players (session_id, player_id, part, difficulty) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(session_id, player_id) DO UPDATE SET part = excluded.part, "
                "difficulty = excluded.difficulty", (session_id, player_id, part, difficulty))
            r = c.execute("SELECT session_id, player_id, part, difficulty, result FROM session_players "
                          "WHERE session_id = ? AND player_id = ?", (session_id, player_id)).fetchone()
        return SessionPlayerRow(*r)

    def set_player_result(self, session_id: int, player_id: int, result: JsonLike) -> None:
        """Store a player's result (e.g. ``PlayerResult.to_dict()``) in a session.

        Raises
        ------
        StorageError
            If the player is not seated in the session.
        """
        text = _json_text("result", result)
        with self._tx(f"save result of player {player_id} in session {session_id}") as c:
            cur = c.execute("UPDATE session_players SET result = ? WHERE session_id = ? AND player_id = ?",
                            (text, session_id, player_id))
            if cur.rowcount == 0:
                raise StorageError(f"{self.path}: player {player_id} is not in session {session_id}")

    def session_players(self, session_id: int) -> list[SessionPlayerRow]:
        """Players seated in a session, by player id."""
        with self._read() as c:
            return [SessionPlayerRow(*r) for r in c.execute(
                "SELECT session_id, player_id, part, difficulty, result FROM session_players "
                "WHERE session_id = ? ORDER BY player_id", (session_id,))]

    def player_sessions(self, player_id: int, *, song_id: int | None = None) -> list[PlayerSessionRow]:
        """Sessions a player took part in, oldest first (optionally on one song): progress over time."""
        sql = ("SELECT s.id, s.song_id, s.started_at, s.ended_at, s.status, sp.part, sp.difficulty, "
               "sp.result FROM session_players sp JOIN sessions s ON s.id = sp.session_id "
               "WHERE sp.player_id = ?")
        args: list[Any] = [player_id]
        if song_id is not None:
            sql += " AND s.song_id = ?"
            args.append(song_id)
        with self._read() as c:
            return [PlayerSessionRow(*r) for r in c.execute(sql + " ORDER BY s.started_at, s.id", args)]

    # ---------------------------------------------------------------- hits

    def record_hits(self, session_id: int, player_id: int, hits: Sequence[HitRecord]) -> int:
        """Store a batch of hits and commit it at once.

        A hit whose ``seq`` is already stored for this session and player is
        skipped, so retrying a batch is harmless.

        Returns
        -------
        int
            How many hits were new.

        Raises
        ------
        StorageError
            On an invalid hit, an unknown session/player, or a write failure
            (nothing of the batch is stored then).
        """
        self._check_batch_size(len(hits))
        now = self._now()
        rows = [_hit_params(session_id, player_id, h, now) for h in hits]
        if not rows:
            return 0
        with self._tx(f"record hits of player {player_id} in session {session_id}") as c:
            before = c.total_changes
            c.executemany(_INSERT_HIT, rows)
            return c.total_changes - before

    def _check_batch_size(self, n_hits: int) -> None:
        if n_hits > MAX_HIT_BATCH:
            raise StorageError(f"{self.path}: a hit batch holds at most {MAX_HIT_BATCH} hits, got {n_hits}")

    def record_hit_rows(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Store hits of any players and sessions, given as plain rows, in ONE statement and transaction.

        The live server's group commit: no record object per hit, and
        multi-row INSERT statements (:data:`_HIT_ROWS_PER_INSERT` rows each)
        for the whole round. Each row is ``(session_id,
        player_id, seq, time_s, pad, velocity, cymbal, judgment, offset_ms,
        received_at)``, checked by the rules of :class:`HitRecord`'s fields
        (``received_at`` None = now). As in :meth:`record_hits`, a hit whose
        ``seq`` is already stored for its session and player is skipped.

        Returns
        -------
        int
            How many hits were new.

        Raises
        ------
        StorageError
            On an invalid row, an unknown session/player in any row, more than
            :data:`MAX_HIT_BATCH` rows, or a write failure (nothing is stored then).
        """
        self._check_batch_size(len(rows))
        now = self._now()
        params = [_row_params(r, now) for r in rows]
        if not params:
            return 0
        with self._tx(f"record {len(params)} hits") as c:
            before = c.total_changes
            # Multi-row INSERTs rather than executemany: sqlite3 lets go of the GIL around every
            # statement step, and each step costs the event loop thread a GIL hand-over.
            for i in range(0, len(params), _HIT_ROWS_PER_INSERT):
                chunk = params[i:i + _HIT_ROWS_PER_INSERT]
                c.execute(_insert_hits_sql(len(chunk)), [x for row in chunk for x in row])
            return c.total_changes - before

    def set_hit_judgments(self, session_id: int, player_id: int,
                          judgments: Sequence[tuple[int, str, float | None]]) -> int:
        """Fill in ``(seq, judgment, offset_ms)`` of stored hits; returns how many rows changed."""
        params = []
        for seq, judgment, offset_ms in judgments:
            _text("judgment", judgment, allow_empty=False)
            _opt_number("offset_ms", offset_ms)
            params.append((judgment, offset_ms, session_id, player_id, seq))
        if not params:
            return 0
        with self._tx(f"save judgments of player {player_id} in session {session_id}") as c:
            before = c.total_changes
            c.executemany("UPDATE hits SET judgment = ?, offset_ms = ? "
                          "WHERE session_id = ? AND player_id = ? AND seq = ?", params)
            return c.total_changes - before

    def hits(self, session_id: int, *, player_id: int | None = None) -> list[HitRow]:
        """Stored hits of a session (optionally one player), by player then seq."""
        sql = ("SELECT session_id, player_id, seq, time_s, pad, velocity, cymbal, judgment, offset_ms, "
               "received_at FROM hits WHERE session_id = ?")
        args: list[Any] = [session_id]
        if player_id is not None:
            sql += " AND player_id = ?"
            args.append(player_id)
        with self._read() as c:
            out = []
            for r in c.execute(sql + " ORDER BY player_id, seq", args):
                cym = None if r[6] is None else bool(r[6])
                out.append(HitRow(r[0], r[1], r[2], r[3], r[4], r[5], cym, r[7], r[8], r[9]))
            return out

    def hit_inputs(self, session_id: int, player_id: int) -> list[InputHit]:
        """A player's stored hits as engine inputs (seq order), e.g. to re-score a session.

        Raises
        ------
        StorageError
            If a stored row cannot be an engine input (a damaged database).
        """
        out = []
        for h in self.hits(session_id, player_id=player_id):
            try:
                out.append(InputHit(time_s=h.time_s, pad=Pad(h.pad), velocity=max(1, h.velocity),
                                    cymbal=h.cymbal, seq=h.seq))
            except (InvalidArgumentError, ValueError) as exc:
                raise StorageError(f"{self.path}: stored hit {h.seq} of player {player_id} in session "
                                   f"{session_id} is invalid ({exc})") from None
        return out

    def count_hits(self, session_id: int, *, player_id: int | None = None) -> int:
        """Number of stored hits of a session (optionally one player)."""
        sql = "SELECT COUNT(*) FROM hits WHERE session_id = ?"
        args: list[Any] = [session_id]
        if player_id is not None:
            sql += " AND player_id = ?"
            args.append(player_id)
        with self._read() as c:
            return int(c.execute(sql, args).fetchone()[0])

    # ------------------------------------------------------------- replays

    def save_replay(self, session_id: int, player_id: int, replay: JsonLike) -> ReplayRow:
        """Store (or replace) a player's replay in a session (``Replay.to_json()`` text or dict)."""
        text = _json_text("replay", replay)
        now = self._now()
        with self._tx(f"save replay of player {player_id} in session {session_id}") as c:
            c.execute("INSERT INTO replays (session_id, player_id, json, created_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT(session_id, player_id) DO UPDATE SET json = excluded.json, "
                      "created_at = excluded.created_at", (session_id, player_id, text, now))
            r = c.execute("SELECT id, session_id, player_id, json, created_at FROM replays "
                          "WHERE session_id = ? AND player_id = ?", (session_id, player_id)).fetchone()
        return ReplayRow(*r)

    def get_replay(self, session_id: int, player_id: int) -> ReplayRow | None:
        """A player's replay in a session, or None."""
        with self._read() as c:
            r = c.execute("SELECT id, session_id, player_id, json, created_at FROM replays "
                          "WHERE session_id = ? AND player_id = ?", (session_id, player_id)).fetchone()
        return None if r is None else ReplayRow(*r)


# ------------------------------------------------------------------ helpers


def migrate(conn: sqlite3.Connection, *, path: str = "database", target: int = LATEST_VERSION) -> int:
    """Bring an open connection's schema up to ``target``; returns the new version.

    Each step runs in its own transaction with its version bump.

    Raises
    ------
    StorageError
        If the database is newer than ``target`` or a step fails.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise StorageError(f"{path}: no schema version {target} (latest is v{LATEST_VERSION})")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path}: not a Backbeat database or damaged ({exc})") from None
    if version > target:
        raise StorageError(f"{path}: database schema v{version} is newer than v{target}")
    while version < target:
        step = MIGRATIONS[version]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for sql in step:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageError(
                f"{path}: cannot upgrade the database from schema v{version} to v{version + 1} ({exc})"
            ) from None
        version += 1
    return version


def _integrity_message(exc: sqlite3.IntegrityError) -> str:
    msg = str(exc)
    if "FOREIGN KEY" in msg:
        return "it refers to a song, session, player or device that does not exist"
    return msg


def _chart_row(r: tuple[Any, ...]) -> ChartRow:
    levels = tuple(x for x in str(r[3]).split(",") if x)
    return ChartRow(r[0], r[1], r[2], levels, r[4])


def _text(name: str, value: object, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise StorageError(f"{name} must be text, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise StorageError(f"{name} must not be empty")
    if "\x00" in value:
        raise StorageError(f"{name} must not contain NUL characters")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StorageError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _opt_number(name: str, value: object) -> float | None:
    return None if value is None else _number(name, value)


def _json_text(what: str, value: JsonLike) -> str:
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise StorageError(f"{what} is not valid JSON: {exc}") from None
        return value
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"{what} cannot be stored as JSON: {exc}") from None


def _hit_params(session_id: int, player_id: int, h: HitRecord, now: float) -> tuple[Any, ...]:
    if not isinstance(h, HitRecord):
        raise StorageError(f"record_hits expects HitRecord items, got {type(h).__name__}")
    return _hit_values(session_id, player_id, h.seq, h.time_s, h.pad, h.velocity, h.cymbal, h.judgment,
                       h.offset_ms, h.received_at, now)


def _hit_values(session_id: int, player_id: int, seq: Any, time_s: Any, pad: Any, velocity: Any, cymbal: Any,
                judgment: Any, offset_ms: Any, received_at: Any, now: float) -> tuple[Any, ...]:
    """Checked parameters of one hit row (the rules of :class:`HitRecord`'s fields)."""
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise StorageError(f"hit seq must be an integer, got {seq!r}")
    if isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad <= 4:
        raise StorageError(f"hit {seq}: pad must be 0-4, got {pad!r}")
    if isinstance(velocity, bool) or not isinstance(velocity, int) or not 0 <= velocity <= 127:
        raise StorageError(f"hit {seq}: velocity must be 0-127, got {velocity!r}")
    if judgment is not None:
        _text("judgment", judgment, allow_empty=False)
    cym = None if cymbal is None else int(bool(cymbal))
    received = now if received_at is None else _number("received_at", received_at)
    return (session_id, player_id, seq, _number("time_s", time_s), int(pad), velocity, cym,
            judgment, _opt_number("offset_ms", offset_ms), received)


def _row_params(row: Sequence[Any], now: float) -> tuple[Any, ...]:
    if not isinstance(row, tuple) or len(row) != 10:
        raise StorageError("a hit row is (session_id, player_id, seq, time_s, pad, velocity, cymbal, "
                           f"judgment, offset_ms, received_at), got {row!r}")
    sid, pid, seq, time_s, pad, velocity, cymbal, judgment, offset_ms, received_at = row
    return _hit_values(sid, pid, seq, time_s, pad, velocity, cymbal, judgment, offset_ms, received_at, now)
