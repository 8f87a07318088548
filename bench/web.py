"""Play server benchmark: hit -> judgment latency over a loopback WebSocket, and concurrent players.

Starts ``backbeat serve`` in a subprocess (temp data dir, demo song), then

1. latency: one player sends hits one at a time, 50 per second; the time from sending a hit
   to receiving its judgment is measured (p50/p99), beside the anchor of a
   WebSocket ping/pong round trip on the same connection (transport floor);
2. capacity: N players (2 per session) each send 10 hits/s (the browser sends
   a tick only when no hit went out in the last 250 ms, so none here) for
   ``--duration-s`` seconds from one client process; a hit is *late* when its
   judgment takes longer than ``--late-ms`` and *lost* when it never comes.
   Reports, per N, the judgment latency percentiles, late and lost counts,
   and whether every hit reached the database.

Run: ``nice -n 10 .venv/bin/python bench/web.py`` (``--players 100 250 500``).
The client and the server share the machine, so the capacity figure is a
lower bound for a dedicated server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q / 100.0 * len(v)))]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "backbeat.cli.main", "serve", "--port", str(port),
                             "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            text=True)
    base = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if http_json(f"http://{base}/api/songs/1")["status"] == "ready":
                return proc, base
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


async def join(base: str, session: str, player: str) -> Any:
    ws = await websockets.connect(f"ws://{base}/ws/play", max_queue=4096, ping_interval=None)
    await ws.send(json.dumps({"v": 1, "type": "join", "session": session, "player": player,
                              "level": "expert", "device": "keyboard"}))
    while True:
        m = json.loads(await ws.recv())
        if m["type"] == "joined":
            return ws
        if m["type"] == "error":
            raise SystemExit(f"join failed: {m}")


async def latency(base: str, notes: list[dict[str, Any]], n_hits: int) -> dict[str, float]:
    session = http_json(f"http://{base}/api/sessions", {"song_id": 1})["id"]
    ws = await join(base, session, "latency")
    lat, pings = [], []
    for i in range(n_hits):
        n = notes[i % len(notes)]
        # Past the chart's end the song time stays at 80 s: overhits, still judged.
        t = min(n["t"] + 73.0 * (i // len(notes)), 80.0)
        sent = time.perf_counter()
        await ws.send(json.dumps({"v": 1, "type": "hit", "seq": i, "t_song_s": t, "pad": n["pad"]}))
        while True:
            m = json.loads(await ws.recv())
            if m["type"] == "judgment" and m.get("seq") == i:
                lat.append((time.perf_counter() - sent) * 1000)
                break
        if i % 10 == 0:
            p0 = time.perf_counter()
            await (await ws.ping())
            pings.append((time.perf_counter() - p0) * 1000)
        await asyncio.sleep(0.02)  # 50 hits/s: under the per-socket rate limit
    await ws.send(json.dumps({"v": 1, "type": "end"}))
    await ws.close()
    return {"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat),
            "ping_p50_ms": pct(pings, 50), "ping_p99_ms": pct(pings, 99), "hits": len(lat)}


async def player(base: str, session: str, name: str, notes: list[dict[str, Any]], duration_s: float,
                 start_at: float, late_ms: float, out: dict[str, Any]) -> None:
    ws = await join(base, session, name)
    sent: dict[int, float] = {}
    lat: list[float] = []

    async def reader() -> None:
        try:
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "judgment" and m.get("seq") is not None and m["seq"] in sent:
                    lat.append((time.perf_counter() - sent.pop(m["seq"])) * 1000)
                    if os.environ.get("BENCH_DEBUG") and lat[-1] > late_ms:
                        print("late", name, m["seq"], round(lat[-1], 1), round(time.perf_counter() - t0, 3))
                elif m["type"] == "result":
                    return
        except websockets.ConnectionClosed:
            return

    rd = asyncio.create_task(reader())
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    t0 = time.perf_counter()
    seq = 0
    while True:
        now = time.perf_counter() - t0
        if now >= duration_s:
            break
        n = notes[seq % len(notes)]
        sent[seq] = time.perf_counter()
        hit = {"v": 1, "type": "hit", "seq": seq, "t_song_s": 0.5 + now, "pad": n["pad"]}
        await ws.send(json.dumps(hit))
        seq += 1
        await asyncio.sleep(max(0.0, t0 + seq * 0.1 - time.perf_counter()))
    for _ in range(100):  # wait up to 10 s for the last judgments
        if not sent:
            break
        await asyncio.sleep(0.1)
    lost = len(sent)
    await ws.send(json.dumps({"v": 1, "type": "end"}))
    try:
        await asyncio.wait_for(rd, 30)
    except TimeoutError:
        pass
    await ws.close()
    out["lat"].extend(lat)
    out["lost"] += lost
    out["late"] += sum(1 for x in lat if x > late_ms)
    out["hits"] += seq


async def capacity(base: str, db_path: Path, notes: list[dict[str, Any]], n_players: int,
                   duration_s: float, late_ms: float) -> dict[str, Any]:
    out: dict[str, Any] = {"lat": [], "lost": 0, "late": 0, "hits": 0}
    sessions = [http_json(f"http://{base}/api/sessions", {"song_id": 1})["id"]
                for _ in range((n_players + 1) // 2)]
    start_at = time.perf_counter() + 3.0 + n_players * 0.01
    tasks = [player(base, sessions[i // 2], f"p{i}", notes, duration_s,
                    start_at + (i % 20) * 0.005, late_ms, out) for i in range(n_players)]
    await asyncio.gather(*tasks)
    con = sqlite3.connect(db_path)
    try:
        q = ",".join("?" * len(sessions))
        stored = con.execute(f"SELECT COUNT(*) FROM hits WHERE session_id IN ({q})",
                             [int(s) for s in sessions]).fetchone()[0]
    finally:
        con.close()
    return {"players": n_players, "hits": out["hits"], "stored": stored, "lost": out["lost"],
            "late": out["late"], "p50_ms": pct(out["lat"], 50), "p99_ms": pct(out["lat"], 99),
            "max_ms": max(out["lat"]) if out["lat"] else float("nan")}


def seat_cost(n_hits: int = 3000, repeats: int = 5) -> None:
    """Event-loop cost of ``Seat.hit`` outside the server, beside the engine's own share (the anchor)."""
    import statistics

    from backbeat.core.chart import Note
    from backbeat.core.kit import Pad
    from backbeat.engine import EngineSettings, InputHit, PlayerEngine
    from backbeat.services.sessions import LIVE_LATENCY_S, HitWriter, Seat
    from backbeat.storage.database import Database

    notes = [Note(tick=i * 96, pad=Pad(i % 5), time_s=i * 0.125) for i in range(4000)]
    settings = EngineSettings(max_input_latency_s=LIVE_LATENCY_S)
    # Every other hit is off the notes (overhits and misses), as in the capacity test.
    times = [i * 0.1 + (0.003 if i % 2 else 0.05) for i in range(n_hits)]
    seat_us, engine_us = [], []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "seat.db")
        ses, pl = db.create_session(None), db.add_player("p")
        writer = HitWriter(db)
        for rep in range(repeats):
            seat = Seat(session_id=ses.id, player_id=pl.id, player="p", part="drums", level="expert",
                        device="keyboard", engine=PlayerEngine(notes, settings=settings), duration_s=500.0,
                        chart_id=1, writer=writer, notify_stored=lambda seq: None)
            seat.last_seq = rep * n_hits - 1
            t0 = time.perf_counter()
            for i, t in enumerate(times):
                seat.hit(seq=rep * n_hits + i, t_song_s=t, pad=i % 5, velocity=100, cymbal=None)
            seat_us.append((time.perf_counter() - t0) / n_hits * 1e6)
            writer.flush()
            eng = PlayerEngine(notes, settings=settings)
            t0 = time.perf_counter()
            for i, t in enumerate(times):
                eng.queue_input(InputHit(time_s=t, pad=Pad(i % 5), velocity=100, cymbal=None, seq=i))
                eng.update(t + LIVE_LATENCY_S + 1e-9)
            engine_us.append((time.perf_counter() - t0) / n_hits * 1e6)
        writer.close()
        db.close()
    print(f"Seat.hit: median {statistics.median(seat_us):.1f} us per hit ({repeats} x {n_hits} hits)")
    print(f"  anchor: engine alone (InputHit + queue_input + update): median "
          f"{statistics.median(engine_us):.1f} us per hit")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seat-only", action="store_true",
                    help="only measure Seat.hit's cost outside the server (no server, no sockets)")
    ap.add_argument("--latency-only", action="store_true", help="skip the capacity test")
    ap.add_argument("--players", type=int, nargs="+", default=[100, 250, 500])
    ap.add_argument("--duration-s", type=float, default=20.0)
    ap.add_argument("--latency-hits", type=int, default=1000)
    ap.add_argument("--late-ms", type=float, default=50.0)
    args = ap.parse_args()
    if args.seat_only:
        seat_cost()
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp))
        try:
            notes = http_json(f"http://{base}/api/songs/1/chart?level=expert")["notes"]
            print(f"server pid {proc.pid} at {base} (e.g. py-spy record --pid {proc.pid})", flush=True)
            lat = asyncio.run(latency(base, notes, args.latency_hits))
            print(f"machine: {os.cpu_count()} cores; server and clients on the same machine")
            print(f"hit->judgment latency over {lat['hits']} hits: p50 {lat['p50_ms']:.2f} ms, "
                  f"p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.1f} ms")
            print(f"  anchor: WebSocket ping/pong on the same socket: p50 {lat['ping_p50_ms']:.2f} ms, "
                  f"p99 {lat['ping_p99_ms']:.2f} ms")
            if args.latency_only:
                return
            print(f"capacity: {args.duration_s:.0f} s at 10 hits/s per player (no ticks between hits); "
                  f"late = judgment later than {args.late_ms:.0f} ms")
            print("players  hits    stored  lost  late  p50 ms  p99 ms  max ms  server CPU ms/hit  "
                  "players/core  load avg")
            for n in args.players:
                c0 = cpu_s(proc.pid)
                r = asyncio.run(capacity(base, Path(tmp) / "backbeat.db", notes, n, args.duration_s,
                                         args.late_ms))
                per_hit_ms = (cpu_s(proc.pid) - c0) * 1000 / max(1, r["hits"])
                # One core spends 1000 ms per second; a player needs 10 hits/s (ticks included in the cost).
                per_core = 1000.0 / (per_hit_ms * 10) if per_hit_ms > 0 else float("inf")
                print(f"{r['players']:7d}  {r['hits']:6d}  {r['stored']:6d}  {r['lost']:4d}  {r['late']:4d}  "
                      f"{r['p50_ms']:6.2f}  {r['p99_ms']:6.2f}  {r['max_ms']:6.1f}  {per_hit_ms:17.3f}  "
                      f"{per_core:12.0f}  {os.getloadavg()[0]:8.1f}", flush=True)
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
