"""`backbeat serve` as a real process: bad options, and acknowledged hits surviving a kill -9."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from backbeat.storage.database import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backbeat.cli.main", "serve", *args], capture_output=True,
                          text=True, timeout=60)


def test_bad_options_fail_with_a_message(tmp_path: Path) -> None:
    r = serve("--db", str(tmp_path / "missing" / "x.db"), "--port", str(free_port()))
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = serve("--max-upload-mb", "0", "--data-dir", str(tmp_path))
    assert r.returncode == 1 and "--max-upload-mb" in r.stderr
    r = serve("--port", "not-a-number")
    assert r.returncode == 2
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = serve("--port", str(busy.getsockname()[1]), "--no-demo", "--data-dir", str(tmp_path))
    assert r.returncode == 1 and "cannot listen" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_acknowledged_hits_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    db_path = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backbeat.cli.main", "serve", "--port", str(port), "--data-dir", str(tmp_path),
         "--db", str(db_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    base = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://{base}/api/songs/1", timeout=2) as r:
                    if json.loads(r.read())["status"] == "ready":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not get ready"
            time.sleep(0.2)
        req = urllib.request.Request(f"http://{base}/api/sessions", data=b'{"song_id": 1}',
                                     headers={"content-type": "application/json"})
        session = json.loads(urllib.request.urlopen(req).read())["id"]
        n_hits = 60
        with connect(f"ws://{base}/ws/play") as ws:
            ws.send(json.dumps({"v": 1, "type": "join", "session": session, "player": "crash"}))
            assert json.loads(ws.recv())["type"] == "joined"
            stored = -1
            for seq in range(n_hits):
                ws.send(json.dumps({"v": 1, "type": "hit", "seq": seq, "t_song_s": 1.0 + seq * 0.1,
                                    "pad": seq % 5}))
                time.sleep(0.012)  # under the rate limit
            deadline = time.monotonic() + 10
            while stored < n_hits - 1 and time.monotonic() < deadline:
                m = json.loads(ws.recv(timeout=5))
                stored = max(stored, m.get("stored", -1), m["seq"] if m["type"] == "stored" else -1)
            assert stored == n_hits - 1
            # The server and its worker processes die without any chance to clean up.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    db = Database(db_path)
    try:
        hits = db.hits(int(session))
    finally:
        db.close()
    assert [h.seq for h in hits] == list(range(n_hits))
    assert all(h.judgment for h in hits)
