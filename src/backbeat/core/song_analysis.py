"""The result of analysing a song: tempo map, beats, drum hits and sections.

This is the contract between analysis and everything after it. It converts
to and from the documented JSON (``schema_version`` 1, see
docs/ANALYSIS_SCHEMA.md); the JSON is the on-disk and on-wire form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import DETAILS, Instrument

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Beat:
    """One beat: time in seconds and 1-based position in its bar (1 = downbeat)."""

    time_s: float
    position: int


@dataclass(frozen=True, slots=True)
class TempoSegment:
    """A stretch of steady tempo starting at ``time_s``.

    ``bpm`` counts beats (the pulse the beats list holds) per minute;
    ``beats_per_bar`` and ``beat_unit`` give the meter (e.g. 6 and 8 for 6/8).
    """

    time_s: float
    bpm: float
    beats_per_bar: int = 4
    beat_unit: int = 4


@dataclass(frozen=True, slots=True)
class DrumHit:
    """One drum stroke heard in the audio.

    ``velocity`` is loudness on the MIDI scale 1-127; ``detail`` is a finer
    class from :data:`backbeat.core.kit.DETAILS` (or ``""`` when unknown).
    """

    time_s: float
    instrument: Instrument
    velocity: int = 100
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """A section (intro, verse, chorus...) from ``start_s`` to ``end_s`` seconds."""

    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class Analysis:
    """Everything analysis knows about a song.

    Attributes
    ----------
    duration_s
        Length of the audio in seconds.
    tempo_map
        Tempo segments in time order.
    beats
        Beats in time order with their bar positions.
    drums
        Drum hits in time order.
    sections
        Contiguous sections covering the song.
    source
        File name the analysis was made from (informational).
    """

    duration_s: float
    tempo_map: tuple[TempoSegment, ...] = ()
    beats: tuple[Beat, ...] = ()
    drums: tuple[DrumHit, ...] = ()
    sections: tuple[Section, ...] = ()
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def downbeats_s(self) -> list[float]:
        """Times of downbeats (position 1) in seconds."""
        return [b.time_s for b in self.beats if b.position == 1]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (schema_version 1)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "duration_s": round(self.duration_s, 6),
            "tempo_map": [
                {"time_s": round(t.time_s, 6), "bpm": round(t.bpm, 4),
                 "beats_per_bar": t.beats_per_bar, "beat_unit": t.beat_unit}
                for t in self.tempo_map
            ],
            "beats": [{"time_s": round(b.time_s, 6), "position": b.position} for b in self.beats],
            "drums": [
                {"time_s": round(d.time_s, 6), "instrument": d.instrument.value,
                 "detail": d.detail, "velocity": d.velocity}
                for d in self.drums
            ],
            "sections": [
                {"start_s": round(s.start_s, 6), "end_s": round(s.end_s, 6), "label": s.label}
                for s in self.sections
            ],
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        """Parse and validate the JSON form.

        Raises
        ------
        InvalidArgumentError
            If the schema version is unknown or a field is missing or out of range.
        """
        try:
            if data.get("schema_version") != SCHEMA_VERSION:
                raise InvalidArgumentError(
                    f"unsupported analysis schema_version {data.get('schema_version')!r}"
                )
            duration = _finite(data["duration_s"], "duration_s")
            tempo = tuple(
                TempoSegment(_finite(t["time_s"], "tempo_map.time_s"), _finite(t["bpm"], "bpm"),
                             int(t.get("beats_per_bar", 4)), int(t.get("beat_unit", 4)))
                for t in data.get("tempo_map", [])
            )
            beats = tuple(Beat(_finite(b["time_s"], "beats.time_s"), int(b["position"]))
                          for b in data.get("beats", []))
            drums = []
            for d in data.get("drums", []):
                inst = Instrument(d["instrument"])
                detail = str(d.get("detail", ""))
                if detail and detail not in DETAILS[inst]:
                    raise InvalidArgumentError(f"unknown detail {detail!r} for {inst.value}")
                vel = int(d.get("velocity", 100))
                if not 1 <= vel <= 127:
                    raise InvalidArgumentError(f"velocity {vel} outside 1-127")
                drums.append(DrumHit(_finite(d["time_s"], "drums.time_s"), inst, vel, detail))
            sections = tuple(
                Section(_finite(s["start_s"], "start_s"), _finite(s["end_s"], "end_s"), str(s["label"]))
                for s in data.get("sections", [])
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidArgumentError):
                raise
            raise InvalidArgumentError(f"malformed analysis JSON: {exc!r}") from exc
        return cls(duration, tempo, beats, tuple(drums), sections, str(data.get("source", "")),
                   dict(data.get("extra", {})))


def _finite(value: Any, name: str) -> float:
    x = float(value)
    if not math.isfinite(x):
        raise InvalidArgumentError(f"{name} must be finite, got {value!r}")
    return x
