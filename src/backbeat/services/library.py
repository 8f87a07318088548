"""The song library: add songs (upload, server-side path, the demo), track their processing, serve charts.

A song goes through ``queued -> analysing -> charting -> ready`` (or
``failed``). Analysis and charting are CPU-heavy and run in worker processes
(an :class:`concurrent.futures.Executor` handed in by the caller); this module
only schedules them and records the outcome in the database. The worker
functions :func:`analyse_worker` and :func:`chart_worker` are top-level so
they can be sent to a process pool, and import the heavy modules lazily.

Files: uploaded audio is kept under ``songs_dir/<song id>/``; songs added by
server-side path are used where they are. Charts are stored in the database
as chart JSON (:mod:`backbeat.formats.chart_json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from backbeat.core.chart import Chart, Note, timed_notes
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import BackbeatError, InvalidArgumentError, UnsupportedFormatError
from backbeat.core.kit import Pad
from backbeat.storage.database import Database
from backbeat.storage.rows import SongRow

#: Title under which the bundled demo song appears in the library.
DEMO_TITLE = "Backbeat Demo Groove"
DEMO_ARTIST = "Backbeat"
#: Song statuses, in processing order.
STATUS_QUEUED = "queued"
STATUS_ANALYSING = "analysing"
STATUS_CHARTING = "charting"
STATUS_READY = "ready"
STATUS_FAILED = "failed"
#: Audio file extensions kept on uploads (anything else is stored as ``.audio``).
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".webm",
                  ".aiff", ".aif", ".wma", ".mka"}


class SongNotFoundError(InvalidArgumentError):
    """No song with that id (or it has no chart yet)."""


class SongBusyError(BackbeatError):
    """The song is being processed; it can be analysed again once that is done."""


class ProcessingError(BackbeatError):
    """Analysis or charting of a song failed; carries the worker's one-line message to the job."""


@dataclass
class Job:
    """Progress of one song's processing (kept in memory; the song status is in the database).

    Attributes
    ----------
    id
        Job id (``"song-<id>"``).
    song_id
        The song being processed.
    state
        ``"running"``, ``"done"`` or ``"failed"``.
    stage
        The song status: queued, analysing, charting, ready or failed.
    progress
        0..1, by stage.
    message
        Error message when failed.
    """

    id: str
    song_id: int
    state: str = "running"
    stage: str = STATUS_QUEUED
    progress: float = 0.0
    message: str = ""
    started_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"id": self.id, "song_id": self.song_id, "state": self.state, "stage": self.stage,
                "progress": round(self.progress, 3), "message": self.message}


@dataclass(frozen=True)
class PlayTrack:
    """One part at one level, ready for the engine and the browser."""

    song_id: int
    chart_id: int
    part: str
    level: str
    notes: tuple[Note, ...]
    duration_s: float

    def to_json(self, *, beats: list[dict[str, Any]], sections: list[dict[str, Any]]) -> dict[str, Any]:
        """The browser's chart JSON (times in song seconds)."""
        return {
            "song_id": self.song_id, "chart_id": self.chart_id, "part": self.part, "level": self.level,
            "duration_s": self.duration_s,
            "notes": [{"t": round(n.time_s, 6), "pad": int(n.pad), "cymbal": n.cymbal, "v": n.velocity}
                      for n in self.notes],
            "beats": beats, "sections": sections,
        }


# ------------------------------------------------------------------ workers (run in other processes)

def analyse_worker(audio_path: str, tempo_hint_bpm: float | None = None) -> dict[str, Any]:
    """Analyse one audio file (with the user's tempo hint, if any); returns the analysis JSON
    (runs in a worker process)."""
    from backbeat.services.analyze import analyze

    try:
        return analyze(audio_path, tempo_hint_bpm=tempo_hint_bpm).to_json()
    except BackbeatError as exc:
        raise ProcessingError(str(exc)) from None


def chart_worker(analysis_json: dict[str, Any], *, title: str, artist: str,
                 audio_file: str) -> dict[str, Any]:
    """Chart an analysis at every level and split for two; returns the chart JSON (in a worker process)."""
    from backbeat.charting.levels import build_levels
    from backbeat.charting.parts import split_kit
    from backbeat.charting.quantize import chart_from_analysis
    from backbeat.core.chart import SongInfo
    from backbeat.core.song_analysis import Analysis
    from backbeat.formats.chart_json import chart_to_json

    try:
        analysis = Analysis.from_json(analysis_json)
        info = SongInfo(name=title, artist=artist, audio_file=audio_file, length_s=analysis.duration_s)
        # Every level, plus the kit split between two players (hands / feet).
        chart = split_kit(build_levels(chart_from_analysis(analysis, info=info)))
        return chart_to_json(chart)
    except BackbeatError as exc:
        raise ProcessingError(f"charting failed: {exc}") from None


def check_audio_file(path: str | Path) -> float | None:
    """Make sure a file is decodable audio: sniff the header, then decode its first second.

    Returns
    -------
    float or None
        Duration in seconds when the container states it.

    Raises
    ------
    UnsupportedFormatError, CorruptAudioError, SilentAudioError
        If the file is not audio or cannot be decoded.
    """
    from backbeat.analysis.audio import iter_audio_chunks, probe_audio

    p = Path(path)
    with p.open("rb") as fh:
        head = fh.read(64)
    if not looks_like_audio(head):
        raise UnsupportedFormatError(p, "not an audio file (its content is not WAV, FLAC, Ogg, MP3, MP4/M4A, "
                                        "AIFF or WebM)")
    info = probe_audio(p)
    chunks = iter_audio_chunks(p, chunk_s=1.0, max_duration_s=None, info=info)
    try:
        first = next(chunks, None)
    finally:
        with contextlib.suppress(Exception):
            chunks.close()  # type: ignore[attr-defined]
    if first is None or len(first) == 0:
        raise UnsupportedFormatError(p, "the file holds no decodable audio")
    return info.duration_s


def looks_like_audio(head: bytes) -> bool:
    """True when the first bytes of a file match a known audio container signature."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return True
    if head[:4] in (b"OggS", b"fLaC", b"RF64", b"caff", b".snd"):
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[:3] == b"ID3":
        return True
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG / ADTS frame sync
        return True
    if head[4:8] == b"ftyp":
        return True
    if head[:4] == b"\x1a\x45\xdf\xa3":  # Matroska / WebM
        return True
    return head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")  # ASF / WMA


def demo_paths() -> tuple[Path, Path]:
    """(audio, truth analysis JSON) of the bundled demo song."""
    base = Path(str(resources.files("backbeat"))) / "data" / "demo"
    return base / "demo.ogg", base / "demo.truth.json"


# ------------------------------------------------------------------ the library

class Library:
    """The song library over a :class:`~backbeat.storage.database.Database`.

    Parameters
    ----------
    db
        The database (thread-safe).
    songs_dir
        Where uploaded audio is kept.
    executor
        Process pool for analysis and charting.
    """

    def __init__(self, db: Database, *, songs_dir: Path, executor: Executor) -> None:
        self.db = db
        self.songs_dir = Path(songs_dir)
        self.executor = executor
        self.jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._tracks: dict[tuple[int, int], Chart] = {}
        self._lock = threading.Lock()

    # -- queries -------------------------------------------------------------
    def song_row(self, song_id: int) -> SongRow:
        """The database row of a song.

        Raises
        ------
        SongNotFoundError
        """
        row = self.db.get_song(song_id)
        if row is None:
            raise SongNotFoundError(f"no song with id {song_id}")
        return row

    def summary(self, row: SongRow) -> dict[str, Any]:
        """What the library screen shows of a song (``bpm`` and ``meter``: the chart's tempo in quarter
        notes a minute and its time signature half-way through, e.g. ``84.0`` and ``"6/8"``)."""
        out: dict[str, Any] = {
            "id": str(row.id), "title": row.title, "artist": row.artist, "duration_s": row.duration_s or 0.0,
            "status": row.status, "levels": [], "parts": [], "sections": [],
            "audio_url": f"/api/songs/{row.id}/audio", "job_id": f"song-{row.id}",
        }
        job = self.jobs.get(f"song-{row.id}")
        if job is not None and job.state == "failed":
            out["error"] = job.message
        if row.status == STATUS_READY:
            with contextlib.suppress(BackbeatError):
                chart = self.chart(row.id)
                out["parts"] = chart.parts
                out["levels"] = [d.value for d in chart.difficulties()]
                out["sections"] = _sections(chart, row.duration_s or 0.0)
                tm = chart.tempo_map
                middle = tm.seconds_to_tick(0.5 * (row.duration_s or 0.0))
                out["bpm"] = round(tm.bpm_at(middle), 1)
                sig = tm.time_signature_at(middle)
                out["meter"] = f"{sig.numerator}/{sig.denominator}"
        return out

    def list_songs(self) -> list[dict[str, Any]]:
        """Every song, oldest first."""
        return [self.summary(r) for r in self.db.list_songs()]

    def audio_path(self, song_id: int) -> Path:
        """The audio file of a song.

        Raises
        ------
        SongNotFoundError
            If the song or its file is missing.
        """
        row = self.song_row(song_id)
        p = Path(row.audio_path)
        if not p.is_file():
            raise SongNotFoundError(f"the audio file of song {song_id} is missing ({p})")
        return p

    def chart(self, song_id: int) -> Chart:
        """The latest chart of a song (parsed once, then cached).

        Raises
        ------
        SongNotFoundError
            If the song has no chart yet.
        """
        from backbeat.formats.chart_json import chart_from_json

        row = self.db.latest_chart(song_id)
        if row is None:
            raise SongNotFoundError(f"song {song_id} has no chart yet")
        key = (song_id, row.id)
        with self._lock:
            cached = self._tracks.get(key)
        if cached is None:
            cached = chart_from_json(row.data(), path=f"chart {row.id} of song {song_id}")
            with self._lock:
                self._tracks[key] = cached
        return cached

    def play_track(self, song_id: int, *, part: str, level: str) -> PlayTrack:
        """One part at one level of a song's latest chart.

        Raises
        ------
        SongNotFoundError, InvalidArgumentError
            If the song, its chart or the track is missing.
        """
        try:
            difficulty = Difficulty(level)
        except ValueError:
            raise InvalidArgumentError(f"unknown level {level!r} (one of "
                                       f"{', '.join(d.value for d in Difficulty)})") from None
        chart = self.chart(song_id)
        row = self.db.latest_chart(song_id)
        track = chart.track(difficulty, part)
        last_s = chart.tempo_map.tick_to_seconds(track.notes[-1].tick) + 2.0 if track.notes else 0.0
        duration = self.song_row(song_id).duration_s or chart.info.length_s or last_s
        notes = timed_notes(track.notes, chart.tempo_map)
        return PlayTrack(song_id, row.id if row else 0, part, difficulty.value, notes, float(duration))

    def chart_json(self, song_id: int, *, part: str, level: str) -> dict[str, Any]:
        """The browser's chart JSON for one track, with beats and sections."""
        track = self.play_track(song_id, part=part, level=level)
        chart = self.chart(song_id)
        return track.to_json(beats=_beats(chart, track.duration_s),
                             sections=_sections(chart, track.duration_s))

    # -- adding songs ----------------------------------------------------------
    def add_file(self, path: Path, *, title: str, artist: str = "", duration_s: float | None,
                 move: bool) -> SongRow:
        """Register an audio file (already checked) and keep it in the library.

        Parameters
        ----------
        path
            The audio file.
        title, artist
            Song metadata.
        duration_s
            From the container, if known.
        move
            Move the file under ``songs_dir`` (uploads) instead of using it in place.
        """
        target = path
        if move:
            suffix = path.suffix.lower() if path.suffix.lower() in AUDIO_SUFFIXES else ".audio"
            target = self.songs_dir / uuid.uuid4().hex / f"audio{suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
            except OSError:
                shutil.move(str(path), target)
        return self.db.add_song(title=title, artist=artist, audio_path=str(target), duration_s=duration_s,
                                status=STATUS_QUEUED)

    def start_processing(self, song_id: int, *, analysis_json: dict[str, Any] | None = None,
                         tempo_hint_bpm: float | None = None,
                         on_done: Callable[[Job], None] | None = None) -> Job:
        """Schedule analysis (unless ``analysis_json`` is given; with ``tempo_hint_bpm`` if
        given) and charting of a song.

        Must be called from the event loop; the work runs in the executor.
        """
        job = Job(id=f"song-{song_id}", song_id=song_id)
        self.jobs[job.id] = job
        work = self._process(job, analysis_json, tempo_hint_bpm, on_done)
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _process(self, job: Job, analysis_json: dict[str, Any] | None, tempo_hint_bpm: float | None,
                       on_done: Callable[[Job], None] | None) -> None:
        loop = asyncio.get_running_loop()
        row = self.song_row(job.song_id)
        try:
            if analysis_json is None:
                self._stage(job, STATUS_ANALYSING, 0.1)
                analysis_json = await loop.run_in_executor(self.executor, analyse_worker, row.audio_path,
                                                           tempo_hint_bpm)
                await asyncio.to_thread(self.db.save_analysis, job.song_id, analysis_json)
            duration = float(analysis_json.get("duration_s") or 0.0) or None
            self._stage(job, STATUS_CHARTING, 0.7)
            chart_json = await loop.run_in_executor(
                self.executor, _chart_call, analysis_json, row.title, row.artist, Path(row.audio_path).name)
            levels = sorted({t.get("difficulty", "") for t in chart_json.get("tracks", [])
                             if isinstance(t, dict)} - {""})
            await asyncio.to_thread(self.db.save_chart, job.song_id, chart_json, levels=levels)
            await asyncio.to_thread(self.db.update_song, job.song_id, status=STATUS_READY,
                                    duration_s=duration, clear_tempo_hint=True)
            self._stage(job, STATUS_READY, 1.0)
            job.state = "done"
        except asyncio.CancelledError:
            # The server is stopping: the song keeps its stored stage and tempo hint, so the next
            # start picks it up again (resume_unfinished) instead of leaving it failed.
            job.state, job.message = "failed", "server stopped while processing; it resumes on the next start"
            raise
        except BackbeatError as exc:
            self._fail(job, str(exc))
        except Exception as exc:  # a worker crash must not kill the server
            self._fail(job, f"processing failed unexpectedly ({type(exc).__name__}: {exc})")
        if on_done is not None:
            on_done(job)

    def reanalyse(self, song_id: int, *, tempo_hint_bpm: float | None = None) -> Job:
        """Analyse a ready or failed song again (e.g. with a tempo hint) and chart it anew.

        The earlier analyses and charts stay in the database: sessions played on
        them keep pointing at theirs, and the song plays the newest. The hint is
        stored with the song until the re-analysis has finished (or failed), so a
        server stopped half-way analyses the song again with the same hint when it
        restarts (:meth:`resume_unfinished`). Must be called from the event loop.

        Raises
        ------
        SongNotFoundError
            No such song.
        SongBusyError
            The song is still being processed.
        InvalidArgumentError
            A tempo hint outside the analysed range.
        """
        from backbeat.analysis.pipeline import check_tempo_hint

        check_tempo_hint(tempo_hint_bpm)
        row = self.song_row(song_id)
        job = self.jobs.get(f"song-{song_id}")
        if row.status not in (STATUS_READY, STATUS_FAILED) or (job is not None and job.state == "running"):
            raise SongBusyError(f"song {song_id} is still being processed ({row.status}); "
                                "try again when it is done")
        self.db.update_song(song_id, status=STATUS_QUEUED, tempo_hint_bpm=tempo_hint_bpm,
                            clear_tempo_hint=tempo_hint_bpm is None)
        return self.start_processing(song_id, tempo_hint_bpm=tempo_hint_bpm)

    def _stage(self, job: Job, stage: str, progress: float) -> None:
        job.stage = stage
        job.progress = progress
        if stage != STATUS_READY:
            self.db.update_song(job.song_id, status=stage)

    def _fail(self, job: Job, message: str) -> None:
        job.state, job.stage, job.message = "failed", STATUS_FAILED, message
        with contextlib.suppress(BackbeatError):
            self.db.update_song(job.song_id, status=STATUS_FAILED, clear_tempo_hint=True)

    def resume_unfinished(self) -> list[Job]:
        """Restart processing of songs left unfinished by a previous run (call from the event loop).

        A song is charted again from its newest stored analysis, or analysed first
        if it has none. A re-analysis with a tempo hint that had not stored its
        analysis yet (the song is not at the charting stage) is analysed again with
        the stored hint.
        """
        jobs = []
        for row in self.db.list_songs():
            if row.status not in (STATUS_QUEUED, STATUS_ANALYSING, STATUS_CHARTING):
                continue
            if row.tempo_hint_bpm is not None and row.status != STATUS_CHARTING:
                jobs.append(self.start_processing(row.id, tempo_hint_bpm=row.tempo_hint_bpm))
            else:
                analysis = self.db.latest_analysis(row.id)
                data = analysis.data() if analysis else None
                jobs.append(self.start_processing(row.id, analysis_json=data))
        return jobs

    def ensure_demo(self) -> Job | None:
        """Add the bundled demo song if the library lacks it (call from the event loop)."""
        import json

        audio, truth = demo_paths()
        if not audio.is_file() or not truth.is_file():
            return None
        for row in self.db.list_songs():
            if row.title == DEMO_TITLE and row.artist == DEMO_ARTIST:
                return None
        analysis_json = json.loads(truth.read_text(encoding="utf-8"))
        row = self.db.add_song(title=DEMO_TITLE, artist=DEMO_ARTIST, audio_path=str(audio),
                               duration_s=float(analysis_json.get("duration_s") or 0.0) or None,
                               status=STATUS_QUEUED)
        self.db.save_analysis(row.id, analysis_json)
        return self.start_processing(row.id, analysis_json=analysis_json)

    async def wait_idle(self) -> None:
        """Wait for every scheduled job (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _chart_call(analysis_json: dict[str, Any], title: str, artist: str, audio_file: str) -> dict[str, Any]:
    return chart_worker(analysis_json, title=title, artist=artist, audio_file=audio_file)


def _beats(chart: Chart, duration_s: float) -> list[dict[str, Any]]:
    end_tick = int(chart.tempo_map.seconds_to_tick(max(duration_s, 0.0))) + 1
    out = []
    for tick, pos in chart.tempo_map.beat_ticks(end_tick):
        t = chart.tempo_map.tick_to_seconds(tick)
        if t <= duration_s + 1e-6:
            out.append({"t": round(t, 6), "pos": pos})
    return out


def _sections(chart: Chart, duration_s: float) -> list[dict[str, Any]]:
    secs = [(chart.tempo_map.tick_to_seconds(s.tick), s.name) for s in chart.sections]
    out = []
    for i, (t, name) in enumerate(secs):
        end = secs[i + 1][0] if i + 1 < len(secs) else duration_s
        out.append({"name": name, "start_s": round(t, 6), "end_s": round(end, 6)})
    return out


def notes_in_range(notes: tuple[Note, ...], *, from_s: float | None, to_s: float | None) -> tuple[Note, ...]:
    """Notes with ``from_s <= time_s < to_s`` (practice loops)."""
    lo = -float("inf") if from_s is None else from_s
    hi = float("inf") if to_s is None else to_s
    return tuple(n for n in notes if lo <= n.time_s < hi)


__all__ = [
    "DEMO_TITLE", "Job", "Library", "Pad", "PlayTrack", "SongBusyError", "SongNotFoundError",
    "analyse_worker", "chart_worker", "check_audio_file", "looks_like_audio", "notes_in_range",
]
