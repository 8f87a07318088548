"""The /ws/play message protocol: parsing, validation and rate limiting.

Every message is a JSON object ``{"v": 1, "type": ..., ...}`` of at most
:data:`MAX_MESSAGE_BYTES` bytes. Client to server:

``join``
    ``session`` (str), ``player`` (str), ``part`` (str), ``level`` (str),
    ``mode`` ("pads" | "any_pad"), ``rate`` (0.25-2.0), ``device`` (str),
    optional ``from_s`` / ``to_s`` (practice range: only notes in it are judged),
    optional ``batch`` (bool): the client accepts several messages in one frame, as a JSON array.
``hit``
    ``seq`` (int >= 0, increasing), ``t_song_s`` (finite float), ``pad``
    (0-4 or "kick"/"red"/"yellow"/"blue"/"green"), ``velocity`` (1-127),
    optional ``cymbal`` (bool).
``tick``
    ``t_song_s``: the player's song clock, so misses are judged on time.
``end``
    Finish the run; the server answers with ``result`` and closes.

Server to client: ``joined``, ``judgment`` (with ``stored``: the highest
hit seq committed to the database so far), ``stored`` (the same, sent on
its own when no judgment carried it), ``result``, ``error`` (``code`` and
``message``, followed by a close with one of the ``CLOSE_*`` codes). One
message per frame; a client that joined with ``batch`` true gets the
messages waiting for it as ONE frame holding a JSON array when there are
several.

Everything here is pure: no sockets, no clocks (the rate limiter is handed
the time).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from backbeat.core.errors import ProtocolError

#: Protocol version carried in every message as ``v``.
PROTOCOL_VERSION = 1
#: Largest accepted message, in bytes (UTF-8).
MAX_MESSAGE_BYTES = 4096
#: Hits and ticks may lie this far outside ``[0, duration_s]``.
TIME_MARGIN_S = 10.0
#: Sustained messages per second allowed per socket, and the burst above it.
RATE_PER_S = 100.0
RATE_BURST = 200.0

#: WebSocket close codes used by the server.
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
#: Application codes (4000-4999): duplicate player, unknown session/song.
CLOSE_DUPLICATE_PLAYER = 4409
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMIT = 4429

PAD_NAMES = ("kick", "red", "yellow", "blue", "green")
MODES = ("pads", "any_pad")
_NAME_RE = re.compile(r"^[\w .:\-@+#()/]{1,64}$", re.UNICODE)


class ProtocolViolation(ProtocolError):
    """A client message broke the protocol.

    Parameters
    ----------
    code
        Short machine-readable reason (``"bad_json"``, ``"too_big"`` ...).
    message
        What is wrong, in words.
    close_code
        WebSocket close code the server uses after reporting it.
    """

    def __init__(self, code: str, message: str, *, close_code: int = CLOSE_POLICY) -> None:
        self.code = code
        self.close_code = close_code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class JoinMsg:
    """A player asks to join a session."""

    session: str
    player: str
    part: str
    level: str
    mode: str
    rate: float
    device: str
    from_s: float | None = None
    to_s: float | None = None
    batch: bool = False


@dataclass(frozen=True, slots=True)
class HitMsg:
    """One stroke on a pad at the player's song time."""

    seq: int
    t_song_s: float
    pad: int
    velocity: int
    cymbal: bool | None


@dataclass(frozen=True, slots=True)
class TickMsg:
    """The player's song clock, sent a few times a second."""

    t_song_s: float


@dataclass(frozen=True, slots=True)
class EndMsg:
    """The player finished (or left) the song."""


ClientMsg = JoinMsg | HitMsg | TickMsg | EndMsg


def parse_message(raw: str | bytes) -> ClientMsg:
    """Decode and validate one client message (everything but timing bounds).

    Parameters
    ----------
    raw
        The text frame as received.

    Returns
    -------
    JoinMsg | HitMsg | TickMsg | EndMsg

    Raises
    ------
    ProtocolViolation
        If the message is too big, not JSON, not an object, of an unknown
        version or type, or has a missing or invalid field.
    """
    if isinstance(raw, str):  # an ASCII text (every normal message) is as long in UTF-8 bytes
        size = len(raw) if raw.isascii() else len(raw.encode("utf-8", "replace"))
    else:
        size = len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolViolation("too_big", f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte "
                                "limit", close_code=CLOSE_TOO_BIG)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolViolation("bad_json", "message is not valid JSON",
                                close_code=CLOSE_UNSUPPORTED) from None
    if not isinstance(data, dict):
        raise ProtocolViolation("bad_schema", "message must be a JSON object")
    if data.get("v") != PROTOCOL_VERSION:
        raise ProtocolViolation("bad_version", f"unsupported protocol version {data.get('v')!r} "
                                f"(server speaks {PROTOCOL_VERSION})")
    kind = data.get("type")
    if kind == "hit":
        return HitMsg(
            seq=_int(data, "seq", lo=0, hi=2**53),
            t_song_s=_float(data, "t_song_s"),
            pad=_pad(data.get("pad")),
            velocity=_int(data, "velocity", lo=1, hi=127, default=100),
            cymbal=_opt_bool(data, "cymbal"),
        )
    if kind == "tick":
        return TickMsg(t_song_s=_float(data, "t_song_s"))
    if kind == "join":
        mode = str(data.get("mode", "pads"))
        if mode not in MODES:
            raise ProtocolViolation("bad_field", f"mode must be one of {', '.join(MODES)}")
        rate = _float(data, "rate", default=1.0)
        if not 0.25 <= rate <= 2.0:
            raise ProtocolViolation("bad_field", f"rate {rate} outside 0.25-2.0")
        return JoinMsg(
            session=_name(data, "session"),
            player=_name(data, "player"),
            part=_name(data, "part", default="drums"),
            level=_name(data, "level", default="expert"),
            mode=mode,
            rate=rate,
            device=_name(data, "device", default="keyboard"),
            from_s=_opt_float(data, "from_s"),
            to_s=_opt_float(data, "to_s"),
            batch=_opt_bool(data, "batch") is True,
        )
    if kind == "end":
        return EndMsg()
    raise ProtocolViolation("bad_type", f"unknown message type {kind!r}")


def check_song_time(t_song_s: float, *, duration_s: float) -> None:
    """Reject song times outside ``[-TIME_MARGIN_S, duration_s + TIME_MARGIN_S]``.

    Raises
    ------
    ProtocolViolation
        With code ``"bad_time"``.
    """
    if not (-TIME_MARGIN_S <= t_song_s <= duration_s + TIME_MARGIN_S):
        raise ProtocolViolation(
            "bad_time", f"song time {t_song_s:.3f} s is outside the song (0-{duration_s:.1f} s "
            f"± {TIME_MARGIN_S:.0f} s)")


class RateLimiter:
    """Token bucket: ``rate_per_s`` sustained with bursts up to ``burst``.

    Parameters
    ----------
    rate_per_s
        Tokens added per second.
    burst
        Bucket size.
    """

    def __init__(self, *, rate_per_s: float = RATE_PER_S, burst: float = RATE_BURST) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ProtocolError("rate limiter needs rate_per_s > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._last_s: float | None = None

    def allow(self, now_s: float) -> bool:
        """Take one token at monotonic time ``now_s``; False when the bucket is empty."""
        if self._last_s is not None:
            self._tokens = min(self.burst, self._tokens + (now_s - self._last_s) * self.rate_per_s)
        self._last_s = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def error_message(code: str, message: str) -> dict[str, Any]:
    """The ``error`` message the server sends before closing."""
    return {"v": PROTOCOL_VERSION, "type": "error", "code": code, "message": message}


# -- field helpers ----------------------------------------------------------

def _float(data: dict[str, Any], key: str, *, default: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolViolation("bad_field", f"{key} must be a number")
    x = float(value)
    if not math.isfinite(x):
        raise ProtocolViolation("bad_time" if key == "t_song_s" else "bad_field", f"{key} must be finite")
    return x


def _opt_float(data: dict[str, Any], key: str) -> float | None:
    if data.get(key) is None:
        return None
    x = _float(data, key)
    if x < 0:
        raise ProtocolViolation("bad_field", f"{key} must be >= 0")
    return x


def _int(data: dict[str, Any], key: str, *, lo: int, hi: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolViolation("bad_field", f"{key} must be an integer")
    if not lo <= value <= hi:
        raise ProtocolViolation("bad_field", f"{key} {value} outside {lo}-{hi}")
    return value


def _opt_bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ProtocolViolation("bad_field", f"{key} must be true, false or null")


def _pad(value: Any) -> int:
    if type(value) is int and 0 <= value < len(PAD_NAMES):  # the usual case first
        return value
    if isinstance(value, str) and value in PAD_NAMES:
        return PAD_NAMES.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(PAD_NAMES):
        return value
    raise ProtocolViolation("bad_field", f"pad must be 0-4 or one of {', '.join(PAD_NAMES)}")


def _name(data: dict[str, Any], key: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ProtocolViolation("bad_field",
                                f"{key} must be 1-64 letters, digits, spaces or . _ : - @ + # ( ) /")
    return value
