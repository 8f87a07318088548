"""The play server's HTTP API: library, uploads (sniffing, size cap), audio ranges, charts, calibration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from backbeat.web.app import create_app
from backbeat.web.settings import ServerSettings


def wait_song(client: TestClient, song_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        song = client.get(f"/api/songs/{song_id}").json()
        if song["status"] in ("ready", "failed"):
            return song
        time.sleep(0.1)
    raise AssertionError(f"song {song_id} not processed in time")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("web-api")
    app = create_app(ServerSettings(data_dir=data, max_upload_bytes=2 * 1024 * 1024))
    with TestClient(app) as c:
        song = wait_song(c, "1")
        assert song["status"] == "ready", song
        yield c


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV_RENDER = DATA / "dev-renders" / "drummer1__session1__126.flac"


def groove_excerpt(path: Path, *, seconds: float = 10.0) -> Path:
    """The first seconds of a rendered groove from the shared dev set, as WAV."""
    x, sr = sf.read(DEV_RENDER, frames=int(seconds * 44100), dtype="float32")
    sf.write(path, x, sr)
    return path


def test_index_and_static_front_end_are_served(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "<canvas" not in r.text and 'src="/static/js/app.js"' in r.text
    for asset in ("js/app.js", "js/highway.js", "js/inputs.js", "js/mic-worklet.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200, asset


def test_library_lists_the_demo_with_all_levels(client: TestClient) -> None:
    songs = client.get("/api/songs").json()
    demo = songs[0]
    assert demo["title"] == "Backbeat Demo Groove" and demo["status"] == "ready"
    assert demo["levels"] == ["beginner", "easy", "medium", "hard", "expert"]
    assert demo["parts"] == ["drums", "split_feet", "split_hands"] and demo["sections"][0]["start_s"] == 0.0
    assert client.get("/api/songs/999").status_code == 404
    assert client.get("/api/songs/abc").status_code == 404


def test_chart_json_per_level(client: TestClient) -> None:
    counts = {}
    for level in ("beginner", "easy", "medium", "hard", "expert"):
        chart = client.get("/api/songs/1/chart", params={"level": level}).json()
        times = [n["t"] for n in chart["notes"]]
        assert times == sorted(times) and all(0 <= t <= chart["duration_s"] for t in times)
        assert all(n["pad"] in range(5) and 1 <= n["v"] <= 127 for n in chart["notes"])
        assert not any(n["cymbal"] for n in chart["notes"] if n["pad"] in (0, 1))
        counts[level] = len(chart["notes"])
        assert chart["beats"] and chart["beats"][0]["pos"] >= 1
    assert counts["beginner"] <= counts["easy"] <= counts["medium"] <= counts["hard"] <= counts["expert"]
    assert counts["beginner"] < counts["expert"]
    r = client.get("/api/songs/1/chart", params={"level": "impossible"})
    assert r.status_code == 400 and "impossible" in r.json()["detail"]


def test_split_kit_parts_share_the_groove(client: TestClient) -> None:
    def notes(part: str) -> list[tuple[float, int, bool]]:
        chart = client.get("/api/songs/1/chart", params={"part": part, "level": "expert"}).json()
        return [(n["t"], n["pad"], n["cymbal"]) for n in chart["notes"]]

    hands, feet, full = notes("split_hands"), notes("split_feet"), notes("drums")
    assert hands and feet and not set(hands) & set(feet)
    assert sorted(hands + feet) == sorted(full)
    assert client.get("/api/songs/1/chart", params={"part": "cowbell"}).status_code == 400


def test_audio_streams_with_range_requests(client: TestClient) -> None:
    full = client.get("/api/songs/1/audio")
    assert full.status_code == 200 and full.headers["content-type"].startswith("audio/ogg")
    assert full.headers.get("accept-ranges") == "bytes"
    part = client.get("/api/songs/1/audio", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(full.content)}"
    assert part.content == full.content[100:1100]


def test_non_audio_upload_is_refused_by_content(client: TestClient, tmp_path: Path) -> None:
    before = len(client.get("/api/songs").json())
    r = client.post("/api/songs", files={"file": ("holiday.mp3", b"<html>definitely not audio</html>" * 50)})
    assert r.status_code == 415 and "holiday.mp3" in r.json()["detail"]
    # Right signature, broken body: the decode check catches it.
    r = client.post("/api/songs", files={"file": ("broken.ogg", b"OggS" + bytes(4000))})
    assert r.status_code == 415 and "broken.ogg" in r.json()["detail"]
    r = client.post("/api/songs", files={"file": ("empty.wav", b"")})
    assert r.status_code == 400
    r = client.post("/api/songs", content=b"raw", headers={"content-type": "application/octet-stream"})
    assert r.status_code == 400
    assert len(client.get("/api/songs").json()) == before
    incoming = Path(client.app.state.services.settings.songs_dir) / ".incoming"  # type: ignore[attr-defined]
    assert not incoming.exists() or not any(incoming.iterdir())


def test_too_large_upload_gets_413_and_leaves_nothing(client: TestClient) -> None:
    big = b"RIFF" + bytes(3 * 1024 * 1024)
    r = client.post("/api/songs", files={"file": ("huge.wav", big)})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    # Without a Content-Length the cap is enforced while streaming.
    def body() -> Iterator[bytes]:
        yield b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.wav\"\r\n\r\n"
        for _ in range(40):
            yield bytes(100 * 1024)
        yield b"\r\n--XyZ--\r\n"

    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    r = client.post("/api/songs", content=body(), headers=headers)
    assert r.status_code == 413
    incoming = Path(client.app.state.services.settings.songs_dir) / ".incoming"  # type: ignore[attr-defined]
    assert not incoming.exists() or not any(incoming.iterdir())


def test_import_by_path_checks_the_file(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/api/songs/import", json={"path": str(tmp_path / "nope.wav")})
    assert r.status_code == 404 and "nope.wav" in r.json()["detail"]
    text = tmp_path / "notes.wav"
    text.write_text("just text")
    r = client.post("/api/songs/import", json={"path": str(text)})
    assert r.status_code == 415 and "notes.wav" in r.json()["detail"]


@pytest.mark.slow
@pytest.mark.skipif(not DEV_RENDER.is_file(), reason=f"shared dev data not found at {DEV_RENDER}")
def test_upload_real_audio_is_analysed_and_charted(client: TestClient, tmp_path: Path) -> None:
    wav = groove_excerpt(tmp_path / "My_Groove.wav")
    r = client.post("/api/songs", files={"file": ("My_Groove.wav", wav.read_bytes(), "audio/wav")})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["song"]["title"] == "My Groove" and body["song"]["status"] == "queued"
    stages = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{body['job_id']}").json()
        stages.add(job["stage"])
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert "ready" in stages and job["progress"] == 1.0
    song = client.get(f"/api/songs/{body['song']['id']}").json()
    assert song["status"] == "ready" and "expert" in song["levels"]
    chart = client.get(f"/api/songs/{song['id']}/chart", params={"level": "expert"}).json()
    # 10 s at 126 BPM: about 21 beats on the grid the analysis found.
    assert 15 <= len(chart["beats"]) <= 30
    assert abs(chart["duration_s"] - 10.0) < 0.1
    analysis = client.app.state.services.db.latest_analysis(int(song["id"]))  # type: ignore[attr-defined]
    assert (len(chart["notes"]) > 0) == (len(analysis.data()["drums"]) > 0)
    audio = client.get(song["audio_url"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


@pytest.mark.slow
def test_upload_that_analysis_rejects_fails_with_a_clear_message(client: TestClient, tmp_path: Path) -> None:
    silent = tmp_path / "quiet.wav"
    sf.write(silent, np.zeros(3 * 22050, dtype=np.float32), 22050)
    r = client.post("/api/songs", files={"file": ("quiet.wav", silent.read_bytes(), "audio/wav")})
    assert r.status_code == 202, r.text
    song_id = r.json()["song"]["id"]
    song = wait_song(client, song_id)
    assert song["status"] == "failed"
    assert "silent" in song["error"]
    job = client.get(f"/api/jobs/{r.json()['job_id']}").json()
    assert job["state"] == "failed" and "silent" in job["message"] and "Traceback" not in job["message"]
    assert client.get(f"/api/songs/{song_id}/chart").status_code == 404
    assert client.post("/api/sessions", json={"song_id": int(song_id)}).status_code == 409


def test_calibration_per_device(client: TestClient) -> None:
    r = client.get("/api/devices/midi/calibration").json()
    assert r["audio_offset_ms"] == 0.0 and r["calibrated"] is False
    taps = [31.0, 29.0, 30.5, 28.0, 32.0, 30.0, 250.0]  # one wild outlier
    r = client.put("/api/devices/midi/calibration", json={"kind": "audio", "offsets_ms": taps}).json()
    assert 29.0 <= r["audio_offset_ms"] <= 31.0 and r["used"] == 6 and r["video_offset_ms"] == 0.0
    video = {"kind": "video", "offsets_ms": [12, 15, 14, 13]}
    r = client.put("/api/devices/midi/calibration", json=video).json()
    assert 13 <= r["video_offset_ms"] <= 14.5 and 29.0 <= r["audio_offset_ms"] <= 31.0
    assert client.get("/api/devices/midi/calibration").json()["video_offset_ms"] == r["video_offset_ms"]
    assert client.get("/api/devices/keyboard/calibration").json()["audio_offset_ms"] == 0.0
    bad = client.put("/api/devices/midi/calibration", json={"kind": "audio", "offsets_ms": [1, 2]})
    assert bad.status_code == 400 and "at least" in bad.json()["detail"]
    smell = {"kind": "smell", "offsets_ms": [1]}
    assert client.put("/api/devices/midi/calibration", json=smell).status_code == 422


def test_calibration_offset_is_applied_to_judging(client: TestClient) -> None:
    client.put("/api/devices/laggy/calibration", json={"kind": "audio", "offsets_ms": [40, 40, 40, 40, 40]})
    notes = client.get("/api/songs/1/chart", params={"level": "expert"}).json()["notes"]
    session = client.post("/api/sessions", json={"song_id": 1}).json()["id"]
    with client.websocket_connect("/ws/play") as ws:
        ws.send_json({"v": 1, "type": "join", "session": session, "player": "lag", "device": "laggy"})
        joined = ws.receive_json()
        assert joined["calibration_offset_ms"] == 40.0
        n = notes[50]
        ws.send_json({"v": 1, "type": "hit", "seq": 0, "t_song_s": n["t"] + 0.040, "pad": n["pad"]})
        while True:
            m = ws.receive_json()
            if m["type"] == "judgment" and m["seq"] == 0:
                break
    assert m["judgment"] == "perfect" and abs(m["offset_ms"]) < 1.0


def test_sessions_api(client: TestClient) -> None:
    assert client.post("/api/sessions", json={"song_id": 4242}).status_code == 404
    assert client.post("/api/sessions", json={"nope": 1}).status_code == 422
    created = client.post("/api/sessions", json={"song_id": 1, "players": ["a", "b"]})
    assert created.status_code == 201
    sid = created.json()["id"]
    listed = client.get("/api/sessions").json()
    assert any(s["id"] == sid for s in listed)
    assert client.get(f"/api/sessions/{sid}").json()["status"] == "active"
    assert client.get("/api/sessions/987654").status_code == 404


def test_no_demo_starts_with_an_empty_library(tmp_path: Path) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path, add_demo=False))
    with TestClient(app) as c:
        assert c.get("/api/songs").json() == []
        assert c.get("/api/health").json()["status"] == "ok"
        maps = c.get("/api/midi-maps").json()
        assert set(maps) == {"gm", "roland", "alesis", "yamaha"} and maps["gm"]["38"] == "red"
    assert (tmp_path / "backbeat.db").is_file()


@pytest.mark.slow
def test_reanalyse_with_a_tempo_hint_keeps_what_was_there(client: TestClient) -> None:
    """A song read at the wrong beat level is analysed again at the hinted one; nothing older is lost."""
    services = client.app.state.services  # type: ignore[attr-defined]
    song = client.get("/api/songs/1").json()
    bpm = song["bpm"]
    assert song["meter"] == "4/4"
    old_analysis, old_chart = services.db.latest_analysis(1), services.db.latest_chart(1)
    assert client.post("/api/songs/1/reanalyse", json={"tempo_hint_bpm": 300}).status_code == 422
    assert client.post("/api/songs/999/reanalyse", json={}).status_code == 404
    hint = bpm * 2 if bpm * 2 <= 215 else bpm / 2
    r = client.post("/api/songs/1/reanalyse", json={"tempo_hint_bpm": hint})
    assert r.status_code == 202, r.text
    busy = client.post("/api/songs/1/reanalyse", json={})
    assert busy.status_code == 409 and "still being processed" in busy.json()["detail"]
    song = wait_song(client, "1")
    assert song["status"] == "ready" and song["bpm"] == pytest.approx(hint, rel=0.05)
    assert services.db.latest_analysis(1).data()["extra"]["tempo_hint_bpm"] == hint
    assert services.db.get_chart(old_chart.id) is not None  # sessions played on it keep it
    # Without a hint it is read at its own tempo again.
    assert client.post("/api/songs/1/reanalyse", json={}).status_code == 202
    song = wait_song(client, "1")
    assert song["bpm"] == pytest.approx(bpm, rel=0.01)
    assert "tempo_hint_bpm" not in services.db.latest_analysis(1).data().get("extra", {})
    assert services.db.latest_analysis(1).id > old_analysis.id
