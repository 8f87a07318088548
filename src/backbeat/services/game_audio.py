"""Audio for game song folders: Clone Hero and YARG play Ogg Vorbis, Opus, MP3 and WAV.

Songs in other containers (FLAC, M4A/AAC, AIFF) are transcoded to Ogg Vorbis
(44.1 kHz, the source's channels up to stereo) before they go into a song
folder; playable files are used as they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from backbeat.core.errors import AudioError, CorruptAudioError

#: Extensions that Clone Hero / YARG play directly.
GAME_AUDIO_EXTENSIONS = frozenset({".ogg", ".opus", ".mp3", ".wav"})
GAME_SR = 44100


def game_audio(src: str | Path, work_dir: str | Path) -> Path:
    """The file to copy into a song folder for ``src``.

    Parameters
    ----------
    src
        The song's audio file.
    work_dir
        A scratch folder where a transcoded ``song.ogg`` is written when needed.

    Returns
    -------
    Path
        ``src`` itself when the games play it, else ``work_dir/song.ogg``.

    Raises
    ------
    AudioError
        When the source cannot be decoded.
    """
    path = Path(src)
    if path.suffix.lower() in GAME_AUDIO_EXTENSIONS:
        return path
    out = Path(work_dir) / "song.ogg"
    import av  # heavy: only needed when transcoding

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            channels = min(2, max(1, stream.channels or 1))
            layout = "stereo" if channels == 2 else "mono"
            resampler = av.AudioResampler(format="flt", layout=layout, rate=GAME_SR)
            with sf.SoundFile(out, "w", GAME_SR, channels, format="OGG", subtype="VORBIS") as sink:
                for frame in container.decode(stream):
                    for chunk in resampler.resample(frame):
                        sink.write(_interleaved(chunk.to_ndarray(), channels))
                for chunk in resampler.resample(None):
                    sink.write(_interleaved(chunk.to_ndarray(), channels))
    except (av.error.FFmpegError, IndexError, RuntimeError) as exc:
        out.unlink(missing_ok=True)
        raise CorruptAudioError(path, f"cannot transcode to Ogg Vorbis for the song folder ({exc})") from None
    if not out.is_file():
        raise AudioError(path, "transcoding produced no audio")
    return out


def _interleaved(packed: np.ndarray, channels: int) -> np.ndarray:
    """PyAV packed float frames (1, n*channels) to soundfile's (n, channels)."""
    return np.ascontiguousarray(packed.reshape(-1, channels), dtype=np.float32)
