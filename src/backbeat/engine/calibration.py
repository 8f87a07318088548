"""Calibration math: from taps along to a click to a latency offset in ms.

As the open rhythm games do it: pair each tap with its nearest click, drop
outliers by the median absolute deviation (MAD), take the median offset.
Audio and video offsets are measured and stored separately; this module only
does the arithmetic.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from backbeat.core.errors import InvalidArgumentError

#: Consistency constant turning a MAD into a standard-deviation estimate for normal data.
MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """Outcome of a calibration run.

    Attributes
    ----------
    offset_ms
        Median offset of the kept taps, real ms (positive = taps late, i.e.
        the input path has that much latency).
    spread_ms
        Robust spread (MAD x 1.4826) of the kept offsets.
    n_taps, n_used, n_dropped
        Taps given, kept, dropped as outliers or unmatched.
    """

    offset_ms: float
    spread_ms: float
    n_taps: int
    n_used: int
    n_dropped: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-able form."""
        return {"offset_ms": self.offset_ms, "spread_ms": self.spread_ms, "n_taps": self.n_taps,
                "n_used": self.n_used, "n_dropped": self.n_dropped}


def robust_offset_ms(offsets_ms: Sequence[float], *, mad_threshold: float = 3.0,
                     min_taps: int = 4, min_mad_ms: float = 2.0) -> CalibrationResult:
    """Median offset after dropping outliers.

    Parameters
    ----------
    offsets_ms
        Tap minus click, real ms.
    mad_threshold
        Offsets further than ``mad_threshold`` robust SDs from the median are dropped.
    min_taps
        Fewest usable taps required.
    min_mad_ms
        Floor on the MAD so that very consistent tappers do not get every
        slightly-off tap dropped.

    Raises
    ------
    InvalidArgumentError
        With fewer than ``min_taps`` finite offsets.
    """
    vals = [float(o) for o in offsets_ms if math.isfinite(o)]
    if len(vals) < min_taps:
        raise InvalidArgumentError(
            f"calibration needs at least {min_taps} taps, got {len(vals)}; tap along with the click"
        )
    if mad_threshold <= 0:
        raise InvalidArgumentError(f"mad_threshold must be positive, got {mad_threshold}")
    med = statistics.median(vals)
    mad = max(statistics.median(abs(v - med) for v in vals), min_mad_ms)
    limit = mad_threshold * MAD_TO_SD * mad
    kept = [v for v in vals if abs(v - med) <= limit]
    offset = statistics.median(kept)
    spread = MAD_TO_SD * statistics.median(abs(v - offset) for v in kept)
    return CalibrationResult(offset_ms=offset, spread_ms=spread, n_taps=len(offsets_ms),
                             n_used=len(kept), n_dropped=len(offsets_ms) - len(kept))


def calibrate_taps(tap_times_s: Sequence[float], click_times_s: Sequence[float], *,
                   max_distance_ms: float = 250.0, mad_threshold: float = 3.0,
                   min_taps: int = 4) -> CalibrationResult:
    """Pair taps with their nearest clicks and return the robust median offset.

    Parameters
    ----------
    tap_times_s
        When the player tapped (seconds, same clock as the clicks).
    click_times_s
        When the clicks sounded (or flashed, for video calibration).
    max_distance_ms
        Taps further than this from every click are dropped as unmatched.

    Raises
    ------
    InvalidArgumentError
        Without clicks, or with too few matched taps.
    """
    clicks = sorted(float(c) for c in click_times_s if math.isfinite(c))
    if not clicks:
        raise InvalidArgumentError("calibration needs the click times, got none")
    offsets: list[float] = []
    for tap in tap_times_s:
        if not math.isfinite(tap):
            continue
        i = bisect_left(clicks, tap)
        near = [clicks[k] for k in (i - 1, i) if 0 <= k < len(clicks)]
        click = min(near, key=lambda c: (abs(tap - c), c))
        off = (tap - click) * 1000.0
        if abs(off) <= max_distance_ms:
            offsets.append(off)
    res = robust_offset_ms(offsets, mad_threshold=mad_threshold, min_taps=min_taps)
    n_taps = len(tap_times_s)
    return CalibrationResult(offset_ms=res.offset_ms, spread_ms=res.spread_ms, n_taps=n_taps,
                             n_used=res.n_used, n_dropped=n_taps - res.n_used)
