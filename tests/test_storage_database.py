"""Database: typed rows, idempotent hit batches, errors, threads."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from backbeat.core.errors import StorageError
from backbeat.engine import PlayerEngine, Replay, human_bot, simulate
from backbeat.storage import LATEST_VERSION, Database, HitRecord


@pytest.fixture
def db(tmp_path: Path) -> Database:
    ticks = iter(range(1000, 100000))
    d = Database(tmp_path / "backbeat.db", clock=lambda: float(next(ticks)))
    yield d
    d.close()


def test_new_database_is_wal_with_latest_schema(tmp_path: Path) -> None:
    with Database(tmp_path / "a.db") as d:
        assert d.schema_version == LATEST_VERSION
        assert d._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert d._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert d._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_songs_analyses_charts(db: Database) -> None:
    s = db.add_song(title="Song", artist="Band", audio_path="/music/s.mp3", duration_s=181.5)
    assert s.status == "new" and s.added_at == 1000.0
    assert db.get_song(s.id) == s
    assert db.get_song(999) is None
    s2 = db.update_song(s.id, status="ready")
    assert s2.status == "ready" and s2.title == "Song"
    assert db.list_songs(status="ready") == [s2]
    a1 = db.save_analysis(s.id, {"version": 1, "beats": [0.5, 1.0]})
    a2 = db.save_analysis(s.id, '{"version": 1, "beats": []}')
    assert db.latest_analysis(s.id) == a2
    assert a1.data()["beats"] == [0.5, 1.0]
    c = db.save_chart(s.id, {"tracks": {}}, levels=["expert", "hard"])
    assert db.latest_chart(s.id) == c == db.get_chart(c.id)
    assert c.levels == ("expert", "hard")
    assert db.delete_song(s.id)
    assert db.latest_analysis(s.id) is None and db.latest_chart(s.id) is None
    assert not db.delete_song(s.id)


def test_tempo_hint_of_a_song_is_stored_and_cleared(db: Database) -> None:
    s = db.add_song(title="Song", status="ready")
    assert s.tempo_hint_bpm is None
    s = db.update_song(s.id, status="queued", tempo_hint_bpm=172.5)
    assert s.tempo_hint_bpm == 172.5 and db.get_song(s.id) == s
    assert db.update_song(s.id, status="analysing").tempo_hint_bpm == 172.5  # kept while pending
    s = db.update_song(s.id, status="ready", clear_tempo_hint=True)
    assert s.status == "ready" and s.tempo_hint_bpm is None
    with pytest.raises(StorageError, match="not both"):
        db.update_song(s.id, tempo_hint_bpm=90.0, clear_tempo_hint=True)
    with pytest.raises(StorageError, match="finite number"):
        db.update_song(s.id, tempo_hint_bpm=float("nan"))
    assert db.get_song(s.id) == s


def test_players_devices_calibrations(db: Database) -> None:
    p = db.add_player("Ann")
    assert db.add_player("Ann") == p
    assert db.get_player(p.id) == p
    assert [x.name for x in db.list_players()] == ["Ann"]
    dev = db.add_device("TD-17", "midi")
    assert db.add_device("TD-17", "midi") == dev
    assert db.latest_calibration(dev.id) is None
    db.add_calibration(dev.id, audio_offset_ms=31.0, video_offset_ms=-4.0)
    c2 = db.add_calibration(dev.id, audio_offset_ms=29.5, video_offset_ms=-3.0)
    assert db.latest_calibration(dev.id) == c2
    assert [c.audio_offset_ms for c in db.list_calibrations(dev.id)] == [31.0, 29.5]
    assert db.get_device(dev.id) == dev and db.get_device(999) is None
    with pytest.raises(StorageError, match="does not exist"):
        db.add_calibration(12345, audio_offset_ms=1.0, video_offset_ms=1.0)


def test_session_hits_results_and_replays(db: Database) -> None:
    from backbeat.core.chart import Note
    from backbeat.core.kit import Pad

    song = db.add_song(title="S")
    ann, bob = db.add_player("Ann"), db.add_player("Bob")
    ses = db.create_session(song.id, settings={"rate": 0.75})
    assert ses.status == "active" and ses.settings_data() == {"rate": 0.75}
    db.add_session_player(ses.id, ann.id, part="drums", difficulty="expert")
    db.add_session_player(ses.id, bob.id, part="drums", difficulty="easy")

    notes = [Note(tick=i * 96, pad=Pad(i % 3), time_s=i * 0.25) for i in range(40)]
    eng = PlayerEngine(notes)
    hits = human_bot(notes, seed=9)
    batch = [HitRecord(seq=h.seq or 0, time_s=h.time_s, pad=int(h.pad), velocity=h.velocity, cymbal=h.cymbal)
             for h in hits]
    assert db.record_hits(ses.id, ann.id, batch[:20]) == 20
    assert db.record_hits(ses.id, ann.id, batch[10:]) == len(batch) - 20  # retry overlap stored once
    assert db.record_hits(ses.id, ann.id, batch) == 0
    assert db.count_hits(ses.id, player_id=ann.id) == len(batch)

    eng.queue_inputs(hits)
    events = eng.finish()
    judged = [(e.input.seq, e.judgment.value, e.offset_ms) for e in events if e.input is not None]
    assert db.set_hit_judgments(ses.id, ann.id, judged) == len(batch)
    rows = db.hits(ses.id, player_id=ann.id)
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert all(r.judgment is not None for r in rows)
    assert {r.judgment for r in rows if r.offset_ms is None} <= {"overhit"}

    db.set_player_result(ses.id, ann.id, eng.result().to_dict())
    with pytest.raises(StorageError, match="not in session"):
        db.set_player_result(ses.id, 999, {})
    seats = db.session_players(ses.id)
    assert [s.difficulty for s in seats] == ["expert", "easy"]
    assert seats[0].result_data()["score"] == eng.result().score

    stored_inputs = db.hit_inputs(ses.id, ann.id)
    assert sorted(stored_inputs, key=lambda h: h.seq or 0) == sorted(hits, key=lambda h: h.seq or 0)
    rescored = PlayerEngine(notes)
    rescored.queue_inputs(stored_inputs)
    rescored.finish()
    assert rescored.result() == eng.result()

    rep = Replay.from_engine(eng)
    db.save_replay(ses.id, ann.id, rep.to_json())
    row = db.get_replay(ses.id, ann.id)
    assert row is not None
    assert simulate(Replay.from_json(row.json), notes) == eng.result()
    db.save_replay(ses.id, ann.id, rep.to_json())  # replace, not duplicate
    assert db.get_replay(ses.id, bob.id) is None

    ended = db.end_session(ses.id)
    assert ended.status == "finished" and ended.ended_at is not None
    assert db.list_sessions(song_id=song.id) == [ended]
    with pytest.raises(StorageError, match="no session"):
        db.end_session(424242)


@pytest.mark.parametrize(
    "hit",
    [HitRecord(seq=1, time_s=float("nan"), pad=1), HitRecord(seq=1, time_s=1.0, pad=9),
     HitRecord(seq=1, time_s=1.0, pad=1, velocity=500), HitRecord(seq="1", time_s=1.0, pad=1)],  # type: ignore[arg-type]
)
def test_bad_hits_store_nothing(db: Database, hit: HitRecord) -> None:
    s = db.create_session(None)
    p = db.add_player("P")
    good = HitRecord(seq=0, time_s=0.5, pad=0)
    with pytest.raises(StorageError):
        db.record_hits(s.id, p.id, [good, hit])
    assert db.count_hits(s.id) == 0


def test_hits_for_unknown_session_are_refused(db: Database) -> None:
    p = db.add_player("P")
    with pytest.raises(StorageError, match="does not exist"):
        db.record_hits(77, p.id, [HitRecord(seq=0, time_s=0.5, pad=0)])


def test_bad_values(db: Database) -> None:
    with pytest.raises(StorageError, match="title"):
        db.add_song(title="  ")
    with pytest.raises(StorageError, match="not valid JSON"):
        db.save_analysis(db.add_song(title="x").id, "{nope")
    with pytest.raises(StorageError, match="JSON"):
        db.create_session(None, settings={"x": float("nan")})
    with pytest.raises(StorageError, match="no song"):
        db.update_song(999, status="ready")


def test_concurrent_writers_from_threads(db: Database) -> None:
    s = db.create_session(None)
    players = [db.add_player(f"p{i}") for i in range(4)]
    errors: list[BaseException] = []

    def writer(pid: int) -> None:
        try:
            for b in range(25):
                db.record_hits(s.id, pid, [HitRecord(seq=b * 10 + k, time_s=b + k / 10, pad=k % 5)
                                           for k in range(10)])
                db.count_hits(s.id, player_id=pid)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p.id,)) for p in players]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.count_hits(s.id) == 4 * 250


def test_two_connections_see_each_others_commits(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with Database(path) as a, Database(path) as b:
        s = a.add_song(title="From A")
        assert b.get_song(s.id) == s


def test_player_sessions_show_progress(db: Database) -> None:
    song, other = db.add_song(title="A"), db.add_song(title="B")
    ann = db.add_player("Ann")
    for k, (sid, acc) in enumerate([(song.id, 0.5), (other.id, 0.9), (song.id, 0.7)]):
        ses = db.create_session(sid)
        db.add_session_player(ses.id, ann.id, difficulty=["easy", "hard", "medium"][k])
        db.set_player_result(ses.id, ann.id, {"accuracy": acc})
    rows = db.player_sessions(ann.id)
    assert [r.result_data()["accuracy"] for r in rows] == [0.5, 0.9, 0.7]
    assert [r.difficulty for r in db.player_sessions(ann.id, song_id=song.id)] == ["easy", "medium"]
    assert db.player_sessions(999) == []


def _rows(sid: int, pid: int, hits: list[HitRecord]) -> list[tuple[Any, ...]]:
    return [(sid, pid, h.seq, h.time_s, h.pad, h.velocity, h.cymbal, h.judgment, h.offset_ms, h.received_at)
            for h in hits]


def test_record_hit_rows_is_one_idempotent_transaction(db: Database) -> None:
    s1, s2 = db.create_session(None), db.create_session(None)
    ann, bob = db.add_player("Ann"), db.add_player("Bob")
    a = [HitRecord(seq=k, time_s=k / 4, pad=k % 5) for k in range(30)]
    # More than one INSERT statement's worth of rows in one round.
    b = [HitRecord(seq=k, time_s=k / 3, pad=(k + 1) % 5, velocity=90) for k in range(120)]
    changes = db._conn.total_changes
    assert db.record_hit_rows(_rows(s1.id, ann.id, a[:20]) + _rows(s1.id, bob.id, b)
                              + _rows(s2.id, ann.id, a[:5])) == 145
    assert db.record_hit_rows(_rows(s1.id, ann.id, a[10:]) + _rows(s1.id, bob.id, b)) == 10  # overlap once
    assert db._conn.total_changes - changes == 155
    assert [r.seq for r in db.hits(s1.id, player_id=ann.id)] == list(range(30))
    assert [r.time_s for r in db.hits(s1.id, player_id=bob.id)] == [h.time_s for h in b]
    assert db.count_hits(s2.id) == 5
    assert db.record_hit_rows([]) == 0


def test_record_hit_rows_stores_nothing_when_one_row_is_bad(db: Database) -> None:
    s = db.create_session(None)
    p = db.add_player("P")
    good = _rows(s.id, p.id, [HitRecord(seq=k, time_s=k, pad=0) for k in range(5)])
    with pytest.raises(StorageError, match="does not exist"):
        db.record_hit_rows(good + _rows(9999, p.id, [HitRecord(seq=0, time_s=0.0, pad=0)]))
    with pytest.raises(StorageError, match="pad"):
        db.record_hit_rows(good + _rows(s.id, p.id, [HitRecord(seq=9, time_s=1.0, pad=7)]))
    with pytest.raises(StorageError, match="hit row"):
        db.record_hit_rows([*good, (s.id, p.id, 9)])  # type: ignore[list-item]
    assert db.count_hits(s.id) == 0
    with pytest.raises(StorageError, match="at most"):
        db.record_hit_rows(_rows(s.id, p.id, [HitRecord(seq=k, time_s=0.0, pad=0) for k in range(10_001)]))
