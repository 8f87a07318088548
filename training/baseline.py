"""Classical DSP baseline for drum transcription (no learning): band-limited spectral flux + peak picking.

Kick, snare, hi-hat, toms and cymbals each get the positive flux of the log
filterbank in a frequency band, normalised by a moving median/percentile
(adaptive threshold), then the same peak picker as the model. Per-class
thresholds are tuned on the training-side tuning items (``--tune``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import percentile_filter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from backbeat.analysis.drums import pick_peaks  # noqa: E402
from backbeat.analysis.features import N_FFT, SR, _filterbank  # noqa: E402

CLASS5 = ("KD", "SD", "HH", "TT", "CY")
BANDS_HZ = {"KD": (30, 120), "SD": (180, 3500), "HH": (7000, 16000), "TT": (80, 400), "CY": (4000, 12000)}
#: Tuned by ``python training/baseline.py --tune`` on the tuning grooves.
THRESHOLDS = {"KD": 0.65, "SD": 0.4, "HH": 0.4, "TT": 0.7, "CY": 0.45}

_centres = (np.arange(N_FFT // 2 + 1) * SR / N_FFT) @ _filterbank(SR, N_FFT)


def band_activations(feats: np.ndarray) -> dict[str, np.ndarray]:
    """Adaptive-normalised band flux in [0, 1] per class5."""
    diff = np.zeros_like(feats)
    diff[1:] = np.maximum(feats[1:] - feats[:-1], 0)
    out = {}
    for c, (lo, hi) in BANDS_HZ.items():
        sel = (_centres >= lo) & (_centres <= hi)
        flux = diff[:, sel].mean(axis=1)
        ref = percentile_filter(flux, 95, size=301) + 1e-4
        out[c] = np.clip(flux / ref, 0, 2) / 2
    return out


def baseline_transcriber(thresholds: dict[str, float] | None = None):
    thr = thresholds or THRESHOLDS

    def run(feats: np.ndarray) -> dict[str, np.ndarray]:
        acts = band_activations(feats)
        return {c: pick_peaks(acts[c], threshold=thr[c], min_gap_s=0.04) for c in CLASS5}
    return run


def tune() -> None:
    from evaluate import f_from_counts, match_counts
    items = []
    for path in sorted((REPO / "cache" / "dataset").glob("shard_*.npz"))[:3]:
        z = np.load(path, allow_pickle=False)
        offs = z["offsets"]
        c9to5 = np.array([0, 1, 2, 2, 3, 3, 3, 4, 4])
        for i in np.nonzero(z["item_tune"])[0]:
            sel = z["ev_item"] == i
            cls5 = c9to5[z["ev_class9"][sel]]
            ref = {c: np.sort(z["ev_time_s"][sel][cls5 == k]) for k, c in enumerate(CLASS5)}
            items.append((band_activations(z["feats"][offs[i]:offs[i + 1]].astype(np.float32)), ref))
    for c in CLASS5:
        best = (0.0, 0.0)
        for t in np.arange(0.1, 0.95, 0.05):
            cnt = np.zeros(3, dtype=int)
            for acts, ref in items:
                cnt += match_counts(ref[c], pick_peaks(acts[c], threshold=t, min_gap_s=0.04))
            f = f_from_counts(*map(int, cnt))
            best = max(best, (f, round(float(t), 2)))
        print(c, "F", round(best[0], 3), "threshold", best[1])


if __name__ == "__main__":
    if "--tune" in sys.argv:
        tune()
