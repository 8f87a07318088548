"""Charting benchmark: quantisation accuracy, level rules and density, agreement with human authors, speed.

Run:  nice -n 10 .venv/bin/python bench/charts.py [--limit N] [--skip-gmd] [--ceiling]

(a) Groove MIDI validation grooves: an analysis is built from each MIDI
    performance (beats from its tempo map, hits from its notes), charted by
    ``chart_from_analysis``; the Expert chart's note times are matched with the
    performance per class (kick, snare, hihat, tom, cymbal) at +-50 ms
    (mir_eval). Reference strokes on one lane closer than 25 ms are one stroke
    (a flam is one chart note). Lower levels: rule compliance and notes per bar.
(b) Hand-made reductions in ../shared/data/charts: F-measure over (tick, pad)
    pairs per level, against two anchors computed in the same run (copy the
    Expert track; keep the Expert notes on beats), the bound any subset of
    Expert can reach (the author's notes that are in Expert, exactly), and
    the density ratio.
    With ``--ceiling``, also the best F any single spacing of the reduction
    family reaches on each chart (spacings chosen per chart and level with the
    author's level in hand: an upper bound for that family, not a result).
(c) Time to build every level and write every format for a 4-minute song,
    beside the time to write the chart JSON alone.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mido
import mir_eval
import numpy as np

from backbeat.charting.grid import BEAT, DOWNBEAT, HALF_BAR, MeterGrid
from backbeat.charting.levels import build_levels
from backbeat.charting.quantize import chart_from_analysis
from backbeat.charting.rules import check_chart
from backbeat.core.chart import MAIN_PART, Chart, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import GM_DETAIL_BY_NOTE, Instrument, instrument_to_pad, pad_to_instrument
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section
from backbeat.formats import read_chart, write_chart

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GMD = DATA / "groove-midi"
CHARTS = DATA / "charts"
#: Charts with hand-made lower levels: (folder, file). The first three were used for tuning.
TUNED = [("onyx-lte-914", "notes.mid"), ("sch-reduction-16", "notes.mid"),
         ("pony-canyon-boxxle", "notes.chart")]
HELD_OUT = [("onyx-dt-erotomania", "notes.mid"), ("ff5-replace-me", "notes.chart"),
            ("vsnares-vokeheads", "notes.chart")]
FLAM_S = 0.025
WINDOW_S = 0.05
LOWER = (Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY, Difficulty.BEGINNER)


def performance_analysis(path: Path) -> tuple[Analysis, dict[Instrument, np.ndarray]]:
    """Analysis (beats from the tempo map, hits from the notes) and the reference onsets per class."""
    chart = read_chart(path)  # for the exact tempo map / meter of the file
    mf = mido.MidiFile(str(path), clip=True)
    hits: list[DrumHit] = []
    for tr in mf.tracks:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.note in GM_DETAIL_BY_NOTE:
                inst, detail = GM_DETAIL_BY_NOTE[msg.note]
                t = chart.tempo_map.tick_to_seconds(tick * chart.tempo_map.resolution / mf.ticks_per_beat)
                hits.append(DrumHit(float(t), inst, int(msg.velocity), detail))
    hits.sort(key=lambda h: h.time_s)
    end_tick = int(chart.tempo_map.seconds_to_tick(hits[-1].time_s + 2.0)) if hits else 0
    beat_ticks = chart.tempo_map.beat_ticks(end_tick)
    beats = tuple(Beat(float(chart.tempo_map.tick_to_seconds(t)), p) for t, p in beat_ticks)
    duration = (hits[-1].time_s + 1.0) if hits else 1.0
    ts = chart.tempo_map.time_signatures[0]
    from backbeat.core.song_analysis import TempoSegment

    analysis = Analysis(duration, (TempoSegment(0.0, chart.tempo_map.tempos[0].bpm, ts.numerator,
                                                ts.denominator),),
                        beats, tuple(hits), (Section(0.0, duration, "groove"),), path.name)
    ref: dict[Instrument, np.ndarray] = {}
    for inst in Instrument:
        # class as the chart sees it (hi-hat pedal is a hi-hat, ride a cymbal, ...)
        # Strokes on one lane closer than FLAM_S are one stroke (a flam is one chart note).
        dedup: list[float] = []
        lanes = {instrument_to_pad(h.instrument, h.detail) for h in hits}
        for lane in lanes:
            if pad_to_instrument(*lane)[0] is not inst:
                continue
            times = sorted(h.time_s for h in hits if instrument_to_pad(h.instrument, h.detail) == lane)
            kept: list[float] = []
            for t in times:
                if not kept or t - kept[-1] > FLAM_S:
                    kept.append(t)
            dedup.extend(kept)
        ref[inst] = np.array(sorted(dedup))
    return analysis, ref


def chart_onsets(chart: Chart) -> dict[Instrument, np.ndarray]:
    out: dict[Instrument, list[float]] = {i: [] for i in Instrument}
    for n in chart.track(Difficulty.EXPERT).notes:
        out[pad_to_instrument(n.pad, n.cymbal)[0]].append(n.time_s)
    return {k: np.array(sorted(v)) for k, v in out.items()}


def bench_gmd(limit: int | None) -> None:
    with open(GMD / "info.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"].strip() == "validation"]
    if limit:
        rows = rows[:limit]
    tp: dict[Instrument, list[float]] = {i: [0, 0, 0] for i in Instrument}  # matched, n_ref, n_est
    violations = 0
    tracks_checked = 0
    per_bar: dict[Difficulty, list[float]] = {d: [] for d in Difficulty}
    t0 = time.perf_counter()
    for r in rows:
        path = GMD / r["midi_filename"]
        analysis, ref = performance_analysis(path)
        if not analysis.drums:
            continue
        chart = chart_from_analysis(analysis, info=SongInfo(name=path.stem))
        est = chart_onsets(chart)
        for inst in Instrument:
            if ref[inst].size or est[inst].size:
                matched = len(mir_eval.util.match_events(ref[inst], est[inst], WINDOW_S)) if (
                    ref[inst].size and est[inst].size) else 0
                tp[inst][0] += matched
                tp[inst][1] += ref[inst].size
                tp[inst][2] += est[inst].size
        full = build_levels(chart)
        report = check_chart(full)
        for (_, _level), v in report.items():
            tracks_checked += 1
            violations += bool(v)
        grid = MeterGrid(full.tempo_map)
        end = full.end_tick()
        n_bars = max(1, len(full.tempo_map.bar_ticks(end)))
        del grid
        for d in Difficulty:
            per_bar[d].append(len(full.track(d).notes) / n_bars)
    elapsed = time.perf_counter() - t0
    print(f"(a) Groove MIDI validation: {len(rows)} performances, {elapsed:.1f} s")
    print("    onset F at +-50 ms after quantisation (Expert vs performance), per class:")
    for inst, (m, nr, ne) in tp.items():
        p = m / ne if ne else 1.0
        rc = m / nr if nr else 1.0
        f = 2 * p * rc / (p + rc) if p + rc else 0.0
        print(f"      {inst.value:7s} F={f:.4f}  P={p:.4f}  R={rc:.4f}  (ref {int(nr)}, est {int(ne)})")
    tot_m = sum(v[0] for v in tp.values())
    tot_r = sum(v[1] for v in tp.values())
    tot_e = sum(v[2] for v in tp.values())
    print(f"      all     F={2 * tot_m / (tot_r + tot_e):.4f}")
    print(f"    rule compliance: {tracks_checked - violations}/{tracks_checked} tracks obey "
          "their level rules")
    print("    notes per bar by level (median [10th-90th percentile]):")
    for d in reversed(Difficulty):
        v = np.array(per_bar[d])
        lo, hi = np.percentile(v, 10), np.percentile(v, 90)
        print(f"      {d.value:9s} {np.median(v):5.1f} [{lo:.1f}-{hi:.1f}]")


def _pairs(chart: Chart, d: Difficulty) -> set[tuple[int, int]]:
    return {(n.tick, int(n.pad)) for n in chart.track(d).notes}


def _f1(est: set[tuple[int, int]], ref: set[tuple[int, int]]) -> float:
    m = len(est & ref)
    return 2 * m / (len(est) + len(ref)) if est or ref else 1.0


CEILING_GAPS = (0.25, 0.5, 1.0, 2.0)
CEILING_KICK_GAPS = (0.5, 1.0, 2.0, 1e9)


def best_spacing_f(chart: Chart, level: Difficulty, human: set[tuple[int, int]]) -> float:
    """Best F of ``reduce_notes`` from Expert over a grid of spacings (the author's level in hand)."""
    from dataclasses import replace

    from backbeat.charting.fills import FILL, detect_fills
    from backbeat.charting.levels import ReductionParams, reduce_notes
    from backbeat.core.kit import Pad

    expert = chart.track(Difficulty.EXPERT).notes
    tm = chart.tempo_map
    four_lane = not any(n.cymbal for n in expert)
    view = tuple(replace(n, cymbal=True) if four_lane and n.pad is Pad.YELLOW else n for n in expert)
    section_ticks = [s.tick for s in chart.sections]
    fills = tuple(p for p in chart.phrases if p.kind == FILL) or detect_fills(
        expert, tm, section_ticks=section_ticks)
    lower = level is not Difficulty.HARD
    best = 0.0
    for snare_gap in CEILING_GAPS:
        for hand_gap in CEILING_GAPS:
            for kick_gap in CEILING_KICK_GAPS:
                params = ReductionParams(snare_gap, hand_gap, kick_gap, False, 2, lower,
                                         level is Difficulty.EASY, level is Difficulty.MEDIUM)
                out = reduce_notes(view, tm, level, fills=fills, section_ticks=section_ticks, params=params)
                best = max(best, _f1({(n.tick, int(n.pad)) for n in out}, human))
    return best


def bench_human(*, ceiling: bool = False) -> None:
    print("(b) against hand-made reductions: F over (tick, pad) pairs; density = notes / Expert notes")
    print(f"    {'chart':29s} {'level':7s} {'ours':>6s} {'copyX':>6s} {'beats':>6s} {'bound':>6s} "
          f"{'dens.ours':>9s} {'dens.human':>10s}" + (f" {'ceiling':>8s}" if ceiling else ""))
    means: dict[str, dict[Difficulty, list[float]]] = {}
    for group, items in (("tuned", TUNED), ("held-out", HELD_OUT)):
        for folder, name in items:
            path = CHARTS / folder / name
            if not path.exists():
                print(f"    {folder}: missing, skipped")
                continue
            chart = read_chart(path)
            gen = build_levels(chart, regenerate=True)
            expert = _pairs(chart, Difficulty.EXPERT)
            grid = MeterGrid(chart.tempo_map)
            on_beats = {(t, p) for t, p in expert if grid.strength(t) in (DOWNBEAT, HALF_BAR, BEAT)}
            for d in (Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY):
                if (MAIN_PART, d) not in chart.tracks or len(chart.track(d).notes) < 5:
                    continue
                human = _pairs(chart, d)
                ours = _pairs(gen, d)
                row = {"ours": _f1(ours, human), "copy": _f1(expert, human), "beats": _f1(on_beats, human),
                       "bound": _f1(expert & human, human)}
                if ceiling:
                    row["ceiling"] = best_spacing_f(chart, d, human)
                for k, v in row.items():
                    means.setdefault(f"{group}/{k}", {}).setdefault(d, []).append(v)
                    means.setdefault(f"all/{k}", {}).setdefault(d, []).append(v)
                label = f"{folder} ({group})"
                print(f"    {label:29s} {d.value:7s} {row['ours']:6.3f} {row['copy']:6.3f} "
                      f"{row['beats']:6.3f} {row['bound']:6.3f} {len(ours) / len(expert):9.2f} "
                      f"{len(human) / len(expert):10.2f}"
                      + (f" {row['ceiling']:8.3f}" if ceiling else ""))
    print("    mean F per level (hard / medium / easy; mean of the three):")
    for key in sorted(means):
        per = means[key]
        vals = [statistics.mean(per[d]) if d in per else float("nan")
                for d in (Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY)]
        ok = [v for v in vals if v == v]
        print(f"      {key:16s} " + " / ".join(f"{v:.3f}" for v in vals)
              + f"   mean {statistics.mean(ok):.3f}")


def four_minute_analysis() -> Analysis:
    """A 4-minute song: a 16th-note funk groove with fills and crashes, 120 BPM, on a drifting tempo."""
    rng = np.random.default_rng(0)
    beats: list[Beat] = []
    t = 0.5
    for i in range(480):
        beats.append(Beat(t, i % 4 + 1))
        t += 0.5 + 0.003 * np.sin(i / 20)
    hits: list[DrumHit] = []
    for i, b in enumerate(beats[:-1]):
        period = beats[i + 1].time_s - b.time_s
        bar, pos = divmod(i, 4)
        fill = bar % 8 == 7 and pos >= 2
        for k in range(4):
            ts = b.time_s + k * period / 4 + rng.normal(0, 0.006)
            if fill:
                hits.append(DrumHit(ts, Instrument.TOM if k % 2 else Instrument.SNARE, 100,
                                    "tom_mid" if k % 2 else "snare"))
                continue
            if k % 2 == 0:
                hits.append(DrumHit(ts, Instrument.HIHAT, 80 if k else 100, "hihat_closed"))
            if (k == 0 and pos in (0, 2)) or (k == 3 and pos == 1):
                hits.append(DrumHit(ts, Instrument.KICK, 110, "kick"))
            if k == 0 and pos in (1, 3):
                hits.append(DrumHit(ts, Instrument.SNARE, 115, "snare"))
            if k == 1 and pos == 3:
                hits.append(DrumHit(ts, Instrument.SNARE, 40, "snare_ghost"))
        if pos == 0 and bar % 8 == 0:
            hits.append(DrumHit(b.time_s, Instrument.CYMBAL, 120, "crash"))
    dur = beats[-1].time_s + 1.0
    starts = np.arange(0.5, dur, 32.0)
    secs = tuple(Section(float(s), min(dur, float(s) + 32.0), f"part {k + 1}") for k, s in enumerate(starts))
    return Analysis(dur, (), tuple(beats), tuple(sorted(hits, key=lambda h: h.time_s)), secs, "bench")


def bench_speed() -> None:
    from backbeat.formats import write_song_folder
    from backbeat.services.charts import ALL_FORMATS, _write_extra

    analysis = four_minute_analysis()
    runs = []
    cpu = []
    anchor = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            chart = chart_from_analysis(analysis, info=SongInfo(name="bench"))
            full = build_levels(chart)
            t1, c1 = time.perf_counter(), time.process_time()
            write_song_folder(full, Path(tmp) / "song")
            for fmt in ALL_FORMATS:
                _write_extra(full, fmt, Path(tmp) / "song")
            t2, c2 = time.perf_counter(), time.process_time()
            write_chart(full, Path(tmp) / "only.json", fmt="json")
            t3 = time.perf_counter()
            runs.append((t1 - t0, t2 - t1))
            cpu.append((c1 - c0, c2 - c1))
            anchor.append(t3 - t2)
    best = min(runs, key=sum)
    best_cpu = min(cpu, key=sum)
    n = len(full.track(Difficulty.EXPERT).notes)
    print(f"(c) 4-minute song ({analysis.duration_s:.0f} s, {len(analysis.drums)} hits, {n} Expert notes), "
          f"best of 3, wall (CPU of this process):")
    print(f"    quantise + all levels: {best[0] * 1000:.0f} ms ({best_cpu[0] * 1000:.0f} ms); "
          f"all formats written: {best[1] * 1000:.0f} ms ({best_cpu[1] * 1000:.0f} ms); "
          f"total {sum(best) * 1000:.0f} ms ({sum(best_cpu) * 1000:.0f} ms)")
    print(f"    anchor: chart JSON alone {min(anchor) * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N validation grooves")
    ap.add_argument("--skip-gmd", action="store_true")
    ap.add_argument("--ceiling", action="store_true",
                    help="also the best F of any one spacing per chart (about 15 s more)")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"data folder {DATA} not found", file=sys.stderr)
        return 1
    if not args.skip_gmd:
        bench_gmd(args.limit)
    bench_human(ceiling=args.ceiling)
    bench_speed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
