"""``backbeat analyze FILE... -o DIR``: analyse songs to JSON (one process, model loaded once)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO


def register(sub: Any) -> None:
    """Add the ``analyze`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "analyze", help="analyse audio files: tempo map, beats, drum hits, sections (JSON)",
        description="Analyse audio files and write DIR/<stem>.json for each "
                    "(schema: docs/ANALYSIS_SCHEMA.md). "
                    "Exit status 1 if any file failed; the others are still analysed.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, m4a/aac)")
    p.add_argument("-o", "--out-dir", required=True, metavar="DIR", help="output folder")
    p.add_argument("--skip-existing", action="store_true", help="skip files whose JSON already exists")
    p.add_argument("--beats-tsv", action="store_true",
                   help="also write DIR/<stem>.beats (time<TAB>beat_in_bar)")
    p.add_argument("--max-duration", type=float, default=20 * 60.0, metavar="SECONDS",
                   help="longest audio accepted (default 1200 s); 0 for no limit")
    p.add_argument("--beat-source", choices=("auto", "beat_model", "dsp", "model", "mean"), default="auto",
                   help="beats from: the long-context beat network with a bar phase fused from both "
                        "networks and the drum cues (beat_model), the drum model's beat output (model), "
                        "DSP onset flux (dsp), their mean (mean), or auto (default: beat_model when the "
                        "beat network loads, else model, else dsp)")
    p.add_argument("--tempo-hint", type=float, default=None, metavar="BPM",
                   help="the song's tempo if you know it, roughly (55-215 BPM): picks the beat level, "
                        "e.g. 170 rather than 85 for a fast song read at half speed; beats and tempo "
                        "changes still come from the audio; in quarter notes a minute, as charts count "
                        "(a 6/8 at 60 dotted quarters is 90)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


class _Progress:
    """A one-line progress bar on a terminal (stderr); silent when not a TTY."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty()

    def show(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * done / max(1, self.total))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {label[:50]:<50}")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    """Analyse ``args.files``; returns 0 if all succeeded (or were skipped), else 1."""
    from backbeat.services.analyze import analyze_batch

    max_duration = None if args.max_duration is not None and args.max_duration <= 0 else args.max_duration
    progress = _Progress(len(args.files), sys.stderr)
    progress.show(0, "loading")

    def on_progress(done: int, total: int, res: Any) -> None:
        progress.clear()
        if res.status == "failed":
            print(f"backbeat: error: {res.error}", file=sys.stderr)
        elif not args.quiet:
            if res.status == "skipped":
                print(f"skipped {res.path} (output exists)")
            else:
                speed = res.duration_s / res.seconds if res.seconds > 0 else 0.0
                print(f"{res.path} -> {res.outputs[0]}  [{res.summary}, {res.duration_s:.1f} s audio, "
                      f"{speed:.0f}x real time]")
        progress.show(done, str(res.path.name))

    def on_start(index: int, total: int, path: Any) -> None:
        progress.show(index, f"analysing {path.name}")

    results = analyze_batch(args.files, args.out_dir, skip_existing=args.skip_existing,
                            beats_tsv=args.beats_tsv, max_duration_s=max_duration,
                            beat_source=args.beat_source, tempo_hint_bpm=args.tempo_hint,
                            on_progress=on_progress, on_start=on_start)
    progress.clear()
    failed = sum(1 for r in results if not r.ok)
    if failed:
        print(f"backbeat: {failed} of {len(results)} file(s) failed", file=sys.stderr)
        return 1
    return 0
