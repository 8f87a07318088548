"""Replays: the settings and accepted hits of a performance, re-simulated to the same result.

JSON form (no pickle)::

    {"format": "backbeat-replay", "version": 1,
     "settings": {"engine": {...EngineSettings...}, "chart_id": "...", "notes_fingerprint": "...",
                  "part": "drums", "difficulty": "expert", "lane_map": {"KeyF": 1}},
     "inputs":  [[time_s, pad, velocity, cymbal, seq], ...],
     "dropped": [[...], ...]}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backbeat.core.chart import MAIN_PART, Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.engine.inputs import InputHit, JudgmentEvent
from backbeat.engine.player import PlayerEngine
from backbeat.engine.results import PlayerResult
from backbeat.engine.settings import EngineSettings

REPLAY_FORMAT = "backbeat-replay"
REPLAY_VERSION = 1
#: Largest number of hits a replay may hold (about 3 hours of 16ths at 180 BPM, x2).
MAX_REPLAY_INPUTS = 500_000


def notes_fingerprint(notes: Sequence[Note]) -> str:
    """A short stable hash of the notes' times, pads and cymbal flags (chart identity check)."""
    h = hashlib.sha256()
    for n in sorted(notes, key=lambda n: (n.time_s, int(n.pad), n.cymbal)):
        h.update(f"{n.time_s:.6f},{int(n.pad)},{int(n.cymbal)};".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class ReplaySettings:
    """What a replay needs besides the hits.

    Attributes
    ----------
    engine
        The engine settings (windows, mode, playback rate, calibration offset...).
    chart_id
        Caller's identity of the chart (e.g. a database id), informational.
    notes_fingerprint
        :func:`notes_fingerprint` of the notes played; checked by :func:`simulate`
        when not empty.
    part, difficulty
        Which track was played.
    lane_map
        Input-device mapping in use (e.g. key or MIDI note -> pad number), informational.
    """

    engine: EngineSettings = field(default_factory=EngineSettings)
    chart_id: str = ""
    notes_fingerprint: str = ""
    part: str = MAIN_PART
    difficulty: str = "expert"
    lane_map: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "engine": self.engine.to_dict(),
            "chart_id": self.chart_id,
            "notes_fingerprint": self.notes_fingerprint,
            "part": self.part,
            "difficulty": self.difficulty,
            "lane_map": dict(self.lane_map),
        }

    @classmethod
    def from_dict(cls, data: object) -> ReplaySettings:
        """Inverse of :meth:`to_dict`, validating the input."""
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"replay settings must be an object, got {type(data).__name__}")
        unknown = set(data) - {"engine", "chart_id", "notes_fingerprint", "part", "difficulty", "lane_map"}
        if unknown:
            raise InvalidArgumentError(f"unknown replay settings: {sorted(unknown)}")
        for key in ("chart_id", "notes_fingerprint", "part", "difficulty"):
            if key in data and not isinstance(data[key], str):
                raise InvalidArgumentError(f"replay setting {key} must be a string, got {data[key]!r}")
        lane_map = data.get("lane_map", {})
        if not isinstance(lane_map, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 4
            for k, v in lane_map.items()
        ):
            raise InvalidArgumentError("replay lane_map must map input names to pad numbers 0-4")
        return cls(
            engine=EngineSettings.from_dict(data.get("engine", {})),
            chart_id=data.get("chart_id", ""),
            notes_fingerprint=data.get("notes_fingerprint", ""),
            part=data.get("part", MAIN_PART),
            difficulty=data.get("difficulty", "expert"),
            lane_map=dict(lane_map),
        )


@dataclass(frozen=True)
class Replay:
    """Settings plus the hits the engine accepted (and those it dropped as too late)."""

    settings: ReplaySettings
    inputs: tuple[InputHit, ...]
    dropped: tuple[InputHit, ...] = ()

    @classmethod
    def from_engine(cls, engine: PlayerEngine, *, chart_id: str = "", part: str = MAIN_PART,
                    difficulty: str = "expert", lane_map: dict[str, int] | None = None) -> Replay:
        """Capture a live engine's performance."""
        settings = ReplaySettings(
            engine=engine.settings, chart_id=chart_id, notes_fingerprint=notes_fingerprint(engine.notes),
            part=part, difficulty=difficulty, lane_map=dict(lane_map or {}),
        )
        return cls(settings=settings, inputs=engine.accepted_inputs, dropped=engine.dropped_inputs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "format": REPLAY_FORMAT,
            "version": REPLAY_VERSION,
            "settings": self.settings.to_dict(),
            "inputs": [h.to_list() for h in self.inputs],
            "dropped": [h.to_list() for h in self.dropped],
        }

    def to_json(self) -> str:
        """Compact JSON text (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: object) -> Replay:
        """Inverse of :meth:`to_dict`, validating everything.

        Raises
        ------
        InvalidArgumentError
            If ``data`` is not a valid replay of a version this code reads.
        """
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"a replay must be a JSON object, got {type(data).__name__}")
        if data.get("format") != REPLAY_FORMAT:
            raise InvalidArgumentError(f"not a Backbeat replay (format is {data.get('format')!r})")
        version = data.get("version")
        if version != REPLAY_VERSION:
            raise InvalidArgumentError(
                f"replay version {version!r} is not supported (this Backbeat reads version {REPLAY_VERSION})"
            )
        unknown = set(data) - {"format", "version", "settings", "inputs", "dropped"}
        if unknown:
            raise InvalidArgumentError(f"unknown replay fields: {sorted(unknown)}")
        inputs = _hits(data.get("inputs"), "inputs")
        dropped = _hits(data.get("dropped", []), "dropped")
        return cls(settings=ReplaySettings.from_dict(data.get("settings")), inputs=inputs, dropped=dropped)

    @classmethod
    def from_json(cls, text: str | bytes) -> Replay:
        """Parse and validate replay JSON text."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgumentError(f"replay is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _hits(data: object, what: str) -> tuple[InputHit, ...]:
    if not isinstance(data, list):
        raise InvalidArgumentError(f"replay {what} must be a list of hits")
    if len(data) > MAX_REPLAY_INPUTS:
        raise InvalidArgumentError(f"replay holds {len(data)} {what}, more than {MAX_REPLAY_INPUTS}")
    out = []
    for i, item in enumerate(data):
        try:
            out.append(InputHit.from_list(item))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"replay {what}[{i}]: {exc}") from None
    return tuple(out)


def simulate(replay: Replay, notes: Sequence[Note]) -> PlayerResult:
    """Re-run a replay on ``notes`` and return its result (identical every time).

    Raises
    ------
    InvalidArgumentError
        If the replay records a notes fingerprint and ``notes`` differ from it.
    """
    return simulate_events(replay, notes)[0]


def simulate_events(replay: Replay, notes: Sequence[Note]) -> tuple[PlayerResult, list[JudgmentEvent]]:
    """Like :func:`simulate`, also returning every judgment event in song-time order.

    Useful to draw a past performance (e.g. a "ghost" of one's best run) or to
    analyse it hit by hit.
    """
    expected = replay.settings.notes_fingerprint
    if expected and expected != notes_fingerprint(notes):
        raise InvalidArgumentError(
            f"replay was recorded on a different chart (fingerprint {expected}, "
            f"these notes {notes_fingerprint(notes)})"
        )
    engine = PlayerEngine(notes, settings=replay.settings.engine)
    for hit in replay.inputs:
        engine.queue_input(hit)
    events = engine.finish()
    engine.state.dropped_inputs += len(replay.dropped)
    return engine.result(), events
