"""Engine benchmark: judging cost per hit and timing exactness.

Usage::

    nice -n 10 .venv/bin/python bench/engine.py [--minutes 10] [--seed 0]

Prints, for a long synthetic chart (16th-note hi-hats with kick and snare at
150 BPM) played by a human-like bot:

* engine cost per hit in microseconds (queue + judge), beside an anchor
  measured in the same run (a bare Python loop doing one ``bisect`` per hit,
  i.e. the least any nearest-note matcher must spend); the fixed cost of an
  ``update`` call; and the share of one core a live game at 60 Hz and 1 kHz
  update rates spends in the engine;
* the largest difference between the offsets the engine reports and the true
  offsets of hits fed with known timestamps, at playback rates 1.0, 0.75, 0.5;
* whether the 60 Hz live run, the 1 kHz live run and the batch run agree;
* storage: commit latency of a hit batch (each batch is its own transaction), and of a
  live server's round of hit rows of many players (``record_hit_rows``, one transaction).

* the play server (:func:`bench_web`): hit -> judgment latency over a loopback
  WebSocket, p50/p99 beside a ping/pong anchor, and how many concurrent players
  at 10 hits/s it serves with no lost or late (> 50 ms) judgment
  (``--web-players 500``, ``--web-duration-s 20``; ``bench/web.py`` has more options).
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from backbeat.core.chart import Note
from backbeat.core.kit import Pad
from backbeat.engine import InputHit, PlayerEngine, human_bot


def long_chart(minutes: float, *, bpm: float = 150.0) -> list[Note]:
    """16th hi-hats, kick on 1 and 3 (+ the 'and' of 3), snare on 2 and 4."""
    sixteenth = 60.0 / bpm / 4
    n = int(minutes * 60 / sixteenth)
    notes = []
    for i in range(n):
        t = i * sixteenth
        tick = i * 48
        notes.append(Note(tick=tick, pad=Pad.YELLOW, cymbal=True, time_s=t))
        pos = i % 16
        if pos in (0, 8, 10):
            notes.append(Note(tick=tick, pad=Pad.KICK, time_s=t))
        if pos in (4, 12):
            notes.append(Note(tick=tick, pad=Pad.RED, time_s=t))
    return notes


def anchor_us_per_hit(notes: list[Note], hits: list[InputHit]) -> float:
    """A bare loop: sort the hits and bisect each into the note times (µs per hit)."""
    times = [n.time_s for n in notes]
    t0 = time.perf_counter()
    found = 0
    for h in sorted(hits, key=lambda h: h.time_s):
        i = bisect.bisect_left(times, h.time_s)
        found += i
    return (time.perf_counter() - t0) / len(hits) * 1e6


def run_batch(notes: list[Note], hits: list[InputHit]) -> tuple[float, float, float, object]:
    """Returns (setup ms, µs per hit for queue + judge, result() ms, result)."""
    t0 = time.perf_counter()
    eng = PlayerEngine(notes)
    t1 = time.perf_counter()
    for h in hits:
        eng.queue_input(h)
    eng.finish()
    t2 = time.perf_counter()
    res = eng.result()
    t3 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t1) / len(hits) * 1e6, (t3 - t2) * 1e3, res


def run_live(notes: list[Note], hits: list[InputHit], *, rate_hz: float) -> tuple[float, int, object]:
    """Live play with ``update`` at ``rate_hz``; returns (total engine seconds, update calls, result)."""
    eng = PlayerEngine(notes)
    step = 1.0 / rate_hz
    end = max(n.time_s for n in notes) + 1.0
    ordered = sorted(hits, key=lambda h: h.time_s)
    calls = 0
    t0 = time.perf_counter()
    now, i = 0.0, 0
    while now < end:
        while i < len(ordered) and ordered[i].time_s <= now:
            eng.queue_input(ordered[i])
            i += 1
        eng.update(now)
        calls += 1
        now += step
    for h in ordered[i:]:
        eng.queue_input(h)
    eng.finish()
    elapsed = time.perf_counter() - t0
    return elapsed, calls, eng.result()


def offset_exactness(notes: list[Note], *, rate: float, seed: int) -> tuple[float, int]:
    """Max |reported - true| offset in ms for hits at known offsets within ±85 real ms."""
    rng = random.Random(seed)
    # One hit per note on its own lane at a known offset; notes of a lane are >= 100 ms
    # apart here, so with |offset| <= 85 ms the nearest note is always the intended one.
    lane_last: dict[Pad, float] = {}
    chosen = []
    for n in notes:
        if n.time_s - lane_last.get(n.pad, -1.0) >= 0.2:
            chosen.append(n)
            lane_last[n.pad] = n.time_s
    truth: dict[int, float] = {}
    eng = PlayerEngine(chosen, playback_rate=rate)
    for k, n in enumerate(chosen):
        off_ms = rng.uniform(-85.0, 85.0)
        truth[k] = off_ms
        eng.queue_input(InputHit(n.time_s + off_ms / 1000 * rate, n.pad, cymbal=n.cymbal, seq=k))
    worst = 0.0
    judged = 0
    for ev in eng.finish():
        if ev.offset_ms is not None and ev.input is not None and ev.input.seq is not None:
            worst = max(worst, abs(ev.offset_ms - truth[ev.input.seq]))
            judged += 1
    return worst, judged


def bench_storage(n_batches: int = 300) -> None:
    """Commit latency of hit batches (one transaction each) in a WAL database on disk."""
    import statistics
    import tempfile

    from backbeat.storage import Database, HitRecord

    with tempfile.TemporaryDirectory() as tmp:
        with Database(Path(tmp) / "bench.db") as db:
            ses = db.create_session(None)
            player = db.add_player("bench")
            for size in (1, 8, 64):
                lat = []
                for b in range(n_batches):
                    batch = [HitRecord(seq=size * b + k + size * 100_000, time_s=b * 0.1, pad=k % 5)
                             for k in range(size)]
                    t0 = time.perf_counter()
                    db.record_hits(ses.id, player.id, batch)
                    lat.append((time.perf_counter() - t0) * 1e3)
                lat.sort()
                print(f"storage: record_hits batch of {size:2d}: median {statistics.median(lat):.3f} ms, "
                      f"p99 {lat[int(0.99 * len(lat))]:.3f} ms per committed batch")
            # The live server's group commit: a round of plain rows from 32 players, one transaction.
            others = [db.add_player(f"bench{i}").id for i in range(32)]
            for size in (1, 8, 64):
                lat = []
                for b in range(n_batches):
                    rows = [(ses.id, others[k % 32], size * b + k, b * 0.1, k % 5, 100, None, "perfect", 1.5,
                             None) for k in range(size)]
                    t0 = time.perf_counter()
                    db.record_hit_rows(rows)
                    lat.append((time.perf_counter() - t0) * 1e3)
                lat.sort()
                print(f"storage: record_hit_rows round of {size:2d}: median {statistics.median(lat):.3f} ms, "
                      f"p99 {lat[int(0.99 * len(lat))]:.3f} ms per committed round")


def bench_web(args: argparse.Namespace) -> None:
    """The play server on the demo song: hit -> judgment latency over a loopback WebSocket (p50/p99,
    beside a ping/pong anchor) and concurrent players at 10 hits/s with lost and late judgments
    (see bench/web.py, which runs the same measurement with more options)."""
    if not args.web_players:
        return
    from web import run_server_bench  # bench/web.py, beside this file

    print()
    run_server_bench(players=args.web_players, duration_s=args.web_duration_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="chart length (default 10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--web-players", type=int, nargs="*", default=[500],
                    help="player counts of the play server's capacity test (none: skip the server)")
    ap.add_argument("--web-duration-s", type=float, default=20.0)
    args = ap.parse_args()

    notes = long_chart(args.minutes)
    hits = human_bot(notes, seed=args.seed, skill=0.6)
    print(f"chart: {len(notes)} notes over {args.minutes:g} min; human bot: {len(hits)} hits")

    anchor = min(anchor_us_per_hit(notes, hits) for _ in range(3))
    runs = [run_batch(notes, hits) for _ in range(3)]
    setup_ms = min(r[0] for r in runs)
    batch_us = min(r[1] for r in runs)
    result_ms = min(r[2] for r in runs)
    batch_res = runs[0][3]
    idle = PlayerEngine(notes)
    t0 = time.perf_counter()
    for k in range(20000):
        idle.update(-10.0 + k * 1e-6)  # nothing due: the fixed cost of one update call
    idle_us = (time.perf_counter() - t0) / 20000 * 1e6
    live60_s, calls60, live60_res = run_live(notes, hits, rate_hz=60.0)
    live1k_s, calls1k, live1k_res = run_live(notes, hits, rate_hz=1000.0)
    print(f"{'anchor (sort + bisect per hit):':<44}{anchor:8.2f} µs/hit")
    print(f"{'engine: queue + judge, all hits then finish:':<44}{batch_us:8.2f} µs/hit "
          f"({batch_us / anchor:.0f}x anchor)")
    print(f"{'engine: one update() with nothing due:':<44}{idle_us:8.2f} µs/call")
    print(f"engine setup (sort {len(notes)} notes): {setup_ms:.1f} ms; result(): {result_ms:.1f} ms")
    print(f"live at 60 Hz:  {live60_s * 1e3:7.1f} ms engine time for {calls60} updates "
          f"= {live60_s / (calls60 / 60.0) * 100:.3f} % of one core")
    print(f"live at 1 kHz:  {live1k_s * 1e3:7.1f} ms engine time for {calls1k} updates "
          f"= {live1k_s / (calls1k / 1000.0) * 100:.3f} % of one core")
    same = batch_res == live60_res == live1k_res
    print(f"batch, 60 Hz and 1 kHz results identical: {same}")
    acc = batch_res.accuracy  # type: ignore[attr-defined]
    print(f"human bot accuracy {acc:.3f}, counts {batch_res.counts}")  # type: ignore[attr-defined]
    for rate in (1.0, 0.75, 0.5):
        worst, judged = offset_exactness(notes, rate=rate, seed=args.seed)
        print(f"offset exactness at rate {rate:4.2f}: max |reported - true| = {worst:.2e} ms "
              f"over {judged} hits")

    bench_storage()
    bench_web(args)


if __name__ == "__main__":
    main()
