"""Audio input: decoders, downmix, resampling, and every kind of bad file."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from backbeat.analysis.audio import (
    _StreamResampler,
    iter_audio_chunks,
    load_audio,
    probe_audio,
)
from backbeat.core.errors import (
    AudioTooLongError,
    CorruptAudioError,
    SilentAudioError,
    UnsupportedFormatError,
)


def _tone(duration_s: float, sr: int, *, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(duration_s * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def _clicks(duration_s: float, sr: int, *, bpm: float = 120.0) -> np.ndarray:
    x = np.zeros(int(duration_s * sr), dtype=np.float32)
    rng = np.random.default_rng(1)
    period = int(sr * 60 / bpm)
    for start in range(0, x.size, period):
        n = min(int(0.03 * sr), x.size - start)
        burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.005 * sr))
        x[start:start + n] += burst.astype(np.float32)
    return 0.5 * x


# -- good files --------------------------------------------------------------------

@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", "PCM_24"),
                                         ("OGG", "VORBIS")])
def test_soundfile_formats_decode_to_mono_44k(tmp_path: Path, fmt: str, subtype: str) -> None:
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, _tone(2.0, 44100, channels=2), 44100, format=fmt, subtype=subtype)
    sig = load_audio(path)
    assert sig.sr == 44100 and sig.channels == 2 and sig.samples.dtype == np.float32
    assert sig.samples.ndim == 1
    assert sig.duration_s == pytest.approx(2.0, abs=0.01)
    assert 0.25 < np.max(np.abs(sig.samples)) < 0.35


@pytest.mark.parametrize("ext", ["mp3", "m4a", "aac"])
def test_ffmpeg_formats_decode(tmp_path: Path, ext: str) -> None:
    src = tmp_path / "src.wav"
    sf.write(src, _tone(3.0, 48000, channels=2), 48000)
    out = tmp_path / f"a.{ext}"
    proc = subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), str(out)],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"ffmpeg cannot encode {ext}: {proc.stderr[-200:]!r}")
    info = probe_audio(out)
    assert info.backend == "av"
    sig = load_audio(out)
    assert sig.sr == 44100 and sig.source_sr == 48000
    assert sig.duration_s == pytest.approx(3.0, abs=0.1)
    # The 440 Hz tone survives: spectral peak near 440 Hz.
    spec = np.abs(np.fft.rfft(sig.samples[:44100]))
    assert abs(np.argmax(spec) * 44100 / 44100 - 440) < 5


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 48000, 96000])
def test_odd_sample_rates_resampled(tmp_path: Path, sr: int) -> None:
    path = tmp_path / f"sr{sr}.flac"
    sf.write(path, _tone(1.5, sr, freq=300.0), sr)
    sig = load_audio(path)
    assert sig.sr == 44100 and sig.source_sr == sr
    assert sig.samples.size == math.ceil(int(1.5 * sr) * 44100 / sr)
    spec = np.abs(np.fft.rfft(sig.samples))
    peak_hz = np.argmax(spec) * 44100 / sig.samples.size
    assert abs(peak_hz - 300.0) < 3.0


def test_six_channels_downmixed(tmp_path: Path) -> None:
    path = tmp_path / "surround.wav"
    x = np.zeros((44100, 6), dtype=np.float32)
    x[:, 2] = 0.6  # only the centre channel holds signal
    sf.write(path, x, 44100, subtype="FLOAT")
    sig = load_audio(path)
    assert sig.channels == 6
    np.testing.assert_allclose(sig.samples, 0.1, atol=1e-6)


def test_chunked_resampling_equals_one_shot(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((48000 * 50 + 17, 2)) * 0.1).astype(np.float32)  # longer than one chunk
    path = tmp_path / "long48k.wav"
    sf.write(path, x, 48000, subtype="FLOAT")
    got = np.concatenate(list(iter_audio_chunks(path, chunk_s=7.0)))
    ref = resample_poly(x.mean(axis=1).astype(np.float64), 147, 160)
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref)) < 1e-6


@settings(max_examples=25, deadline=None)
@given(sr_in=st.sampled_from([8000, 11025, 16000, 22050, 32000, 48000, 88200, 96000]),
       n=st.integers(min_value=1, max_value=30000), split=st.integers(min_value=1, max_value=9000))
def test_stream_resampler_is_seamless(sr_in: int, n: int, split: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    r = _StreamResampler(sr_in, 44100)
    r.block = r.down * max(1, split // r.down)  # small blocks to exercise the seams
    parts = []
    for i in range(0, n, split):
        parts.extend(r.push(x[i:i + split]))
    parts.extend(r.flush())
    got = np.concatenate(parts) if parts else np.zeros(0)
    ref = resample_poly(x.astype(np.float64), r.up, r.down)
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref), initial=0.0) < 1e-5


# -- bad files: one test per case ---------------------------------------------------

def test_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is a shopping list, not a song\n" * 50)
    with pytest.raises(UnsupportedFormatError, match=r"notes\.wav.*not a recognised audio file"):
        load_audio(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="not found"):
        load_audio(tmp_path / "nope.flac")


def test_truncated_flac(tmp_path: Path) -> None:
    path = tmp_path / "cut.flac"
    sf.write(path, (np.random.default_rng(0).standard_normal(44100 * 4) * 0.1).astype(np.float32), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptAudioError, match=r"cut\.flac.*(truncated|damaged)"):
        load_audio(path)


def test_truncated_wav(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(4.0, 44100), 44100, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptAudioError, match=r"cut\.wav: is truncated"):
        load_audio(path)


def test_corrupt_middle_of_flac(tmp_path: Path) -> None:
    path = tmp_path / "garbled.flac"
    sf.write(path, (np.random.default_rng(0).standard_normal(44100 * 4) * 0.1).astype(np.float32), 44100)
    data = bytearray(path.read_bytes())
    data[20000:40000] = np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptAudioError, match=r"garbled\.flac"):
        load_audio(path)


def test_unknown_codec(tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    sf.write(path, _tone(1.0, 44100), 44100, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[20:22] = (0x1234).to_bytes(2, "little")  # WAVE_FORMAT tag no decoder knows
    path.write_bytes(bytes(data))
    with pytest.raises(UnsupportedFormatError, match=r"odd\.wav.*codec.*0x1234"):
        load_audio(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(CorruptAudioError, match=r"empty\.mp3: file is empty"):
        load_audio(path)


def test_zero_frames(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 44100)
    with pytest.raises(SilentAudioError, match=r"zero\.wav.*no audio samples"):
        load_audio(path)


def test_all_silence(tmp_path: Path) -> None:
    path = tmp_path / "quiet.flac"
    sf.write(path, np.zeros(44100 * 5, dtype=np.float32), 44100)
    with pytest.raises(SilentAudioError, match=r"quiet\.flac: is silent"):
        load_audio(path)


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, _tone(0.2, 44100), 44100)
    with pytest.raises(SilentAudioError, match=r"blip\.wav: is only 0\.20 s"):
        load_audio(path)


def test_one_second_clip_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "second.wav"
    sf.write(path, _clicks(1.0, 44100), 44100)
    assert load_audio(path).duration_s == pytest.approx(1.0, abs=1e-3)


def test_three_hour_file_rejected_from_header(tmp_path: Path) -> None:
    # 3 hours of silence at 1 kHz: small and quick to write; FLAC states the length.
    path = tmp_path / "marathon.flac"
    with sf.SoundFile(path, "w", samplerate=1000, channels=1, format="FLAC") as f:
        block = np.zeros(1000 * 1800, dtype=np.float32)
        for _ in range(6):
            f.write(block)
    t0 = time.perf_counter()
    with pytest.raises(AudioTooLongError, match=r"marathon\.flac: is 3:00:00 long; the limit is 20:00"):
        load_audio(path)
    assert time.perf_counter() - t0 < 2.0  # decided from the header, nothing decoded


def test_too_long_found_while_decoding(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, _tone(3.0, 8000), 8000)
    with pytest.raises(AudioTooLongError, match=r"long\.wav"):
        load_audio(path, max_duration_s=2.0)
    assert load_audio(path, max_duration_s=None).duration_s == pytest.approx(3.0, abs=1e-3)
