"""The built-in demo: analyse and chart the packaged demo song, score it against its truth.

The demo song ships in ``backbeat/data/demo/`` (``demo.ogg``, its true
analysis ``demo.truth.json`` and ``demo.mid``; see ``training/demo_song.py``
and docs/ATTRIBUTION.md). :func:`run_demo` analyses the audio, writes the
analysis JSON, builds charts at every level and compares what analysis heard
with the truth (beat and drum F-measures, computed here with the
mir_eval conventions: one-to-one matching within ±70 ms for beats and ±50 ms
for drum onsets).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from backbeat.core.chart import SongInfo
from backbeat.core.errors import BackbeatError, InvalidArgumentError
from backbeat.core.kit import Instrument
from backbeat.core.song_analysis import Analysis
from backbeat.formats.atomic import atomic_write_bytes, atomic_write_text

#: Package-relative folder of the demo files.
DEMO_PACKAGE_DIR = ("data", "demo")
DEMO_AUDIO = "demo.ogg"
DEMO_TRUTH = "demo.truth.json"
DEMO_MIDI = "demo.mid"
#: Song metadata of the demo (the same title the web library shows).
DEMO_TITLE = "Backbeat Demo Groove"
DEMO_ARTIST = "Backbeat"
#: Audio file name inside the demo's song folder.
SONG_AUDIO_NAME = "song.ogg"
#: Where ``backbeat demo`` writes by default (relative to the working directory).
DEFAULT_OUT_DIR = Path("backbeat-demo-out")
#: Matching tolerances (mir_eval conventions).
BEAT_TOLERANCE_S = 0.07
ONSET_TOLERANCE_S = 0.05
#: Section boundary tolerance (mir_eval's segment detection at 3 s).
BOUNDARY_TOLERANCE_S = 3.0


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Paths of the packaged demo files (valid inside :func:`demo_files`)."""

    audio: Path
    truth: Path
    midi: Path


@dataclass(frozen=True, slots=True)
class MatchScore:
    """One-to-one matching of estimated against reference event times.

    Attributes
    ----------
    n_reference, n_estimate
        Event counts.
    n_matched
        Pairs matched within the tolerance (each event used at most once).
    """

    n_reference: int
    n_estimate: int
    n_matched: int

    @property
    def precision(self) -> float:
        """Matched share of the estimates (1.0 when there are none and no references)."""
        if self.n_estimate == 0:
            return 1.0 if self.n_reference == 0 else 0.0
        return self.n_matched / self.n_estimate

    @property
    def recall(self) -> float:
        """Matched share of the references (1.0 when there are none and no estimates)."""
        if self.n_reference == 0:
            return 1.0 if self.n_estimate == 0 else 0.0
        return self.n_matched / self.n_reference

    @property
    def f_measure(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def __add__(self, other: MatchScore) -> MatchScore:
        return MatchScore(self.n_reference + other.n_reference, self.n_estimate + other.n_estimate,
                          self.n_matched + other.n_matched)


def match_events(reference_s: Sequence[float], estimate_s: Sequence[float], *,
                 tolerance_s: float) -> MatchScore:
    """Match event times one-to-one within a tolerance and count the pairs.

    Both lists are sorted first. Scanning the references in time order and
    pairing each with the earliest unused estimate within ``tolerance_s``
    yields a maximum matching (an estimate too early for one reference is too
    early for every later one), so the count equals mir_eval's.

    Parameters
    ----------
    reference_s
        True event times in seconds.
    estimate_s
        Estimated event times in seconds.
    tolerance_s
        Largest allowed ``|estimate - reference|`` in seconds, >= 0.

    Returns
    -------
    MatchScore
        Counts, with precision, recall and F-measure as properties.
    """
    if not tolerance_s >= 0:
        raise InvalidArgumentError(f"tolerance_s must be >= 0, got {tolerance_s!r}")
    ref = sorted(float(t) for t in reference_s)
    est = sorted(float(t) for t in estimate_s)
    j = matched = 0
    eps = 1e-9
    for r in ref:
        while j < len(est) and est[j] < r - tolerance_s - eps:
            j += 1
        if j < len(est) and est[j] <= r + tolerance_s + eps:
            matched += 1
            j += 1
    return MatchScore(len(ref), len(est), matched)


@dataclass(frozen=True)
class AccuracyReport:
    """How close an analysis is to the truth.

    Attributes
    ----------
    beats
        Beat times, ±70 ms.
    downbeats
        Downbeat times, ±70 ms.
    drums
        Per instrument, onsets of that instrument, ±50 ms.
    tempo_bpm_estimate, tempo_bpm_truth
        First tempo of each tempo map (0.0 if empty).
    boundaries
        Section boundaries inside the song (not its start and end), ±3 s.
    """

    beats: MatchScore
    downbeats: MatchScore
    drums: dict[Instrument, MatchScore]
    tempo_bpm_estimate: float
    tempo_bpm_truth: float
    boundaries: MatchScore = MatchScore(0, 0, 0)

    @property
    def drums_all(self) -> MatchScore:
        """All instruments pooled (micro-average)."""
        total = MatchScore(0, 0, 0)
        for score in self.drums.values():
            total = total + score
        return total


def score_analysis(estimate: Analysis, truth: Analysis) -> AccuracyReport:
    """Compare an analysis with the truth: beats, downbeats and drums per instrument.

    Parameters
    ----------
    estimate
        What analysis found.
    truth
        The reference (e.g. the demo's ``demo.truth.json``).
    """
    drums = {
        inst: match_events([d.time_s for d in truth.drums if d.instrument is inst],
                           [d.time_s for d in estimate.drums if d.instrument is inst],
                           tolerance_s=ONSET_TOLERANCE_S)
        for inst in Instrument
    }
    return AccuracyReport(
        beats=match_events([b.time_s for b in truth.beats], [b.time_s for b in estimate.beats],
                           tolerance_s=BEAT_TOLERANCE_S),
        downbeats=match_events(truth.downbeats_s, estimate.downbeats_s, tolerance_s=BEAT_TOLERANCE_S),
        drums=drums,
        tempo_bpm_estimate=estimate.tempo_map[0].bpm if estimate.tempo_map else 0.0,
        tempo_bpm_truth=truth.tempo_map[0].bpm if truth.tempo_map else 0.0,
        boundaries=match_events(_inner_boundaries(truth), _inner_boundaries(estimate),
                                tolerance_s=BOUNDARY_TOLERANCE_S),
    )


def _inner_boundaries(analysis: Analysis) -> list[float]:
    """Section start times other than the first (the song's start is not a finding)."""
    return [s.start_s for s in analysis.sections[1:]]


@contextmanager
def demo_files() -> Iterator[DemoFiles]:
    """The packaged demo files as real paths (extracted if the package is zipped).

    Raises
    ------
    BackbeatError
        If the demo files are missing from the installation.
    """
    root = resources.files("backbeat").joinpath(*DEMO_PACKAGE_DIR)
    with resources.as_file(root) as folder:
        files = DemoFiles(Path(folder) / DEMO_AUDIO, Path(folder) / DEMO_TRUTH, Path(folder) / DEMO_MIDI)
        missing = [p.name for p in (files.audio, files.truth, files.midi) if not p.is_file()]
        if missing:
            raise BackbeatError(
                f"the demo song is missing from this installation ({', '.join(missing)} not found in "
                f"{folder}); reinstall Backbeat or rebuild it with training/demo_song.py"
            )
        yield files


def load_truth(path: Path | None = None) -> Analysis:
    """The demo's true analysis (beats, tempo, sections, drum hits).

    Parameters
    ----------
    path
        A truth JSON file; default the packaged ``demo.truth.json``.
    """
    if path is None:
        with demo_files() as files:
            return load_truth(files.truth)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackbeatError(f"{path}: cannot read the demo truth file: {exc}") from exc
    if not isinstance(data, dict):
        raise BackbeatError(f"{path}: the demo truth file does not hold a JSON object")
    try:
        return Analysis.from_json(data)
    except InvalidArgumentError as exc:
        raise BackbeatError(f"{path}: {exc}") from exc


@dataclass
class DemoResult:
    """What :func:`run_demo` did.

    Attributes
    ----------
    analysis
        The analysis of the demo audio.
    truth
        The demo's true analysis.
    accuracy
        Analysis compared with the truth.
    analysis_path
        The analysis JSON written (``DIR/demo.json``).
    chart_paths
        Chart files written (empty until :func:`chart_demo` has run).
    notices
        One-line notes for the user.
    analysis_s, charts_s
        Wall-clock seconds spent analysing and charting.
    """

    analysis: Analysis
    truth: Analysis
    accuracy: AccuracyReport
    analysis_path: Path
    chart_paths: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    analysis_s: float = 0.0
    charts_s: float = 0.0


AnalyzeFn = Callable[[Path], Analysis]
ChartFn = Callable[[Path, Path, Path], list[Path]]


def _default_analyze(path: Path) -> Analysis:
    from backbeat.services.analyze import analyze  # heavy: loaded on use

    return analyze(path)


def _default_build_charts(analysis_path: Path, audio_path: Path, out_dir: Path) -> list[Path]:
    from backbeat.services.charts import ALL_FORMATS, build_charts  # heavy: loaded on use

    info = SongInfo(name=DEMO_TITLE, artist=DEMO_ARTIST, genre="Pop", audio_file=SONG_AUDIO_NAME)
    written = list(build_charts(analysis_path, out_dir, formats=ALL_FORMATS, parts=("duet", "split"),
                                info=info))
    song_audio = out_dir / SONG_AUDIO_NAME
    atomic_write_bytes(song_audio, audio_path.read_bytes())
    return [*written, song_audio]


def run_demo(out_dir: Path = DEFAULT_OUT_DIR, *, analyze_fn: AnalyzeFn | None = None,
             build_charts_fn: ChartFn | None = None) -> DemoResult:
    """Analyse the packaged demo song, write its analysis and charts, score it against the truth.

    :func:`analyse_demo` followed by :func:`chart_demo`.

    Parameters
    ----------
    out_dir
        Output folder (created); receives ``demo.json`` (the analysis, schema 1),
        a copy of ``demo.ogg`` and the song folder with the charts (``charts/``).
    analyze_fn
        Audio path -> Analysis; default :func:`backbeat.services.analyze.analyze`.
    build_charts_fn
        (analysis JSON path, audio path, song folder) -> files written; default
        :func:`backbeat.services.charts.build_charts` with all levels, every format and
        the two-player parts, plus the audio as ``song.ogg`` (a playable Clone Hero / YARG
        song folder).

    Returns
    -------
    DemoResult
    """
    result = analyse_demo(out_dir, analyze_fn=analyze_fn)
    return chart_demo(result, build_charts_fn=build_charts_fn)


def analyse_demo(out_dir: Path = DEFAULT_OUT_DIR, *, analyze_fn: AnalyzeFn | None = None) -> DemoResult:
    """Analyse the demo song into ``out_dir/demo.json`` and score it against the truth.

    Parameters are as for :func:`run_demo`; ``chart_paths`` of the result is empty.
    """
    analyze_fn = analyze_fn or _default_analyze
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackbeatError(f"{out_dir}: cannot create the output folder: {exc.strerror or exc}") from exc
    with demo_files() as files:
        truth = load_truth(files.truth)
        t0 = time.perf_counter()
        analysis = analyze_fn(files.audio)
        analysis_s = time.perf_counter() - t0
        audio_copy = out_dir / DEMO_AUDIO
        if not audio_copy.exists() or audio_copy.stat().st_size != files.audio.stat().st_size:
            atomic_write_bytes(audio_copy, files.audio.read_bytes())
    analysis_path = out_dir / "demo.json"
    atomic_write_text(analysis_path, json.dumps(analysis.to_json(), indent=1) + "\n")
    result = DemoResult(analysis, truth, score_analysis(analysis, truth), analysis_path,
                        analysis_s=analysis_s)
    warnings = analysis.extra.get("warnings", [])
    for w in [warnings] if isinstance(warnings, str) else warnings if isinstance(warnings, list) else []:
        result.notices.append(f"analysis warning: {w}")
    return result


def chart_demo(result: DemoResult, *, build_charts_fn: ChartFn | None = None) -> DemoResult:
    """Build the demo's song folder (``charts/`` beside ``demo.json``) from an :func:`analyse_demo` result.

    Fills in ``result.chart_paths`` and ``result.charts_s`` and returns the same object.
    """
    build_charts_fn = build_charts_fn or _default_build_charts
    out_dir = result.analysis_path.parent
    t0 = time.perf_counter()
    result.chart_paths = list(build_charts_fn(result.analysis_path, out_dir / DEMO_AUDIO, out_dir / "charts"))
    result.charts_s = time.perf_counter() - t0
    return result


def summary_lines(result: DemoResult) -> list[str]:
    """A short human summary of a demo run: tempo, counts, accuracy against the truth."""
    a, acc = result.analysis, result.accuracy
    counts = {inst: 0 for inst in Instrument}
    for d in a.drums:
        counts[d.instrument] += 1
    lines = [
        f"demo song: {a.duration_s:.1f} s, tempo {acc.tempo_bpm_estimate:.1f} BPM "
        f"(true {acc.tempo_bpm_truth:.1f}), {len(a.beats)} beats ({len(a.downbeats_s)} downbeats), "
        f"{len(a.sections)} section{'s' if len(a.sections) != 1 else ''}",
        "drum hits: " + ", ".join(f"{inst.value} {counts[inst]}" for inst in Instrument)
        + f" (total {len(a.drums)}, true {len(result.truth.drums)})",
        f"accuracy vs truth: beats F={acc.beats.f_measure:.3f} (±70 ms), "
        f"downbeats F={acc.downbeats.f_measure:.3f}, drums F={acc.drums_all.f_measure:.3f} (±50 ms), "
        f"section boundaries F={acc.boundaries.f_measure:.2f} (±3 s)",
        "  per instrument: " + ", ".join(
            f"{inst.value} {score.f_measure:.2f}" for inst, score in acc.drums.items()),
        f"analysis: {result.analysis_path} ({result.analysis_s:.1f} s)",
    ]
    lines.extend(result.notices)
    if result.chart_paths:
        lines.append(charts_line(result))
    return lines


def charts_line(result: DemoResult) -> str:
    """One line naming the chart files written."""
    folders = sorted({str(p.parent) for p in result.chart_paths})
    return (f"charts: {len(result.chart_paths)} files (every level and format) in {', '.join(folders)} "
            f"({result.charts_s:.1f} s)")
