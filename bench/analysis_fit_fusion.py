"""Fit and check the fused bar-phase decision of the default beat path (tuning sets only).

On the beats tracked from the beat network's output, each beat gets two downbeat
log-odds: the drum cues' 4/4 bar template (``downbeats.template_evidence``, drum
model's kick, snare and downbeat outputs plus spectral cues) and the beat
network's downbeat output (``downbeats.log_odds``). A logistic regression of the
per-beat downbeat label (annotated position 1 within ±70 ms) on the two gives the
network's weight relative to the template (``downbeats.NET_DOWNBEAT_WEIGHT``);
the grid then prints mean downbeat F per tuning set for weights times phase-slip
costs (``downbeats.FUSED_SLIP_COST``) through ``downbeats.assign_positions``.

The bar-start cues (``downbeats.bar_start_cues``: the drum model's cymbal output
on the beat unless its ride output says ride, tom notes between the previous beat
and this one, both as their bar novelty, ``downbeats.bar_novelty`` at 4/4, and the
kick a sixteenth after the beat) get their weights in evidence units
(``downbeats.BAR_START_WEIGHTS``) from a second logistic regression, of the label on
the fused evidence (template plus the network at its weight) and the three cues.
A second grid prints downbeat F for the crash/fill weights and the kick weight
scaled (``--crash-fill-scales``, ``--kick-scales``), the rest at the chosen values;
``--folds`` also prints downbeat F with the three weights fitted without the song
(5 folds by Groove MIDI performance, renders of one performance kept together).

Inputs are the features and drum-model activations cached by
``bench/analysis_diagnose.py`` (``cache/acts/<set>/``); the beat network runs on them.
Only tuning sets are read (``--sets``; by default dev-renders, tune-drums, tune-mix and, since
2026-11-24, the first held-out set eval-drums / eval-mix; the held-out set is now eval2).

Usage: nice -n 10 .venv/bin/python bench/analysis_fit_fusion.py [--weights 0,0.25,0.6,1] [--slips 5,12,20]
       [--crash-fill-scales 0,1,2,4] [--kick-scales 0,1,2,4] [--folds]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from analysis_diagnose import SETS, cached_inputs  # noqa: E402

TUNING_SETS = ("dev-renders", "tune-drums", "tune-mix", "eval-drums", "eval-mix")


def load_items(set_name: str) -> list[dict[str, Any]]:
    """Per file: beats tracked from the beat network, features, drum activations, annotations."""
    from backbeat.analysis import beats as beats_mod
    from backbeat.analysis import downbeats as db
    from backbeat.analysis.beat_model import BeatModel
    from backbeat.analysis.pipeline import BEAT_NET_PRIOR_OCTAVES, Analyzer

    analyzer = Analyzer(beat_source="model")
    net = BeatModel.load()
    folder, tuning = SETS[set_name]
    if not tuning:
        raise SystemExit(f"{set_name} is not a tuning set")
    items = []
    for flac in sorted(folder.glob("*.flac")):
        feats, acts, dur = cached_inputs(set_name, flac, analyzer)
        bacts = net.activations(feats)
        b = beats_mod.track_beats(bacts.beat, prior_octaves=BEAT_NET_PRIOR_OCTAVES).beats_s
        b = b[b < dur]
        ride = analyzer.model.activations(feats).ride  # not in the activation cache
        bar_start = db.bar_start_cues(b, acts.cymbal, acts.tom, acts.kick, ride_activation=ride)
        ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
        items.append({"beats": b, "feats": feats, "acts": acts, "down": bacts.downbeat,
                      "bar_start": bar_start, "song": flac.stem.split("__c")[0],  # renders of one performance
                      "ref_b": ann[:, 0], "ref_p": ann[:, 1].astype(int)})
    return items


def two_log_odds(it: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Template evidence and the network's (unweighted) downbeat log-odds of each beat."""
    from backbeat.analysis import downbeats as db

    a = it["acts"]
    cues = db.template_cues(it["beats"], it["feats"], downbeat_activation=a.downbeat,
                            kick_activation=a.kick, snare_activation=a.snare)
    return db.template_evidence(cues), db.network_downbeat_evidence(it["beats"], it["down"], weight=1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="0,0.25,0.375,0.5,0.6,0.75,1")
    ap.add_argument("--slips", default="5,8,12,20")
    ap.add_argument("--crash-fill-scales", default="0,0.5,1,2,3,4,5")
    ap.add_argument("--kick-scales", default="0,0.5,1,1.5,2")
    ap.add_argument("--folds", action="store_true")
    ap.add_argument("--sets", default=",".join(TUNING_SETS), help="comma list of tuning sets")
    ap.add_argument("--net-weight", type=float, default=None,
                    help="network weight of the bar-start grid (default downbeats.NET_DOWNBEAT_WEIGHT)")
    ap.add_argument("--slip", type=float, default=None,
                    help="slip cost of the bar-start grid (default downbeats.FUSED_SLIP_COST)")
    args = ap.parse_args()
    sets = tuple(args.sets.split(","))
    import mir_eval
    from sklearn.linear_model import LogisticRegression

    from backbeat.analysis import downbeats as db

    data = {s: load_items(s) for s in sets}
    xs, ys, cfs, songs = [], [], [], []
    for items in data.values():
        for it in items:
            b, ref_b = it["beats"], it["ref_b"]
            if b.size == 0:
                continue
            j = np.argmin(np.abs(b[:, None] - ref_b[None, :]), axis=1)
            near = np.abs(ref_b[j] - b) < 0.07
            tmpl, net = two_log_odds(it)
            xs.append(np.stack([tmpl[near], net[near]], axis=1))
            c = it["bar_start"]
            cfs.append(np.concatenate([db.bar_novelty(c[:, :2], 4), c[:, 2:]], axis=1)[near])
            songs.append(np.full(int(near.sum()), it["song"]))
            ys.append(it["ref_p"][j[near]] == 1)
    lr = LogisticRegression(C=1.0).fit(np.concatenate(xs), np.concatenate(ys))
    w_t, w_n = lr.coef_[0]
    print(f"logistic fit: template {w_t:.3f}, network {w_n:.3f}, intercept {lr.intercept_[0]:.3f}; "
          f"network / template = {w_n / w_t:.3f}")
    x, y, cf, song = np.concatenate(xs), np.concatenate(ys), np.concatenate(cfs), np.concatenate(songs)
    net_w = db.NET_DOWNBEAT_WEIGHT if args.net_weight is None else args.net_weight
    slip_c = db.FUSED_SLIP_COST if args.slip is None else args.slip
    fused = x[:, 0] + net_w * x[:, 1]

    def fit_bar_start(rows: np.ndarray) -> np.ndarray:
        c = LogisticRegression(C=1.0).fit(np.column_stack([fused[rows], cf[rows]]), y[rows]).coef_[0]
        return np.asarray(c[1:] / c[0])

    fitted = fit_bar_start(np.ones(y.size, dtype=bool))
    print("logistic fit on the fused evidence and the bar-start cues: "
          + ", ".join(f"{name} {v:.3f}" for name, v in zip(db.BAR_START_CUE_NAMES, fitted, strict=True))
          + " (evidence units)")

    def downbeat_f(items: list[dict[str, Any]], weight: float, slip: float,
                   bar_start_weights: np.ndarray | dict[str, np.ndarray]) -> float:
        fs = []
        for it in items:
            a = it["acts"]
            w_start = (bar_start_weights[it["song"]] if isinstance(bar_start_weights, dict)
                       else bar_start_weights)
            # Other weights than BAR_START_WEIGHTS through scaled cues (novelty is linear for scales >= 0).
            ratio = w_start / db.BAR_START_WEIGHTS
            assert np.all(ratio[:2] >= 0), "crash/fill weights changed sign"
            extra = db.network_downbeat_evidence(it["beats"], it["down"], weight=weight)
            pos, _ = db.assign_positions(it["beats"], it["feats"], downbeat_activation=a.downbeat,
                                         kick_activation=a.kick, snare_activation=a.snare,
                                         extra_evidence=extra, bar_start=it["bar_start"] * ratio,
                                         slip_cost=slip)
            fs.append(mir_eval.onset.f_measure(it["ref_b"][it["ref_p"] == 1], it["beats"][pos == 1],
                                               window=0.07)[0])
        return float(np.mean(fs))

    print("downbeat F per tuning set (" + ", ".join(sets) + "), without the bar-start cues")
    for w in (float(v) for v in args.weights.split(",")):
        for slip in (float(v) for v in args.slips.split(",")):
            row = [downbeat_f(items, w, slip, np.zeros(3)) for items in data.values()]
            print(f"  weight {w:5.3f} slip {slip:4.1f}: " + "  ".join(f"{v:.3f}" for v in row), flush=True)
    print(f"downbeat F with the bar-start cues, network weight {net_w}, "
          f"slip {slip_c}: crash/fill weights and kick weight times the scales")
    chosen = db.BAR_START_WEIGHTS
    for s_cf in (float(v) for v in args.crash_fill_scales.split(",")):
        for s_k in (float(v) for v in args.kick_scales.split(",")):
            w_start = chosen * np.array([s_cf, s_cf, s_k])
            row = [downbeat_f(items, net_w, slip_c, w_start) for items in data.values()]
            print(f"  crash/fill x{s_cf:4.2f} kick x{s_k:4.2f}: " + "  ".join(f"{v:.3f}" for v in row),
                  flush=True)
    if args.folds:
        names = sorted(set(song.tolist()))
        order = np.random.default_rng(0).permutation(len(names))
        fold_of = {names[i]: k % 5 for k, i in enumerate(order)}
        per_fold = [fit_bar_start(np.array([fold_of[s] != k for s in song])) for k in range(5)]
        held = {s: per_fold[fold_of[s]] for s in names}
        row = [downbeat_f(items, net_w, slip_c, held) for items in data.values()]
        print("  weights fitted without the song (5 folds): " + "  ".join(f"{v:.3f}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
