"""Typed rows returned by :class:`~backbeat.storage.database.Database`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True, slots=True)
class SongRow:
    """A song in the library.

    ``status`` is e.g. new, queued, analysing, charting, ready or failed;
    ``tempo_hint_bpm`` is the user's tempo hint of a re-analysis that has not
    finished yet (None otherwise), so a restarted server can resume it.
    """

    id: int
    title: str
    artist: str
    audio_path: str
    duration_s: float | None
    added_at: float
    status: str
    tempo_hint_bpm: float | None


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    """A stored analysis (``json`` is the analysis JSON text)."""

    id: int
    song_id: int
    json: str
    created_at: float

    def data(self) -> Any:
        """The parsed JSON."""
        return _load(self.json)


@dataclass(frozen=True, slots=True)
class ChartRow:
    """A stored chart (chart JSON text) and the levels it holds."""

    id: int
    song_id: int
    json: str
    levels: tuple[str, ...]
    created_at: float

    def data(self) -> Any:
        """The parsed JSON."""
        return _load(self.json)


@dataclass(frozen=True, slots=True)
class PlayerRow:
    """A player (names are unique)."""

    id: int
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """An input/output device (``kind``: e.g. midi, keyboard, touch, mic, audio-out)."""

    id: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    """One calibration of a device: audio and video offsets kept apart, real ms."""

    id: int
    device_id: int
    audio_offset_ms: float
    video_offset_ms: float
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A play session (``status``: active, finished, abandoned...)."""

    id: int
    song_id: int | None
    settings: str
    started_at: float
    ended_at: float | None
    status: str

    def settings_data(self) -> Any:
        """The parsed settings JSON."""
        return _load(self.settings)


@dataclass(frozen=True, slots=True)
class SessionPlayerRow:
    """A player's seat in a session, with the result JSON once known."""

    session_id: int
    player_id: int
    part: str
    difficulty: str
    result: str | None

    def result_data(self) -> Any:
        """The parsed result JSON, or None."""
        return _load(self.result)


@dataclass(frozen=True, slots=True)
class PlayerSessionRow:
    """One session a player took part in (for progress over time)."""

    session_id: int
    song_id: int | None
    started_at: float
    ended_at: float | None
    status: str
    part: str
    difficulty: str
    result: str | None

    def result_data(self) -> Any:
        """The parsed result JSON, or None."""
        return _load(self.result)


@dataclass(frozen=True, slots=True)
class HitRecord:
    """A hit to store (what :meth:`Database.record_hits` takes).

    Attributes
    ----------
    seq
        The player's hit number in the session; with (session, player) it
        makes the hit unique, so a retried batch is stored once.
    time_s
        Song time of the hit.
    pad, velocity, cymbal
        As in :class:`~backbeat.engine.inputs.InputHit`.
    judgment, offset_ms
        Filled in when known (or later with :meth:`Database.set_hit_judgments`).
    received_at
        Server wall-clock time of arrival (None = now).
    """

    seq: int
    time_s: float
    pad: int
    velocity: int = 100
    cymbal: bool | None = None
    judgment: str | None = None
    offset_ms: float | None = None
    received_at: float | None = None


@dataclass(frozen=True, slots=True)
class HitRow:
    """A stored hit."""

    session_id: int
    player_id: int
    seq: int
    time_s: float
    pad: int
    velocity: int
    cymbal: bool | None
    judgment: str | None
    offset_ms: float | None
    received_at: float


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """A stored replay (replay JSON text, see :mod:`backbeat.engine.replay`)."""

    id: int
    session_id: int
    player_id: int
    json: str
    created_at: float
