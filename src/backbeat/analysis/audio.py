"""Audio input: decode any common audio file to mono float32 at one sample rate.

Files are decoded in chunks; each chunk is downmixed to mono and resampled
(polyphase, :func:`scipy.signal.resample_poly`) before the next one is read,
so memory stays near the size of the mono output (a 60-minute file at
44.1 kHz is about 0.6 GiB of float32). WAV, FLAC, OGG/Vorbis, AIFF and other
formats go through libsndfile (``soundfile``); MP3, M4A/AAC, Opus and
whatever libsndfile cannot open go through FFmpeg (``av``).

The only errors raised on purpose are subclasses of
:class:`backbeat.core.errors.AudioError`, each naming the file and the problem.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backbeat.core.errors import (
    AudioTooLongError,
    CorruptAudioError,
    InvalidArgumentError,
    SilentAudioError,
    UnsupportedFormatError,
)

#: Sample rate every analysis runs at.
DEFAULT_SR = 44100
#: Default longest file accepted, in seconds (20 minutes).
DEFAULT_MAX_DURATION_S = 20 * 60.0
#: Shortest clip accepted, in seconds; shorter files raise :class:`SilentAudioError`.
MIN_DURATION_S = 0.5
#: A file whose peak stays below this (about -80 dBFS) counts as silent.
SILENCE_PEAK = 1e-4
#: Input chunk length used while decoding, in seconds.
CHUNK_S = 20.0

#: Extensions decoded with FFmpeg first (libsndfile lacks or mishandles them).
_AV_FIRST = {".mp3", ".m4a", ".aac", ".mp4", ".m4b", ".opus", ".webm", ".wma", ".mka", ".ac3"}


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file before decoding.

    Attributes
    ----------
    path
        The file.
    sr
        Native sample rate in Hz.
    channels
        Number of channels.
    duration_s
        Duration in seconds, or ``None`` when the container does not say.
    backend
        ``"soundfile"`` or ``"av"``: the decoder that will be used.
    """

    path: str
    sr: int
    channels: int
    duration_s: float | None
    backend: str


@dataclass(frozen=True)
class AudioSignal:
    """Decoded mono audio.

    Attributes
    ----------
    samples
        Mono samples, float32, shape ``(n,)``, nominally in [-1, 1].
    sr
        Sample rate of ``samples`` in Hz.
    duration_s
        ``n / sr``.
    channels
        Channel count of the source file (before downmixing).
    path
        The source file.
    source_sr
        Sample rate of the source file in Hz.
    """

    samples: np.ndarray
    sr: int
    duration_s: float
    channels: int
    path: str
    source_sr: int = DEFAULT_SR


# -- probing -----------------------------------------------------------------

def _check_file(path: Path) -> None:
    if not path.exists():
        raise UnsupportedFormatError(path, "file not found")
    if path.is_dir():
        raise UnsupportedFormatError(path, "is a directory, not an audio file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnsupportedFormatError(path, f"cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise CorruptAudioError(path, "file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise UnsupportedFormatError(path, "cannot be read (permission denied)")


def _probe_soundfile(path: Path) -> AudioInfo | None:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    if info.samplerate <= 0 or info.channels <= 0:
        return None
    frames = int(info.frames)
    duration = frames / info.samplerate if 0 <= frames < 2**62 else None
    return AudioInfo(str(path), int(info.samplerate), int(info.channels), duration, "soundfile")


def _probe_av(path: Path) -> AudioInfo | None:
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                return None
            stream = streams[0]
            ctx = stream.codec_context
            sr = int(getattr(ctx, "sample_rate", 0) or 0)
            channels = int(getattr(ctx, "channels", 0) or 0)
            if sr <= 0 or channels <= 0:
                return None
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000.0
            return AudioInfo(str(path), sr, channels, duration, "av")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError, AttributeError):
        return None


def _wav_truncation(path: Path) -> str | None:
    """For a RIFF/WAVE file, a problem text if its data chunk is cut short, else None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = path.stat().st_size
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                chunk_id, chunk_len = chunk[:4], int.from_bytes(chunk[4:8], "little")
                if chunk_id == b"data":
                    if chunk_len in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                        return None
                    available = size - (pos + 8)
                    if available < chunk_len:
                        return (f"is truncated: the header announces {chunk_len} bytes of audio but only "
                                f"{available} are present")
                    return None
                pos += 8 + chunk_len + (chunk_len & 1)
    except OSError:
        return None
    return None


def probe_audio(path: str | Path) -> AudioInfo:
    """Read the header of an audio file without decoding it.

    Parameters
    ----------
    path
        Audio file.

    Returns
    -------
    AudioInfo

    Raises
    ------
    UnsupportedFormatError
        If no decoder recognises the file or it has no audio stream.
    CorruptAudioError
        If the file is empty.
    """
    p = Path(path)
    _check_file(p)
    # FFmpeg reads everything libsndfile does for these; libsndfile's MP3 probe also prints
    # decoder notes on stderr for non-MP3 data, so it is not tried for them.
    order = (_probe_av,) if p.suffix.lower() in _AV_FIRST else (_probe_soundfile, _probe_av)
    for probe in order:
        info = probe(p)
        if info is not None:
            problem = _wav_truncation(p) if info.backend == "soundfile" else None
            if problem:
                raise CorruptAudioError(p, problem)
            return info
    tag = _wav_format_tag(p)
    if tag is not None:
        raise UnsupportedFormatError(p, f"is a WAV file with a codec Backbeat cannot decode "
                                        f"(format tag 0x{tag:04x})")
    raise UnsupportedFormatError(p, "not a recognised audio file (no decoder can read it)")


def _wav_format_tag(path: Path) -> int | None:
    """The ``fmt `` format tag of a RIFF/WAVE file, or None if it is not one."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    if len(head) < 22 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    i = head.find(b"fmt ")
    if i < 0 or i + 10 > len(head):
        return None
    return int.from_bytes(head[i + 8:i + 10], "little")


# -- resampling ---------------------------------------------------------------

class _StreamResampler:
    """Chunk-by-chunk polyphase resampling that matches one-shot ``resample_poly``.

    Input is buffered; each block of input is resampled together with
    ``pad`` samples of context on both sides, and the context part of the
    output is dropped, so block edges leave no seams.
    """

    def __init__(self, sr_in: int, sr_out: int) -> None:
        g = math.gcd(sr_in, sr_out)
        self.up = sr_out // g
        self.down = sr_in // g
        half_len_in = 10.0 * max(self.up, self.down) / self.up
        self.pad = self.down * math.ceil((half_len_in + 2.0) / self.down)
        self.block = self.down * max(1, math.ceil(sr_in * 5.0 / self.down))
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute input index of _buf[0]
        self._next = 0  # absolute input index of the next block start (multiple of down)
        self._n_in = 0

    @property
    def identity(self) -> bool:
        return self.up == self.down

    def _emit(self, a: int, b: int, final: bool) -> np.ndarray:
        from scipy.signal import resample_poly

        left = min(self.pad, a)  # a and pad are multiples of down, so left is too
        lo = a - left - self._buf_start
        hi = min(b + (0 if final else self.pad), self._n_in) - self._buf_start
        seg = self._buf[lo:hi].astype(np.float64)
        y = resample_poly(seg, self.up, self.down)
        off = left * self.up // self.down
        count = math.ceil((b - a) * self.up / self.down)
        return y[off:off + count].astype(np.float32)

    def push(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Feed mono samples; yield the resampled output that is ready."""
        if self.identity:
            if x.size:
                yield x.astype(np.float32, copy=False)
            return
        self._buf = np.concatenate([self._buf, x.astype(np.float32, copy=False)])
        self._n_in += x.size
        while self._next + self.block + self.pad <= self._n_in:
            a, b = self._next, self._next + self.block
            yield self._emit(a, b, final=False)
            self._next = b
            keep_from = self._next - self.pad
            if keep_from > self._buf_start:
                self._buf = self._buf[keep_from - self._buf_start:]
                self._buf_start = keep_from

    def flush(self) -> Iterator[np.ndarray]:
        """Yield what is left at the end of the stream."""
        if self.identity:
            return
        if self._next < self._n_in:
            yield self._emit(self._next, self._n_in, final=True)
            self._next = self._n_in


# -- decoding -----------------------------------------------------------------

def _soundfile_blocks(path: Path, frames_per_block: int) -> Iterator[np.ndarray]:
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            while True:
                block = f.read(frames_per_block, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                yield block
    except sf.LibsndfileError as exc:
        raise CorruptAudioError(path, "cannot be decoded, the file looks truncated or damaged "
                                      f"({exc})") from exc
    except RuntimeError as exc:  # older soundfile raises RuntimeError
        raise CorruptAudioError(path, f"cannot be decoded ({exc})") from exc


def _av_blocks(path: Path, frames_per_block: int) -> Iterator[np.ndarray]:
    import av

    pending: list[np.ndarray] = []
    n_pending = 0
    decoded_any = False
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UnsupportedFormatError(path, "has no audio stream")
            stream = container.streams.audio[0]
            # Sample-format conversion only (planar float32); no rate or layout change here.
            converter: Any = None
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if converter is None:
                        converter = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.rate)
                    for out in converter.resample(frame):
                        arr = out.to_ndarray()  # (channels, n) float32
                        if arr.size == 0:
                            continue
                        decoded_any = True
                        pending.append(np.ascontiguousarray(arr.T))
                        n_pending += arr.shape[1]
                        if n_pending >= frames_per_block:
                            yield np.concatenate(pending, axis=0)
                            pending, n_pending = [], 0
            if converter is not None:
                for out in converter.resample(None):
                    arr = out.to_ndarray()
                    if arr.size:
                        decoded_any = True
                        pending.append(np.ascontiguousarray(arr.T))
    except av.DecoderNotFoundError as exc:
        raise UnsupportedFormatError(path, f"uses a codec Backbeat cannot decode ({exc})") from exc
    except av.FFmpegError as exc:
        if decoded_any:
            raise CorruptAudioError(path, f"decoding failed part-way, the file looks truncated or damaged "
                                          f"({exc})") from exc
        raise UnsupportedFormatError(path, f"cannot be decoded ({exc})") from exc
    if pending:
        yield np.concatenate(pending, axis=0)


def iter_audio_chunks(path: str | Path, *, sr: int = DEFAULT_SR, chunk_s: float = CHUNK_S,
                      max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
                      info: AudioInfo | None = None) -> Iterator[np.ndarray]:
    """Decode a file chunk by chunk to mono float32 at ``sr``.

    Parameters
    ----------
    path
        Audio file.
    sr
        Output sample rate in Hz.
    chunk_s
        Approximate input chunk length in seconds.
    max_duration_s
        Longest file accepted; ``None`` for no limit. Checked against the
        header before decoding when the container states a duration, and
        again while decoding.
    info
        Result of :func:`probe_audio` if already known.

    Yields
    ------
    np.ndarray
        Consecutive mono chunks, float32, shape ``(m,)``. Concatenated they
        equal one-shot downmix + ``resample_poly`` of the whole file.

    Raises
    ------
    UnsupportedFormatError, CorruptAudioError, AudioTooLongError
    """
    if sr <= 0:
        raise InvalidArgumentError(f"sample rate must be positive, got {sr}")
    p = Path(path)
    meta = info or probe_audio(p)
    if max_duration_s is not None and meta.duration_s is not None and meta.duration_s > max_duration_s:
        raise AudioTooLongError(p, f"is {_fmt_duration(meta.duration_s)} long; the limit is "
                                   f"{_fmt_duration(max_duration_s)} (raise it with --max-duration)")
    frames_per_block = max(1024, int(chunk_s * meta.sr))
    blocks = _soundfile_blocks(p, frames_per_block) if meta.backend == "soundfile" \
        else _av_blocks(p, frames_per_block)
    resampler = _StreamResampler(meta.sr, sr)
    n_in = 0
    limit_in = None if max_duration_s is None else int(max_duration_s * meta.sr) + 1
    for block in blocks:
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        if not np.all(np.isfinite(mono)):
            raise CorruptAudioError(p, "holds non-finite samples (NaN or infinity)")
        n_in += mono.size
        if limit_in is not None and n_in > limit_in:
            raise AudioTooLongError(p, f"is longer than the limit of {_fmt_duration(max_duration_s or 0)} "
                                       "(raise it with --max-duration)")
        yield from resampler.push(mono)
    yield from resampler.flush()


def load_audio(path: str | Path, *, sr: int = DEFAULT_SR,
               max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
               min_duration_s: float = MIN_DURATION_S) -> AudioSignal:
    """Decode an audio file to mono float32 at ``sr``.

    Parameters
    ----------
    path
        Audio file (wav, flac, ogg, mp3, m4a/aac, ...), any channel count and sample rate.
    sr
        Output sample rate in Hz.
    max_duration_s
        Longest file accepted (``None``: no limit).
    min_duration_s
        Shortest file accepted.

    Returns
    -------
    AudioSignal

    Raises
    ------
    UnsupportedFormatError
        Not audio, no audio stream, or an unknown codec.
    CorruptAudioError
        Empty, truncated or damaged file.
    SilentAudioError
        No samples, shorter than ``min_duration_s``, or silent throughout.
    AudioTooLongError
        Longer than ``max_duration_s``.
    """
    p = Path(path)
    info = probe_audio(p)
    expected = None
    if info.duration_s is not None:
        expected = math.ceil(info.duration_s * sr) + 16
    buf = np.empty(expected, dtype=np.float32) if expected is not None else None
    parts: list[np.ndarray] = []
    n = 0
    peak = 0.0
    for chunk in iter_audio_chunks(p, sr=sr, max_duration_s=max_duration_s, info=info):
        if chunk.size:
            peak = max(peak, float(np.max(np.abs(chunk))))
        if buf is not None and n + chunk.size <= buf.size:
            buf[n:n + chunk.size] = chunk
        else:
            if buf is not None:  # header was wrong: fall back to a list of chunks
                parts.append(buf[:n].copy())
                buf = None
            parts.append(chunk)
        n += chunk.size
    samples = buf[:n] if buf is not None else (np.concatenate(parts) if parts else np.zeros(0, np.float32))
    if n == 0:
        raise SilentAudioError(p, "holds no audio samples (zero length)")
    if info.duration_s is not None and n / sr < 0.9 * info.duration_s - 0.5:
        raise CorruptAudioError(p, f"is truncated or damaged: the header says {info.duration_s:.1f} s but "
                                   f"only {n / sr:.1f} s could be decoded")
    duration = n / sr
    if duration < min_duration_s:
        raise SilentAudioError(p, f"is only {duration:.2f} s long; at least {min_duration_s:g} s is needed")
    if peak < SILENCE_PEAK:
        raise SilentAudioError(p, "is silent throughout (peak below -80 dBFS)")
    return AudioSignal(samples=np.ascontiguousarray(samples), sr=sr, duration_s=duration,
                       channels=info.channels, path=str(p), source_sr=info.sr)


def _fmt_duration(seconds: float) -> str:
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
