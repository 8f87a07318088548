"""The /ws/play WebSocket: one receiver and one sender task per socket, bounded queues.

The receiver validates every message (size, JSON schema, protocol version,
finite song times within the song ± 10 s, rate limit) and judges hits
through the player's :class:`~backbeat.services.sessions.Seat` on the spot;
judgments go to a bounded outgoing queue that the sender task drains. On a
violation the client gets an ``error`` message and the socket is closed with
a matching close code (see :mod:`backbeat.web.protocol`); other sockets are
not affected. Whatever happens, the player's hits are stored and the seat is
released with its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from backbeat.core.errors import BackbeatError
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

#: Outgoing messages waiting for a slow client before it is disconnected.
OUT_QUEUE_SIZE = 1024
#: How long a client may take to join after connecting, seconds.
JOIN_TIMEOUT_S = 10.0
#: A standalone stored-hit acknowledgement follows a commit after this long if no judgment carried it.
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


def _event_msg(e: JudgmentEvent) -> dict[str, Any]:
    d = e.to_dict()
    d["v"] = PROTOCOL_VERSION
    d["type"] = "judgment"
    return d


class PlayConnection:
    """State of one /ws/play socket."""

    def __init__(self, ws: WebSocket, services: AppServices) -> None:
        self.ws = ws
        self.services = services
        self.out: asyncio.Queue[dict[str, Any] | _Close] = asyncio.Queue(maxsize=OUT_QUEUE_SIZE)
        self.limiter = RateLimiter()
        self.seat: Seat | None = None
        self.loop = asyncio.get_running_loop()
        self.closing = False
        self.pending_close: tuple[int, str, tuple[str, str] | None] | None = None
        self.stored_seq = -1
        self.acked_seq = -1
        self._ack_scheduled = False

    # -- output ---------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        """Queue a message; a client that does not read its messages is disconnected."""
        if self.closing:
            return
        try:
            self.out.put_nowait(msg)
        except asyncio.QueueFull:
            raise ProtocolViolation("too_slow", "client is not reading its messages",
                                    close_code=CLOSE_POLICY) from None

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
        while self.out.qsize() > OUT_QUEUE_SIZE - 2:
            with contextlib.suppress(asyncio.QueueEmpty):
                self.out.get_nowait()
        if error is not None:
            self.out.put_nowait(error_message(*error))
        self.out.put_nowait(_Close(code, reason))

    def _note_stored(self, seq: int) -> None:
        # On the event loop. Judgments carry the highest stored seq ("stored" field); a standalone "stored"
        # message goes out only when no judgment has carried the latest value for a while.
        self.stored_seq = max(self.stored_seq, seq)
        if not self._ack_scheduled:
            self._ack_scheduled = True
            self.loop.call_later(STORED_ACK_INTERVAL_S, self._send_stored)

    def _send_stored(self) -> None:
        self._ack_scheduled = False
        if self.stored_seq > self.acked_seq and not self.closing and self.out.qsize() < OUT_QUEUE_SIZE // 2:
            self.acked_seq = self.stored_seq
            self.out.put_nowait({"v": PROTOCOL_VERSION, "type": "stored", "seq": self.stored_seq})

    def _judgment(self, e: JudgmentEvent) -> dict[str, Any]:
        msg = _event_msg(e)
        msg["stored"] = self.stored_seq
        self.acked_seq = self.stored_seq
        return msg

    async def sender(self) -> None:
        """Drain the outgoing queue until a close item."""
        while True:
            item = await self.out.get()
            if isinstance(item, _Close):
                if self.ws.client_state == WebSocketState.CONNECTED:
                    with contextlib.suppress(Exception):
                        await self.ws.close(item.code, item.reason)
                return
            try:
                await self.ws.send_text(_encode(item))
            except Exception:  # the client went away; the receiver will notice
                return

    # -- input ----------------------------------------------------------------
    async def receiver(self) -> None:
        """Read, validate and handle messages until the socket closes or the player ends."""
        while self.pending_close is None:
            timeout = JOIN_TIMEOUT_S if self.seat is None else None
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout)
            except TimeoutError:
                self.close(CLOSE_POLICY, "join timeout", error=("join_timeout", "send a join message first"))
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                if not self.limiter.allow(time.monotonic()):
                    raise ProtocolViolation("rate_limit", "too many messages (limit "
                                            f"{self.limiter.rate_per_s:.0f}/s)", close_code=CLOSE_RATE_LIMIT)
                await self.handle(parse_message(raw))
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

    async def handle(self, msg: JoinMsg | HitMsg | TickMsg | EndMsg) -> None:
        """Act on one valid message."""
        seat = self.seat
        if isinstance(msg, HitMsg):
            if seat is None:
                raise ProtocolViolation("not_joined", "send join before hits")
            check_song_time(msg.t_song_s, duration_s=seat.duration_s)
            if msg.seq <= seat.last_seq:
                raise ProtocolViolation("bad_seq", f"hit seq {msg.seq} does not follow {seat.last_seq}")
            for e in seat.hit(seq=msg.seq, t_song_s=msg.t_song_s, pad=msg.pad, velocity=msg.velocity,
                              cymbal=msg.cymbal):
                self.send(self._judgment(e))
        elif isinstance(msg, TickMsg):
            if seat is None:
                raise ProtocolViolation("not_joined", "send join before ticks")
            check_song_time(msg.t_song_s, duration_s=seat.duration_s)
            for e in seat.tick(msg.t_song_s):
                self.send(self._judgment(e))
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
            self.send({"v": PROTOCOL_VERSION, "type": "joined", "session": str(session_id),
                       "player": msg.player, "part": new.part, "level": new.level,
                       "notes": len(new.engine.notes), "duration_s": new.duration_s,
                       "resumed": new.resumed, "last_seq": new.last_seq,
                       "calibration_offset_ms": new.engine.settings.calibration_offset_ms})
        elif isinstance(msg, EndMsg):
            if seat is None:
                raise ProtocolViolation("not_joined", "nothing to end")
            result = await asyncio.shield(_start_in_thread(self.services.sessions.leave, seat, finished=True))
            self.send({"v": PROTOCOL_VERSION, "type": "result", "player": seat.player, "result": result,
                       "hits_stored": seat.hits})
            self.close(CLOSE_NORMAL, "done")


async def play_socket(ws: WebSocket, services: AppServices) -> None:
    """Serve one /ws/play connection."""
    await ws.accept()
    conn = PlayConnection(ws, services)
    sender = asyncio.create_task(conn.sender())
    try:
        await conn.receiver()
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # report, close this socket only
        conn.close(CLOSE_SERVER_ERROR, "server error", error=("server_error", f"internal error: {exc}"))
    finally:
        seat = conn.seat
        if seat is not None and not seat.ended:
            with contextlib.suppress(BackbeatError):
                await asyncio.shield(_start_in_thread(services.sessions.leave, seat, finished=False))
        conn.flush_close()
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(sender, 5.0)
