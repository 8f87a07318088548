"""Benchmark of the analysis: accuracy and speed beside librosa on the same files.

Sets (each file ``X.flac`` with ``X.beats`` = ``time<TAB>beat_in_bar`` and
``X.onsets.tsv`` = ``time class5 ...``):

* ``dev-renders``: ../shared/data/dev-renders, 12 drum-only grooves. TUNING DATA.
* ``tune-drums``, ``tune-mix``: cache/tune/{drums,mix}, Groove MIDI train-split tuning
  grooves rendered with training kits (``bench/analysis_tune_set.py``). TUNING DATA.
* ``tune-meter-drums``, ``tune-meter-mix``: cache/tune_meter/{drums,mix}, synthetic performances in
  4/4, 3/4, 6/8 and 12/8 (``bench/analysis_meter_set.py``). TUNING DATA.
* ``tune-fast-drums``, ``tune-fast-mix``: cache/tune_fast/{drums,mix}, the same generator in 4/4 at
  140-200 BPM (``bench/analysis_meter_set.py --fast``), where the networks tend to halve the
  tempo. TUNING DATA (from 2026-11-24, session 7).
* ``tune-free-mix``: cache/tune_free/mix, the tune-mix excerpts and kits under a band whose bass plays
  a line of its own instead of on every kick (``bench/analysis_tune_set.py --free-bass --out
  cache/tune_free``). TUNING DATA (from 2026-11-25, session 14).
* ``eval-drums``, ``eval-mix``: cache/eval/{drums,mix} (held-out kits; full-band
  mixes), when present. The held-out set until 2026-11-24; looked at too often by
  then, it has been TUNING DATA since (the bar-phase weights are fitted on it too).
* ``eval2-drums``, ``eval2-mix``: cache/eval2/{drums,mix}, a second held-out set made on
  2026-11-24 from the 14 validation grooves the first left out (``training/build_eval_set.py
  --exclude cache/eval/index.csv``), for figures nothing has been chosen by. HELD OUT: not
  used for tuning.
* ``eval2-free-mix``: cache/eval2_free/mix, the eval2-mix grooves, kits and drum processing under a
  band whose bass plays a line of its own (``training/build_eval_set.py --n 14 --exclude
  cache/eval/index.csv --out cache/eval2_free --seed 2000 --kit-offset 1 --free-bass``). HELD OUT
  (from 2026-11-25, session 15).
* ``tune-tempo-drums``, ``tune-tempo-mix``: cache/tune_tempo/{drums,mix}, the tuning grooves played with a
  tempo step, ramp or drift (``bench/analysis_tempo_set.py``). TUNING DATA.
* ``eval2-tempo-drums``, ``eval2-tempo-mix``: cache/eval2_tempo/{drums,mix}, the eval2 grooves and kits
  with a tempo step, ramp or drift (``bench/analysis_tempo_set.py --source eval2``). HELD OUT.
* ``chart-drums``, ``chart-mix``: cache/chart_set/{drums,mix}, real songs' drum parts from the
  community charts played with the held-out kits (``bench/analysis_chart_set.py``): fills,
  crashes, odd bars and the tempo maps of bands without a click. HELD OUT (from 2026-11-24).
* ``real-songs``: ../shared/data/real-songs, no annotations: tempo and time only.

``--hint-from-truth`` also runs every beat source with a tempo hint (the
annotated tempo rounded to 10 BPM, as a user who knows it would give it;
label ``<source>+hint``): an oracle for the beat level that shows how much of
a set's miss is the tempo octave.

Per set it prints beat F (mir_eval, ±70 ms), downbeat F (±70 ms), drum onset F
per class (±50 ms; the mean of the files' F, and F over the set's summed counts, which a
file with a handful of hits of a class moves less) and the mean of kick/snare/hi-hat,
speed (× real time) and the tempo map's accuracy (share of the annotated beat intervals whose tempo the
map gives within 8 %; "any octave" also takes twice or half), and
the same beat/downbeat F and speed for ``librosa.beat.beat_track`` (downbeats:
every 4th beat from the first, librosa has no downbeat tracker), with ratios.
Loudness: per instrument, the Spearman correlation of each hit's ``velocity`` with the
annotated MIDI velocity over hits matched within 50 ms (files with at least
:data:`MIN_VELOCITY_PAIRS` matches), beside the same correlation for a naive loudness, librosa's
onset strength of the whole recording at the same hits.

Beat sources (``--beat-sources``, names of ``Analyzer(beat_source=...)``): ``auto`` is
the default path, which is ``beat_model`` (the beat network's beats, bar phase fused from
both networks' downbeat outputs and the drum cues) when the beat network loads, else
``model`` (the drum model's beat output, the default before), else ``dsp``. A source that
is the same as ``auto`` on this machine is measured once.

When Backbeat reports a compound meter (6/8 with eighth-note beats), the beat
F is computed on the dotted-quarter pulse (positions 1 and 4), the level the
annotations count.

Usage::

    nice -n 10 .venv/bin/python bench/analysis.py [--sets dev-renders,eval-drums,eval-mix,real-songs]
        [--beat-sources auto,model] [--memory] [--per-file] [--no-librosa]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETS = {
    "dev-renders": (SHARED / "dev-renders", "*.flac", True),
    "tune-drums": (ROOT / "cache" / "tune" / "drums", "*.flac", True),
    "tune-mix": (ROOT / "cache" / "tune" / "mix", "*.flac", True),
    "tune-meter-drums": (ROOT / "cache" / "tune_meter" / "drums", "*.flac", True),
    "tune-meter-mix": (ROOT / "cache" / "tune_meter" / "mix", "*.flac", True),
    "tune-fast-drums": (ROOT / "cache" / "tune_fast" / "drums", "*.flac", True),
    "tune-fast-mix": (ROOT / "cache" / "tune_fast" / "mix", "*.flac", True),
    "tune-flat-drums": (ROOT / "cache" / "tune_flat" / "drums", "*.flac", True),  # since session 11
    "tune-flat-mix": (ROOT / "cache" / "tune_flat" / "mix", "*.flac", True),
    "tune-free-mix": (ROOT / "cache" / "tune_free" / "mix", "*.flac", True),  # since session 14
    # Arranged songs (bench/section_songs.py): the tuning split, and the held-out one (since session 11).
    "tune-song-drums": (ROOT / "cache" / "sections" / "tune" / "drums", "*.flac", True),
    "tune-song-mix": (ROOT / "cache" / "sections" / "tune" / "mix", "*.flac", True),
    "eval-song-drums": (ROOT / "cache" / "sections" / "eval" / "drums", "*.flac", False),
    "eval-song-mix": (ROOT / "cache" / "sections" / "eval" / "mix", "*.flac", False),
    "eval-drums": (ROOT / "cache" / "eval" / "drums", "*.flac", True),  # tuning since 2026-11-24
    "eval-mix": (ROOT / "cache" / "eval" / "mix", "*.flac", True),
    "eval2-drums": (ROOT / "cache" / "eval2" / "drums", "*.flac", False),
    "eval2-mix": (ROOT / "cache" / "eval2" / "mix", "*.flac", False),
    "eval2-free-mix": (ROOT / "cache" / "eval2_free" / "mix", "*.flac", False),  # since session 15
    "tune-tempo-drums": (ROOT / "cache" / "tune_tempo" / "drums", "*.flac", True),
    "tune-tempo-mix": (ROOT / "cache" / "tune_tempo" / "mix", "*.flac", True),
    "eval2-tempo-drums": (ROOT / "cache" / "eval2_tempo" / "drums", "*.flac", False),
    "eval2-tempo-mix": (ROOT / "cache" / "eval2_tempo" / "mix", "*.flac", False),
    "chart-drums": (ROOT / "cache" / "chart_set" / "drums", "*.flac", False),
    "chart-mix": (ROOT / "cache" / "chart_set" / "mix", "*.flac", False),
    "real-songs": (SHARED / "real-songs", "*.ogg", False),
}
#: A tempo-map reading counts as right within this relative error (mir_eval's tempo tolerance).
TEMPO_TOLERANCE = 0.08
#: Annotated snare hits softer than this MIDI velocity count as ghost notes (the analysis' own
#: ``snare_ghost`` threshold, :func:`backbeat.analysis.drums.transcribe`).
GHOST_VELOCITY = 45
#: Fewest matched hits of one instrument in a file for a velocity correlation.
MIN_VELOCITY_PAIRS = 8
#: Sample rate and hop of the velocity anchor's onset envelope.
ANCHOR_SR = 22050
ANCHOR_HOP = 512
CLASS5 = {"KD": "kick", "SD": "snare", "HH": "hihat", "TT": "tom", "CY": "cymbal"}
#: Annotated class9 -> the analysis' ``detail`` it should get (kick and snare have one class9 each).
DETAIL_OF_CLASS9 = {"HHC": "hihat_closed", "HHO": "hihat_open", "HT": "tom_high", "MT": "tom_mid",
                    "LT": "tom_floor", "CR": "crash", "RD": "ride"}
#: dev-renders were rendered with AVL Black Pearl (../shared/data/README.md), whose keys 48 and 50 hold
#: a hi-hat swish and a crash choke, not General MIDI's high toms, and its annotations name them by GM
#: (toms). They are scored as what sounds: rendered key -> (class5, class9). Since session 17; the
#: project's own renders play toms on these keys (``training/kits.py``, ``AVL_KEY_STAND_INS``).
DEV_RENDERS_HEARD = {"48": ("HH", "HHO"), "50": ("CY", "CR")}


def add_counts(counts: dict[str, np.ndarray], key: str, ref_s: np.ndarray, est_s: np.ndarray) -> None:
    """Add one file's matched hits (±50 ms), annotated hits and detected hits to ``counts[key]``."""
    import mir_eval

    hits = len(mir_eval.util.match_events(ref_s, np.sort(est_s), 0.05)) if ref_s.size and est_s.size else 0
    counts.setdefault(key, np.zeros(3, dtype=int))[:] += (hits, ref_s.size, est_s.size)


def summed_f(counts: dict[str, np.ndarray]) -> str:
    """Onset F per key from counts summed over a set's files (keys without annotated hits left out)."""
    return " ".join(f"{k}={2 * h / max(r + e, 1):.3f}" for k, (h, r, e) in counts.items() if r)


@dataclass
class SetStats:
    beat_f: list[float] = field(default_factory=list)
    down_f: list[float] = field(default_factory=list)
    lib_beat_f: list[float] = field(default_factory=list)
    lib_down_f: list[float] = field(default_factory=list)
    drum_f: dict[str, list[float]] = field(default_factory=dict)
    class_counts: dict[str, np.ndarray] = field(default_factory=dict)  # class -> (hits, refs, ests)
    detail_counts: dict[str, np.ndarray] = field(default_factory=dict)  # detail -> (hits, refs, ests)
    tempo_acc: list[float] = field(default_factory=list)
    tempo_acc_octave: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    ours_s: float = 0.0
    ours_cpu_s: float = 0.0
    lib_s: float = 0.0
    meters_ok: int = 0
    meters_n: int = 0
    velocity_rho: dict[str, list[float]] = field(default_factory=dict)
    anchor_velocity_rho: dict[str, list[float]] = field(default_factory=dict)


def read_annotations(stem: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None:
    beats_path = stem.with_suffix(".beats")
    if not beats_path.exists():
        return None
    ann = np.loadtxt(beats_path, ndmin=2)
    onsets = {k: times for k, (times, _) in read_onset_velocities(stem).items()}
    return ann[:, 0], ann[:, 1].astype(int), onsets


def read_onset_rows(stem: Path) -> list[dict[str, str]]:
    """The rows of ``X.onsets.tsv`` (none if it is missing), dev-renders' classes as heard
    (:data:`DEV_RENDERS_HEARD`)."""
    path = stem.with_suffix(".onsets.tsv")
    if not path.exists():
        return []
    with path.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if stem.parent == SETS["dev-renders"][0]:
        for row in rows:
            row["class5"], row["class9"] = DEV_RENDERS_HEARD.get(row.get("render_pitch", ""),
                                                                (row["class5"], row["class9"]))
    return rows


def read_onset_velocities(stem: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Annotated (onset times, MIDI velocities) per instrument (:data:`CLASS5`) from ``X.onsets.tsv``,
    in file order; the velocity is NaN where the file has none."""
    out: dict[str, list[tuple[float, float]]] = {c: [] for c in CLASS5.values()}
    for row in read_onset_rows(stem):
        velocity = float(row["velocity"]) if row.get("velocity") else float("nan")
        out[CLASS5[row["class5"]]].append((float(row["time"]), velocity))
    return {k: (np.array([t for t, _ in v]), np.array([x for _, x in v])) for k, v in out.items()}


def velocity_rho(ref: tuple[np.ndarray, np.ndarray], est_times_s: np.ndarray,
                 est_values: np.ndarray) -> float | None:
    """Spearman correlation of estimated loudness with annotated velocity over hits matched
    within 50 ms; None with fewer than :data:`MIN_VELOCITY_PAIRS` matches or constant values."""
    import mir_eval
    from scipy.stats import spearmanr

    ref_t, ref_v = ref
    known = ~np.isnan(ref_v)
    ref_t, ref_v = ref_t[known], ref_v[known]
    if ref_t.size == 0 or est_times_s.size == 0:
        return None
    order = np.argsort(ref_t, kind="stable")
    pairs = mir_eval.util.match_events(ref_t[order], est_times_s, 0.05)
    if len(pairs) < MIN_VELOCITY_PAIRS:
        return None
    a = ref_v[order][[i for i, _ in pairs]]
    b = est_values[[j for _, j in pairs]]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def onset_envelope(path: Path) -> np.ndarray:
    """librosa's onset strength of the whole recording (22.05 kHz, hop :data:`ANCHOR_HOP`): the
    naive loudness anchor for the velocity figures."""
    import librosa

    y, sr = librosa.load(path, sr=ANCHOR_SR, mono=True)
    return np.asarray(librosa.onset.onset_strength(y=y, sr=sr, hop_length=ANCHOR_HOP))


def envelope_at(envelope: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """The onset envelope at each time (max over ±1 frame)."""
    frames = np.clip(np.round(times_s * ANCHOR_SR / ANCHOR_HOP).astype(int), 0, envelope.size - 1)
    return np.array([envelope[max(0, f - 1):f + 2].max() for f in frames])


def read_detail_onsets(stem: Path) -> dict[str, np.ndarray]:
    """Annotated onset times per finer class (:data:`DETAIL_OF_CLASS9`, and ``snare_ghost``: snare
    hits below :data:`GHOST_VELOCITY`) from ``X.onsets.tsv``."""
    out: dict[str, list[float]] = {d: [] for d in (*DETAIL_OF_CLASS9.values(), "snare_ghost")}
    for row in read_onset_rows(stem):
        if row.get("class9") in DETAIL_OF_CLASS9:
            out[DETAIL_OF_CLASS9[row["class9"]]].append(float(row["time"]))
        if row["class5"] == "SD" and row.get("velocity") and float(row["velocity"]) < GHOST_VELOCITY:
            out["snare_ghost"].append(float(row["time"]))
    return {k: np.sort(np.asarray(v)) for k, v in out.items()}


def tempo_map_accuracy(ref_beats_s: np.ndarray, starts_s: np.ndarray, bpms: np.ndarray, *,
                       scale: float = 1.0) -> tuple[float, float]:
    """Share of annotated beat intervals whose tempo the map gives within :data:`TEMPO_TOLERANCE`.

    Each interval is read at its midpoint from the segment in force there (the first
    segment before it starts). ``scale`` converts the map's pulse to the annotated one
    (1/3 for a 6/8 map counting eighths against dotted-quarter annotations). Returns
    (strict, any octave: the map's tempo, twice it or half it).
    """
    if ref_beats_s.size < 2 or bpms.size == 0:
        return 0.0, 0.0
    mids = 0.5 * (ref_beats_s[1:] + ref_beats_s[:-1])
    true_bpm = 60.0 / np.diff(ref_beats_s)
    seg = np.clip(np.searchsorted(starts_s, mids, side="right") - 1, 0, bpms.size - 1)
    ratio = bpms[seg] * scale / true_bpm
    ok = np.abs(ratio - 1.0) <= TEMPO_TOLERANCE
    ok_octave = np.zeros_like(ok)
    for octave in (0.5, 1.0, 2.0):
        ok_octave |= np.abs(ratio / octave - 1.0) <= TEMPO_TOLERANCE
    return float(ok.mean()), float(ok_octave.mean())


def librosa_beats(path: Path) -> tuple[np.ndarray, float, float]:
    import librosa

    t0 = time.perf_counter()
    y, sr = librosa.load(str(path), sr=22050, mono=True)
    tempo, frames = librosa.beat.beat_track(y=y, sr=sr, units="frames")
    beats = librosa.frames_to_time(frames, sr=sr)
    return np.asarray(beats), float(np.atleast_1d(tempo)[0]), time.perf_counter() - t0


def startup_s() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "backbeat.cli.main", "--help"], capture_output=True, check=True)
    return time.perf_counter() - t0


def memory_check() -> None:
    """Peak RSS decoding and analysing a 60-minute file (built by tiling a dev render)."""
    import tempfile

    import soundfile as sf

    src = SHARED / "dev-renders" / "drummer1__session3__13.flac"
    if not src.exists():
        print("memory check skipped: dev-renders not found")
        return
    x, sr = sf.read(src, dtype="float32")
    with tempfile.TemporaryDirectory() as d:
        long_path = Path(d) / "sixty_minutes.flac"
        with sf.SoundFile(long_path, "w", samplerate=sr, channels=2, format="FLAC", subtype="PCM_16") as f:
            stereo = np.stack([x, x], axis=1)
            total = 0
            while total < 3600 * sr:
                f.write(stereo)
                total += len(stereo)
        for what in ("decode", "analyze"):
            code = (
                "import resource, time\n"
                "from backbeat.analysis.audio import load_audio\n"
                "from backbeat.analysis.pipeline import Analyzer\n"
                "t=time.perf_counter()\n"
                f"p={str(long_path)!r}\n"
                + ("load_audio(p, max_duration_s=None)\n" if what == "decode" else
                   "a=Analyzer(max_duration_s=None).analyze(p)\n")
                + "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, time.perf_counter()-t)\n"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            rss_mb, secs = (float(v) for v in out.stdout.split())
            print(f"60-minute stereo 44.1 kHz FLAC, {what}: peak RSS {rss_mb:.0f} MiB, {secs:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev-renders,tune-drums,tune-mix,eval-drums,eval-mix,eval2-drums,"
                        "eval2-mix,real-songs")
    parser.add_argument("--beat-sources", default="auto,model,dsp,mean",
                        help="comma list of auto, beat_model, dsp, model, mean (model/mean need the drum "
                             "model; auto, the default path, is beat_model when the beat network loads, "
                             "else model, else dsp; model is the drum model's beat output, the default "
                             "before the beat network)")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory on a 60-minute file")
    parser.add_argument("--per-file", action="store_true", help="print a line per file")
    parser.add_argument("--no-librosa", action="store_true")
    parser.add_argument("--hint-from-truth", action="store_true",
                        help="also run each beat source with a tempo hint (label '<source>+hint'): the "
                             "annotated tempo rounded to 10 BPM, as a user who knows the song's rough "
                             "tempo would give it; an oracle for the beat level, not a figure of the "
                             "analysis on its own")
    args = parser.parse_args()

    import mir_eval

    t0 = time.perf_counter()
    from backbeat.analysis.beats import MAX_BPM, MIN_BPM, median_bpm
    from backbeat.analysis.pipeline import Analyzer

    analyzers = {}
    for source in args.beat_sources.split(","):
        try:
            analyzers[source] = Analyzer(beat_source=source)
        except Exception as exc:  # a missing model is reported, not fatal
            print(f"beat source {source!r} unavailable: {exc}")
    load_s = time.perf_counter() - t0
    if ("auto" in analyzers and "dsp" in analyzers and analyzers["auto"].model is None
            and analyzers["auto"].beat_model is None):
        print("beat source 'auto' is the same as 'dsp' without either model: measuring 'dsp' only")
        del analyzers["auto"]
    if ("auto" in analyzers and "model" in analyzers and analyzers["auto"].model is not None
            and analyzers["auto"].beat_model is None):
        print("beat source 'auto' is 'model' without the beat network: measuring 'auto' only")
        del analyzers["model"]
    if "auto" in analyzers and "beat_model" in analyzers and analyzers["auto"].beat_model is not None:
        print("beat source 'auto' is 'beat_model' with both networks: measuring 'auto' only")
        del analyzers["beat_model"]
    print(f"start-up: `backbeat --help` {startup_s():.2f} s; import + model load {load_s:.2f} s")
    first = next(iter(analyzers.values()))
    print(f"drum model: {'loaded' if first.model is not None else 'unavailable: ' + first.model_problem}")
    if any(a.beat_model is not None for a in analyzers.values()):
        print("beat network: loaded (beat sources " + ", ".join(
            repr(k) for k, a in analyzers.items() if a.beat_model is not None) + ")")

    for set_name in args.sets.split(","):
        folder, pattern, tuning = SETS[set_name]
        files = sorted(folder.glob(pattern))
        if not files:
            print(f"\n== {set_name}: not found ({folder}), skipped")
            continue
        print(f"\n== {set_name}: {len(files)} files ({'TUNING set' if tuning else 'not used for tuning'})")
        stats = {s: SetStats() for s in analyzers}
        if args.hint_from_truth:
            stats.update({f"{s}+hint": SetStats() for s in analyzers})
        lib = SetStats()
        for path in files:
            stem = path.with_suffix("")
            truth = read_annotations(stem)
            detail_onsets = read_detail_onsets(stem) if truth is not None else {}
            ref_velocities = read_onset_velocities(stem) if truth is not None else {}
            anchor_envelope = onset_envelope(path) if truth is not None and not args.no_librosa else None
            lib_beats = np.zeros(0)
            lib_tempo = 0.0
            if not args.no_librosa:
                lib_beats, lib_tempo, secs = librosa_beats(path)
                lib.lib_s += secs
            runs = list(analyzers.items())
            if args.hint_from_truth and truth is not None:
                hint = float(np.clip(10 * round(median_bpm(truth[0]) / 10), MIN_BPM, MAX_BPM))
                runs += [(f"{s}+hint", Analyzer(beat_source=s, tempo_hint_bpm=hint)) for s in analyzers]
            for source, analyzer in runs:
                st = stats[source]
                t = time.perf_counter()
                c = time.process_time()
                a = analyzer.analyze(path)
                st.ours_s += time.perf_counter() - t
                st.ours_cpu_s += time.process_time() - c
                st.audio_s += a.duration_s
                beats = np.array([b.time_s for b in a.beats])
                pos = np.array([b.position for b in a.beats])
                meter = a.extra.get("meter", "4/4")
                line = f"  {path.name[:40]:40s} [{source}] {meter:>4s} " + (
                    f"{a.tempo_map[0].bpm:6.1f} BPM" if a.tempo_map else "no tempo")
                if truth is not None:
                    ref_b, ref_p, onsets = truth
                    eval_beats = beats[(pos == 1) | (pos == 4)] if meter == "6/8" else beats
                    st.beat_f.append(mir_eval.beat.f_measure(ref_b, eval_beats))
                    st.down_f.append(mir_eval.onset.f_measure(ref_b[ref_p == 1], beats[pos == 1],
                                                              window=0.07)[0])
                    ref_meter = int(ref_p.max())
                    st.meters_n += 1
                    ok_meters = {ref_meter} if ref_meter != 2 else {2, 6}  # 6/8 annotated in 2 beats
                    st.meters_ok += int(int(meter.split("/")[0]) in ok_meters)
                    for inst, ref_on in onsets.items():
                        est_on = np.array([d.time_s for d in a.drums if d.instrument.value == inst])
                        if ref_on.size:
                            f_on = (mir_eval.onset.f_measure(ref_on, est_on, window=0.05)[0]
                                    if est_on.size else 0.0)
                            st.drum_f.setdefault(inst, []).append(f_on)
                        add_counts(st.class_counts, inst, ref_on, est_on)
                        est_vel = np.array([d.velocity for d in a.drums if d.instrument.value == inst],
                                           dtype=np.float64)
                        rho = velocity_rho(ref_velocities[inst], est_on, est_vel)
                        if rho is not None:
                            st.velocity_rho.setdefault(inst, []).append(rho)
                            if anchor_envelope is not None:
                                anchor = velocity_rho(ref_velocities[inst], est_on,
                                                      envelope_at(anchor_envelope, est_on))
                                if anchor is not None:
                                    st.anchor_velocity_rho.setdefault(inst, []).append(anchor)
                    starts = np.array([seg.time_s for seg in a.tempo_map])
                    bpms = np.array([seg.bpm for seg in a.tempo_map])
                    acc, acc_octave = tempo_map_accuracy(ref_b, starts, bpms,
                                                         scale=1 / 3 if meter == "6/8" else 1)
                    st.tempo_acc.append(acc)
                    st.tempo_acc_octave.append(acc_octave)
                    for detail, ref_on in detail_onsets.items():
                        est_on = np.sort([d.time_s for d in a.drums if d.detail == detail])
                        add_counts(st.detail_counts, detail, ref_on, est_on)
                    line += f"  beat F {st.beat_f[-1]:.3f} down F {st.down_f[-1]:.3f} tempo {acc:.2f}"
                    if source == next(iter(analyzers)) and not args.no_librosa:
                        lib.beat_f.append(mir_eval.beat.f_measure(ref_b, lib_beats))
                        lib.lib_down_f.append(mir_eval.onset.f_measure(ref_b[ref_p == 1], lib_beats[::4],
                                                                       window=0.07)[0])
                        line += f"  | librosa beat F {lib.beat_f[-1]:.3f} ({lib_tempo:.1f} BPM)"
                elif not args.no_librosa:
                    line += f"  | librosa {lib_tempo:.1f} BPM"
                if args.per_file:
                    print(line)
        for source, st in stats.items():
            speed = st.audio_s / st.ours_s if st.ours_s else 0.0
            cpu_speed = st.audio_s / st.ours_cpu_s if st.ours_cpu_s else 0.0
            print(f"[{source}] audio {st.audio_s:.0f} s, analysis {st.ours_s:.2f} s wall = "
                  f"{speed:.0f}x real time "
                  f"(CPU time {st.ours_cpu_s:.2f} s = {cpu_speed:.0f}x)")
            if st.beat_f:
                km = [np.mean(st.drum_f[k]) for k in ("kick", "snare", "hihat") if k in st.drum_f]
                drums = " ".join(f"{k}={np.mean(v):.3f}" for k, v in st.drum_f.items())
                print(f"[{source}] beat F {np.mean(st.beat_f):.3f}  downbeat F {np.mean(st.down_f):.3f}  "
                      f"meter right {st.meters_ok}/{st.meters_n}")
                print(f"[{source}] tempo map right (±{TEMPO_TOLERANCE:.0%}) {np.mean(st.tempo_acc):.3f} "
                      f"of the beat intervals, any octave {np.mean(st.tempo_acc_octave):.3f}")
                print(f"[{source}] drum onset F {drums}  mean(KD,SD,HH)={np.mean(km) if km else 0:.3f}")
                print(f"[{source}] drum onset F over the set's summed counts: {summed_f(st.class_counts)}")
                print(f"[{source}] finer classes, onset F over the set's summed counts: "
                      f"{summed_f(st.detail_counts)}")
                if st.velocity_rho:
                    rhos = " ".join(f"{k}={np.mean(v):.3f}" for k, v in st.velocity_rho.items())
                    line = (f"[{source}] velocity: Spearman rho with the annotated velocity, matched hits, "
                            f"mean of files {rhos}")
                    if st.anchor_velocity_rho:
                        line += " | anchor (librosa onset strength at the same hits) " + " ".join(
                            f"{k}={np.mean(v):.3f}" for k, v in st.anchor_velocity_rho.items())
                    print(line)
        if not args.no_librosa:
            first_stats = next(iter(stats.values()))
            lib_speed = first_stats.audio_s / lib.lib_s if lib.lib_s else 0.0
            ours_speed = first_stats.audio_s / first_stats.ours_s if first_stats.ours_s else 0.0
            ratio = ours_speed / lib_speed if lib_speed else 0.0
            print(f"[librosa.beat.beat_track] {lib_speed:.0f}x real time (Backbeat full analysis is "
                  f"{ratio:.2f}x its speed)")
            if lib.beat_f:
                print(f"[librosa.beat.beat_track] beat F {np.mean(lib.beat_f):.3f}  downbeat F (every 4th) "
                      f"{np.mean(lib.lib_down_f):.3f}; Backbeat/librosa beat F ratio "
                      f"{np.mean(first_stats.beat_f) / max(np.mean(lib.beat_f), 1e-9):.2f}")
    if args.memory:
        print()
        memory_check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
