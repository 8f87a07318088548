"""Write a set of real songs' drum parts: community drum charts played by a sampler.

The Groove MIDI sets are improvised grooves against a click. Songs are not:
their drum parts have fills, crashes at section starts, breaks and odd bars,
and a band that plays without a click leaves a tempo map with hundreds of
small changes. The community charts in ``../shared/data/charts`` are drum
parts of real songs, charted by people against the recording, with that tempo
map. This script plays each chart's Expert drum part (read with Backbeat's own
chart reader, written as General MIDI by ``gm_midi.chart_to_gm_midi``) with the
held-out kits and, for the mix, under a generated band, so beats, bars and hits
are known exactly:

* up to two 45 s excerpts per song, each from a downbeat at least 20 % and
  60 % into the song, where the drums never stop for more than 2.5 s (the
  beats of a silent stretch are unknowable from audio), left out when its
  annotated beats are faster than 240 BPM (the eighth-note beats that
  charts give 5/8 or 7/8 bars);
* kits rotate over the held-out kits (``kits.EVAL_KITS``), fluidsynth itself
  for the SoundFont kit as in ``cache/eval2``;
* the charts are only read here, never copied (their licences: the charts'
  README); the renders stay in ``cache/``.

Hits are the chart's notes, so they are quantised to its grid and their
velocities come from its accents and ghost marks; the timing is a
programmed part's, not a drummer's. Charts without an Expert drum part, the
feature-check and fixture charts are left out.

HELD OUT: made on 2026-11-24 (session 7) for figures only; nothing is chosen by it.

Usage: nice -n 10 .venv/bin/python bench/analysis_chart_set.py  # -> cache/chart_set/{drums,mix}
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))

from backbeat.formats.chart_io import read_chart  # noqa: E402
from backbeat.formats.gm_midi import chart_to_gm_midi  # noqa: E402
from build_eval_set import render_sf2_real, write_index, write_set_item  # noqa: E402
from kits import CACHE, EVAL_KITS, SF2_KITS  # noqa: E402
from render import Groove, crop, load_groove, render_drums  # noqa: E402

CHARTS = ROOT.parent / "shared" / "data" / "charts"
#: Song charts only: the others are feature checks and test fixtures, not drum parts of songs.
SONG_CHARTS = ("btbam-the-coma-machine", "ff5-replace-me", "kevin-macleod-exhilarate", "northlane-4d",
               "onyx-dt-erotomania", "onyx-lte-914", "onyx-vadrum-summer", "pony-canyon-boxxle",
               "sch-reduction-16", "thps2-skate-street", "vsnares-vokeheads")
EXCERPT_S = 45.0
MAX_GAP_S = 2.5
STARTS = (0.2, 0.6)
#: Charts count the beats of 5/8, 7/8 ... bars in eighth notes, a beat level no tracker (nor
#: Backbeat's 55-215 BPM range) reports; such excerpts are left out.
MAX_BEAT_BPM = 240.0


def chart_groove(folder: Path) -> Groove:
    """The Expert drum part of a chart folder as a performance with its beats and bars."""
    chart = read_chart(folder)
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "drums.mid"
        mid.write_bytes(chart_to_gm_midi(chart))
        return load_groove(mid, name=folder.name)


def excerpts(g: Groove) -> list[tuple[str, Groove]]:
    """Up to one excerpt per entry of :data:`STARTS`: from the first fitting downbeat after it."""
    times = np.array([e[0] for e in g.events])
    downs = g.beats_s[g.positions == 1]
    out: list[tuple[str, Groove]] = []
    taken_until = -1.0
    for k, frac in enumerate(STARTS):
        for start in downs[downs >= max(frac * g.duration_s, taken_until)]:
            end = start + EXCERPT_S
            if end > g.duration_s:
                break
            inside = times[(times >= start) & (times < end)]
            gaps = np.diff(np.concatenate([[start], inside, [end]]))
            if inside.size < 60 or gaps.max() > MAX_GAP_S:
                continue
            ex = crop(g, float(start), EXCERPT_S)
            ex = replace(ex, bpm=60.0 / float(np.median(np.diff(ex.beats_s))))
            if ex.bpm <= MAX_BEAT_BPM:
                out.append((f"{g.name}__x{k}", ex))
                taken_until = end
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CACHE / "chart_set")
    ap.add_argument("--seed", type=int, default=9000)
    args = ap.parse_args()
    index = []
    i = 0
    for chart_name in SONG_CHARTS:
        for name, g in excerpts(chart_groove(CHARTS / chart_name)):
            rng = np.random.default_rng(args.seed + i)
            kits = EVAL_KITS[i % len(EVAL_KITS)], EVAL_KITS[(i + 1) % len(EVAL_KITS)]
            for sub, kit in zip(("drums", "mix"), kits, strict=True):
                d = render_sf2_real(g, kit) if kit in SF2_KITS else render_drums(g, kit, rng)
                index.append(write_set_item(args.out, sub, name, d, g, kit, rng))
            i += 1
    write_index(args.out, index)


if __name__ == "__main__":
    main()
