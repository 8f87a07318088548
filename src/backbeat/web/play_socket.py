"""The /ws/play WebSocket: one receiver and one sender task per socket, bounded queues.

The receiver validates every message (size, JSON schema, protocol version,
finite song times within the song ± 10 s, rate limit) and judges hits
through the player's :class:`~backbeat.services.sessions.Seat` on the spot;
judgments go, already encoded, to a bounded outgoing queue that the sender
task drains. On a violation the client gets an ``error`` message and the
socket is closed with a matching close code (see :mod:`backbeat.web.protocol`);
other sockets are not affected. Whatever happens, the player's hits are
stored and the seat is released with its result.

The socket is served as a plain ASGI app (:class:`PlaySocketApp`), calling
the server's ``receive`` and ``send`` directly: every hit and judgment goes
through this path, so it avoids the per-message work of a framework
WebSocket wrapper. A client that joined with ``"batch": true`` gets every
message queued for it at the moment the sender runs in ONE frame, as a JSON
array; a client that did not gets one message per frame, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from backbeat.core.errors import BackbeatError
from backbeat.core.kit import Pad
from backbeat.engine import JudgmentEvent
from backbeat.services.sessions import DuplicatePlayerError, Seat, ServerBusyError, SessionError
from backbeat.web.protocol import (
    CLOSE_DUPLICATE_PLAYER,
    CLOSE_NORMAL,
    CLOSE_NOT_FOUND,
    CLOSE_POLICY,
    CLOSE_RATE_LIMIT,
    CLOSE_SERVER_ERROR,
    PROTOCOL_VERSION,
    EndMsg,
    HitMsg,
    JoinMsg,
    ProtocolViolation,
    RateLimiter,
    TickMsg,
    check_song_time,
    error_message,
    parse_message,
)

if TYPE_CHECKING:
    from backbeat.web.app import AppServices

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Outgoing messages waiting for a slow client before it is disconnected.
OUT_QUEUE_SIZE = 1024
#: Most messages sent in one frame to a client that asked for batches.
MAX_BATCH_MESSAGES = 64
#: How long a client may take to join after connecting, seconds.
JOIN_TIMEOUT_S = 10.0
#: A stored-hit watermark that no judgment carried for this long goes out on its own ("stored"); the
#: check runs every STORED_ACK_INTERVAL_S, so the delay after the commit is between one and two intervals.
STORED_ACK_INTERVAL_S = 0.25

#: One compact JSON encoder for every message sent (json.dumps with options builds one per call).
_encode = json.JSONEncoder(separators=(",", ":")).encode


_T = TypeVar("_T")


def _start_in_thread(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> asyncio.Future[_T]:
    """Run ``fn`` in a worker thread; the call runs to the end even if the awaiting task is cancelled.

    ``asyncio.to_thread`` drops a call still queued for a worker when its task is
    cancelled (a server shutting down, a test client tearing a socket down), which
    would leave a seat held forever. Await the returned future through
    :func:`asyncio.shield`.
    """
    return asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


def _num(x: float | None) -> str:
    """A number (or None) as JSON, exactly as :data:`_encode` writes it."""
    if x is None:
        return "null"
    if math.isfinite(x):
        return repr(x)
    return _encode(x)


_JUDGMENT_JSON = ('{"judgment":"%s","time_s":%s,"pad":"%s","note_index":%s,"note_time_s":%s,'
                  '"offset_ms":%s,"seq":%s,"velocity":%s,"combo":%d,"multiplier":%d,"score":%d,'
                  '"free":%s,"v":' + str(PROTOCOL_VERSION) + ',"type":"judgment","stored":%d}')
_PAD_NAMES = {pad: pad.name.lower() for pad in Pad}


def judgment_json(e: JudgmentEvent, stored: int) -> str:
    """The ``judgment`` message of an engine event, encoded: :meth:`JudgmentEvent.to_dict` plus
    ``v``, ``type`` and ``stored``, written directly (the hot path of every hit).
    """
    hit = e.input
    return _JUDGMENT_JSON % (
        e.judgment.value, _num(e.time_s), _PAD_NAMES[e.pad],
        "null" if e.note_index is None else int(e.note_index), _num(e.note_time_s), _num(e.offset_ms),
        "null" if hit is None or hit.seq is None else int(hit.seq),
        "null" if hit is None else int(hit.velocity),
        e.combo, e.multiplier, e.score, "true" if e.free else "false", stored)


class _AckClock:
    """One timer per event loop that checks the stored-hit acknowledgements of every socket that waits
    for one (instead of a timer per socket, which at hundreds of players made thousands of timer
    objects a second for the garbage collector to promote and scan).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watched: set[PlayConnection] = set()
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _AckClock:
        clock = _ACK_CLOCKS.get(loop)
        if clock is None:
            clock = _ACK_CLOCKS[loop] = cls(loop)
        return clock

    def watch(self, conn: PlayConnection) -> None:
        self.watched.add(conn)
        if self.handle is None:
            self.handle = self.loop.call_later(STORED_ACK_INTERVAL_S, self._tick)

    def _tick(self) -> None:
        watched, self.watched = self.watched, set()
        for conn in watched:
            with contextlib.suppress(Exception):  # one socket's trouble must not stop the others' acks
                if conn.check_stored():
                    self.watched.add(conn)
        self.handle = self.loop.call_later(STORED_ACK_INTERVAL_S, self._tick) if self.watched else None


_ACK_CLOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AckClock] = weakref.WeakKeyDictionary()


class PlayConnection:
    """State of one /ws/play socket.

    Parameters
    ----------
    receive, send
        The ASGI callables of the socket (after the handshake).
    services
        The app's services.
    """

    def __init__(self, receive: Receive, send: Send, services: AppServices) -> None:
        self._receive = receive
        self._send = send
        self.services = services
        self.out: deque[str | _Close] = deque()
        self._out_ready: asyncio.Future[None] | None = None
        self.limiter = RateLimiter()
        self.seat: Seat | None = None
        self.loop = asyncio.get_running_loop()
        self.batch = False
        self.connected = True
        self.closing = False
        self.pending_close: tuple[int, str, tuple[str, str] | None] | None = None
        self.stored_seq = -1
        self.acked_seq = -1
        self._ack_due = -1
        self._ack_watched = False

    # -- output ---------------------------------------------------------------
    def _wake_sender(self) -> None:
        ready = self._out_ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    def send(self, msg: dict[str, Any] | str) -> None:
        """Queue a message (a dict or its JSON); a client that does not read its messages is disconnected."""
        if self.closing:
            return
        if len(self.out) >= OUT_QUEUE_SIZE:
            raise ProtocolViolation("too_slow", "client is not reading its messages", close_code=CLOSE_POLICY)
        self.out.append(msg if isinstance(msg, str) else _encode(msg))
        self._wake_sender()

    def close(self, code: int, reason: str, *, error: tuple[str, str] | None = None) -> None:
        """Stop reading; the error and close frame are sent once the player's hits are stored."""
        if self.pending_close is None:
            self.pending_close = (code, reason[:120], error)

    def flush_close(self) -> None:
        """Queue the pending error message and close frame (bypassing the bound)."""
        if self.closing:
            return
        self.closing = True
        code, reason, error = self.pending_close or (CLOSE_NORMAL, "bye", None)
        # Make room for the last two messages if the queue is full.
        while len(self.out) > OUT_QUEUE_SIZE - 2:
            self.out.popleft()
        if error is not None:
            self.out.append(_encode(error_message(*error)))
        self.out.append(_Close(code, reason))
        self._wake_sender()

    def _note_stored(self, seq: int) -> None:
        # On the event loop, after each commit round holding hits of this player. Judgments carry the
        # highest stored seq ("stored" field); a standalone "stored" message goes out only for a value
        # that no judgment carried for a whole check interval (a player who stopped playing).
        if seq > self.stored_seq:
            self.stored_seq = seq
        if not self._ack_watched:
            self._ack_watched = True
            _AckClock.of(self.loop).watch(self)

    def check_stored(self) -> bool:
        """Called by the ack clock every STORED_ACK_INTERVAL_S; True to be checked again next time.

        A value known at the previous check and still not carried by a judgment goes out on its own,
        so a commit is acknowledged within one to two intervals.
        """
        if self.closing:
            self._ack_watched = False
            return False
        if self._ack_due > self.acked_seq and len(self.out) < OUT_QUEUE_SIZE // 2:
            self.acked_seq = self.stored_seq
            self.out.append(_encode({"v": PROTOCOL_VERSION, "type": "stored", "seq": self.stored_seq}))
            self._wake_sender()
        self._ack_due = self.stored_seq if self.stored_seq > self.acked_seq else -1
        self._ack_watched = self._ack_due >= 0
        return self._ack_watched

    def _send_judgments(self, events: list[JudgmentEvent]) -> None:
        stored = self.stored_seq
        for e in events:
            self.send(judgment_json(e, stored))
        if events:
            self.acked_seq = stored

    async def sender(self) -> None:
        """Drain the outgoing queue until a close item."""
        out = self.out
        send = self._send
        while True:
            if not out:
                self._out_ready = self.loop.create_future()
                await self._out_ready
                self._out_ready = None
                continue
            item = out.popleft()
            if isinstance(item, _Close):
                if self.connected:
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": item.code, "reason": item.reason})
                return
            if self.batch and out and not isinstance(out[0], _Close):
                items = [item]
                while out and len(items) < MAX_BATCH_MESSAGES and not isinstance(out[0], _Close):
                    items.append(out.popleft())  # type: ignore[arg-type]  # not a _Close: checked above
                item = "[" + ",".join(items) + "]"
            try:
                await send({"type": "websocket.send", "text": item})
            except Exception:  # the client went away; the receiver will notice
                return

    # -- input ----------------------------------------------------------------
    async def receiver(self) -> None:
        """Read, validate and handle messages until the socket closes or the player ends."""
        receive = self._receive
        limiter = self.limiter
        while self.pending_close is None:
            if self.seat is None:  # only the join has a deadline
                try:
                    message = await asyncio.wait_for(receive(), JOIN_TIMEOUT_S)
                except TimeoutError:
                    self.close(CLOSE_POLICY, "join timeout",
                               error=("join_timeout", "send a join message first"))
                    return
            else:
                message = await receive()
            if message["type"] != "websocket.receive":
                self.connected = False  # websocket.disconnect
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                if not limiter.allow(time.monotonic()):
                    raise ProtocolViolation("rate_limit", "too many messages (limit "
                                            f"{limiter.rate_per_s:.0f}/s)", close_code=CLOSE_RATE_LIMIT)
                msg = parse_message(raw)
                if isinstance(msg, HitMsg):
                    self.hit(msg)
                else:
                    await self.handle(msg)
            except ProtocolViolation as exc:
                self.close(exc.close_code, exc.code, error=(exc.code, str(exc)))
                return
            except DuplicatePlayerError as exc:
                self.close(CLOSE_DUPLICATE_PLAYER, "duplicate player", error=("duplicate_player", str(exc)))
                return
            except SessionError as exc:
                self.close(CLOSE_NOT_FOUND, "cannot join", error=("cannot_join", str(exc)))
                return
            except ServerBusyError as exc:
                self.close(1013, "server busy", error=("busy", str(exc)))
                return
            except BackbeatError as exc:
                self.close(CLOSE_POLICY, "bad message", error=("bad_field", str(exc)))
                return

    def _release_orphan(self, joining: asyncio.Future[Seat]) -> None:
        if not joining.cancelled() and joining.exception() is None:
            _start_in_thread(self.services.sessions.leave, joining.result(), finished=False)

    def hit(self, msg: HitMsg) -> None:
        """Judge a hit at once and queue its judgment (and the misses it made final)."""
        seat = self.seat
        if seat is None:
            raise ProtocolViolation("not_joined", "send join before hits")
        check_song_time(msg.t_song_s, duration_s=seat.duration_s)
        if msg.seq <= seat.last_seq:
            raise ProtocolViolation("bad_seq", f"hit seq {msg.seq} does not follow {seat.last_seq}")
        self._send_judgments(seat.hit(seq=msg.seq, t_song_s=msg.t_song_s, pad=msg.pad,
                                      velocity=msg.velocity, cymbal=msg.cymbal))

    async def handle(self, msg: JoinMsg | HitMsg | TickMsg | EndMsg) -> None:
        """Act on one valid message."""
        seat = self.seat
        if isinstance(msg, HitMsg):
            self.hit(msg)
        elif isinstance(msg, TickMsg):
            if seat is None:
                raise ProtocolViolation("not_joined", "send join before ticks")
            check_song_time(msg.t_song_s, duration_s=seat.duration_s)
            self._send_judgments(seat.tick(msg.t_song_s))
        elif isinstance(msg, JoinMsg):
            if seat is not None:
                raise ProtocolViolation("already_joined", "this socket already joined")
            try:
                session_id = int(msg.session)
            except ValueError:
                raise SessionError(f"no session with id {msg.session!r}") from None
            if msg.from_s is not None and msg.to_s is not None and msg.to_s <= msg.from_s:
                raise ProtocolViolation("bad_field", "to_s must be after from_s")
            joining = _start_in_thread(
                self.services.sessions.join, session_id, player=msg.player, part=msg.part, level=msg.level,
                mode=msg.mode, rate=msg.rate, device=msg.device, from_s=msg.from_s, to_s=msg.to_s)
            try:
                new = await asyncio.shield(joining)
            except asyncio.CancelledError:  # the seat may still be taken: give it back once it is
                joining.add_done_callback(self._release_orphan)
                raise
            new.notify_stored = self._note_stored  # called on the event loop (see app.py)
            self.seat = new
            self.services.heap.joined()
            self.batch = msg.batch
            self.send({"v": PROTOCOL_VERSION, "type": "joined", "session": str(session_id),
                       "player": msg.player, "part": new.part, "level": new.level,
                       "notes": len(new.engine.notes), "duration_s": new.duration_s,
                       "resumed": new.resumed, "last_seq": new.last_seq, "batch": msg.batch,
                       "calibration_offset_ms": new.engine.settings.calibration_offset_ms})
        elif isinstance(msg, EndMsg):
            if seat is None:
                raise ProtocolViolation("not_joined", "nothing to end")
            result = await asyncio.shield(_start_in_thread(self.services.sessions.leave, seat, finished=True))
            self.send({"v": PROTOCOL_VERSION, "type": "result", "player": seat.player, "result": result,
                       "hits_stored": seat.hits})
            self.close(CLOSE_NORMAL, "done")


async def play_socket(receive: Receive, send: Send, services: AppServices) -> None:
    """Serve one /ws/play connection (ASGI ``receive`` and ``send`` of a ``websocket`` scope)."""
    first = await receive()
    if first["type"] != "websocket.connect":  # the client left during the handshake
        return
    await send({"type": "websocket.accept"})
    conn = PlayConnection(receive, send, services)
    sender = asyncio.create_task(conn.sender())
    services.heap.opened()
    try:
        await conn.receiver()
    except OSError:  # the connection broke under a send or receive
        conn.connected = False
    except Exception as exc:  # report, close this socket only
        conn.close(CLOSE_SERVER_ERROR, "server error", error=("server_error", f"internal error: {exc}"))
    finally:
        services.heap.closed()
        seat = conn.seat
        if seat is not None and not seat.ended:
            with contextlib.suppress(BackbeatError):
                await asyncio.shield(_start_in_thread(services.sessions.leave, seat, finished=False))
        conn.flush_close()
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(sender, 5.0)


class PlaySocketApp:
    """The ``/ws/play`` endpoint as a plain ASGI app (mounted with ``add_websocket_route``)."""

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Serve one connection; the services come from the app that routed it."""
        await play_socket(receive, send, scope["app"].state.services)
