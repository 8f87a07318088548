"""Frame features shared by drum transcription, beat tracking and sections.

The model input spec: mono audio at :data:`SR` Hz is cut into frames every
:data:`HOP` samples (:data:`FPS` frames per second, frame ``i`` centred on
``i / FPS`` seconds), transformed with a Hann-windowed ``N_FFT``-point STFT and
pooled into :data:`N_BANDS` log-spaced triangular bands from 30 Hz to 16 kHz,
then log-compressed with ``log10(1 + MAG_SCALE * magnitude)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from backbeat.core.errors import InvalidArgumentError

#: Frames per second of every frame-level array in analysis.
FPS = 100
#: Sample rate the features (and the shipped models) are defined at, in Hz.
SR = 44100
#: Hop length in samples at :data:`SR` (``SR // FPS``).
HOP = 441
#: STFT size in samples at :data:`SR`.
N_FFT = 2048
#: Lowest and highest band centre in Hz.
F_MIN_HZ = 30.0
F_MAX_HZ = 16000.0
#: Band centres per octave before merging bands that fall on the same FFT bin.
BANDS_PER_OCTAVE = 12
#: Gain applied to the STFT magnitude before log compression.
MAG_SCALE = 1.0

_CHUNK_FRAMES = 2048


@lru_cache(maxsize=8)
def _filterbank(sr: int, n_fft: int) -> np.ndarray:
    """Triangular log-spaced filterbank, shape (n_fft // 2 + 1, n_bands), float32."""
    n_bins = n_fft // 2 + 1
    bin_hz = sr / n_fft
    n_oct = np.log2(F_MAX_HZ / F_MIN_HZ)
    centres_hz = F_MIN_HZ * 2.0 ** (np.arange(int(np.floor(n_oct * BANDS_PER_OCTAVE)) + 1) / BANDS_PER_OCTAVE)
    # Map to FFT bins and drop duplicates, so low bands are at least one bin apart.
    bins = np.unique(np.round(centres_hz / bin_hz).astype(int))
    bins = bins[(bins >= 1) & (bins < n_bins - 1)]
    fb = np.zeros((n_bins, len(bins) - 2), dtype=np.float32)
    for k in range(1, len(bins) - 1):
        lo, mid, hi = bins[k - 1], bins[k], bins[k + 1]
        rise = np.arange(lo, mid + 1)
        fb[rise, k - 1] = (rise - lo) / max(mid - lo, 1)
        fall = np.arange(mid, hi + 1)
        fb[fall, k - 1] = (hi - fall) / max(hi - mid, 1)
        fb[:, k - 1] /= fb[:, k - 1].sum()
    return fb


#: Number of bands :func:`log_filterbank` returns at :data:`SR`.
N_BANDS: int = _filterbank(SR, N_FFT).shape[1]


@lru_cache(maxsize=4)
def band_centres_hz(*, sr: int = SR, n_fft: int = N_FFT) -> np.ndarray:
    """Centre frequency (Hz) of each band of :func:`log_filterbank`, shape ``(n_bands,)``, float64, read-only.

    Each band's weighted mean bin frequency (the filters' weights sum to 1).
    """
    fb = _filterbank(sr, n_fft)
    centres = np.asarray((np.arange(fb.shape[0]) * sr / n_fft) @ fb, dtype=np.float64)
    centres.setflags(write=False)  # cached: shared by every call
    return centres


def frames_to_time_s(frames: np.ndarray | int | float, *, fps: float = FPS) -> np.ndarray:
    """Frame indices to seconds (frame ``i`` is centred on ``i / fps``)."""
    return np.asarray(frames, dtype=np.float64) / fps


def time_s_to_frames(time_s: np.ndarray | float, *, fps: float = FPS) -> np.ndarray:
    """Seconds to the nearest frame index."""
    return np.round(np.asarray(time_s, dtype=np.float64) * fps).astype(np.int64)


def log_filterbank(samples: np.ndarray, *, sr: int = SR) -> np.ndarray:
    """Log-magnitude filterbank spectrogram: the model input.

    Parameters
    ----------
    samples
        Mono audio, shape (n_samples,), float, nominally in [-1, 1].
    sr
        Sample rate in Hz. Must be a multiple of :data:`FPS`; the shipped
        models expect :data:`SR`. Other rates scale the FFT size and hop so
        frames stay ``1 / FPS`` s apart and bands keep their frequencies.

    Returns
    -------
    np.ndarray
        Shape (n_frames, n_bands), float32, with ``n_frames = 1 + n_samples // hop``
        and frame ``i`` centred on ``i / FPS`` seconds.

    Raises
    ------
    InvalidArgumentError
        If ``samples`` is not one-dimensional or ``sr`` is not a positive multiple of FPS.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise InvalidArgumentError(f"log_filterbank expects mono samples of shape (n,), got {x.shape}")
    if sr <= 0 or sr % FPS:
        raise InvalidArgumentError(f"sample rate {sr} Hz is not a positive multiple of {FPS}")
    hop = sr // FPS
    n_fft = N_FFT if sr == SR else int(2 ** np.round(np.log2(N_FFT * sr / SR)))
    fb = _filterbank(sr, n_fft)
    n_frames = 1 + len(x) // hop
    pad = n_fft // 2
    padded = np.zeros(len(x) + 2 * pad + hop, dtype=np.float32)
    padded[pad:pad + len(x)] = x
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    out = np.empty((n_frames, fb.shape[1]), dtype=np.float32)
    frames_view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    for start in range(0, n_frames, _CHUNK_FRAMES):
        stop = min(start + _CHUNK_FRAMES, n_frames)
        spec = np.abs(sp_fft.rfft(frames_view[start:stop] * window, axis=1))
        out[start:stop] = spec @ fb
    np.log10(1.0 + MAG_SCALE * out, out=out)
    return out


def spectral_flux(features: np.ndarray, *, lag_frames: int = 1) -> np.ndarray:
    """Positive spectral flux: an onset-strength envelope.

    Parameters
    ----------
    features
        Log filterbank spectrogram, shape (n_frames, n_bands).
    lag_frames
        Difference lag in frames.

    Returns
    -------
    np.ndarray
        Shape (n_frames,), float32, >= 0; the first ``lag_frames`` frames are 0.
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"spectral_flux expects (n_frames, n_bands), got {f.shape}")
    if lag_frames < 1:
        raise InvalidArgumentError(f"lag_frames must be >= 1, got {lag_frames}")
    flux = np.zeros(f.shape[0], dtype=np.float32)
    if f.shape[0] > lag_frames:
        diff = f[lag_frames:] - f[:-lag_frames]
        flux[lag_frames:] = np.maximum(diff, 0.0).sum(axis=1)
    return flux
