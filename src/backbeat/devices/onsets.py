"""Real-time drum-hit detector for a microphone: spectral flux with an adaptive threshold.

This is the reference (and server-side) implementation of the detector the
browser runs in an AudioWorklet (``web/static/js/mic-worklet.js`` uses the
same constants). It works block by block, as audio arrives (madmom's
``reset()`` / ``process_block()`` shape), and gives the same onsets whatever
the block size:

* a 1024-sample Hann-windowed FFT every 256 samples (5.8 ms at 44.1 kHz);
* log-compressed magnitudes ``log1p(100 |X|)``; half-wave rectified
  spectral flux between consecutive frames;
* adaptive threshold over the last ~0.25 s of flux: median + ``k`` × mean
  absolute deviation + a floor, ``k`` set by the sensitivity (1-10);
* a hit fires on the first frame above the threshold, at most one per
  60 ms, timed at the middle of the frame;
* class by the spectral centroid of the new energy (the increase of linear
  power over the previous frame): below 250 Hz kick, below 2000 Hz snare,
  above that hi-hat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backbeat.core.errors import InvalidArgumentError

FRAME = 1024
HOP = 256
#: Flux frames in the adaptive-threshold history (~0.25 s at 44.1 kHz).
HISTORY_FRAMES = 43
REFRACTORY_S = 0.06
#: Absolute floor added to the threshold (flux units of log1p(100|X|) summed over bins).
FLUX_FLOOR = 1.0
KICK_MAX_HZ = 250.0
SNARE_MAX_HZ = 2000.0


@dataclass(frozen=True, slots=True)
class MicOnset:
    """A detected hit.

    Attributes
    ----------
    time_s
        Time from the start of the stream, seconds.
    cls
        ``"kick"``, ``"snare"`` or ``"hihat"``.
    strength
        Flux relative to the loudest recent hit, 0..1 (a velocity proxy).
    centroid_hz
        Spectral centroid of the onset frame.
    """

    time_s: float
    cls: str
    strength: float
    centroid_hz: float


def threshold_factor(sensitivity: float) -> float:
    """Threshold multiplier ``k`` for a sensitivity 1 (few hits) .. 10 (many)."""
    return 4.25 - sensitivity * 0.25


def classify_centroid(centroid_hz: float) -> str:
    """Kick / snare / hi-hat by spectral centroid."""
    if centroid_hz < KICK_MAX_HZ:
        return "kick"
    if centroid_hz < SNARE_MAX_HZ:
        return "snare"
    return "hihat"


class OnsetDetector:
    """Streaming onset detector.

    Parameters
    ----------
    sr
        Sample rate of the input in Hz.
    sensitivity
        1 (only clear hits) to 10 (everything).
    """

    def __init__(self, *, sr: int = 44100, sensitivity: float = 5.0) -> None:
        if sr < 8000:
            raise InvalidArgumentError(f"sample rate {sr} Hz is too low for drum detection (need >= 8000)")
        if not 1.0 <= sensitivity <= 10.0:
            raise InvalidArgumentError(f"sensitivity must be 1-10, got {sensitivity}")
        self.sr = sr
        self.k = threshold_factor(sensitivity)
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)).astype(np.float64)
        self._bins_hz = np.arange(FRAME // 2 + 1) * sr / FRAME
        self.reset()

    def reset(self) -> None:
        """Forget everything heard (a new stream starts at time 0)."""
        self._hist = np.zeros(FRAME, dtype=np.float64)  # the last FRAME samples of the stream
        self._n_samples = 0
        self._prev = np.zeros(FRAME // 2 + 1)
        self._prev_power = np.zeros(FRAME // 2 + 1)
        self._history: list[float] = []
        self._last_onset_s = -np.inf
        self._peak = 1e-6

    def process_block(self, samples: np.ndarray) -> list[MicOnset]:
        """Feed mono samples (any block length); returns the hits completed in this block.

        Raises
        ------
        InvalidArgumentError
            If ``samples`` is not one-dimensional.
        """
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim != 1:
            raise InvalidArgumentError(f"samples must be mono (1-D), got shape {x.shape}")
        n0 = self._n_samples
        combined = np.concatenate([self._hist, x])  # combined[j] is stream sample n0 - FRAME + j
        self._hist = combined[-FRAME:]
        self._n_samples = n0 + len(x)
        # Frames end at every multiple of HOP in (n0, n0 + len(x)].
        first_end = (n0 // HOP + 1) * HOP
        ends = np.arange(first_end, self._n_samples + 1, HOP)
        if len(ends) == 0:
            return []
        frames = np.lib.stride_tricks.sliding_window_view(combined, FRAME)[ends - n0]
        spec = np.abs(np.fft.rfft(frames * self._window, axis=1))
        spec[:, 0] = 0.0
        spec[:, -1] = 0.0  # no DC, no Nyquist bin (as in the worklet)
        mag = np.log1p(100.0 * spec)
        power = spec * spec
        prev_mag = np.vstack([self._prev[None, :], mag[:-1]])
        prev_pow = np.vstack([self._prev_power[None, :], power[:-1]])
        fluxes = np.maximum(mag - prev_mag, 0.0).sum(axis=1)
        self._prev, self._prev_power = mag[-1], power[-1]
        out: list[MicOnset] = []
        for i, end in enumerate(ends):
            hit = self._decide(float(fluxes[i]), end / self.sr, power[i], prev_pow[i])
            if hit is not None:
                out.append(hit)
        return out

    def _decide(self, flux: float, end_s: float, power: np.ndarray,
                prev_power: np.ndarray) -> MicOnset | None:
        h = self._history
        h.append(flux)
        if len(h) > HISTORY_FRAMES:
            del h[0]
        med = sorted(h)[len(h) // 2]  # upper median, as in the worklet
        mad = sum(abs(v - med) for v in h) / len(h)
        thr = med + self.k * mad + FLUX_FLOOR
        if flux <= thr or end_s - self._last_onset_s <= REFRACTORY_S:
            return None
        self._last_onset_s = end_s
        self._peak = max(self._peak * 0.99, flux)
        rise = np.maximum(power - prev_power, 0.0)
        total = float(rise.sum())
        centroid = float((rise * self._bins_hz).sum() / total) if total > 0 else 0.0
        return MicOnset(time_s=end_s - FRAME / 2 / self.sr, cls=classify_centroid(centroid),
                        strength=min(1.0, flux / self._peak), centroid_hz=centroid)


def detect_onsets(samples: np.ndarray, *, sr: int, sensitivity: float = 5.0,
                  block: int = 4096) -> list[MicOnset]:
    """Run the streaming detector over a whole signal, ``block`` samples at a time."""
    det = OnsetDetector(sr=sr, sensitivity=sensitivity)
    out: list[MicOnset] = []
    x = np.asarray(samples, dtype=np.float64)
    for i in range(0, len(x), block):
        out.extend(det.process_block(x[i:i + block]))
    return out
