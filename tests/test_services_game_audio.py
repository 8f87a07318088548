"""Song-folder audio: formats the games cannot play are transcoded to Ogg Vorbis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from backbeat.core.errors import AudioError
from backbeat.services.game_audio import game_audio


def _tone(path: Path, *, sr: int, channels: int, seconds: float = 1.0) -> None:
    t = np.arange(int(sr * seconds)) / sr
    wave = 0.3 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([wave] * channels, axis=1), sr)


@pytest.mark.parametrize(("channels", "sr"), [(1, 44100), (2, 48000), (6, 22050)])
def test_flac_is_transcoded_to_ogg_vorbis(tmp_path: Path, channels: int, sr: int) -> None:
    src = tmp_path / "song.flac"
    _tone(src, sr=sr, channels=channels)
    out = game_audio(src, tmp_path)
    info = sf.info(out)
    assert out.name == "song.ogg"
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "VORBIS", 44100)
    assert info.channels == min(channels, 2)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    data, _ = sf.read(out)
    rms = float(np.sqrt(np.mean(data**2)))
    if channels <= 2:
        assert rms == pytest.approx(0.3 / np.sqrt(2), rel=0.1)
    else:  # a 5.1 downmix weights the channels; it must still sound
        assert rms > 0.05


def test_playable_audio_is_used_as_it_is(tmp_path: Path) -> None:
    src = tmp_path / "song.wav"
    _tone(src, sr=44100, channels=2)
    assert game_audio(src, tmp_path) == src


def test_undecodable_audio_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "broken.flac"
    src.write_bytes(b"fLaC" + b"\x00" * 100)
    with pytest.raises(AudioError, match=r"broken\.flac"):
        game_audio(src, tmp_path)
    assert not (tmp_path / "song.ogg").exists()
