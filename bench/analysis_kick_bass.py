"""Where the drum model's kicks go wrong under the arranged songs' band: soft kicks and lone bass notes.

For each tuning song of ``bench/section_songs.py`` (``cache/sections/tune/mix``)
the band's MIDI is composed again from the song's seed (the same draws as when
it was rendered), and the drum model's kick peaks are counted against the
annotated kicks: F, precision, recall by annotated velocity, the false kicks,
and how many of them fall on a *lone* bass note (one with no annotated kick
within 50 ms), out of how many such notes.

Usage::

    nice -n 10 .venv/bin/python bench/analysis_kick_bass.py [--weights FINALIZED.npz ...]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "training"))

import section_songs as songs  # noqa: E402
from backbeat.analysis.audio import load_audio  # noqa: E402
from backbeat.analysis.drums import MODEL_PATH, DrumModel, pick_peaks  # noqa: E402
from backbeat.analysis.features import log_filterbank  # noqa: E402
from song_band import BASS_PROGRAMS  # noqa: E402

TOL_S = 0.05
VELOCITY_BANDS = ((0, 40), (40, 60), (60, 80), (80, 128))


def band_bass_onsets(index: int) -> np.ndarray:
    """Bass note onsets (s) of tuning song ``index``, composed again from its seed."""
    band = songs.compose_song("tune", index).band
    return np.array(sorted(n.start for inst in band.instruments if inst.program in BASS_PROGRAMS
                           for n in inst.notes))


def annotated_kicks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times s, velocities) of the kicks in ``X.onsets.tsv``."""
    rows = [r for r in csv.DictReader(path.open(), delimiter="\t") if r["class5"] == "KD"]
    t = np.array([float(r["time"]) for r in rows])
    order = np.argsort(t)
    return t[order], np.array([float(r["velocity"]) for r in rows])[order]


def main() -> None:
    """Print the kick counts for each weights file."""
    import mir_eval

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--weights", type=Path, nargs="+", default=[MODEL_PATH])
    args = ap.parse_args()
    files = sorted((songs.OUT / "tune" / "mix").glob("tune*.flac"))
    if not files:
        raise SystemExit("no songs in cache/sections/tune/mix: run bench/section_songs.py first")
    feats = [log_filterbank(load_audio(f).samples) for f in files]
    truth = [annotated_kicks(f.with_suffix(".onsets.tsv")) for f in files]
    bass = [band_bass_onsets(int(f.stem[4:6])) for f in files]
    for w in args.weights:
        model = DrumModel.load(w)
        thr = {i.value: t for i, t in model.thresholds.items()}["kick"]
        hits, vels, n_est, n_fp, fp_bass, n_lone, lone_fired = [], [], 0, 0, 0, 0, 0
        for ft, (ref, vel), bs in zip(feats, truth, bass, strict=True):
            est = pick_peaks(model.activations(ft).kick, threshold=thr)
            pairs = mir_eval.util.match_events(ref, est, TOL_S)
            hit = np.zeros(ref.size, bool)
            hit[[i for i, _ in pairs]] = True
            hits.append(hit)
            vels.append(vel)
            matched = {j for _, j in pairs}
            fps = np.array([e for j, e in enumerate(est) if j not in matched])
            lone = bs[np.min(np.abs(bs[:, None] - ref[None]), axis=1) > TOL_S] if ref.size else bs
            n_est += est.size
            n_fp += fps.size
            n_lone += lone.size
            if fps.size and lone.size:
                fp_bass += int((np.min(np.abs(fps[:, None] - lone[None]), axis=1) < TOL_S).sum())
            if est.size and lone.size:
                lone_fired += int((np.min(np.abs(lone[:, None] - est[None]), axis=1) < TOL_S).sum())
        hit, vel = np.concatenate(hits), np.concatenate(vels)
        p, r = hit.sum() / max(n_est, 1), hit.mean()
        bands = " ".join(f"v{lo}-{hi} {hit[(vel >= lo) & (vel < hi)].mean():.2f}"
                         for lo, hi in VELOCITY_BANDS)
        print(f"{Path(w).name}: threshold {thr:.2f}  kick F {2 * p * r / (p + r):.3f} P {p:.3f} R {r:.3f}"
              f"  recall by velocity: {bands}")
        print(f"  false kicks {n_fp}, of them on a lone bass note {fp_bass}; lone bass notes {n_lone}, "
              f"fired as a kick {lone_fired}")


if __name__ == "__main__":
    main()
