"""The song library's processing jobs: a re-analysis's tempo hint survives a restart.

The analysis and charting workers are replaced by fake pools (the real ones are
slow): :class:`FakePool` answers at once and records the tempo hints it was
given; :class:`StuckPool` never answers, like a server killed while a worker runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from backbeat.services.library import Library, ProcessingError, analyse_worker
from backbeat.storage import Database

HINT = 140.0


class FakePool(Executor):
    """Runs no worker: an analysis is ``{"duration_s": 30.0, "hint": <hint>}``, a chart one expert track."""

    def __init__(self, *, fail_analysis: bool = False) -> None:
        self.hints: list[float | None] = []
        self.fail_analysis = fail_analysis

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        out: Future[Any] = Future()
        if fn is analyse_worker:
            _audio_path, hint = args
            self.hints.append(hint)
            if self.fail_analysis:
                out.set_exception(ProcessingError("the audio is silent"))
            else:
                out.set_result({"duration_s": 30.0, "hint": hint})
        else:  # charting
            out.set_result({"tracks": [{"difficulty": "expert"}]})
        return out


class StuckPool(Executor):
    """A worker that never comes back."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return Future()


def ready_song(path: Path) -> int:
    """A ready song with an analysis and a chart (as after its first processing)."""
    with Database(path) as db:
        song = db.add_song(title="Song", audio_path="/music/song.flac", status="ready")
        db.save_analysis(song.id, {"duration_s": 30.0, "hint": None})
        db.save_chart(song.id, {"tracks": []}, levels=["expert"])
        return song.id


def killed_mid_analysis(path: Path, song_id: int, tmp_path: Path, *, hint: float | None) -> None:
    """Start a re-analysis, then stop the server while its analysis runs (nothing more is written)."""

    async def run() -> None:
        db = Database(path)
        pool = StuckPool()
        library = Library(db, songs_dir=tmp_path, executor=pool)
        library.reanalyse(song_id, tempo_hint_bpm=hint)
        while pool.calls == 0:  # the job reaches the analysis worker
            await asyncio.sleep(0)
        db.close()  # killed: the pending job can no longer write anything

    asyncio.run(run())


def restart(path: Path, tmp_path: Path, pool: Executor) -> None:
    """A new server on the same database file resumes unfinished songs."""

    async def run() -> None:
        with Database(path) as db:
            library = Library(db, songs_dir=tmp_path, executor=pool)
            library.resume_unfinished()
            await library.wait_idle()

    asyncio.run(run())


def test_an_unfinished_reanalysis_resumes_with_its_tempo_hint(tmp_path: Path) -> None:
    path = tmp_path / "backbeat.db"
    song_id = ready_song(path)
    killed_mid_analysis(path, song_id, tmp_path, hint=HINT)
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "analysing" and song.tempo_hint_bpm == HINT

    pool = FakePool()
    restart(path, tmp_path, pool)
    assert pool.hints == [HINT]  # analysed again, with the user's hint
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "ready"
        assert song.tempo_hint_bpm is None  # done: forgotten
        analysis = db.latest_analysis(song_id)
        assert analysis is not None and analysis.data()["hint"] == HINT


def test_a_hinted_reanalysis_that_stored_its_analysis_is_only_charted_again(tmp_path: Path) -> None:
    path = tmp_path / "backbeat.db"
    song_id = ready_song(path)
    with Database(path) as db:  # killed while charting: the hinted analysis is stored
        db.save_analysis(song_id, {"duration_s": 30.0, "hint": HINT})
        db.update_song(song_id, status="charting", tempo_hint_bpm=HINT)
    pool = FakePool()
    restart(path, tmp_path, pool)
    assert pool.hints == []
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "ready" and song.tempo_hint_bpm is None


def test_the_tempo_hint_is_cleared_when_the_reanalysis_ends(tmp_path: Path) -> None:
    path = tmp_path / "backbeat.db"
    song_id = ready_song(path)

    async def reanalyse(pool: FakePool, hint: float | None) -> None:
        with Database(path) as db:
            library = Library(db, songs_dir=tmp_path, executor=pool)
            library.reanalyse(song_id, tempo_hint_bpm=hint)
            await library.wait_idle()

    for pool, status in ((FakePool(), "ready"), (FakePool(fail_analysis=True), "failed")):
        asyncio.run(reanalyse(pool, HINT))
        assert pool.hints == [HINT]
        with Database(path) as db:
            song = db.get_song(song_id)
            assert song is not None and song.status == status and song.tempo_hint_bpm is None

    # A later plain re-analysis stopped half-way is not resumed with the old hint.
    killed_mid_analysis(path, song_id, tmp_path, hint=None)
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "analysing" and song.tempo_hint_bpm is None
    pool = FakePool()
    restart(path, tmp_path, pool)
    assert HINT not in pool.hints


def test_a_server_stopped_gracefully_resumes_the_song_with_its_hint(tmp_path: Path) -> None:
    """Stopping the server (its jobs cancelled, as at shutdown) does not fail the song."""
    path = tmp_path / "backbeat.db"
    song_id = ready_song(path)

    async def stop_mid_analysis() -> None:
        with Database(path) as db:
            pool = StuckPool()
            library = Library(db, songs_dir=tmp_path, executor=pool)
            job = library.reanalyse(song_id, tempo_hint_bpm=HINT)
            while pool.calls == 0:
                await asyncio.sleep(0)
            for task in list(library._tasks):
                task.cancel()
            await library.wait_idle()
            assert job.state == "failed" and "resumes" in job.message

    asyncio.run(stop_mid_analysis())
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "analysing" and song.tempo_hint_bpm == HINT
    pool = FakePool()
    restart(path, tmp_path, pool)
    assert pool.hints == [HINT]
    with Database(path) as db:
        song = db.get_song(song_id)
        assert song is not None and song.status == "ready" and song.tempo_hint_bpm is None
