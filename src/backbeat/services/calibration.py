"""Per-device latency calibration: store the robust median of tap offsets, audio and video apart.

The browser plays a click (audio) or shows a flash (video) at known times,
the player taps along, and the raw offsets (tap minus cue, real ms) come
here. Outliers are dropped and the median kept
(:func:`backbeat.engine.calibration.robust_offset_ms`); the other offset of
the device is carried over from its latest calibration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from backbeat.core.errors import InvalidArgumentError
from backbeat.engine.calibration import robust_offset_ms
from backbeat.storage.database import Database

#: Largest offset a calibration may store, real ms.
MAX_OFFSET_MS = 500.0
#: Most taps accepted in one calibration run.
MAX_TAPS = 512
_DEVICE_RE = re.compile(r"^[\w .:\-@+#()/]{1,128}$", re.UNICODE)


def device_kind(device: str) -> str:
    """The device kind stored beside its name: keyboard, midi, mic or other."""
    for kind in ("keyboard", "midi", "mic"):
        if device == kind or device.startswith(kind + ":") or device.startswith(kind + "-"):
            return kind
    return "other"


def _check_device(device: str) -> str:
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise InvalidArgumentError(
            f"device name {device!r} must be 1-128 letters, digits, spaces or . : - @ + # ( ) /")
    return device


def get_calibration(db: Database, device: str) -> dict[str, Any]:
    """The latest offsets of a device (0 ms for a device never calibrated)."""
    _check_device(device)
    row = db.add_device(device, device_kind(device))
    cal = db.latest_calibration(row.id)
    return {
        "device": device,
        "audio_offset_ms": cal.audio_offset_ms if cal else 0.0,
        "video_offset_ms": cal.video_offset_ms if cal else 0.0,
        "calibrated": cal is not None,
    }


def record_calibration(db: Database, device: str, *, kind: str,
                       offsets_ms: Sequence[float]) -> dict[str, Any]:
    """Compute and store a new audio or video offset from tap offsets.

    Parameters
    ----------
    db
        The database.
    device
        Device name (e.g. ``"keyboard"``, ``"midi"``, ``"midi:TD-17"``).
    kind
        ``"audio"`` (tap along to a click) or ``"video"`` (tap on a flash).
    offsets_ms
        Tap minus cue of every matched tap, real ms (positive = late).

    Returns
    -------
    dict
        The device's offsets after the update, with ``taps``, ``used`` and ``spread_ms``.

    Raises
    ------
    InvalidArgumentError
        On an unknown kind, too few or too many taps, or an offset beyond ±500 ms.
    """
    _check_device(device)
    if kind not in ("audio", "video"):
        raise InvalidArgumentError(f"calibration kind must be 'audio' or 'video', got {kind!r}")
    if len(offsets_ms) > MAX_TAPS:
        raise InvalidArgumentError(f"at most {MAX_TAPS} taps per calibration, got {len(offsets_ms)}")
    values = []
    for o in offsets_ms:
        if isinstance(o, bool) or not isinstance(o, int | float) or not math.isfinite(o):
            raise InvalidArgumentError(f"tap offsets must be finite numbers of ms, got {o!r}")
        values.append(float(o))
    res = robust_offset_ms(values)
    if abs(res.offset_ms) > MAX_OFFSET_MS:
        raise InvalidArgumentError(f"measured offset {res.offset_ms:.0f} ms is beyond "
                                   f"±{MAX_OFFSET_MS:.0f} ms; "
                                   "tap along with the cue and try again")
    current = get_calibration(db, device)
    audio = res.offset_ms if kind == "audio" else current["audio_offset_ms"]
    video = res.offset_ms if kind == "video" else current["video_offset_ms"]
    row = db.add_device(device, device_kind(device))
    db.add_calibration(row.id, audio_offset_ms=audio, video_offset_ms=video)
    return {"device": device, "audio_offset_ms": audio, "video_offset_ms": video, "calibrated": True,
            "taps": res.n_taps, "used": res.n_used, "spread_ms": res.spread_ms}
