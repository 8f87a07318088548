"""Live play sessions: seats for N players, judging through the engine, every hit stored as it arrives.

A session is a database row; players join it one by one (each with their own
part, level, mode, practice rate and input device) and get a :class:`Seat`
holding a :class:`~backbeat.engine.PlayerEngine`. Hits are judged at once
(the engine's horizon is moved just past each hit, so the judgment is final
immediately) and handed to a :class:`HitWriter`, a thread that commits them
to the database in rounds as they arrive: a round is everything that
queued up (hits of all players) during the previous commit, written in ONE
transaction (group commit), and every socket is told "stored" only after
that commit. When a player ends, the writer is flushed before the
result and the replay are stored, so a result never refers to unstored hits.

The same player cannot hold two seats in one session at once (a second tab
is refused with :class:`DuplicatePlayerError`); a player who already
finished a session cannot join it again. A player whose connection dropped
(result stored with ``finished: false``, or none at all after a server
crash) may join again and carries on: the
stored hits are replayed into a fresh engine, and the client resends any hit
beyond the last stored ``seq``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from backbeat.core.chart import Note
from backbeat.core.errors import BackbeatError, InvalidArgumentError, StorageError
from backbeat.core.judgment import BEGINNER_WINDOWS, HitWindows
from backbeat.core.kit import Pad
from backbeat.engine import EngineSettings, InputHit, JudgmentEvent, PlayerEngine, Replay
from backbeat.services.calibration import get_calibration
from backbeat.services.library import STATUS_READY, Library, PlayTrack, notes_in_range
from backbeat.storage.database import Database
from backbeat.storage.rows import HitRecord, HitRow

#: Lateness tolerance of live engines, song seconds: ticks finalise misses this long after a note's window.
LIVE_LATENCY_S = 0.1
#: A hit up to this much older than the engine horizon (e.g. a chord whose notes share a timestamp)
#: is judged at the horizon instead of being dropped.
CHORD_SLACK_S = 0.002
#: Hits waiting for the database, across all players, before new ones are refused.
MAX_PENDING_HITS = 100_000
#: Chart tracks (with practice range) whose notes joins share, most recent kept.
MAX_SHARED_TRACKS = 64
#: Most hits taken from the queue in one round.
MAX_BATCH = 2_000
#: The writer waits this long after the first hit of a round before committing (tiny batches).
COALESCE_S = 0.004
#: Rounds without a hit (of COALESCE_S each) before the writer idles until a hit wakes it.
IDLE_AFTER_EMPTY_ROUNDS = 25

_PADS = tuple(Pad)  # pad number -> Pad, without the enum's call


class SessionError(InvalidArgumentError):
    """A session cannot be joined (unknown, finished, or the song is not ready)."""


class DuplicatePlayerError(SessionError):
    """The player already has a seat in this session (e.g. a second browser tab)."""


class ServerBusyError(BackbeatError):
    """The hit store is saturated; the client should retry later."""


# ------------------------------------------------------------------ hit writer

@dataclass(slots=True)
class _Pending:
    session_id: int
    player_id: int
    record: HitRecord | tuple[Any, ...]  # a tuple of HitRecord's fields is turned into one off the event loop
    notify: Callable[[int], None] | None

    @property
    def hit(self) -> HitRecord:
        if isinstance(self.record, tuple):
            try:
                self.record = HitRecord(*self.record)
            except TypeError as exc:  # wrong number of fields: refuse it like any invalid hit
                raise StorageError(f"hit of player {self.player_id} in session {self.session_id} "
                                   f"cannot be stored: {exc}") from None
        return self.record

    @property
    def seq(self) -> int:
        r = self.record
        return int(r[0]) if isinstance(r, tuple) else r.seq

    def row(self) -> tuple[Any, ...]:
        """The hit as a row for :meth:`Database.record_hit_rows` (checked there)."""
        r = self.record
        if isinstance(r, tuple) and len(r) == _RECORD_FIELDS:
            return (self.session_id, self.player_id, *r)
        h = self.hit
        return (self.session_id, self.player_id, h.seq, h.time_s, h.pad, h.velocity, h.cymbal, h.judgment,
                h.offset_ms, h.received_at)


_RECORD_FIELDS = len(fields(HitRecord))


class HitWriter:
    """A thread that commits queued hits to the database, one transaction per round (group commit).

    A round's hits, of every player, go to :meth:`Database.record_hit_rows` as
    plain rows in one statement; if that fails, each player's hits are retried
    on their own (:meth:`Database.record_hits`).

    Parameters
    ----------
    db
        The (thread-safe) database.
    max_pending
        Bound of the queue.
    coalesce_s
        Wait after the first queued hit before committing, so that hits
        arriving together share a round (one transaction for all players' hits of a round).
    dispatch
        Called from the writer thread once per round with every
        ``(notify, seq)`` of the round (e.g. to hand them to an event loop in
        one go); by default each ``notify(seq)`` is called in the writer thread.
    """

    def __init__(self, db: Database, *, max_pending: int = MAX_PENDING_HITS,
                 coalesce_s: float = COALESCE_S,
                 dispatch: Callable[[list[tuple[Callable[[int], None], int]]], None] | None = None) -> None:
        self.db = db
        self.dispatch = dispatch
        self.coalesce_s = coalesce_s
        self.max_pending = max_pending
        # A deque (append/popleft are atomic) and an event: cheaper than queue.Queue on the hot path.
        self._pending: deque[_Pending | threading.Event | None] = deque()
        self._wake = threading.Event()
        self._idle = False
        self._thread = threading.Thread(target=self._run, name="backbeat-hit-writer", daemon=True)
        self.errors: list[str] = []
        self.committed = 0
        self.batches = 0
        self._thread.start()

    def put(self, session_id: int, player_id: int, record: HitRecord | tuple[Any, ...],
            notify: Callable[[int], None] | None = None) -> None:
        """Queue a hit; ``notify(seq)`` is called (from the writer thread) once it is committed.

        ``record`` is a :class:`HitRecord` or the tuple of its fields in order
        (``seq, time_s, pad, velocity, cymbal, judgment, offset_ms,
        received_at``), which the writer thread turns into one (cheaper for
        the caller, usually the event loop).

        Raises
        ------
        ServerBusyError
            If the queue is full.
        """
        if len(self._pending) >= self.max_pending:
            raise ServerBusyError("the server cannot store hits fast enough right now")
        self._pending.append(_Pending(session_id, player_id, record, notify))
        if self._idle:  # the thread waits for work; while it is busy, it finds the hit by itself
            self._wake.set()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Block until everything queued before this call is committed; False on timeout."""
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Commit what is queued and stop the thread."""
        self._pending.append(None)
        self._wake.set()
        self._thread.join(timeout_s)

    def _notify(self, notes: list[tuple[Callable[[int], None], int]]) -> None:
        if self.dispatch is not None:
            with contextlib.suppress(Exception):
                self.dispatch(notes)
            return
        for notify, seq in notes:
            with contextlib.suppress(Exception):
                notify(seq)

    def _commit(self, groups: dict[tuple[int, int], list[_Pending]]) -> list[list[_Pending]]:
        """Commit a round's hits in one transaction; returns the groups that are now stored.

        If the group commit fails (e.g. one player's session was deleted), each
        group is retried in its own transaction so one bad group cannot keep
        the others' hits out of the database.
        """
        if not groups:
            return []
        try:
            self.db.record_hit_rows([p.row() for pend in groups.values() for p in pend])
        except StorageError:
            stored: list[list[_Pending]] = []
            for (sid, pid), pend in groups.items():
                try:
                    self.db.record_hits(sid, pid, [p.hit for p in pend])
                except StorageError as exc:
                    self.errors.append(str(exc))
                    continue
                self.committed += len(pend)
                self.batches += 1
                stored.append(pend)
            return stored
        self.committed += sum(len(pend) for pend in groups.values())
        self.batches += 1
        return list(groups.values())

    def _run(self) -> None:
        empty_rounds = 0
        while True:
            if self.coalesce_s > 0:
                time.sleep(self.coalesce_s)  # let a few more hits arrive: fewer, larger transactions
            if not self._pending:
                empty_rounds += 1
                if self.coalesce_s > 0 and empty_rounds < IDLE_AFTER_EMPTY_ROUNDS:
                    continue  # hits may come any moment: look again after another wait
                # Idle: wait for put() to wake the thread. While hits keep coming the thread never
                # waits here, so the event loop does not pay for a thread wake-up per round.
                self._wake.clear()
                self._idle = True
                if not self._pending:  # re-checked after _idle is visible to put()
                    self._wake.wait()
                self._idle = False
                empty_rounds = 0
                continue
            empty_rounds = 0
            items: list[_Pending | threading.Event | None] = []
            while self._pending and len(items) < MAX_BATCH:
                items.append(self._pending.popleft())
            stop = False
            notes: list[tuple[Callable[[int], None], int]] = []
            groups: dict[tuple[int, int], list[_Pending]] = {}
            events: list[threading.Event] = []
            for it in items:
                if it is None:
                    stop = True
                elif isinstance(it, threading.Event):
                    events.append(it)
                else:
                    groups.setdefault((it.session_id, it.player_id), []).append(it)
            stored = self._commit(groups)
            for pend in stored:
                notify = pend[-1].notify
                if notify is not None:
                    notes.append((notify, max(p.seq for p in pend)))
            if notes:
                self._notify(notes)
            for ev in events:
                ev.set()
            if stop:
                return


# ------------------------------------------------------------------ seats

@dataclass
class Seat:
    """One player's place in a live session."""

    session_id: int
    player_id: int
    player: str
    part: str
    level: str
    device: str
    engine: PlayerEngine
    duration_s: float
    chart_id: int
    writer: HitWriter
    notify_stored: Callable[[int], None] | None = None
    last_seq: int = -1
    hits: int = 0
    ended: bool = False
    resumed: bool = False
    _shift_s: float = field(default=0.0, repr=False)

    def hit(self, *, seq: int, t_song_s: float, pad: int, velocity: int,
            cymbal: bool | None) -> list[JudgmentEvent]:
        """Judge one hit now, queue it for storage, return the judgments made final.

        Raises
        ------
        InvalidArgumentError
            If ``seq`` does not increase.
        ServerBusyError
            If the hit store is saturated.
        """
        if seq <= self.last_seq:
            raise InvalidArgumentError(f"hit seq {seq} does not follow {self.last_seq}")
        self.last_seq = seq
        horizon = self.engine.horizon_s
        judged_t = t_song_s
        if t_song_s - self._shift_s < horizon <= t_song_s - self._shift_s + CHORD_SLACK_S:
            judged_t = horizon + self._shift_s + 1e-9
        hit = InputHit(time_s=judged_t, pad=_PADS[pad] if 0 <= pad < len(_PADS) else Pad(pad),
                       velocity=velocity, cymbal=cymbal, seq=seq)
        self.engine.queue_input(hit)
        events = self.engine.update(judged_t - self._shift_s + LIVE_LATENCY_S + 1e-9)
        # The hit's own judgment is the last or nearly the last event (misses before it): search backwards.
        mine = None
        for e in reversed(events):
            if e.input is not None and e.input.seq == seq:
                mine = e
                break
        self.hits += 1
        # A tuple of HitRecord's fields: the writer thread builds the record (see HitWriter.put).
        self.writer.put(self.session_id, self.player_id, (
            seq, t_song_s, pad, velocity, cymbal,
            mine.judgment.value if mine is not None else "dropped",
            mine.offset_ms if mine is not None else None, time.time()),
            self.notify_stored)
        return events

    def resume(self, earlier: list[HitRow]) -> None:
        """Replay a dropped player's stored hits into this seat's fresh engine (judgments not re-sent)."""
        hits = [InputHit(time_s=h.time_s, pad=Pad(h.pad), velocity=h.velocity, cymbal=h.cymbal, seq=h.seq)
                for h in earlier]
        self.engine.queue_inputs(hits)
        self.engine.update(max(h.time_s for h in hits) - self._shift_s + LIVE_LATENCY_S + 1e-9)
        self.last_seq = max(h.seq for h in earlier)
        self.hits = len(hits)
        self.resumed = True

    def tick(self, t_song_s: float) -> list[JudgmentEvent]:
        """Advance the player's clock: notes whose window closed become misses."""
        return self.engine.update(t_song_s)

    def result(self) -> dict[str, Any]:
        """The result so far."""
        return self.engine.result().to_dict()


class LiveSessions:
    """Registry of sessions being played on this server.

    Parameters
    ----------
    db
        The database.
    library
        The song library (charts).
    writer
        The hit writer.
    """

    def __init__(self, db: Database, library: Library, writer: HitWriter) -> None:
        self.db = db
        self.library = library
        self.writer = writer
        self.seats: dict[tuple[int, str], Seat] = {}
        self._lock = threading.Lock()
        # One tuple of notes per chart track and practice range: engines on the same tuple share its
        # sorted notes and targets (see PlayerEngine), so a join adds no per-note objects.
        self._notes: dict[tuple[int, str, str, float | None, float | None], tuple[Note, ...]] = {}

    def create(self, song_id: int, *, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a session on a ready song.

        Raises
        ------
        SongNotFoundError, SessionError
        """
        row = self.library.song_row(song_id)
        if row.status != STATUS_READY:
            raise SessionError(f"song {song_id} is not ready to play (status: {row.status})")
        s = self.db.create_session(song_id, settings=settings or {})
        return {"id": str(s.id), "song_id": str(song_id), "status": s.status}

    def join(self, session_id: int, *, player: str, part: str, level: str, mode: str, rate: float,
             device: str, from_s: float | None = None, to_s: float | None = None) -> Seat:
        """Seat a player (call from a worker thread: it touches the database).

        Raises
        ------
        SessionError
            Unknown or finished session, or a missing track.
        DuplicatePlayerError
            The player is already seated (another tab) or already played this session.
        """
        srow = self.db.get_session(session_id)
        if srow is None:
            raise SessionError(f"no session with id {session_id}")
        if srow.status not in ("active", "abandoned"):
            raise SessionError(f"session {session_id} is {srow.status}; start a new one")
        if srow.song_id is None:
            raise SessionError(f"session {session_id} has no song")
        key = (session_id, player)
        with self._lock:
            if key in self.seats:
                raise DuplicatePlayerError(f"{player} is already playing in session {session_id} "
                                           "(another tab or window?)")
            self.seats[key] = None  # type: ignore[assignment]  # reserve the seat
        try:
            prow = self.db.add_player(player)
            earlier: list[HitRow] = []
            for sp in self.db.session_players(session_id):
                if sp.player_id != prow.id:
                    continue
                result = sp.result_data()
                if result is not None and not (isinstance(result, dict) and result.get("finished") is False):
                    raise DuplicatePlayerError(
                        f"{player} already played session {session_id}; start a new one")
                # The player dropped out (closed tab, lost connection, server restarted):
                # carry on from the stored hits.
                earlier = self.db.hits(session_id, player_id=prow.id)
            try:
                track = self.library.play_track(srow.song_id, part=part, level=level)
            except InvalidArgumentError as exc:  # no such song, part or level
                raise SessionError(str(exc)) from None
            notes = self._shared_notes(track, from_s=from_s, to_s=to_s)
            cal = get_calibration(self.db, device)
            windows = BEGINNER_WINDOWS if mode == "any_pad" else HitWindows()
            settings = EngineSettings(windows=windows, mode="any_pad" if mode == "any_pad" else "pads",
                                      playback_rate=rate, max_input_latency_s=LIVE_LATENCY_S,
                                      calibration_offset_ms=max(-1000.0, min(1000.0, cal["audio_offset_ms"])))
            engine = PlayerEngine(notes, settings=settings)
            self.db.add_session_player(session_id, prow.id, part=part, difficulty=track.level)
            seat = Seat(session_id=session_id, player_id=prow.id, player=player, part=part, level=track.level,
                        device=device, engine=engine, duration_s=track.duration_s, chart_id=track.chart_id,
                        writer=self.writer)
            seat._shift_s = settings.calibration_offset_ms / 1000.0 * rate
            if earlier:
                seat.resume(earlier)
        except BaseException:
            with self._lock:
                self.seats.pop(key, None)
            raise
        with self._lock:
            self.seats[key] = seat
        return seat

    def _shared_notes(self, track: PlayTrack, *, from_s: float | None,
                      to_s: float | None) -> tuple[Note, ...]:
        key = (track.chart_id, track.part, track.level, from_s, to_s)
        with self._lock:
            notes = self._notes.get(key)
            if notes is None or not track.chart_id:  # chart id 0: no stored chart row to key on
                notes = notes_in_range(tuple(track.notes), from_s=from_s, to_s=to_s)
                if len(self._notes) >= MAX_SHARED_TRACKS:
                    del self._notes[next(iter(self._notes))]
                self._notes[key] = notes
        return notes

    def leave(self, seat: Seat, *, finished: bool) -> dict[str, Any]:
        """End a seat: flush its hits, store the result and replay (call from a worker thread).

        Parameters
        ----------
        seat
            The seat.
        finished
            True when the player sent ``end`` (every remaining note is judged);
            False when the connection dropped (the result covers what was played).

        Returns
        -------
        dict
            The player's result.
        """
        if seat.ended:
            return seat.result()
        seat.ended = True
        try:
            if finished:
                seat.engine.finish()
            result = seat.result()
            result["finished"] = finished
            self.writer.flush()
            self.db.set_player_result(seat.session_id, seat.player_id, result)
            replay = Replay.from_engine(seat.engine, chart_id=str(seat.chart_id), part=seat.part,
                                        difficulty=seat.level)
            self.db.save_replay(seat.session_id, seat.player_id, replay.to_json())
        finally:
            with self._lock:
                self.seats.pop((seat.session_id, seat.player), None)
                others = any(k[0] == seat.session_id for k in self.seats)
            if not others:
                with contextlib.suppress(StorageError):
                    self.db.end_session(seat.session_id, status="finished" if finished else "abandoned")
        return result

    def describe(self, session_id: int) -> dict[str, Any]:
        """A session with its players, results and hit counts.

        Raises
        ------
        SessionError
            If there is no such session.
        """
        s = self.db.get_session(session_id)
        if s is None:
            raise SessionError(f"no session with id {session_id}")
        song = self.db.get_song(s.song_id) if s.song_id is not None else None
        players = []
        for sp in self.db.session_players(session_id):
            prow = self.db.get_player(sp.player_id)
            result = sp.result_data()
            players.append({
                "player": prow.name if prow else str(sp.player_id), "part": sp.part, "level": sp.difficulty,
                "result": result, "accuracy": result.get("accuracy") if isinstance(result, dict) else None,
                "hits_stored": self.db.count_hits(session_id, player_id=sp.player_id),
            })
        return {"id": str(s.id), "song_id": None if s.song_id is None else str(s.song_id),
                "song_title": song.title if song else "", "status": s.status,
                "started_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.started_at)),
                "players": players}

    def list(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent sessions, newest first."""
        return [self.describe(s.id) for s in self.db.list_sessions()[:limit]]
