"""Beat and downbeat F of decoding variants over the beat network's activations (cached inputs).

Reads the features cached by ``bench/analysis_diagnose.py`` (``cache/acts/<set>/*.npz``),
runs the beat network (activations cached in ``cache/beat_acts/<set>/``, recomputed when
the weights change) and scores each variant with mir_eval (beats ±70 ms; downbeats ±70 ms
on position-1 beats), per set. ``pipeline`` is the shipped :class:`Analyzer` path on the
same cached inputs, for comparison in the same run.

Usage: nice -n 10 .venv/bin/python bench/analysis_beat_model.py [--sets dev-renders,tune-drums,tune-mix]
    [--weights cache/beats_tcn.npz] [--variants pipeline,net] [--per-file]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from analysis_diagnose import ACT_NAMES, SETS, verdict  # noqa: E402


def load_set(set_name: str, weights: list[Path]):  # type: ignore[no-untyped-def]
    """Cached inputs of a set; with several weight files the beat activations are averaged."""
    from backbeat.analysis.beat_model import BeatModel

    folder, _ = SETS[set_name]
    tag = hashlib.sha1(b"".join(w.read_bytes() for w in weights)).hexdigest()[:10]
    out = []
    for flac in sorted(folder.glob("*.flac")):
        src = ROOT / "cache" / "acts" / set_name / (flac.stem + ".npz")
        if not src.exists():
            continue
        z = np.load(src, allow_pickle=False)
        feats = z["features"]
        acts = SimpleNamespace(**{k: z[k] for k in ACT_NAMES if k in z})
        cache = ROOT / "cache" / "beat_acts" / set_name / f"{flac.stem}.{tag}.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as c:
                bacts = SimpleNamespace(beat=c["beat"], downbeat=c["downbeat"])
        else:
            all_acts = [BeatModel.load(w).activations(feats) for w in weights]
            ba = SimpleNamespace(beat=np.mean([a.beat for a in all_acts], axis=0),
                                 downbeat=np.mean([a.downbeat for a in all_acts], axis=0))
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, beat=ba.beat.astype(np.float32), downbeat=ba.downbeat.astype(np.float32))
            bacts = SimpleNamespace(beat=ba.beat, downbeat=ba.downbeat)
        ann = np.loadtxt(flac.with_suffix(".beats"), ndmin=2)
        out.append((flac.stem, feats, acts, bacts, float(z["duration_s"]), ann[:, 0], ann[:, 1].astype(int)))
    return out


def stretch_frames(x: np.ndarray, r: float) -> np.ndarray:
    """Resample frames so the length becomes ``r`` times as long (linear interpolation)."""
    n = len(x)
    m = max(2, round(n * r))
    src = np.minimum(np.arange(m) / r, n - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (src - i0)[:, None]
    return (x[i0] * (1 - w) + x[i1] * w).astype(np.float32)


def tta_acts(feats, bacts, weights_path):  # type: ignore[no-untyped-def]
    from backbeat.analysis.beat_model import BeatModel

    model = BeatModel.load(weights_path)
    beat, down = [np.asarray(bacts.beat)], [np.asarray(bacts.downbeat)]
    for r in (0.9, 1.1):
        a = model.nets[0].forward(stretch_frames(np.asarray(feats, dtype=np.float32), r))
        back = stretch_frames(a, 1 / r)[: len(feats)]
        if len(back) < len(feats):
            back = np.pad(back, ((0, len(feats) - len(back)), (0, 0)))
        beat.append(back[:, 0])
        down.append(back[:, 1])
    return SimpleNamespace(beat=np.mean(beat, axis=0), downbeat=np.mean(down, axis=0))


def variant(name: str, weights_path: Path):  # type: ignore[no-untyped-def]
    from backbeat.analysis import beat_model as bm
    from backbeat.analysis import beats as beats_mod
    from backbeat.analysis.pipeline import Analyzer

    if name.startswith("pipeline"):
        from backbeat.analysis import pipeline as pl
        from backbeat.analysis.beat_model import BeatModel

        # pipeline_old: the drum model's path (the default before 2026-11-24); pipeline:
        # beat_source="beat_model" with these weights; pipeline_vote: the same with the drum model's
        # off-beat vote
        an = Analyzer(beat_source="model" if name == "pipeline_old" else "beat_model")
        if name != "pipeline_old":
            an.beat_model = BeatModel.load(weights_path)
        vote = "vote" in name

        def run(feats, acts, bacts, dur):  # type: ignore[no-untyped-def]
            pl.BEAT_MODEL_OFFBEAT_VOTE, old_vote = vote, pl.BEAT_MODEL_OFFBEAT_VOTE
            try:
                a = an.analyze_activations(feats, acts, duration_s=dur)
            finally:
                pl.BEAT_MODEL_OFFBEAT_VOTE = old_vote
            return (np.array([b.time_s for b in a.beats]), np.array([b.position for b in a.beats]),
                    a.extra["meter"])
        return run

    def run_net(feats, acts, bacts, dur):  # type: ignore[no-untyped-def]
        act = np.asarray(bacts.beat, dtype=np.float64)
        if "sumdrum" in name:  # mean with the drum model's beat output
            act = 0.5 * (act + beats_mod.normalize_activation(np.asarray(acts.beat, dtype=np.float64)))
        if "maxdb" in name:
            act = np.maximum(act, np.asarray(bacts.downbeat, dtype=np.float64))
        kw = {}
        if "lam100" in name:
            kw["transition_lambda"] = 100.0
        if "obs8" in name:
            kw["observation_lambda"] = 8
        if "wide" in name:
            kw["tempo_spread"] = 2.0
        if "flat" in name:
            periods, sal = beats_mod.tempo_salience(act, prior_octaves=1.2)
            kw["tempo_bpm"] = float(60.0 * 100 / periods[int(np.argmax(sal))])
        if "tta" in name:  # average over tempo-stretched copies of the features
            bacts = tta_acts(feats, bacts, weights_path)
            act = np.asarray(bacts.beat, dtype=np.float64)
        track = beats_mod.track_beats(act, **kw)
        b = track.beats_s
        if "offbeat" in name:
            cues = {"beat": acts.beat, "kick": acts.kick, "snare": acts.snare, "downbeat": acts.downbeat}
            if "offbeatN" in name:  # the network's beat and downbeat instead of the drum model's
                cues.update(beat=bacts.beat, downbeat=bacts.downbeat)
            if "offbeatK" in name:  # drum kick and snare only
                cues = {"kick": acts.kick, "snare": acts.snare}
            weights = None
            if "offbeatP" in name:  # the network's beat output as a fifth cue with weight alpha
                alpha = float(name.split("offbeatP")[1].split("_")[0])
                cues["net"] = bacts.beat
                weights = {**dict(zip(beats_mod.OFFBEAT_CUES, beats_mod.OFFBEAT_WEIGHTS, strict=True)),
                           "net": alpha}
            gate = float(name.split("offbeatG")[1].split("_")[0]) if "offbeatG" in name else None
            if gate is None or b.size < 4:
                b = beats_mod.correct_offbeat_cues(b, cues, weights=weights)
            else:  # vote only when the network's own phase preference is weak
                on = bm.beat_synchronous_max(bacts.beat, b[1:-1]).mean()
                off = bm.beat_synchronous_max(bacts.beat, 0.5 * (b[1:] + b[:-1])).mean()
                if (on - off) / max(on + off, 1e-9) < gate:
                    b = beats_mod.correct_offbeat_cues(b, cues, weights=weights)
        b = b[b < dur]
        lengths = {4: 0.0} if "only4" in name else None
        slip = float(name.split("slip")[1].split("_")[0]) if "slip" in name else bm.BAR_SLIP_LOG_COST
        if "p3x" in name:  # prior of the 3-beat bar
            lengths = {4: 0.0, 3: -float(name.split("p3x")[1].split("_")[0])}
        pos, m = bm.bar_positions(b, bacts.downbeat, bar_lengths=lengths, slip_log_cost=slip)
        if "tmpl" in name or "comb" in name:
            from backbeat.analysis import downbeats as db

            if "tmpl" in name:  # the shipped template and meter detection on these beats
                pos, meter = db.assign_positions(b, feats, downbeat_activation=acts.downbeat,
                                                 kick_activation=acts.kick, snare_activation=acts.snare)
                return b, pos, f"{meter.beats_per_bar}/{meter.beat_unit}"
            if m == 4:
                w = float(name.split("comb")[1].split("_")[0] or 1)
                cues = db.template_cues(b, feats, downbeat_activation=acts.downbeat,
                                        kick_activation=acts.kick, snare_activation=acts.snare)
                p = np.clip(bm.beat_synchronous_max(bacts.downbeat, b), 1e-4, 1 - 1e-4)
                ev = db.template_evidence(cues) + w * np.log(p / (1 - p))
                pos = db.decode_positions(ev, 4, slip_cost=db.SLIP_COST)
        return b, pos, f"{m}/4"
    return run_net


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dev-renders,tune-drums,tune-mix")
    ap.add_argument("--weights", type=Path, nargs="+", default=[ROOT / "src" / "backbeat" / "analysis" /
                                                                 "models" / "beats_tcn.npz"],
                    help="one or more weight files (several: activations averaged)")
    ap.add_argument("--variants", default="pipeline,net")
    ap.add_argument("--per-file", action="store_true")
    args = ap.parse_args()
    import mir_eval

    variants = {v: variant(v, args.weights[0]) for v in args.variants.split(",")}
    for set_name in args.sets.split(","):
        data = load_set(set_name, args.weights)
        tuning = SETS[set_name][1]
        print(f"== {set_name}: {len(data)} files ({'tuning' if tuning else 'HELD OUT'})")
        for vname, run in variants.items():
            bf, df, meters, verdicts = [], [], 0, {}
            for stem, feats, acts, bacts, dur, ref_b, ref_p in data:
                est_b, est_p, meter = run(feats, acts, bacts, dur)
                eval_b = est_b[(est_p == 1) | (est_p == 4)] if meter == "6/8" else est_b
                f = mir_eval.beat.f_measure(ref_b, eval_b)
                d = mir_eval.onset.f_measure(ref_b[ref_p == 1], est_b[est_p == 1], window=0.07)[0]
                bf.append(f)
                df.append(d)
                ref_m = int(ref_p.max())
                meters += int(int(meter.split("/")[0]) == ref_m or (ref_m == 2 and meter == "6/8"))
                v = verdict(eval_b, ref_b, f)[0]
                verdicts[v] = verdicts.get(v, 0) + 1
                if args.per_file:
                    print(f"   {vname:14s} {stem[:40]:40s} {meter:>4s} beat F {f:.3f} down F {d:.3f} {v}")
            print(f"  {vname:22s} beat F {np.mean(bf):.3f}  downbeat F {np.mean(df):.3f}  "
                  f"meter {meters}/{len(data)}  {dict(sorted(verdicts.items()))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
