"""Tests for backbeat.analysis.features (the model input spec)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.analysis import features as F
from backbeat.core.errors import InvalidArgumentError


def test_constants_agree() -> None:
    assert F.SR // F.FPS == F.HOP
    assert 60 <= F.N_BANDS <= 120


@settings(max_examples=12, deadline=None)
@given(n=st.integers(min_value=0, max_value=F.SR))
def test_shape_and_range(n: int) -> None:
    x = np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)
    S = F.log_filterbank(x)
    assert S.shape == (1 + n // F.HOP, F.N_BANDS)
    assert S.dtype == np.float32
    assert np.isfinite(S).all() and (S >= 0).all()


def test_silence_is_zero() -> None:
    assert not F.log_filterbank(np.zeros(F.SR)).any()


def _centres_hz() -> np.ndarray:
    fb = F._filterbank(F.SR, F.N_FFT)
    return (np.arange(fb.shape[0]) * F.SR / F.N_FFT) @ fb


@pytest.mark.parametrize("freq_hz", [60.0, 440.0, 1000.0, 5000.0, 12000.0])
def test_sine_lands_in_its_band(freq_hz: float) -> None:
    t = np.arange(F.SR) / F.SR
    S = F.log_filterbank(0.5 * np.sin(2 * np.pi * freq_hz * t))
    band = int(np.argmax(S[20:80].mean(axis=0)))
    centre = _centres_hz()[band]
    assert abs(np.log2(centre / freq_hz)) < 0.25  # within a quarter octave


def test_bands_increase_and_span_range() -> None:
    c = _centres_hz()
    assert np.all(np.diff(c) > 0)
    assert c[0] < 60 and c[-1] > 12000


def test_frame_timing_and_flux_peak() -> None:
    x = np.zeros(2 * F.SR, dtype=np.float32)
    onset_s = 0.734
    i = int(onset_s * F.SR)
    x[i:i + 2000] = np.random.default_rng(0).standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    flux = F.spectral_flux(F.log_filterbank(x))
    # frame k is centred on k / FPS s; the flux rises in the frame whose window first sees the burst
    peak_s = int(np.argmax(flux)) / F.FPS
    assert abs(peak_s - onset_s) <= 0.02
    assert flux.shape == (1 + len(x) // F.HOP,)
    assert flux[0] == 0 and (flux >= 0).all()


def test_other_sample_rate_keeps_frame_rate_and_bands() -> None:
    sr = 48000
    x = np.random.default_rng(1).uniform(-0.5, 0.5, sr).astype(np.float32)
    S = F.log_filterbank(x, sr=sr)
    assert S.shape[0] == 1 + sr // (sr // F.FPS)
    assert abs(S.shape[1] - F.N_BANDS) <= 3


def test_bad_input_raises() -> None:
    with pytest.raises(InvalidArgumentError, match="mono"):
        F.log_filterbank(np.zeros((100, 2)))
    with pytest.raises(InvalidArgumentError, match="multiple"):
        F.log_filterbank(np.zeros(1000), sr=22050)
    with pytest.raises(InvalidArgumentError):
        F.spectral_flux(np.zeros(10))
    with pytest.raises(InvalidArgumentError):
        F.spectral_flux(np.zeros((10, 4)), lag_frames=0)


def test_time_frame_conversions_round_trip() -> None:
    frames = np.arange(0, 1000, 7)
    assert np.array_equal(F.time_s_to_frames(F.frames_to_time_s(frames)), frames)
