"""The judging engine of one player: timestamped hits in, judgments and score out.

How it works
------------
The engine holds the chart's *targets* (one per note in pads mode; one per
chord in any-pad mode) and a queue of pending hits. ``update(now_s)`` moves a
*horizon* to ``now_s - max_input_latency_s`` and finalises, in song-time
order, every event older than the horizon:

* a queued hit at time ``t`` matches the nearest unjudged target of its lane
  whose time is within the Good window of ``t`` (ties go to the earlier
  target); if there is none it is an *overhit*. In any-pad mode, a hit
  nearer to a chord already played than to any unplayed one is an extra
  hand on that chord (an overhit), so a two-handed chord never steals the
  next chord. As in YARG, a stray hit before the first note is judged or
  after the last one is *free*: reported, but neither counted as an overhit
  nor breaking the combo;
* a target nobody hit becomes a Miss at exactly ``target time + Good window``
  (a hit exactly on that edge still counts: hits are processed before misses
  at equal times).

Because events are processed in the order of their own timestamps (hits
sorted by ``(time, pad, cymbal, velocity, seq)``), the result depends only on
the chart, the settings and the set of accepted hits: not on how often
``update`` is called, nor on the order in which hits were queued, nor on hits
arriving up to ``max_input_latency_s`` late. A hit older than the horizon
when it is queued is *dropped* (counted in ``dropped_inputs``), since the
events around it are already final.

Windows are in real milliseconds; the engine works in song time and converts:
a song-time offset ``d`` is ``d / playback_rate`` real seconds.
"""

from __future__ import annotations

import heapq
import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backbeat.core.chart import Dynamic, Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import HitWindows, Judgment
from backbeat.core.kit import CYMBAL_PADS, Pad
from backbeat.engine.inputs import InputHit, JudgmentEvent
from backbeat.engine.results import DynamicsStats, LaneStats, PlayerResult, PlayerState, TimingHistogram
from backbeat.engine.scoring import POINTS, multiplier_for_combo
from backbeat.engine.settings import EngineSettings, Mode

_PENDING, _HIT, _MISSED = 0, 1, 2
#: Stored velocity of a target not hit.
_NO_VELOCITY = -1
#: Lane index used for every target in any-pad mode.
_ANY_LANE = 0
#: Slack (seconds) when searching targets, so window-edge hits survive float rounding.
_SEARCH_EPS_S = 1e-9
#: Most hits (accepted + dropped) one engine takes: about 2.5 hours of a drummer
#: at 20 hits per second. Bounds the memory a misbehaving client can make it hold.
MAX_INPUTS = 200_000


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to hit: a note, or in any-pad mode a chord (all notes at one time).

    Attributes
    ----------
    time_s
        Song time of the note(s).
    pads
        Pads of the note(s), sorted.
    cymbal
        Whether the (single) note is a cymbal; for chords, whether any is.
    note_indices
        Indices of the notes in the engine's sorted ``notes``.
    dynamic
        ``"normal"``, ``"accent"`` or ``"ghost"`` (a chord is an accent if any
        note is, a ghost if all are).
    """

    time_s: float
    pads: tuple[Pad, ...]
    cymbal: bool
    note_indices: tuple[int, ...]
    dynamic: str = "normal"


class PlayerEngine:
    """Judge one player's hits against a chart part.

    Parameters
    ----------
    notes
        The notes of the part (``time_s`` must be set; any order).
    windows
        Hit windows in real ms.
    mode
        ``"pads"`` or ``"any_pad"`` (beginner: rhythm only, chords count once).
    playback_rate
        Song speed, 0.25-2.0 (practice uses 0.5-1.0).
    strict_cymbals, max_input_latency_s, calibration_offset_ms, overhit_breaks_combo
        See :class:`~backbeat.engine.settings.EngineSettings`.
    settings
        A complete :class:`EngineSettings` instead of the individual keywords
        (passing both is an error).

    Notes
    -----
    An engine is not thread-safe: drive it from one thread or task.

    Examples
    --------
    ::

        eng = PlayerEngine(track.notes)
        eng.queue_input(InputHit(time_s=1.002, pad=Pad.RED))
        events = eng.update(now_s=1.5)
        eng.finish()
        eng.result().accuracy
    """

    def __init__(
        self,
        notes: Sequence[Note],
        *,
        windows: HitWindows | None = None,
        mode: Mode = "pads",
        playback_rate: float = 1.0,
        strict_cymbals: bool = False,
        max_input_latency_s: float = 0.15,
        calibration_offset_ms: float = 0.0,
        overhit_breaks_combo: bool | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        if settings is None:
            settings = EngineSettings(
                windows=windows if windows is not None else HitWindows(),
                mode=mode,
                playback_rate=playback_rate,
                strict_cymbals=strict_cymbals,
                max_input_latency_s=max_input_latency_s,
                calibration_offset_ms=calibration_offset_ms,
                overhit_breaks_combo=overhit_breaks_combo,
            )
        elif not isinstance(settings, EngineSettings):
            raise InvalidArgumentError(f"settings must be EngineSettings, got {type(settings).__name__}")
        elif windows is not None or (mode, playback_rate, strict_cymbals, max_input_latency_s,
                                     calibration_offset_ms, overhit_breaks_combo) != (
                "pads", 1.0, False, 0.15, 0.0, None):
            raise InvalidArgumentError("pass either settings= or individual engine keywords, not both")
        self.settings = settings
        self.notes: tuple[Note, ...]
        self.targets: tuple[Target, ...]
        self.notes, self.targets = _prepared(notes, any_pad=settings.mode == "any_pad")
        rate = settings.playback_rate
        self._good_s = settings.windows.good_ms / 1000.0 * rate
        self._input_shift_s = settings.calibration_offset_ms / 1000.0 * rate
        self._breaks = settings.overhits_break_combo
        # Settings read on every hit, looked up once.
        self._any_pad = settings.mode == "any_pad"
        self._strict_cymbals = settings.strict_cymbals and settings.mode == "pads"
        self._judge = settings.windows.judge
        self._rate = settings.playback_rate

        # Per-target state lives in typed arrays, not lists: the garbage collector does not scan
        # arrays, so hundreds of live engines add nothing to its full passes (a server's pauses).
        n = len(self.targets)
        # Per-lane target ids and times (sorted by time) for window search.
        lane_ids: dict[int, list[int]] = {}
        for i, t in enumerate(self.targets):
            lane_ids.setdefault(self._lane_of_target(t), []).append(i)
        self._lane_ids = {lane: array("i", ids) for lane, ids in lane_ids.items()}
        self._lane_times = {
            lane: array("d", [self.targets[i].time_s for i in ids]) for lane, ids in lane_ids.items()
        }
        self._status = array("b", [_PENDING]) * n
        self._offsets_ms = array("d", [math.nan]) * n  # NaN: not hit
        self._velocity = array("h", [_NO_VELOCITY]) * n
        # Misses fire in deadline order; equal deadlines by target id.
        self._deadlines = array("d", [t.time_s + self._good_s for t in self.targets])
        self._miss_order = array("i", sorted(range(n), key=lambda i: (self._deadlines[i], i)))
        self._miss_ptr = 0
        self._judged = 0

        self._queue: list[tuple[tuple[float, int, int, int, int], float, int, InputHit]] = []
        self._counter = 0
        # Kept hits as plain tuples of numbers (see _compact): the garbage collector stops tracking
        # those, so a long session's hits do not lengthen its full passes.
        self._accepted: list[tuple[float, int, int, bool | None, int | None]] = []
        self._dropped: list[tuple[float, int, int, bool | None, int | None]] = []
        self._horizon = -math.inf
        self.state = PlayerState(notes_total=len(self.targets))

    # ------------------------------------------------------------------ inputs

    def queue_input(self, hit: InputHit) -> bool:
        """Queue a hit to be judged by its own timestamp.

        Returns
        -------
        bool
            True if accepted; False if the hit is older than the engine's
            horizon (``now_s - max_input_latency_s`` of the last update) and
            was dropped.

        Raises
        ------
        InvalidArgumentError
            If ``hit`` is not an :class:`InputHit`, or the player already sent
            :data:`MAX_INPUTS` hits.
        """
        if not isinstance(hit, InputHit):
            raise InvalidArgumentError(f"queue_input expects an InputHit, got {type(hit).__name__}")
        if len(self._accepted) + len(self._dropped) >= MAX_INPUTS:
            raise InvalidArgumentError(f"too many hits for one player (limit {MAX_INPUTS})")
        t = float(hit.time_s) - self._input_shift_s
        if t < self._horizon:
            self._dropped.append(_compact(hit))
            self.state.dropped_inputs += 1
            return False
        key = hit.sort_key()
        heapq.heappush(self._queue, ((t, *key[1:]), t, self._counter, hit))
        self._counter += 1
        self._accepted.append(_compact(hit))
        return True

    def queue_inputs(self, hits: Iterable[InputHit]) -> int:
        """Queue many hits; returns how many were accepted."""
        return sum(1 for h in hits if self.queue_input(h))

    # ----------------------------------------------------------------- advance

    def update(self, now_s: float) -> list[JudgmentEvent]:
        """Advance to song time ``now_s`` and return the judgments made final.

        Events older than ``now_s - max_input_latency_s`` are finalised in
        time order. Calling with a smaller ``now_s`` than before does nothing.
        """
        if isinstance(now_s, bool) or not isinstance(now_s, int | float) or math.isnan(now_s):
            raise InvalidArgumentError(f"now_s must be a number of seconds, got {now_s!r}")
        horizon = float(now_s) - self.settings.max_input_latency_s
        if horizon <= self._horizon:
            return []
        self._horizon = horizon
        return self._advance(horizon)

    def finish(self) -> list[JudgmentEvent]:
        """Finalise everything: judge every queued hit and miss every unplayed note."""
        self._horizon = math.inf
        return self._advance(math.inf)

    @property
    def finished(self) -> bool:
        """True once every target is judged and no hit is pending."""
        return self._miss_ptr >= len(self._miss_order) and not self._queue

    @property
    def horizon_s(self) -> float:
        """Song time before which everything is final (-inf before the first update)."""
        return self._horizon

    @property
    def accepted_inputs(self) -> tuple[InputHit, ...]:
        """Hits accepted so far, in the order they were queued (what a replay stores)."""
        return tuple(_expand(h) for h in self._accepted)

    @property
    def dropped_inputs(self) -> tuple[InputHit, ...]:
        """Hits dropped for arriving later than the lateness tolerance."""
        return tuple(_expand(h) for h in self._dropped)

    def _advance(self, horizon: float) -> list[JudgmentEvent]:
        events: list[JudgmentEvent] = []
        queue = self._queue
        order = self._miss_order
        while True:
            next_hit_t = queue[0][1] if queue else math.inf
            # Skip targets already hit.
            while self._miss_ptr < len(order) and self._status[order[self._miss_ptr]] != _PENDING:
                self._miss_ptr += 1
            if self._miss_ptr < len(order):
                tid = order[self._miss_ptr]
                next_miss_t = self._deadlines[tid]
            else:
                tid = -1
                next_miss_t = math.inf
            if next_hit_t <= next_miss_t:
                if not next_hit_t < horizon:
                    break
                _, t, _, hit = heapq.heappop(queue)
                events.append(self._judge_hit(hit, t))
            else:
                if not next_miss_t < horizon:
                    break
                self._miss_ptr += 1
                events.append(self._miss(tid))
        return events

    # ---------------------------------------------------------------- judging

    def _lane_of_target(self, target: Target) -> int:
        return _ANY_LANE if self.settings.mode == "any_pad" else int(target.pads[0])

    def _find_target(self, hit: InputHit, t: float) -> int | None:
        any_pad = self._any_pad
        lane = _ANY_LANE if any_pad else int(hit.pad)
        times = self._lane_times.get(lane)
        if not times:
            return None
        ids = self._lane_ids[lane]
        good_s = self._good_s
        lo = bisect_left(times, t - good_s - _SEARCH_EPS_S)
        hi = bisect_right(times, t + good_s + _SEARCH_EPS_S)
        strict = self._strict_cymbals and hit.cymbal is not None and hit.pad in CYMBAL_PADS
        # In any-pad mode a hit nearest to a chord already played is an extra
        # hand on that chord (an overhit), not a steal of the next chord.
        statuses = self._status
        best: int | None = None
        best_d = math.inf
        for k in range(lo, hi):
            tid = ids[k]
            status = statuses[tid]
            if status != _PENDING and not (any_pad and status == _HIT):
                continue
            if strict and self.targets[tid].cymbal != hit.cymbal:
                continue
            d = abs(t - times[k])
            if d < best_d:  # strict: ties keep the earlier target
                best, best_d = tid, d
        if best is not None and self._status[best] != _PENDING:
            return None
        return best

    def _judge_hit(self, hit: InputHit, t: float) -> JudgmentEvent:
        st = self.state
        tid = self._find_target(hit, t)
        judgment: Judgment | None = None
        offset_ms = 0.0
        if tid is not None:
            offset_ms = (t - self.targets[tid].time_s) / self._rate * 1000.0
            judgment = self._judge(offset_ms)
        if tid is None or judgment is None:
            free = self._judged == 0 or self._judged == len(self.targets)
            if free:
                st.free_hits += 1
            else:
                st.counts[Judgment.OVERHIT] += 1
                if self._breaks:
                    st.combo = 0
                    st.multiplier = 1
            return JudgmentEvent(Judgment.OVERHIT, t, hit.pad, None, None, None, hit,
                                 st.combo, st.multiplier, st.score, free)
        self._status[tid] = _HIT
        self._judged += 1
        self._offsets_ms[tid] = offset_ms
        self._velocity[tid] = hit.velocity
        st.counts[judgment] += 1
        st.combo += 1
        st.max_combo = max(st.max_combo, st.combo)
        st.multiplier = multiplier_for_combo(st.combo)
        st.score += POINTS[judgment] * st.multiplier
        target = self.targets[tid]
        return JudgmentEvent(judgment, t, target.pads[0], tid, target.time_s, offset_ms, hit,
                             st.combo, st.multiplier, st.score)

    def _miss(self, tid: int) -> JudgmentEvent:
        st = self.state
        self._status[tid] = _MISSED
        self._judged += 1
        st.counts[Judgment.MISS] += 1
        st.combo = 0
        st.multiplier = 1
        target = self.targets[tid]
        return JudgmentEvent(Judgment.MISS, self._deadlines[tid], target.pads[0], tid, target.time_s,
                             None, None, st.combo, st.multiplier, st.score)

    # ----------------------------------------------------------------- result

    def result(self) -> PlayerResult:
        """The result so far (call after :meth:`finish` for the final one)."""
        st = self.state
        any_pad = self.settings.mode == "any_pad"
        lane_names = ["any"] if any_pad else [p.name.lower() for p in Pad]
        per_lane: dict[str, tuple[list[float], int, int]] = {name: ([], 0, 0) for name in lane_names}
        all_offsets: list[float] = []
        notes_all = misses_all = 0
        for tid, status in enumerate(self._status):
            if status == _PENDING:
                continue
            name = "any" if any_pad else self.targets[tid].pads[0].name.lower()
            offs, n, m = per_lane[name]
            n += 1
            notes_all += 1
            if status == _MISSED:
                m += 1
                misses_all += 1
            else:
                off = self._offsets_ms[tid]
                if not math.isnan(off):
                    offs.append(off)
                    all_offsets.append(off)
            per_lane[name] = (offs, n, m)
        lanes = {
            name: LaneStats.from_offsets(offs, notes=n, misses=m) for name, (offs, n, m) in per_lane.items()
        }
        lanes["all"] = LaneStats.from_offsets(all_offsets, notes=notes_all, misses=misses_all)
        dynamics = DynamicsStats.from_hits([
            (self.targets[tid].dynamic, None if self._velocity[tid] == _NO_VELOCITY else self._velocity[tid])
            for tid, status in enumerate(self._status) if status != _PENDING
        ])
        return PlayerResult(
            mode=self.settings.mode,
            playback_rate=self.settings.playback_rate,
            score=st.score,
            max_combo=st.max_combo,
            notes_total=st.notes_total,
            counts={j.value: n for j, n in st.counts.items()},
            accuracy=st.accuracy,
            hit_ratio=st.hit_ratio,
            dropped_inputs=st.dropped_inputs,
            free_hits=st.free_hits,
            lanes=lanes,
            histogram=TimingHistogram.from_offsets(all_offsets, range_ms=self.settings.windows.good_ms),
            complete=all(s != _PENDING for s in self._status),
            dynamics=dynamics,
        )


def _compact(hit: InputHit) -> tuple[float, int, int, bool | None, int | None]:
    return (hit.time_s, int(hit.pad), hit.velocity, hit.cymbal, hit.seq)


def _expand(h: tuple[float, int, int, bool | None, int | None]) -> InputHit:
    return InputHit(time_s=h[0], pad=_PADS[h[1]], velocity=h[2], cymbal=h[3], seq=h[4])


_PADS = tuple(Pad)
#: Sorted notes and targets of recently seen note tuples (live servers seat many players on one chart):
#: id of the tuple -> (the tuple itself, so the id stays its own, sorted notes, targets).
_PREPARED: dict[tuple[int, bool], tuple[tuple[Note, ...], tuple[Note, ...], tuple[Target, ...]]] = {}
_PREPARED_MAX = 32
_PREPARED_LOCK = threading.Lock()


def _prepared(notes: Sequence[Note], *, any_pad: bool) -> tuple[tuple[Note, ...], tuple[Target, ...]]:
    """Sorted notes and their targets; shared between engines given the same tuple of notes.

    Notes and targets are immutable, so engines on one chart (every player of a
    session, every session of a song) can share them instead of each holding
    thousands of objects of its own.
    """
    key = (id(notes), any_pad)
    with _PREPARED_LOCK:
        cached = _PREPARED.get(key)
    if cached is not None and cached[0] is notes:
        return cached[1], cached[2]
    ordered = _sorted_notes(notes)
    targets = _build_targets(ordered, any_pad=any_pad)
    if isinstance(notes, tuple):  # a list could change after this
        with _PREPARED_LOCK:
            if len(_PREPARED) >= _PREPARED_MAX:
                del _PREPARED[next(iter(_PREPARED))]
            _PREPARED[key] = (notes, ordered, targets)
    return ordered, targets


def _sorted_notes(notes: Sequence[Note]) -> tuple[Note, ...]:
    out = []
    for n in notes:
        if not isinstance(n, Note):
            raise InvalidArgumentError(f"engine notes must be Note objects, got {type(n).__name__}")
        if not math.isfinite(n.time_s):
            raise InvalidArgumentError(f"note at tick {n.tick} has a non-finite time {n.time_s!r}")
        out.append(n)
    return tuple(sorted(out, key=lambda n: (n.time_s, n.tick, int(n.pad), n.cymbal)))


def _build_targets(notes: tuple[Note, ...], *, any_pad: bool) -> tuple[Target, ...]:
    if not any_pad:
        return tuple(Target(n.time_s, (n.pad,), n.cymbal, (i,), n.dynamic.value) for i, n in enumerate(notes))
    targets: list[Target] = []
    i = 0
    while i < len(notes):
        j = i
        while j + 1 < len(notes) and notes[j + 1].time_s == notes[i].time_s:
            j += 1
        group = notes[i:j + 1]
        targets.append(Target(
            notes[i].time_s,
            tuple(sorted({n.pad for n in group})),
            any(n.cymbal for n in group),
            tuple(range(i, j + 1)),
            _chord_dynamic(group),
        ))
        i = j + 1
    return tuple(targets)


def _chord_dynamic(group: Sequence[Note]) -> str:
    if any(n.dynamic is Dynamic.ACCENT for n in group):
        return Dynamic.ACCENT.value
    if all(n.dynamic is Dynamic.GHOST for n in group):
        return Dynamic.GHOST.value
    return Dynamic.NORMAL.value
