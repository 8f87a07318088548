"""Benchmark of the section finder: boundaries and labels against known song forms, beside librosa.

Sets (made by ``bench/section_songs.py``; ``X.flac`` with ``X.sections.json``):

* ``tune-mix``, ``tune-drums``: cache/sections/tune/{mix,drums}. TUNING DATA.
* ``eval-mix``, ``eval-drums``: cache/sections/eval/{mix,drums}. Held out: report only.
* ``demo``: the packaged demo song and its truth.
* ``real-songs``: ../shared/data/real-songs, no truth: the sections are printed.

Per set (mean over files) it prints, with ``mir_eval.segment``: boundary hit
rate F at ±0.5 s and ±3 s (song start and end not counted), pairwise frame
label F, normalised conditional entropy F (NCE), and the share of time whose
label *name* equals the truth's (``name``); the number of sections found per
song against the truth's; and the same boundary and label figures for an
anchor: ``librosa.segment.agglomerative`` on beat-synchronous chroma + MFCC
given the true number of sections, its segments clustered into the true number
of labels (both oracle counts, an advantage to the anchor).

The analysis (features, drum activations, beats, bar positions) of each file
is cached in ``cache/sections/_analysis/`` (keyed by the file's size and
mtime), so re-runs only time and score the section step (``--fresh`` redoes
the analysis). The speed line gives the section step's cost in ms per minute
of audio and, for files analysed in this run, the whole analysis's × real time.

Usage::

    chrt --idle 0 nice -n 19 .venv/bin/python bench/sections.py [--sets tune-mix,tune-drums,...]
        [--per-file] [--no-anchor] [--fresh]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mir_eval
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "cache" / "sections"
SETS = {
    "tune-mix": CACHE / "tune" / "mix",
    "tune-drums": CACHE / "tune" / "drums",
    "eval-mix": CACHE / "eval" / "mix",
    "eval-drums": CACHE / "eval" / "drums",
    "demo": None,
    "real-songs": SHARED / "real-songs",
}
ACT_FIELDS = ("kick", "snare", "hihat", "tom", "cymbal", "hihat_open", "tom_high", "tom_mid", "tom_floor",
              "ride", "beat", "downbeat")


@dataclass
class Item:
    """One file: its path, truth sections (or None) and cached analysis inputs."""

    name: str
    path: Path
    truth: list[tuple[float, float, str]] | None
    cached: dict[str, Any] = field(default_factory=dict)


def files_of(set_name: str) -> list[Item]:
    """The files of a set with their truth."""
    if set_name == "demo":
        from backbeat.services.demo import demo_files, load_truth

        truth = load_truth()
        with demo_files() as files:
            path = files.audio
        return [Item("demo", path, [(s.start_s, s.end_s, s.label) for s in truth.sections])]
    folder = SETS[set_name]
    assert folder is not None
    if set_name == "real-songs":
        return [Item(p.stem, p, None) for p in sorted(folder.glob("*.ogg"))]
    out = []
    for p in sorted(folder.glob("*.flac")):
        data = json.loads(p.with_suffix(".sections.json").read_text())
        out.append(Item(p.stem, p, [(s["start_s"], s["end_s"], s["label"]) for s in data["sections"]]))
    return out


def analysis_inputs(analyzer: Any, item: Item, set_name: str, *, fresh: bool) -> tuple[dict[str, Any], float]:
    """Features, activations, beats and positions of a file (cached); seconds spent (0 if cached)."""
    from backbeat.analysis.audio import load_audio
    from backbeat.analysis.features import SR
    from backbeat.analysis.pipeline import chunked_log_filterbank

    st = item.path.stat()
    cache = CACHE / "_analysis" / set_name / f"{item.name}.npz"
    key = f"{st.st_size}:{int(st.st_mtime)}"
    if cache.exists() and not fresh:
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                return {k: z[k] for k in z.files}, 0.0
    t0 = time.perf_counter()
    sig = load_audio(item.path, sr=SR, max_duration_s=None)
    feats = chunked_log_filterbank(sig.samples, sr=SR)
    acts = analyzer.drum_activations(feats)
    a = analyzer.analyze_activations(feats, acts, duration_s=sig.duration_s, source=item.path.name)
    spent = time.perf_counter() - t0
    out: dict[str, Any] = {
        "key": np.array(key), "features": feats.astype(np.float32), "duration_s": np.array(sig.duration_s),
        "beats_s": np.array([b.time_s for b in a.beats]),
        "positions": np.array([b.position for b in a.beats]),
    }
    if acts is not None:
        for k in ACT_FIELDS:
            v = getattr(acts, k, None)
            if v is not None:
                out[f"act_{k}"] = np.asarray(v, dtype=np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **out)
    return out, spent


def run_sections(inputs: dict[str, Any]) -> tuple[list[tuple[float, float, str]], float]:
    """Backbeat's sections on cached inputs (as the pipeline calls it); and the seconds it took."""
    from backbeat.analysis import sections as sections_mod

    acts = None
    if "act_kick" in inputs:
        acts = SimpleNamespace(**{k: inputs.get(f"act_{k}") for k in ACT_FIELDS})
    t0 = time.perf_counter()
    secs = sections_mod.find_sections(inputs["features"], inputs["beats_s"], inputs["positions"],
                                      duration_s=float(inputs["duration_s"]), activations=acts)
    spent = time.perf_counter() - t0
    return [(s.start_s, s.end_s, s.label) for s in secs], spent


def anchor_sections(path: Path, n_segments: int, n_labels: int) -> list[tuple[float, float, str]]:
    """librosa agglomerative segmentation (beat-synchronous chroma + MFCC), oracle counts."""
    import librosa
    from scipy.cluster.hierarchy import fcluster, linkage

    y, sr = librosa.load(str(path), sr=22050, mono=True)
    hop = 512
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, hop_length=hop)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, hop_length=hop, n_mfcc=13)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop)
    feats = np.vstack([librosa.util.normalize(chroma, axis=0), mfcc / (np.abs(mfcc).max() + 1e-9)])
    if len(beats) > n_segments + 1:
        feats = librosa.util.sync(feats, beats)
        frame_times = librosa.frames_to_time(np.concatenate([[0], beats]), sr=sr, hop_length=hop)
    else:
        frame_times = librosa.frames_to_time(np.arange(feats.shape[1]), sr=sr, hop_length=hop)
    k = max(1, min(n_segments, feats.shape[1]))
    bounds = librosa.segment.agglomerative(feats, k)
    times = sorted({0.0, *(float(frame_times[min(b, len(frame_times) - 1)]) for b in bounds[1:])})
    dur = len(y) / sr
    times = [t for t in times if t < dur]
    edges = [*times, dur]
    rows = []
    for a, b in itertools.pairwise(edges):
        i, j = int(np.searchsorted(frame_times, a)), int(np.searchsorted(frame_times, b))
        i = min(i, feats.shape[1] - 1)
        rows.append(feats[:, i:max(i + 1, j)].mean(axis=1))
    means = np.stack(rows)
    if len(means) > 1 and n_labels > 1:
        labels = fcluster(linkage(means, "average", metric="cosine"), t=min(n_labels, len(means)),
                          criterion="maxclust")
    else:
        labels = np.ones(len(means), dtype=int)
    return [(a, b, f"L{lab}") for a, b, lab in zip(edges[:-1], edges[1:], labels)]


def score(ref: list[tuple[float, float, str]], est: list[tuple[float, float, str]]) -> dict[str, float]:
    """Boundary F (±0.5 s, ±3 s), pairwise F, NCE F and name agreement of one song."""
    ri = np.array([[a, b] for a, b, _ in ref])
    rl = [lab for _, _, lab in ref]
    ei = np.array([[a, b] for a, b, _ in est])
    el = [lab for _, _, lab in est]
    ei[-1, 1] = ri[-1, 1]  # same end (decoders differ by a few ms)
    ri, rl = mir_eval.util.adjust_intervals(ri, rl, t_min=0.0)
    ei, el = mir_eval.util.adjust_intervals(ei, el, t_min=0.0, t_max=float(ri[-1, 1]))
    out = {}
    for w in (0.5, 3.0):
        _, _, f = mir_eval.segment.detection(ri, ei, window=w, trim=True)
        out[f"F@{w:g}"] = float(f)
    out["pairF"] = float(mir_eval.segment.pairwise(ri, rl, ei, el)[2])
    out["nceF"] = float(mir_eval.segment.nce(ri, rl, ei, el)[2])
    # share of time whose label name matches the truth's
    grid = np.arange(0.0, float(ri[-1, 1]), 0.1)
    def lab_at(iv: np.ndarray, labs: list[str]) -> list[str]:
        idx = np.clip(np.searchsorted(iv[:, 0], grid, side="right") - 1, 0, len(labs) - 1)
        return [labs[i] for i in idx]
    out["name"] = float(np.mean([a == b for a, b in zip(lab_at(ri, rl), lab_at(ei, el))]))
    out["n_est"] = float(len(est))
    out["n_ref"] = float(len(ref))
    return out


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sets", default="tune-mix,tune-drums,eval-mix,eval-drums,demo,real-songs")
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("--no-anchor", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="redo the analysis instead of using the cache")
    args = ap.parse_args()
    from backbeat.analysis.pipeline import Analyzer

    analyzer = Analyzer(max_duration_s=None)
    keys = ("F@0.5", "F@3", "pairF", "nceF", "name")
    print(f"{'set':<11} {'n':>3} {'who':<9} " + " ".join(f"{k:>6}" for k in keys) + "  sections(est/ref)")
    for set_name in args.sets.split(","):
        items = files_of(set_name)
        ours, anchor = [], []
        sec_s = audio_s = analysed_s = analysed_audio_s = 0.0
        for item in items:
            inputs, spent = analysis_inputs(analyzer, item, set_name, fresh=args.fresh)
            dur = float(inputs["duration_s"])
            if spent > 0:
                analysed_s += spent
                analysed_audio_s += dur
            est, t = run_sections(inputs)
            sec_s += t
            audio_s += dur
            if item.truth is None:
                print(f"  {item.name}: " + ", ".join(f"{lab} {a:.1f}" for a, _, lab in est))
                continue
            s = score(item.truth, est)
            ours.append(s)
            if not args.no_anchor:
                anchor.append(score(item.truth, anchor_sections(item.path, len(item.truth),
                                                                len({lab for *_, lab in item.truth}))))
            if args.per_file:
                print(f"  {item.name:<26} " + " ".join(f"{s[k]:6.3f}" for k in keys))
                print("     ref: " + " ".join(f"{lab}@{a:.1f}" for a, _, lab in item.truth))
                print("     est: " + " ".join(f"{lab}@{a:.1f}" for a, _, lab in est))
        for who, rows in (("backbeat", ours), ("librosa", anchor)):
            if rows:
                m = {k: float(np.mean([r[k] for r in rows])) for k in (*keys, "n_est", "n_ref")}
                print(f"{set_name:<11} {len(rows):>3} {who:<9} " + " ".join(f"{m[k]:6.3f}" for k in keys)
                      + f"  {m['n_est']:.1f}/{m['n_ref']:.1f}")
        speed = f"sections {1000 * sec_s / max(audio_s / 60, 1e-9):.1f} ms per audio minute"
        if analysed_audio_s > 0:
            speed += f"; whole analysis {analysed_audio_s / analysed_s:.0f}x real time"
        print(f"{set_name:<11} speed: {speed}", flush=True)


if __name__ == "__main__":
    main()
