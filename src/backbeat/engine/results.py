"""Running state and final results of a player: counts, per-lane timing, histogram.

Everything here is JSON-able through ``to_dict`` / ``from_dict`` so results
can be stored, sent to the browser and compared for equality in tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import Judgment
from backbeat.engine.scoring import accuracy_from_counts, hit_ratio_from_counts

#: Width of a timing-histogram bin, real milliseconds.
HISTOGRAM_BIN_MS = 5.0


@dataclass
class PlayerState:
    """Live state of one player (mutated by the engine; read it, do not write it).

    Attributes
    ----------
    score, combo, max_combo, multiplier
        Running score values.
    counts
        Judgments so far, every :class:`Judgment` present as a key.
    notes_total
        Targets in the chart (notes; chords in any-pad mode).
    dropped_inputs
        Hits that arrived later than the lateness tolerance and were ignored.
    free_hits
        Stray hits before the first or after the last judged note (not overhits).
    """

    score: int = 0
    combo: int = 0
    max_combo: int = 0
    multiplier: int = 1
    counts: dict[Judgment, int] = field(default_factory=lambda: {j: 0 for j in Judgment})
    notes_total: int = 0
    dropped_inputs: int = 0
    free_hits: int = 0

    @property
    def notes_judged(self) -> int:
        """Notes already judged (hit or missed)."""
        return sum(self.counts[j] for j in Judgment if j is not Judgment.OVERHIT)

    @property
    def accuracy(self) -> float:
        """Timing-weighted accuracy 0..1 over judged notes (see :mod:`backbeat.engine.scoring`)."""
        return accuracy_from_counts(self.counts)

    @property
    def hit_ratio(self) -> float:
        """Share of judged notes that were played (0..1)."""
        return hit_ratio_from_counts(self.counts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able snapshot."""
        return {
            "score": self.score,
            "combo": self.combo,
            "max_combo": self.max_combo,
            "multiplier": self.multiplier,
            "counts": {j.value: n for j, n in self.counts.items()},
            "notes_total": self.notes_total,
            "notes_judged": self.notes_judged,
            "accuracy": self.accuracy,
            "hit_ratio": self.hit_ratio,
            "dropped_inputs": self.dropped_inputs,
            "free_hits": self.free_hits,
        }


@dataclass(frozen=True, slots=True)
class LaneStats:
    """Timing statistics of one lane (or ``"all"``).

    Attributes
    ----------
    notes
        Targets on the lane judged so far.
    hits, misses
        Of those, played and missed.
    early, late
        Hits with negative / positive offset (exactly on time counts as neither).
    mean_offset_ms, sd_offset_ms
        Mean and standard deviation (population) of hit offsets, real ms;
        0.0 when there are no hits. Negative mean = the player rushes.
    """

    notes: int
    hits: int
    misses: int
    early: int
    late: int
    mean_offset_ms: float
    sd_offset_ms: float

    @classmethod
    def from_offsets(cls, offsets_ms: Sequence[float], *, notes: int, misses: int) -> LaneStats:
        """Statistics from the offsets of the lane's hits."""
        n = len(offsets_ms)
        if n:
            mean = math.fsum(offsets_ms) / n
            var = math.fsum((o - mean) ** 2 for o in offsets_ms) / n
            sd = math.sqrt(var)
        else:
            mean = sd = 0.0
        return cls(
            notes=notes,
            hits=n,
            misses=misses,
            early=sum(1 for o in offsets_ms if o < 0),
            late=sum(1 for o in offsets_ms if o > 0),
            mean_offset_ms=mean,
            sd_offset_ms=sd,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "notes": self.notes, "hits": self.hits, "misses": self.misses, "early": self.early,
            "late": self.late, "mean_offset_ms": self.mean_offset_ms, "sd_offset_ms": self.sd_offset_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaneStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            notes=int(data["notes"]), hits=int(data["hits"]), misses=int(data["misses"]),
            early=int(data["early"]), late=int(data["late"]),
            mean_offset_ms=float(data["mean_offset_ms"]), sd_offset_ms=float(data["sd_offset_ms"]),
        )


@dataclass(frozen=True, slots=True)
class TimingHistogram:
    """Counts of hit offsets in equal bins from ``-range_ms`` to ``+range_ms``.

    Bin ``i`` covers ``[start_ms + i*bin_ms, start_ms + (i+1)*bin_ms)``; the
    last bin also holds offsets exactly at ``+range_ms``.
    """

    bin_ms: float
    start_ms: float
    counts: tuple[int, ...]

    @classmethod
    def from_offsets(cls, offsets_ms: Sequence[float], *, range_ms: float,
                     bin_ms: float = HISTOGRAM_BIN_MS) -> TimingHistogram:
        """Histogram of ``offsets_ms`` (values outside the range are clamped to the end bins)."""
        if bin_ms <= 0 or range_ms <= 0:
            raise InvalidArgumentError("histogram range and bin width must be positive")
        n_bins = max(1, math.ceil(2 * range_ms / bin_ms - 1e-9))
        counts = [0] * n_bins
        for o in offsets_ms:
            # The epsilon keeps offsets that are on a bin edge up to float noise in the upper bin.
            i = math.floor((o + range_ms) / bin_ms + 1e-9)
            counts[min(max(i, 0), n_bins - 1)] += 1
        return cls(bin_ms=bin_ms, start_ms=-range_ms, counts=tuple(counts))

    @property
    def edges_ms(self) -> list[float]:
        """Bin edges, ``len(counts) + 1`` values."""
        return [self.start_ms + i * self.bin_ms for i in range(len(self.counts) + 1)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"bin_ms": self.bin_ms, "start_ms": self.start_ms, "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingHistogram:
        """Inverse of :meth:`to_dict`."""
        return cls(bin_ms=float(data["bin_ms"]), start_ms=float(data["start_ms"]),
                   counts=tuple(int(c) for c in data["counts"]))


#: An accent counts as played loud at this multiple of the player's normal-note velocity, or more.
ACCENT_VELOCITY_RATIO = 1.15
#: A ghost note counts as played soft at this multiple of the normal-note velocity, or less.
GHOST_VELOCITY_RATIO = 0.75


@dataclass(frozen=True, slots=True)
class DynamicsStats:
    """How well accents and ghost notes were played (meaningful with velocity-sensitive pads).

    Velocities are judged relative to the player's own median velocity on
    normal notes (``reference_velocity``; 100 when no normal note was hit).

    Attributes
    ----------
    accent_notes, accent_hits, accents_loud
        Accent notes judged, played, and played at least
        :data:`ACCENT_VELOCITY_RATIO` x the reference.
    ghost_notes, ghost_hits, ghosts_soft
        Ghost notes judged, played, and played at most
        :data:`GHOST_VELOCITY_RATIO` x the reference.
    reference_velocity
        Median velocity of the hits on normal notes.
    """

    accent_notes: int = 0
    accent_hits: int = 0
    accents_loud: int = 0
    ghost_notes: int = 0
    ghost_hits: int = 0
    ghosts_soft: int = 0
    reference_velocity: float = 100.0

    @classmethod
    def from_hits(cls, judged: Sequence[tuple[str, int | None]]) -> DynamicsStats:
        """Statistics from ``(dynamic, velocity or None if missed)`` per judged target.

        ``dynamic`` is ``"normal"``, ``"accent"`` or ``"ghost"``.
        """
        normal = sorted(v for d, v in judged if d == "normal" and v is not None)
        ref = float(statistics.median(normal)) if normal else 100.0
        acc = [v for d, v in judged if d == "accent"]
        gho = [v for d, v in judged if d == "ghost"]
        return cls(
            accent_notes=len(acc),
            accent_hits=sum(1 for v in acc if v is not None),
            accents_loud=sum(1 for v in acc if v is not None and v >= ACCENT_VELOCITY_RATIO * ref),
            ghost_notes=len(gho),
            ghost_hits=sum(1 for v in gho if v is not None),
            ghosts_soft=sum(1 for v in gho if v is not None and v <= GHOST_VELOCITY_RATIO * ref),
            reference_velocity=ref,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "accent_notes": self.accent_notes, "accent_hits": self.accent_hits,
            "accents_loud": self.accents_loud, "ghost_notes": self.ghost_notes,
            "ghost_hits": self.ghost_hits, "ghosts_soft": self.ghosts_soft,
            "reference_velocity": self.reference_velocity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DynamicsStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            accent_notes=int(data["accent_notes"]), accent_hits=int(data["accent_hits"]),
            accents_loud=int(data["accents_loud"]), ghost_notes=int(data["ghost_notes"]),
            ghost_hits=int(data["ghost_hits"]), ghosts_soft=int(data["ghosts_soft"]),
            reference_velocity=float(data["reference_velocity"]),
        )


@dataclass(frozen=True)
class PlayerResult:
    """Final (or so-far) result of one player.

    Attributes
    ----------
    mode, playback_rate
        How the part was played.
    score, max_combo
        Score values.
    notes_total
        Targets in the chart.
    counts
        Judgment name -> count (overhits included).
    accuracy, hit_ratio
        See :class:`PlayerState`.
    dropped_inputs
        Hits ignored for arriving too late.
    free_hits
        Stray hits before the first or after the last judged note (not counted as overhits).
    dynamics
        Accents and ghost notes (:class:`DynamicsStats`).
    lanes
        Lane name (``kick``, ``red``, ``yellow``, ``blue``, ``green``; ``any``
        in any-pad mode) -> :class:`LaneStats`, plus ``all`` over every lane.
    histogram
        Offsets of all hits, 5 ms bins across the Good window.
    complete
        True once every target has been judged.
    """

    mode: str
    playback_rate: float
    score: int
    max_combo: int
    notes_total: int
    counts: dict[str, int]
    accuracy: float
    hit_ratio: float
    dropped_inputs: int
    lanes: dict[str, LaneStats]
    histogram: TimingHistogram
    complete: bool
    free_hits: int = 0
    dynamics: DynamicsStats = DynamicsStats()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "mode": self.mode,
            "playback_rate": self.playback_rate,
            "score": self.score,
            "max_combo": self.max_combo,
            "notes_total": self.notes_total,
            "counts": dict(self.counts),
            "accuracy": self.accuracy,
            "hit_ratio": self.hit_ratio,
            "dropped_inputs": self.dropped_inputs,
            "free_hits": self.free_hits,
            "lanes": {k: v.to_dict() for k, v in self.lanes.items()},
            "histogram": self.histogram.to_dict(),
            "complete": self.complete,
            "dynamics": self.dynamics.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> PlayerResult:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        InvalidArgumentError
            If ``data`` is not a result object.
        """
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"a player result must be an object, got {type(data).__name__}")
        try:
            return cls(
                mode=str(data["mode"]),
                playback_rate=float(data["playback_rate"]),
                score=int(data["score"]),
                max_combo=int(data["max_combo"]),
                notes_total=int(data["notes_total"]),
                counts={str(k): int(v) for k, v in data["counts"].items()},
                accuracy=float(data["accuracy"]),
                hit_ratio=float(data["hit_ratio"]),
                dropped_inputs=int(data["dropped_inputs"]),
                lanes={str(k): LaneStats.from_dict(v) for k, v in data["lanes"].items()},
                histogram=TimingHistogram.from_dict(data["histogram"]),
                complete=bool(data["complete"]),
                free_hits=int(data.get("free_hits", 0)),
                dynamics=DynamicsStats.from_dict(data["dynamics"]) if "dynamics" in data else DynamicsStats(),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgumentError(f"malformed player result: {exc!r}") from None
