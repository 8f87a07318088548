"""The /ws/play WebSocket: joining, live judgments, storage of every hit, hostile clients."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backbeat.storage.database import Database
from backbeat.web.app import create_app
from backbeat.web.play_socket import MAX_BATCH_MESSAGES
from backbeat.web.protocol import (
    CLOSE_DUPLICATE_PLAYER,
    CLOSE_NORMAL,
    CLOSE_NOT_FOUND,
    CLOSE_POLICY,
    CLOSE_RATE_LIMIT,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
)
from backbeat.web.settings import ServerSettings


def wait_ready(client: TestClient, timeout_s: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        songs = client.get("/api/songs").json()
        if songs and songs[0]["status"] in ("ready", "failed"):
            assert songs[0]["status"] == "ready", songs[0].get("error")
            return songs[0]
        time.sleep(0.1)
    raise AssertionError("demo song not ready in time")


@pytest.fixture(scope="module")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path, list[Any]]]:
    data = tmp_path_factory.mktemp("web-play")
    app = create_app(ServerSettings(data_dir=data))
    with TestClient(app) as client:
        song = wait_ready(client)
        notes = client.get(f"/api/songs/{song['id']}/chart", params={"level": "expert"}).json()["notes"]
        yield client, data / "backbeat.db", notes


def new_session(client: TestClient) -> str:
    r = client.post("/api/sessions", json={"song_id": 1})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def join_msg(session: str, player: str, **kw: Any) -> str:
    return json.dumps({"v": 1, "type": "join", "session": session, "player": player, "part": "drums",
                       "level": "expert", "mode": "pads", "rate": 1.0, "device": "keyboard", **kw})


def join(ws: Any, session: str, player: str, **kw: Any) -> dict[str, Any]:
    """Join ``session`` as ``player`` on an open socket; the ``joined`` message."""
    ws.send_text(join_msg(session, player, **kw))
    return receive_until(ws, "joined")


def hit_msg(seq: int, t: float, pad: int, cymbal: bool | None = None) -> str:
    return json.dumps({"v": 1, "type": "hit", "seq": seq, "t_song_s": t, "pad": pad, "velocity": 90,
                       "cymbal": cymbal})


def receive_until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        m = ws.receive_json()
        if m["type"] == kind:
            return m
        assert m["type"] in ("judgment", "stored", "joined"), m


def receive_judgment(ws: Any, seq: int) -> dict[str, Any]:
    """The judgment of hit ``seq`` (skipping misses fired on the way)."""
    while True:
        m = receive_until(ws, "judgment")
        if m["seq"] == seq:
            return m


def receive_close(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Read until the server closes; returns the messages and the close code."""
    msgs = []
    try:
        while True:
            msgs.append(ws.receive_json())
    except WebSocketDisconnect as exc:
        return msgs, exc.code


def stored_hits(db_path: Path, session: str) -> list[Any]:
    db = Database(db_path)
    try:
        return db.hits(int(session))
    finally:
        db.close()


def test_join_hit_judgment_result_and_hits_stored(app_env: Any) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg(session, "ann"))
        joined = ws.receive_json()
        assert joined["type"] == "joined" and joined["notes"] == len(notes)
        offsets = [0.0, 0.03, -0.06, 0.2]  # perfect, great, good, and a hit far from any note
        judged = []
        for seq, off in enumerate(offsets):
            n = notes[10 + seq * 3]
            ws.send_text(hit_msg(seq, n["t"] + off, n["pad"], n["cymbal"]))
            judged.append(receive_judgment(ws, seq))
        assert [j["judgment"] for j in judged[:3]] == ["perfect", "great", "good"]
        assert judged[0]["seq"] == 0 and judged[0]["note_index"] is not None
        assert abs(judged[1]["offset_ms"] - 30.0) < 0.01
        ws.send_text(json.dumps({"v": 1, "type": "end"}))
        result = receive_until(ws, "result")
        _, code = receive_close(ws)
    assert code == CLOSE_NORMAL
    r = result["result"]
    assert r["counts"]["perfect"] >= 1 and r["notes_total"] == len(notes) and r["finished"] is True
    hits = stored_hits(db_path, session)
    assert [h.seq for h in hits] == [0, 1, 2, 3]
    assert [h.judgment for h in hits[:3]] == ["perfect", "great", "good"]
    desc = client.get(f"/api/sessions/{session}").json()
    assert desc["status"] == "finished" and desc["players"][0]["hits_stored"] == 4
    assert desc["players"][0]["result"]["score"] == r["score"]


def test_ticks_turn_unplayed_notes_into_misses(app_env: Any) -> None:
    client, _, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        join(ws, session, "tick-player")
        ws.send_text(json.dumps({"v": 1, "type": "tick", "t_song_s": notes[5]["t"] + 1.0}))
        misses = [receive_until(ws, "judgment") for _ in range(5)]
        assert all(m["judgment"] == "miss" for m in misses)
        assert [m["note_index"] for m in misses] == sorted(m["note_index"] for m in misses)


@pytest.mark.parametrize(("payload", "code", "error"), [
    ("{this is not json", CLOSE_UNSUPPORTED, "bad_json"),
    (json.dumps({"v": 1, "type": "tick", "t_song_s": 1.0, "junk": "x" * 5000}), CLOSE_TOO_BIG, "too_big"),
    (hit_msg(99, 1e9, 1), CLOSE_POLICY, "bad_time"),
    ('{"v": 1, "type": "hit", "seq": 99, "t_song_s": NaN, "pad": 1}', CLOSE_POLICY, "bad_time"),
    (json.dumps({"v": 2, "type": "tick", "t_song_s": 1.0}), CLOSE_POLICY, "bad_version"),
    (hit_msg(1, 5.0, 1), CLOSE_POLICY, "bad_seq"),  # seq 1 was already used
])
def test_hostile_message_gets_error_and_close_and_keeps_earlier_hits(
        app_env: Any, payload: str, code: int, error: str) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        join(ws, session, "mallory")
        for seq in range(2):
            ws.send_text(hit_msg(seq, notes[seq]["t"], notes[seq]["pad"]))
        ws.send_text(payload)
        msgs, close_code = receive_close(ws)
    assert close_code == code
    errors = [m for m in msgs if m["type"] == "error"]
    assert errors and errors[-1]["code"] == error and errors[-1]["message"]
    # The close frame comes only after the hits are committed.
    assert [h.seq for h in stored_hits(db_path, session)] == [0, 1]
    desc = client.get(f"/api/sessions/{session}").json()
    assert desc["players"][0]["result"]["finished"] is False


def test_dropped_player_rejoins_and_carries_on(app_env: Any) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        assert join(ws, session, "blip")["resumed"] is False
        for seq in range(5):
            n = notes[100 + seq]
            ws.send_text(hit_msg(seq, n["t"], n["pad"], n["cymbal"]))
            assert receive_judgment(ws, seq)["judgment"] == "perfect"
        # The connection drops (no "end").
    # The server may not have seen the drop yet; like the page, retry while the old seat is held.
    with contextlib.ExitStack() as stack:
        deadline = time.monotonic() + 5.0
        while True:
            ws = stack.enter_context(client.websocket_connect("/ws/play"))
            ws.send_text(join_msg(session, "blip"))
            first = ws.receive_json()
            if first.get("code") != "duplicate_player" or time.monotonic() > deadline:
                break
            receive_close(ws)
            time.sleep(0.05)
        joined = first if first["type"] == "joined" else receive_until(ws, "joined")
        assert joined["resumed"] is True and joined["last_seq"] == 4
        # New hits carry on after the last stored seq.
        n = notes[105]
        ws.send_text(hit_msg(5, n["t"], n["pad"], n["cymbal"]))
        j = receive_judgment(ws, 5)
        assert j["judgment"] == "perfect" and j["combo"] == 6  # the combo survived the drop
        ws.send_text(json.dumps({"v": 1, "type": "end"}))
        result = receive_until(ws, "result")["result"]
    assert result["counts"]["perfect"] == 6 and result["finished"] is True
    assert [h.seq for h in stored_hits(db_path, session)] == list(range(6))
    # Having finished, the player cannot come back.
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg(session, "blip"))
        _, code = receive_close(ws)
    assert code in (CLOSE_NOT_FOUND, CLOSE_DUPLICATE_PLAYER)


def test_flooding_is_cut_off_without_hurting_other_players(app_env: Any) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as good, client.websocket_connect("/ws/play") as flood:
        join(good, session, "ann")
        join(flood, session, "bob")
        for _ in range(400):
            flood.send_text(json.dumps({"v": 1, "type": "tick", "t_song_s": 0.0}))
        msgs, code = receive_close(flood)
        assert code == CLOSE_RATE_LIMIT
        assert any(m["type"] == "error" and m["code"] == "rate_limit" for m in msgs)
        n = notes[20]
        good.send_text(hit_msg(0, n["t"], n["pad"], n["cymbal"]))
        assert receive_judgment(good, 0)["judgment"] == "perfect"
        good.send_text(json.dumps({"v": 1, "type": "end"}))
        receive_until(good, "result")
    assert len(stored_hits(db_path, session)) == 1


def test_same_player_in_second_tab_is_refused_and_first_keeps_playing(app_env: Any) -> None:
    client, _, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as tab1, client.websocket_connect("/ws/play") as tab2:
        join(tab1, session, "ann")
        tab2.send_text(join_msg(session, "ann"))
        msgs, code = receive_close(tab2)
        assert code == CLOSE_DUPLICATE_PLAYER
        assert msgs[-1]["code"] == "duplicate_player" and "already playing" in msgs[-1]["message"]
        n = notes[30]
        tab1.send_text(hit_msg(0, n["t"] + 0.01, n["pad"], n["cymbal"]))
        assert receive_judgment(tab1, 0)["judgment"] == "perfect"
        tab1.send_text(json.dumps({"v": 1, "type": "end"}))
        receive_until(tab1, "result")
    # The session ended with its last player: nobody can join it any more.
    with client.websocket_connect("/ws/play") as tab3:
        tab3.send_text(join_msg(session, "ann"))
        msgs, code = receive_close(tab3)
    assert code == CLOSE_NOT_FOUND and "finished" in msgs[-1]["message"]


def test_finished_player_cannot_rejoin_a_running_session(app_env: Any) -> None:
    client, _, _ = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as other:
        join(other, session, "bob")
        with client.websocket_connect("/ws/play") as ws:
            join(ws, session, "ann")
            ws.send_text(json.dumps({"v": 1, "type": "end"}))
            receive_until(ws, "result")
        with client.websocket_connect("/ws/play") as again:
            again.send_text(join_msg(session, "ann"))
            msgs, code = receive_close(again)
        assert code == CLOSE_DUPLICATE_PLAYER and "already played" in msgs[-1]["message"]


def test_unknown_session_and_missing_level_are_refused(app_env: Any) -> None:
    client, _, _ = app_env
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg("999999", "ann"))
        msgs, code = receive_close(ws)
    assert code == CLOSE_NOT_FOUND and "no session" in msgs[-1]["message"]
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg(session, "ann", part="cowbell"))
        msgs, code = receive_close(ws)
    assert code == CLOSE_NOT_FOUND and "cowbell" in msgs[-1]["message"]
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(hit_msg(0, 1.0, 1))
        msgs, code = receive_close(ws)
    assert code == CLOSE_POLICY and msgs[-1]["code"] == "not_joined"


def test_two_players_scored_separately_and_closed_tab_keeps_its_hits(app_env: Any) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as p1, client.websocket_connect("/ws/play") as p2:
        join(p1, session, "left", level="expert")
        p2.send_text(join_msg(session, "right", level="easy", mode="any_pad", rate=0.5, device="midi"))
        j2 = receive_until(p2, "joined")
        assert j2["level"] == "easy" and j2["notes"] < len(notes)
        for seq in range(6):
            n = notes[40 + seq]
            p1.send_text(hit_msg(seq, n["t"], n["pad"], n["cymbal"]))
            receive_judgment(p1, seq)
        p2.send_text(hit_msg(0, notes[40]["t"], 1))
        receive_judgment(p2, 0)
        p1.send_text(json.dumps({"v": 1, "type": "end"}))
        r1 = receive_until(p1, "result")["result"]
        # p2 just goes away (closed tab) without "end".
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        desc = client.get(f"/api/sessions/{session}").json()
        if all(p["result"] is not None for p in desc["players"]) and desc["status"] != "active":
            break
        time.sleep(0.05)
    by_name = {p["player"]: p for p in desc["players"]}
    assert by_name["left"]["hits_stored"] == 6 and by_name["right"]["hits_stored"] == 1
    assert by_name["left"]["result"]["score"] == r1["score"]
    assert by_name["right"]["result"]["mode"] == "any_pad"
    assert by_name["right"]["result"]["playback_rate"] == 0.5
    assert by_name["right"]["result"]["finished"] is False
    assert desc["status"] in ("finished", "abandoned")
    assert len(stored_hits(db_path, session)) == 7


def test_hit_writer_commits_all_players_of_a_round_in_one_transaction(tmp_path: Path) -> None:
    from backbeat.services.sessions import HitWriter
    from backbeat.storage.rows import HitRecord

    db = Database(tmp_path / "w.db")
    ses = db.create_session(None)
    players = [db.add_player(f"p{i}").id for i in range(50)]
    odd = db.add_player("odd").id
    seen: list[tuple[int, int, int]] = []  # (player, seq acknowledged, hits in the db at that moment)

    def notifier(pid: int) -> Any:
        def note(seq: int) -> None:
            # Runs in the writer thread right after the commit: the hit must already be readable.
            seen.append((pid, seq, db.count_hits(ses.id, player_id=pid)))
        return note

    writer = HitWriter(db, coalesce_s=0.05)
    try:
        for seq in range(4):
            for pid in players:
                writer.put(ses.id, pid, HitRecord(seq=seq, time_s=seq * 0.5, pad=seq % 5), notifier(pid))
        writer.put(9999, players[0], HitRecord(seq=0, time_s=0.0, pad=0))  # session does not exist
        writer.put(ses.id, odd, (99, 1.0))  # a field tuple too short for a HitRecord
        assert writer.flush()
    finally:
        writer.close()
    assert db.count_hits(ses.id) == 4 * 50
    # The bad hit fails its round's group commit; the writer then retries group by group, so the
    # other players' hits are still stored. Without a bad hit a round is one transaction (below).
    assert writer.committed == 200 and len(writer.errors) == 2 and "9999" in writer.errors[0]
    assert "cannot be stored" in writer.errors[1]
    assert all(stored >= seq + 1 for _, seq, stored in seen)  # acknowledged only once committed
    assert {pid: seq for pid, seq, _ in sorted(seen)} == dict.fromkeys(players, 3)

    ses2 = db.create_session(None)
    writer = HitWriter(db, coalesce_s=0.05)
    try:
        for pid in players:  # a HitRecord or the tuple of its fields
            writer.put(ses2.id, pid, HitRecord(seq=0, time_s=1.0, pad=1) if pid % 2 else (0, 1.0, 1))
        assert writer.flush()
    finally:
        writer.close()
    assert writer.committed == 50 and writer.batches == 1 and writer.errors == []
    assert db.count_hits(ses2.id) == 50
    db.close()


def test_batch_client_gets_waiting_messages_in_one_frame(app_env: Any) -> None:
    client, db_path, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg(session, "batcher", batch=True))
        joined = ws.receive_json()
        assert joined["type"] == "joined" and joined["batch"] is True
        # One tick makes five misses final at once: they go out together, as one JSON array.
        ws.send_text(json.dumps({"v": 1, "type": "tick", "t_song_s": notes[5]["t"] + 1.0}))
        frame = ws.receive_json()
        assert isinstance(frame, list) and len(frame) >= 5
        assert [m["judgment"] for m in frame[:5]] == ["miss"] * 5
        n = notes[40]
        ws.send_text(hit_msg(0, n["t"], n["pad"], n["cymbal"]))
        seen: list[dict[str, Any]] = []
        while not any(m["type"] == "judgment" and m["seq"] == 0 for m in seen):
            frame = ws.receive_json()
            seen.extend(frame if isinstance(frame, list) else [frame])
        mine = next(m for m in seen if m["type"] == "judgment" and m["seq"] == 0)
        assert mine["judgment"] == "perfect" and mine["v"] == 1
        # Many misses at once: several frames, none over the per-frame limit, nothing lost or reordered.
        ws.send_text(json.dumps({"v": 1, "type": "tick", "t_song_s": notes[200]["t"] + 1.0}))
        misses: list[dict[str, Any]] = []
        while len(misses) < 150:
            frame = ws.receive_json()
            batch = frame if isinstance(frame, list) else [frame]
            assert len(batch) <= MAX_BATCH_MESSAGES
            misses += [m for m in batch if m["type"] == "judgment"]
        assert all(m["judgment"] == "miss" for m in misses)
        assert [m["note_index"] for m in misses] == sorted(m["note_index"] for m in misses)
        ws.send_text(json.dumps({"v": 1, "type": "end"}))
        frames, code = receive_close(ws)
    msgs = [m for f in frames for m in (f if isinstance(f, list) else [f])]
    assert code == CLOSE_NORMAL and msgs[-1]["type"] == "result"
    assert [h.seq for h in stored_hits(db_path, session)] == [0]


def test_judgment_json_matches_the_generic_encoder() -> None:
    from backbeat.core.judgment import Judgment
    from backbeat.core.kit import Pad
    from backbeat.engine import InputHit, JudgmentEvent
    from backbeat.web.play_socket import judgment_json

    hit = InputHit(time_s=1.25, pad=Pad.YELLOW, velocity=90, cymbal=True, seq=7)
    events = [
        JudgmentEvent(Judgment.PERFECT, 1.25, Pad.YELLOW, 3, 1.2499999, 0.0001, hit, 12, 2, 1234),
        JudgmentEvent(Judgment.GOOD, 1e-7, Pad.KICK, 0, 0.0, -61.5, hit, 1, 1, 50),
        JudgmentEvent(Judgment.MISS, 2.5, Pad.GREEN, 9, 2.4, None, None, 0, 1, 1234),
        JudgmentEvent(Judgment.OVERHIT, 3.0, Pad.RED, None, None, None, hit, 0, 1, 0, free=True),
        JudgmentEvent(Judgment.OVERHIT, 1e300, Pad.BLUE, None, None, None,
                      InputHit(time_s=1e300, pad=Pad.BLUE), 0, 1, 0),
    ]
    for e in events:
        want = {**e.to_dict(), "v": 1, "type": "judgment", "stored": 6}
        assert json.loads(judgment_json(e, 6)) == want


def test_record_hit_rows_checks_rows_and_skips_stored_hits(tmp_path: Path) -> None:
    from backbeat.core.errors import StorageError

    db = Database(tmp_path / "rows.db")
    ses = db.create_session(None)
    a, b = db.add_player("a").id, db.add_player("b").id
    rows = [(ses.id, a, 0, 1.0, 1, 100, None, "perfect", 0.5, None),
            (ses.id, b, 0, 1.1, 2, 90, True, None, None, 123.0)]
    assert db.record_hit_rows(rows) == 2
    assert db.record_hit_rows(rows) == 0  # a retried round stores nothing twice
    for bad in [(ses.id, a, 1, 1.0, 7, 100, None, None, None, None),  # pad out of range
                (ses.id, a, 1, float("nan"), 1, 100, None, None, None, None),
                (ses.id, a, 1, 1.0)]:
        with pytest.raises(StorageError):
            db.record_hit_rows([(ses.id, a, 2, 1.0, 1, 100, None, None, None, None), bad])
    assert [(h.player_id, h.seq, h.cymbal) for h in db.hits(ses.id)] == [(a, 0, None), (b, 0, True)]
    db.close()


def test_record_hit_rows_stores_a_large_round_across_statements(tmp_path: Path) -> None:
    from backbeat.storage import database

    db = Database(tmp_path / "big.db")
    ses = db.create_session(None)
    pids = [db.add_player(f"p{i}").id for i in range(7)]
    n = database._HIT_ROWS_PER_INSERT * 3 + 5
    rows = [(ses.id, pids[i % 7], i // 7, i * 0.01, i % 5, 100, None, "miss", None, None) for i in range(n)]
    rows.append(rows[3])  # the same hit twice in one round is stored once
    assert db.record_hit_rows(rows) == n
    assert db.count_hits(ses.id) == n
    db.close()


@pytest.mark.timeout(120)  # a missing acknowledgement would block receive_json
def test_player_who_stops_playing_still_learns_every_hit_is_stored(app_env: Any) -> None:
    client, _, notes = app_env
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        join(ws, session, "pauser")
        carried = -1
        for seq in range(3):
            n = notes[60 + seq]
            ws.send_text(hit_msg(seq, n["t"], n["pad"], n["cymbal"]))
            carried = max(carried, receive_judgment(ws, seq)["stored"])
        # The player stops: the last hits' commit is acknowledged by a "stored" message of its own
        # (unless a judgment already carried it).
        deadline = time.monotonic() + 10.0
        while carried < 2 and time.monotonic() < deadline:
            m = ws.receive_json()
            if m["type"] == "stored":
                carried = max(carried, m["seq"])
        assert carried == 2
        ws.send_text(json.dumps({"v": 1, "type": "end"}))
        receive_until(ws, "result")


def test_server_cleans_its_frozen_heap_once_the_last_socket_closes(app_env: Any) -> None:
    client, _, notes = app_env
    heap = client.app.state.services.heap
    before = heap.cleanups
    session = new_session(client)
    with client.websocket_connect("/ws/play") as ws:
        ws.send_text(join_msg(session, "gc"))
        assert ws.receive_json()["type"] == "joined"
        ws.send_text(hit_msg(0, notes[5]["t"], notes[5]["pad"], notes[5]["cymbal"]))
        receive_judgment(ws, 0)
    deadline = time.monotonic() + 10.0
    while heap.cleanups == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert heap.cleanups > before
