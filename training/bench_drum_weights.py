"""Run bench/analysis.py with other drum-model weights in place of the shipped file.

Compares drum weights on the same code in one session without touching
``src/backbeat/analysis/models/drums_tcn.npz``: the module-level
``backbeat.analysis.drums.MODEL_PATH`` is pointed at ``--weights`` before the
benchmark starts (the weights need ``thresholds``, i.e. the output of
``finalize.py --out``).

Usage::

    nice -n 19 .venv/bin/python training/bench_drum_weights.py --weights cache/final.npz -- \\
        --beat-sources auto --no-librosa --sets dev-renders,tune-drums,tune-mix
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    """Parse ``--weights``, patch the drum model path and run the benchmark with the remaining arguments."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, required=True)
    args, rest = ap.parse_known_args()
    import backbeat.analysis.drums as drums

    drums.MODEL_PATH = args.weights.resolve()
    print(f"drum weights: {drums.MODEL_PATH}", flush=True)
    sys.argv = [str(REPO / "bench" / "analysis.py"), *[a for a in rest if a != "--"]]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
