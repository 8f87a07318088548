"""Schema migrations, one list entry per version (``PRAGMA user_version``).

Never edit a released step: append a new one. Step ``i`` (0-based) takes the
database from version ``i`` to ``i + 1``; each step runs in one transaction
together with the version bump, so a crash leaves the previous version intact.
"""

from __future__ import annotations

#: SQL statements of each migration step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: the main tables.
    (
        """CREATE TABLE songs (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            artist TEXT NOT NULL DEFAULT '',
            audio_path TEXT NOT NULL DEFAULT '',
            duration_s REAL,
            added_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'new'
        )""",
        """CREATE TABLE analyses (
            id INTEGER PRIMARY KEY,
            song_id INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
            json TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE charts (
            id INTEGER PRIMARY KEY,
            song_id INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
            json TEXT NOT NULL,
            levels TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE players (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            UNIQUE (name, kind)
        )""",
        """CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            audio_offset_ms REAL NOT NULL,
            video_offset_ms REAL NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            song_id INTEGER REFERENCES songs(id) ON DELETE SET NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            started_at REAL NOT NULL,
            ended_at REAL,
            status TEXT NOT NULL DEFAULT 'active'
        )""",
        """CREATE TABLE session_players (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            player_id INTEGER NOT NULL REFERENCES players(id),
            part TEXT NOT NULL,
            difficulty TEXT NOT NULL,
            result TEXT,
            PRIMARY KEY (session_id, player_id)
        )""",
        """CREATE TABLE hits (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            player_id INTEGER NOT NULL REFERENCES players(id),
            seq INTEGER NOT NULL,
            time_s REAL NOT NULL,
            pad INTEGER NOT NULL,
            velocity INTEGER NOT NULL,
            judgment TEXT,
            offset_ms REAL,
            received_at REAL NOT NULL,
            PRIMARY KEY (session_id, player_id, seq)
        )""",
    ),
    # v2: replays, the cymbal flag of hits, lookup indexes.
    (
        "ALTER TABLE hits ADD COLUMN cymbal INTEGER",
        """CREATE TABLE replays (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            player_id INTEGER NOT NULL REFERENCES players(id),
            json TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (session_id, player_id)
        )""",
        "CREATE INDEX analyses_by_song ON analyses(song_id, id)",
        "CREATE INDEX charts_by_song ON charts(song_id, id)",
        "CREATE INDEX calibrations_by_device ON calibrations(device_id, id)",
        "CREATE INDEX sessions_by_song ON sessions(song_id, id)",
    ),
    # v3: the tempo hint of a song's unfinished re-analysis (NULL when none is pending).
    (
        "ALTER TABLE songs ADD COLUMN tempo_hint_bpm REAL",
    ),
)

#: Schema version this code writes.
LATEST_VERSION = len(MIGRATIONS)
