"""Run bench/analysis.py with other drum-model (or beat-network) weights in place of the shipped files.

Compares weights on the same code in one session without touching
``src/backbeat/analysis/models/``: the module-level
``backbeat.analysis.drums.MODEL_PATH`` is pointed at ``--weights`` (drum weights need
``thresholds``, i.e. the output of ``finalize.py --out``) and
``backbeat.analysis.beat_model.BEAT_MODEL_PATHS`` at ``--beat-weights`` (one or more exports of
``train_beats.py``, whose outputs are averaged) before the benchmark starts.

Usage::

    nice -n 19 .venv/bin/python training/bench_drum_weights.py --weights cache/final.npz -- \\
        --beat-sources auto --no-librosa --sets dev-renders,tune-drums,tune-mix
    nice -n 19 .venv/bin/python training/bench_drum_weights.py \\
        --beat-weights cache/beats_tcn_meter_last.npz \\
        -- --beat-sources auto --no-librosa --sets dev-renders
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    """Parse the weights options, patch the model paths and run the benchmark with the remaining arguments."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=None, help="drum-model weights")
    ap.add_argument("--beat-weights", type=Path, nargs="+", default=None,
                    help="beat-network weights (several: their outputs are averaged)")
    args, rest = ap.parse_known_args()
    if args.weights is None and args.beat_weights is None:
        ap.error("give --weights and/or --beat-weights")
    import backbeat.analysis.beat_model as beat_model
    import backbeat.analysis.drums as drums

    if args.weights is not None:
        drums.MODEL_PATH = args.weights.resolve()
        print(f"drum weights: {drums.MODEL_PATH}", flush=True)
    if args.beat_weights is not None:
        beat_model.BEAT_MODEL_PATHS = tuple(p.resolve() for p in args.beat_weights)
        print("beat-network weights: " + ", ".join(map(str, beat_model.BEAT_MODEL_PATHS)), flush=True)
    sys.argv = [str(REPO / "bench" / "analysis.py"), *[a for a in rest if a != "--"]]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
