"""Benchmark: write (and read back) every chart format for a 4-minute song at all levels.

Builds a realistic chart in code: 4 minutes at ~118-122 BPM with a tempo change on
every beat (as beat tracking produces), 16th hi-hats, kick, snare, fills and toms on
Expert; Hard/Medium/Easy/Beginner thinned from it. Then times, per round:

* anchor: ``mido`` building and saving the same ``notes.mid`` content (a common library),
* Backbeat: a whole song folder (notes.chart, notes.mid, song.ini, backbeat.json) plus
  GM MIDI, MusicXML and tab for every level (5 x 3 files) -- "all levels, all formats",
* Backbeat: reading each written file back.

Usage: ``nice -n 10 .venv/bin/python bench/formats.py [--rounds 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mido

from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Note, Phrase, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoChange, TempoMap, TimeSignature
from backbeat.formats import read_chart, write_chart, write_song_folder
from backbeat.formats.chart_build import assemble_chart


def build_song(minutes: float = 4.0, *, res: int = 192) -> Chart:
    """A 4-minute chart with a tempo event per beat and five levels."""
    beats = int(minutes * 120)
    tempos = tuple(TempoChange(b * res, 120.0 + 2.0 * ((b * 7919) % 13 - 6) / 6) for b in range(beats))
    tm = TempoMap(res, tempos, (TimeSignature(0, 4, 4),))
    s16 = res // 4
    expert: list[Note] = []
    for step in range(beats * 4):
        t = step * s16
        bar_pos = step % 16
        fill = (step // 16) % 8 == 7 and bar_pos >= 8
        if fill:
            pad = (Pad.RED, Pad.YELLOW, Pad.BLUE, Pad.GREEN)[bar_pos % 4]
            expert.append(Note(t, pad, velocity=100))
            continue
        expert.append(Note(t, Pad.YELLOW, True, velocity=80 + 20 * (step % 2 == 0)))
        if bar_pos in (0, 6, 8, 10):
            expert.append(Note(t, Pad.KICK, velocity=110))
        if bar_pos in (4, 12):
            expert.append(Note(t, Pad.RED, velocity=115))
        if bar_pos == 0 and (step // 16) % 4 == 0:
            expert.append(Note(t, Pad.GREEN, True, velocity=120))
    hard = [n for n in expert if n.tick % (2 * s16) == 0]
    medium = [n for n in hard if n.tick % res == 0]
    easy = [n for n in medium if n.pad in (Pad.KICK, Pad.RED, Pad.YELLOW)]
    beginner = [n for n in easy if n.pad is not Pad.YELLOW]
    notes = {(MAIN_PART, Difficulty.EXPERT): expert, (MAIN_PART, Difficulty.HARD): hard,
             (MAIN_PART, Difficulty.MEDIUM): medium, (MAIN_PART, Difficulty.EASY): easy,
             (MAIN_PART, Difficulty.BEGINNER): beginner}
    sections = [ChartSection(b * res, f"Part {k + 1}") for k, b in enumerate(range(0, beats, 32))]
    phrases = [Phrase("fill", (b * 32 + 30) * res, 2 * res) for b in range(beats // 32)]
    return assemble_chart("<bench>", info=SongInfo(name="Bench Song", artist="Bench"), tempo_map=tm,
                          notes=notes, sections=sections, phrases=phrases)


def mido_anchor(chart: Chart, path: Path) -> None:
    """Write the notes.mid content (tempo track + PART DRUMS gems) with mido."""
    mf = mido.MidiFile(type=1, ticks_per_beat=chart.tempo_map.resolution)
    tempo = mido.MidiTrack()
    last = 0
    for t in chart.tempo_map.tempos:
        tempo.append(mido.MetaMessage("set_tempo", tempo=round(60_000_000 / t.bpm), time=t.tick - last))
        last = t.tick
    mf.tracks.append(tempo)
    drums = mido.MidiTrack()
    drums.append(mido.MetaMessage("track_name", name="PART DRUMS", time=0))
    events = []
    for diff, base in ((Difficulty.EASY, 60), (Difficulty.MEDIUM, 72), (Difficulty.HARD, 84),
                       (Difficulty.EXPERT, 96)):
        for n in chart.track(diff).notes:
            events.append((n.tick, 1, base + int(n.pad), n.velocity))
            events.append((n.tick + 12, 0, base + int(n.pad), 0))
    events.sort()
    last = 0
    for tick, on, key, vel in events:
        drums.append(mido.Message("note_on" if on else "note_off", note=key, velocity=vel, time=tick - last))
        last = tick
    mf.tracks.append(drums)
    mf.save(path)


def write_everything(chart: Chart, out: Path) -> list[Path]:
    """Song folder + GM MIDI, MusicXML and tab for every level."""
    files = write_song_folder(chart, out / "song")
    for diff in chart.difficulties():
        files.append(write_chart(chart, out / f"{diff.value}.gm.mid", fmt="gm-mid", difficulty=diff))
        files.append(write_chart(chart, out / f"{diff.value}.musicxml", fmt="musicxml", difficulty=diff))
        files.append(write_chart(chart, out / f"{diff.value}.txt", fmt="tab", difficulty=diff))
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    chart = build_song()
    counts = {d.value: len(t.notes) for (_, d), t in chart.tracks.items()}
    print(f"song: 4 min, {len(chart.tempo_map.tempos)} tempo events, notes per level {counts}")
    anchor, write, read = [], [], []
    n_files = 0
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            t0 = time.perf_counter()
            mido_anchor(chart, out / "anchor.mid")
            t1 = time.perf_counter()
            files = write_everything(chart, out)
            t2 = time.perf_counter()
            for f in files:
                if f.suffix != ".ini":
                    read_chart(f)
            t3 = time.perf_counter()
            n_files = len(files)
            anchor.append(t1 - t0)
            write.append(t2 - t1)
            read.append(t3 - t2)
    per_format: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            write_song_folder(chart, Path(tmp) / "song")
            per_format.setdefault("song folder (chart+mid+ini+json)", []).append(time.perf_counter() - t0)
            for fmt in ("gm-mid", "musicxml", "tab"):
                t0 = time.perf_counter()
                write_chart(chart, Path(tmp) / f"x.{fmt}", fmt=fmt)
                per_format.setdefault(f"{fmt}, Expert only", []).append(time.perf_counter() - t0)
    a, w, r = statistics.median(anchor), statistics.median(write), statistics.median(read)
    print(f"anchor: mido writes notes.mid (4 levels)          median {a * 1000:7.1f} ms")
    print(f"backbeat: write all levels, all formats ({n_files} files) median {w * 1000:7.1f} ms  "
          f"({w / a:.1f}x anchor)")
    print(f"backbeat: read every written file back              median {r * 1000:7.1f} ms  "
          f"({r / a:.1f}x anchor)")
    for name, times in per_format.items():
        print(f"  write {name:<36} median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
