"""Play server benchmark: hit -> judgment latency over a loopback WebSocket, and concurrent players.

Starts ``backbeat serve`` in a subprocess (temp data dir, demo song), then

1. latency: one player sends hits one at a time, 50 per second; the time from sending a hit
   to receiving its judgment is measured (p50/p99), beside the anchor of a
   WebSocket ping/pong round trip on the same connection (transport floor);
2. capacity: N players (2 per session) each send 10 hits/s (the browser sends
   a tick only when no hit went out in the last 250 ms, so none here) for
   ``--duration-s`` seconds; a hit is *late* when its judgment takes longer
   than ``--late-ms`` and *lost* when it never comes. Reports, per N, the
   judgment latency percentiles, late and lost counts, whether every hit
   reached the database, the server's CPU per hit (whole run, and over the
   steady part with its event loop thread apart) and the load clients' CPU
   per hit.

The load clients (``--client raw``, the default) are a minimal WebSocket
client in ``--client-procs`` processes of their own, cheap enough that the
figure measures the server; ``--client websockets`` runs every player on the
``websockets`` library inside this process instead (how figures before
2026-11-24 were taken).

Run: ``nice -n 10 .venv/bin/python bench/web.py`` (``--players 100 250 500``).
The clients and the server share the machine, so the capacity figure is a
lower bound for a dedicated server. ``--server-src DIR`` runs the server from
another checkout's ``src`` (before/after comparisons); ``--seat-only`` times
``Seat.hit`` alone, ``--latency-only`` skips the capacity test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import multiprocessing
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

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


def cpu_split_s(pid: int) -> tuple[float, float]:
    """User and system CPU seconds used so far by a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start_server(data: Path, *, src: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src.resolve()), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "backbeat.cli.main", "serve", "--port", str(port),
                             "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            text=True, env=env)
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
    """The load test on the ``websockets`` client library, every player in this process."""
    out: dict[str, Any] = {"lat": [], "lost": 0, "late": 0, "hits": 0}
    sessions = [http_json(f"http://{base}/api/sessions", {"song_id": 1})["id"]
                for _ in range((n_players + 1) // 2)]
    start_at = time.perf_counter() + 3.0 + n_players * 0.01
    tasks = [player(base, sessions[i // 2], f"p{i}", notes, duration_s,
                    start_at + (i % 20) * 0.005, late_ms, out) for i in range(n_players)]
    c0 = _own_cpu_s()
    await asyncio.gather(*tasks)
    return {"players": n_players, "hits": out["hits"], "sessions": sessions, "lost": out["lost"],
            "late": out["late"], "lat": out["lat"], "client_cpu_s": _own_cpu_s() - c0}


# -- the cheap load client ----------------------------------------------------------------------
#
# The capacity figure should measure the server, yet the load clients share the machine with it.
# ``websockets`` spends far more CPU per message than the server's own frame handling, so the
# default client speaks just enough of RFC 6455 for the test: an upgrade request, text frames out
# (masked with an all-zero key, so a frame is its header plus the JSON as is), and unmasked frames in.
# Each player's hits are timer callbacks (no task per player), and the clients run in
# ``--client-procs`` processes of their own so that their CPU time can be reported beside the server's.

_ZERO_MASK = b"\x00\x00\x00\x00"
_DEBUG = bool(os.environ.get("BENCH_DEBUG"))


def _ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame (FIN set) with a zero masking key: the payload goes out unchanged."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + _ZERO_MASK + payload


class RawPlayer(asyncio.Protocol):
    """One load-test player on a minimal WebSocket client (see the note above)."""

    def __init__(self, host: str, session: str, name: str, pads: list[bytes], late_ms: float) -> None:
        self.host, self.session, self.name, self.pads, self.late_ms = host, session, name, pads, late_ms
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.joined: asyncio.Future[None] = self.loop.create_future()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.sent: dict[int, float] = {}
        self.lat: list[float] = []
        self.frames = 0
        self.msgs = 0
        self.seq = 0
        self.t0 = 0.0
        self.t0_loop = 0.0
        self.duration_s = 0.0
        self.sending = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /ws/play HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in (self.joined, self.done):
            if not fut.done():
                fut.set_exception(ConnectionError(f"{self.name}: connection lost"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[:end]:
                raise SystemExit(f"{self.name}: upgrade refused: {bytes(buf[:end])!r}")
            self.upgraded = True
            del buf[:end + 4]
            self.send_json({"v": 1, "type": "join", "session": self.session, "player": self.name,
                            "level": "expert", "device": "keyboard", "batch": True})
        pos, n = 0, len(buf)
        while n - pos >= 2:
            opcode, ln = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            head = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if n - pos < head + ln:
                break
            payload = bytes(buf[pos + head:pos + head + ln])
            pos += head + ln
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9 and self.transport is not None:
                self.transport.write(_ws_frame(payload, 0xA))
            elif opcode == 0x8:
                if not self.done.done():
                    self.done.set_result(None)
        del buf[:pos]

    def on_text(self, payload: bytes) -> None:
        msg = json.loads(payload)
        now = time.perf_counter()
        batch = msg if isinstance(msg, list) else (msg,)
        self.frames += 1
        self.msgs += len(batch)
        for m in batch:
            kind = m.get("type")
            if kind == "judgment":
                sent = self.sent.pop(m.get("seq"), None)
                if sent is not None:
                    self.lat.append((now - sent) * 1000)
                    if self.lat[-1] > self.late_ms and _DEBUG:
                        print(f"late {self.name} seq {m.get('seq')}: {self.lat[-1]:.1f} ms, "
                              f"sent {sent - self.t0:.2f} s after the start "
                              f"(wall {time.time() % 1000:.2f})", flush=True)
            elif kind == "joined":
                self.joined.set_result(None)
            elif kind == "result":
                if not self.done.done():
                    self.done.set_result(None)
            elif kind == "error":
                raise SystemExit(f"{self.name}: {m}")

    def send_json(self, msg: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(_ws_frame(json.dumps(msg).encode()))

    def start(self, start_at: float, duration_s: float) -> None:
        """Send a hit every 100 ms from ``start_at`` (perf_counter time) for ``duration_s``."""
        self.duration_s = duration_s
        self.t0 = start_at
        self.t0_loop = self.loop.time() + (start_at - time.perf_counter())
        self.sending = True
        self.loop.call_at(self.t0_loop, self.fire)

    def fire(self) -> None:
        now = time.perf_counter()
        if now - self.t0 >= self.duration_s or self.transport is None or self.transport.is_closing():
            self.sending = False
            return
        seq = self.seq
        self.sent[seq] = now
        self.transport.write(_ws_frame(b'{"v":1,"type":"hit","seq":%d,"t_song_s":%.4f,"pad":%s}'
                                       % (seq, 0.5 + now - self.t0, self.pads[seq % len(self.pads)])))
        self.seq = seq + 1
        self.loop.call_at(self.t0_loop + self.seq * 0.1, self.fire)


def _own_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _raw_clients(base: str, jobs: list[tuple[str, str]], pads: list[bytes], duration_s: float,
                       start_at: float, late_ms: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port = base.rsplit(":", 1)
    players: list[RawPlayer] = []
    for session, name in jobs:
        _, p = await loop.create_connection(functools.partial(RawPlayer, base, session, name, pads, late_ms),
                                            host, int(port))
        players.append(p)
    await asyncio.gather(*(p.joined for p in players))
    c0 = _own_cpu_s()
    for i, p in enumerate(players):
        p.start(start_at + (i % 20) * 0.005, duration_s)
    await asyncio.sleep(max(0.0, start_at + duration_s - time.perf_counter()))
    while any(p.sending for p in players):
        await asyncio.sleep(0.05)
    for _ in range(100):  # wait up to 10 s for the last judgments
        if not any(p.sent for p in players):
            break
        await asyncio.sleep(0.1)
    cpu = _own_cpu_s() - c0
    lost = sum(len(p.sent) for p in players)
    for p in players:
        p.send_json({"v": 1, "type": "end"})
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(asyncio.gather(*(p.done for p in players)), 30)
    for p in players:
        if p.transport is not None:
            p.transport.close()
    lat = [x for p in players for x in p.lat]
    return {"lat": lat, "lost": lost, "late": sum(1 for x in lat if x > late_ms),
            "hits": sum(p.seq for p in players), "client_cpu_s": cpu,
            "frames": sum(p.frames for p in players), "msgs": sum(p.msgs for p in players)}


def _raw_client_process(base: str, jobs: list[tuple[str, str]], pads: list[bytes], duration_s: float,
                        start_at: float, late_ms: float) -> dict[str, Any]:
    try:
        import uvloop
        run: Callable[..., Any] = uvloop.run
    except ImportError:
        run = asyncio.run
    result: dict[str, Any] = run(_raw_clients(base, jobs, pads, duration_s, start_at, late_ms))
    return result


def _server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the whole server process and of its main (event loop) thread."""
    user, system = cpu_split_s(pid)
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return user + system, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def capacity_raw(base: str, notes: list[dict[str, Any]], n_players: int, duration_s: float, late_ms: float,
                 procs: int, server_pid: int) -> dict[str, Any]:
    """The load test with the cheap client, players spread over ``procs`` client processes.

    Besides the totals, the server's CPU time is sampled over the steady part of
    the run (from 1 s after the first hit to 0.5 s before the last), when every
    player is sending and no one is joining or leaving.
    """
    sessions = [http_json(f"http://{base}/api/sessions", {"song_id": 1})["id"]
                for _ in range((n_players + 1) // 2)]
    jobs = [(sessions[i // 2], f"p{i}") for i in range(n_players)]
    pads = [json.dumps(n["pad"]).encode() for n in notes]
    start_at = time.perf_counter() + 3.0 + n_players * 0.02
    procs = max(1, min(procs, n_players))
    steady: dict[str, float] = {}
    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("fork")) as ex:
        futs = [ex.submit(_raw_client_process, base, jobs[k::procs], pads, duration_s, start_at, late_ms)
                for k in range(procs)]
        w0, w1 = start_at + 1.0, start_at + duration_s - 0.5
        if w1 - w0 >= 1.0:
            time.sleep(max(0.0, w0 - time.perf_counter()))
            a = _server_cpu(server_pid), time.perf_counter()
            time.sleep(max(0.0, w1 - time.perf_counter()))
            b = _server_cpu(server_pid), time.perf_counter()
            hits = n_players * 10.0 * (b[1] - a[1])  # every player sends 10 hits/s in this window
            steady = {"proc_ms": (b[0][0] - a[0][0]) * 1000 / hits,
                      "loop_ms": (b[0][1] - a[0][1]) * 1000 / hits}
        parts = [f.result() for f in futs]
    lat = [x for r in parts for x in r["lat"]]
    return {"players": n_players, "hits": sum(r["hits"] for r in parts), "sessions": sessions,
            "lost": sum(r["lost"] for r in parts), "late": sum(r["late"] for r in parts), "lat": lat,
            "client_cpu_s": sum(r["client_cpu_s"] for r in parts), "steady": steady,
            "frames": sum(r["frames"] for r in parts), "msgs": sum(r["msgs"] for r in parts)}


def count_stored(db_path: Path, sessions: list[str]) -> int:
    con = sqlite3.connect(db_path)
    try:
        q = ",".join("?" * len(sessions))
        return int(con.execute(f"SELECT COUNT(*) FROM hits WHERE session_id IN ({q})",
                               [int(s) for s in sessions]).fetchone()[0])
    finally:
        con.close()


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
    ap.add_argument("--client", choices=("raw", "websockets"), default="raw",
                    help="load client of the capacity test: the minimal one (default) or the websockets "
                         "library in this process (how figures before 2026-11-24 were measured)")
    ap.add_argument("--client-procs", type=int, default=1,
                    help="processes the raw load client's players are spread over (default 1)")
    ap.add_argument("--server-src", type=Path, default=None,
                    help="run the server from another checkout's src/ (before/after comparisons)")
    args = ap.parse_args()
    if args.seat_only:
        seat_cost()
        return
    run_server_bench(players=args.players, duration_s=args.duration_s, latency_hits=args.latency_hits,
                     late_ms=args.late_ms, client=args.client, client_procs=args.client_procs,
                     server_src=args.server_src, latency_only=args.latency_only)


def run_server_bench(*, players: list[int], duration_s: float = 20.0, latency_hits: int = 1000,
                     late_ms: float = 50.0, client: str = "raw", client_procs: int = 1,
                     server_src: Path | None = None, latency_only: bool = False) -> None:
    """Start a server on the demo song; print the latency test, then the capacity test per N players."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp), src=server_src)
        try:
            notes = http_json(f"http://{base}/api/songs/1/chart?level=expert")["notes"]
            print(f"server pid {proc.pid} at {base} (e.g. py-spy record --pid {proc.pid})", flush=True)
            lat = asyncio.run(latency(base, notes, latency_hits))
            print(f"machine: {os.cpu_count()} cores; server and clients on the same machine")
            print(f"hit->judgment latency over {lat['hits']} hits: p50 {lat['p50_ms']:.2f} ms, "
                  f"p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.1f} ms")
            print(f"  anchor: WebSocket ping/pong on the same socket: p50 {lat['ping_p50_ms']:.2f} ms, "
                  f"p99 {lat['ping_p99_ms']:.2f} ms")
            if latency_only:
                return
            client_desc = (f"raw client in {client_procs} process(es)" if client == "raw"
                           else "websockets client in the bench process")
            print(f"capacity: {duration_s:.0f} s at 10 hits/s per player (no ticks between hits); "
                  f"late = judgment later than {late_ms:.0f} ms; {client_desc}")
            print("players  hits    stored  lost  late  p50 ms  p99 ms  max ms  server CPU ms/hit  "
                  "players/core  client CPU ms/hit  load avg")
            db_path = Path(tmp) / "backbeat.db"
            for n in players:
                u0, s0 = cpu_split_s(proc.pid)
                if client == "raw":
                    r = capacity_raw(base, notes, n, duration_s, late_ms, client_procs, proc.pid)
                else:
                    r = asyncio.run(capacity(base, db_path, notes, n, duration_s, late_ms))
                u1, s1 = cpu_split_s(proc.pid)
                per_hit_ms = (u1 + s1 - u0 - s0) * 1000 / max(1, r["hits"])
                sys_share = (s1 - s0) / max(1e-9, u1 + s1 - u0 - s0)
                client_ms = r["client_cpu_s"] * 1000 / max(1, r["hits"])
                stored = count_stored(db_path, r["sessions"])
                lats = r["lat"]
                worst = max(lats) if lats else float("nan")
                # One core spends 1000 ms per second; a player needs 10 hits/s (ticks included in the cost).
                per_core = 1000.0 / (per_hit_ms * 10) if per_hit_ms > 0 else float("inf")
                print(f"{r['players']:7d}  {r['hits']:6d}  {stored:6d}  {r['lost']:4d}  {r['late']:4d}  "
                      f"{pct(lats, 50):6.2f}  {pct(lats, 99):6.2f}  {worst:6.1f}  "
                      f"{per_hit_ms:17.3f}  {per_core:12.0f}  {client_ms:17.3f}  {os.getloadavg()[0]:8.1f}",
                      flush=True)
                if "frames" in r:
                    hits = max(1, r["hits"])
                    print(f"         server messages per hit {r['msgs'] / hits:.2f} "
                          f"in {r['frames'] / hits:.2f} frames (join to result); "
                          f"server CPU {sys_share:.0%} in the kernel", flush=True)
                if r.get("steady"):
                    st = r["steady"]
                    print(f"         steady part (no joins): server CPU {st['proc_ms']:.3f} ms/hit, of which "
                          f"the event loop thread {st['loop_ms']:.3f} ms/hit "
                          f"(one core: {1000.0 / (st['loop_ms'] * 10):.0f} players)", flush=True)
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
