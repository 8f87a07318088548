"""How often the compound-meter logic fires on human 4/4, 3/4 and 6/8 performances.

The hemiola check (``beats.in_compound_pairs``) and the 6/8 pulse
(``downbeats.pulse_evidence``) were fixed on the 258 files of the tuning sets, where
only generated grooves are compound. This script measures them on a larger
population of human performances: every Groove MIDI *train*-split groove of beat
type and at least 20 s (262 in 4/4, four in 3/4, four in 6/8; the beat network was
trained on most of them, so its tracking is easier here than on new songs), a 30 s
excerpt from the first downbeat, drum-only with a training kit and under a
generated band with another, written once to ``cache/meter_population/{drums,mix}``.

Each file is analysed twice: as shipped, and with both parts of the compound logic
off. Printed per time signature and version: files, the meters reported, beat F and
downbeat F (6/8 beat F on positions 1 and 4, as in ``bench/analysis.py``), and the
files whose meter changed between the two.

Usage: nice -n 10 .venv/bin/python bench/analysis_meter_population.py [--render-only]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from build_eval_set import write_index, write_set_item  # noqa: E402
from kits import CACHE, TRAIN_KITS  # noqa: E402
from render import GMD_DIR, crop, load_groove, render_drums  # noqa: E402

OUT = CACHE / "meter_population"
#: Kits drawn in turn (AVL Black Pearl left out, as in the tuning sets).
KITS = tuple(k for k in TRAIN_KITS if k != "avl_black_pearl")


def performances() -> list[tuple[str, str, Path]]:
    """(name, time signature, MIDI path) of every train-split beat groove of at least 20 s."""
    with (GMD_DIR / "info.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train" and r["beat_type"] == "beat"
                and float(r["duration"]) >= 20.0 and r["time_signature"] in ("4-4", "3-4", "6-8")]
    rows.sort(key=lambda r: r["id"])
    return [(r["id"].replace("/", "__"), r["time_signature"], GMD_DIR / r["midi_filename"]) for r in rows]


def render() -> None:
    """Write the drum-only and mixed excerpts (skipped if the index exists)."""
    if (OUT / "index.csv").exists():
        return
    index = []
    for i, (name, _, path) in enumerate(performances()):
        full = load_groove(path, name=name)
        downs = full.beats_s[full.positions == 1]
        start = float(downs[0]) if downs.size else 0.0
        g = crop(full, start, min(30.0, full.duration_s - start))
        if len(g.events) < 40:
            continue
        rng = np.random.default_rng(70000 + i)
        for sub, kit in (("drums", KITS[i % len(KITS)]), ("mix", KITS[(i + 5) % len(KITS)])):
            index.append(write_set_item(OUT, sub, name, render_drums(g, kit, rng), g, kit, rng))
    write_index(OUT, index)


def evaluate(compound: bool) -> dict[tuple[str, str, str], tuple[str, float, float]]:
    """(sub, time signature, name) -> (meter, beat F, downbeat F) with the compound logic on or off."""
    import mir_eval

    from backbeat.analysis import beats as beats_mod
    from backbeat.analysis import downbeats as downbeats_mod
    from backbeat.analysis.pipeline import Analyzer

    signature = {name: ts for name, ts, _ in performances()}
    analyzer = Analyzer()
    out = {}
    patches = [] if compound else [
        mock.patch.object(beats_mod, "in_compound_pairs", lambda *a, **k: False),
        mock.patch.object(downbeats_mod, "pulse_evidence", lambda b, *a, **k: np.zeros(len(b)))]
    for p in patches:
        p.start()
    try:
        for sub in ("drums", "mix"):
            for flac in sorted((OUT / sub).glob("*.flac")):
                a = analyzer.analyze(flac)
                ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
                beats = np.array([b.time_s for b in a.beats])
                pos = np.array([b.position for b in a.beats])
                meter = a.extra.get("meter", "4/4")
                pulse = beats[(pos == 1) | (pos == 4)] if meter == "6/8" else beats
                beat_f = mir_eval.beat.f_measure(ann[:, 0], pulse)
                down_f = mir_eval.onset.f_measure(ann[ann[:, 1] == 1, 0], beats[pos == 1], window=0.07)[0]
                out[(sub, signature[flac.stem], flac.stem)] = (meter, float(beat_f), float(down_f))
    finally:
        for p in patches:
            p.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    render()
    if args.render_only:
        return
    results = {version: evaluate(version == "shipped") for version in ("shipped", "without")}
    keys = sorted(results["shipped"])
    for sub in ("drums", "mix"):
        for ts in ("4-4", "3-4", "6-8"):
            group = [k for k in keys if k[0] == sub and k[1] == ts]
            if not group:
                continue
            for version, res in results.items():
                meters = Counter(res[k][0] for k in group)
                beat_f = np.mean([res[k][1] for k in group])
                down_f = np.mean([res[k][2] for k in group])
                print(f"{sub:5s} {ts} {version:8s} {len(group):3d} files  meters {dict(meters)}  "
                      f"beat F {beat_f:.3f}  downbeat F {down_f:.3f}")
    changed = [k for k in keys if results["shipped"][k][0] != results["without"][k][0]]
    print(f"meter changed by the compound logic: {len(changed)} of {len(keys)} files")
    for k in changed:
        (m1, b1, d1), (m0, b0, d0) = results["shipped"][k], results["without"][k]
        print(f"  {k[0]:5s} {k[1]} {k[2]:36s} {m0} -> {m1}  beat F {b0:.3f} -> {b1:.3f}  "
              f"downbeat F {d0:.3f} -> {d1:.3f}")


if __name__ == "__main__":
    main()
