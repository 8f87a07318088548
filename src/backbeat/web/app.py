"""The play-along web app: :func:`create_app` builds the FastAPI application.

The app's ``lifespan`` opens the database, starts the hit writer thread and a
process pool for analysis and charting (never run on the event loop),
resumes unfinished songs, adds the demo song, and shuts all of it down
cleanly. Routes:

* ``GET /`` and ``/static/*``: the no-build front end.
* ``GET /api/songs``, ``POST /api/songs`` (multipart upload, size-capped),
  ``POST /api/songs/import`` (server-side path), ``GET /api/songs/{id}``,
  ``GET /api/songs/{id}/audio`` (Range requests), ``GET /api/songs/{id}/chart``,
  ``POST /api/songs/{id}/reanalyse`` (again, with an optional tempo hint).
* ``GET /api/jobs/{id}``: processing progress.
* ``GET /api/midi-maps``: drum-module note maps.
* ``GET|PUT /api/devices/{device}/calibration``.
* ``POST /api/sessions``, ``GET /api/sessions``, ``GET /api/sessions/{id}``.
* ``WS /ws/play``: see :mod:`backbeat.web.play_socket`.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.routing import WebSocketRoute

from backbeat import __version__
from backbeat.analysis.beats import MAX_BPM, MIN_BPM
from backbeat.core.errors import AudioError, BackbeatError
from backbeat.devices.midi_maps import presets_json
from backbeat.services.calibration import get_calibration, record_calibration
from backbeat.services.library import Library, SongBusyError, SongNotFoundError, check_audio_file
from backbeat.services.sessions import HitWriter, LiveSessions, SessionError
from backbeat.storage.database import Database
from backbeat.web.heap import HeapFreezer
from backbeat.web.play_socket import PlaySocketApp
from backbeat.web.settings import ServerSettings
from backbeat.web.uploads import receive_upload

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class AppServices:
    """Everything the routes use, created in the lifespan."""

    settings: ServerSettings
    db: Database
    library: Library
    sessions: LiveSessions
    writer: HitWriter
    executor: ProcessPoolExecutor
    heap: HeapFreezer


def get_services(request: Request) -> AppServices:
    """Typed dependency: the app's services."""
    services: AppServices = request.app.state.services
    return services


Services = Annotated[AppServices, Depends(get_services)]


class ImportBody(BaseModel):
    """Add a song by a path on the server."""

    path: str = Field(min_length=1, max_length=4096)
    title: str | None = Field(default=None, max_length=200)
    artist: str = Field(default="", max_length=200)


class ReanalyseBody(BaseModel):
    """Analyse a song again, with the user's tempo (BPM) if given."""

    tempo_hint_bpm: float | None = Field(default=None, ge=MIN_BPM, le=MAX_BPM)  # the analysed range


class CalibrationBody(BaseModel):
    """Tap offsets of one calibration run."""

    kind: str = Field(pattern="^(audio|video)$")
    offsets_ms: list[float] = Field(max_length=512)


class SessionBody(BaseModel):
    """Create a session on a song."""

    song_id: int
    players: list[str] = Field(default_factory=list, max_length=16)
    settings: dict[str, Any] = Field(default_factory=dict)


def _run_notifications(notes: list[tuple[Callable[[int], None], int]]) -> None:
    for notify, seq in notes:
        notify(seq)


def _title_from_filename(name: str) -> str:
    stem = Path(name).stem.replace("_", " ").strip()
    return stem[:200] or "Untitled"


def _song_id(song_id: str) -> int:
    if not song_id.isdigit():
        raise SongNotFoundError(f"no song with id {song_id!r}")
    return int(song_id)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the app.

    Parameters
    ----------
    settings
        Server settings (defaults: data in ``~/.local/share/backbeat``).
    """
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_path)
        executor = ProcessPoolExecutor(max_workers=settings.workers,
                                       mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        # Stored-hit notifications reach the event loop once per commit round, not once per player.
        def dispatch(notes: list[tuple[Callable[[int], None], int]]) -> None:
            loop.call_soon_threadsafe(_run_notifications, notes)

        writer = HitWriter(db, dispatch=dispatch)
        library = Library(db, songs_dir=settings.songs_dir, executor=executor)
        sessions = LiveSessions(db, library, writer)
        heap = HeapFreezer(loop)
        app.state.services = AppServices(settings, db, library, sessions, writer, executor, heap)
        library.resume_unfinished()
        if settings.add_demo:
            library.ensure_demo()
        # Everything loaded so far (modules, the app, charts) lives as long as the server.
        heap.start()
        try:
            yield
        finally:
            for task in list(library._tasks):  # our own service
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(library.wait_idle(), 5.0)
            await asyncio.to_thread(writer.close)
            executor.shutdown(wait=False, cancel_futures=True)
            db.close()

    app = FastAPI(title="Backbeat", version=__version__, lifespan=lifespan)

    @app.exception_handler(SongNotFoundError)
    async def _not_found(request: Request, exc: SongNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(SongBusyError)
    async def _busy(request: Request, exc: SongBusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(SessionError)
    async def _session_error(request: Request, exc: SessionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if "no session" in str(exc) else 409)

    @app.exception_handler(BackbeatError)
    async def _backbeat_error(request: Request, exc: BackbeatError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # -- front end --------------------------------------------------------------
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    @app.get("/api/midi-maps")
    def midi_maps() -> dict[str, dict[str, str]]:
        return presets_json()

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # -- library ----------------------------------------------------------------
    @app.get("/api/songs")
    def list_songs(s: Services) -> list[dict[str, Any]]:
        return s.library.list_songs()

    @app.get("/api/songs/{song_id}")
    def get_song(song_id: str, s: Services) -> dict[str, Any]:
        return s.library.summary(s.library.song_row(_song_id(song_id)))

    @app.post("/api/songs", status_code=202)
    async def upload_song(request: Request, s: Services) -> dict[str, Any]:
        up = await receive_upload(request, tmp_dir=s.settings.songs_dir / ".incoming",
                                  max_bytes=s.settings.max_upload_bytes)
        try:
            duration = await asyncio.to_thread(check_audio_file, up.path)
        except AudioError as exc:
            up.path.unlink(missing_ok=True)
            raise HTTPException(415, f"{up.filename}: {exc.problem}") from None
        except BackbeatError as exc:
            up.path.unlink(missing_ok=True)
            raise HTTPException(415, f"{up.filename}: {exc}") from None
        # Keep the original extension so decoders can pick the right demuxer.
        named = up.path.with_name(up.path.stem + Path(up.filename).suffix.lower())
        up.path.rename(named)
        row = await asyncio.to_thread(s.library.add_file, named, title=_title_from_filename(up.filename),
                                      duration_s=duration, move=True)
        job = s.library.start_processing(row.id)
        return {"song": s.library.summary(row), "job_id": job.id}

    @app.post("/api/songs/{song_id}/reanalyse", status_code=202)
    async def reanalyse_song(song_id: str, body: ReanalyseBody, s: Services) -> dict[str, Any]:
        job = s.library.reanalyse(_song_id(song_id), tempo_hint_bpm=body.tempo_hint_bpm)
        return {"song": s.library.summary(s.library.song_row(job.song_id)), "job_id": job.id}

    @app.post("/api/songs/import", status_code=202)
    async def import_song(body: ImportBody, s: Services) -> dict[str, Any]:
        path = Path(body.path).expanduser().resolve()
        allowed = s.settings.allowed_import_dirs
        if allowed and not any(path.is_relative_to(d.resolve()) for d in allowed):
            raise HTTPException(403, f"{path}: outside the folders songs may be imported from")
        if not path.is_file():
            raise HTTPException(404, f"{path}: no such file")
        try:
            duration = await asyncio.to_thread(check_audio_file, path)
        except AudioError as exc:
            raise HTTPException(415, f"{path}: {exc.problem}") from None
        title = body.title or _title_from_filename(path.name)
        row = await asyncio.to_thread(s.library.add_file, path, title=title, artist=body.artist,
                                      duration_s=duration, move=False)
        job = s.library.start_processing(row.id)
        return {"song": s.library.summary(row), "job_id": job.id}

    @app.get("/api/songs/{song_id}/audio")
    def song_audio(song_id: str, s: Services) -> FileResponse:
        path = s.library.audio_path(_song_id(song_id))
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix.lower() in (".ogg", ".oga", ".opus"):
            media = "audio/ogg"
        return FileResponse(path, media_type=media)

    @app.get("/api/songs/{song_id}/chart")
    def song_chart(song_id: str, s: Services, part: Annotated[str, Query(max_length=64)] = "drums",
                   level: Annotated[str, Query(max_length=16)] = "expert") -> dict[str, Any]:
        return s.library.chart_json(_song_id(song_id), part=part, level=level)

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str, s: Services) -> dict[str, Any]:
        job = s.library.jobs.get(job_id)
        if job is not None:
            return job.to_dict()
        if job_id.startswith("song-") and job_id[5:].isdigit():
            row = s.library.song_row(int(job_id[5:]))
            done = row.status in ("ready", "failed")
            return {"id": job_id, "song_id": row.id, "state": "done" if row.status == "ready" else
                    ("failed" if row.status == "failed" else "running"),
                    "stage": row.status, "progress": 1.0 if done else 0.0, "message": ""}
        raise HTTPException(404, f"no job {job_id!r}")

    # -- calibration --------------------------------------------------------------
    @app.get("/api/devices/{device}/calibration")
    def device_calibration(device: str, s: Services) -> dict[str, Any]:
        return get_calibration(s.db, device)

    @app.put("/api/devices/{device}/calibration")
    def save_calibration(device: str, body: CalibrationBody, s: Services) -> dict[str, Any]:
        return record_calibration(s.db, device, kind=body.kind, offsets_ms=body.offsets_ms)

    # -- sessions -----------------------------------------------------------------
    @app.post("/api/sessions", status_code=201)
    def create_session(body: SessionBody, s: Services) -> dict[str, Any]:
        return s.sessions.create(body.song_id, settings={"players": body.players, **body.settings})

    @app.get("/api/sessions")
    def list_sessions(s: Services, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return s.sessions.list(limit=limit)

    @app.get("/api/sessions/{session_id}")
    def get_session(session_id: int, s: Services) -> dict[str, Any]:
        return s.sessions.describe(session_id)

    # A plain ASGI endpoint: hits and judgments skip the framework's per-message WebSocket wrapper.
    app.router.routes.append(WebSocketRoute("/ws/play", PlaySocketApp(), name="play"))

    return app
