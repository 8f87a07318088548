"""A killed writer loses no committed hit batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from backbeat.storage import Database

WRITER = textwrap.dedent(
    """
    import sys
    from backbeat.storage import Database, HitRecord
    db = Database(sys.argv[1])
    s = db.create_session(None)
    p = db.add_player("drummer")
    print("session", s.id, p.id, flush=True)
    seq = 0
    while True:
        batch = [HitRecord(seq=seq + k, time_s=(seq + k) * 0.1, pad=k % 5) for k in range(7)]
        db.record_hits(s.id, p.id, batch)
        seq += 7
        print("committed", seq, flush=True)
    """
)


def test_sigkill_after_commit_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        _, session_id, player_id = proc.stdout.readline().split()
        acknowledged = 0
        while acknowledged < 200:
            line = proc.stdout.readline()
            assert line.startswith("committed"), line
            acknowledged = int(line.split()[1])
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with Database(path) as db:
        hits = db.hits(int(session_id), player_id=int(player_id))
    assert len(hits) >= acknowledged
    assert [h.seq for h in hits] == list(range(len(hits)))
    assert len(hits) % 7 == 0  # whole batches only
