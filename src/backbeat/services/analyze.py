"""Use-case: analyse audio files and store the analyses as JSON.

:func:`analyze` is the public ``backbeat.analyze``. :func:`analyze_batch`
runs many files through one :class:`~backbeat.analysis.pipeline.Analyzer`
(model loaded once), writes ``<out_dir>/<stem>.json`` atomically (and
optionally ``<stem>.beats``), and keeps going when a file fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backbeat.core.errors import BackbeatError, InvalidArgumentError
from backbeat.core.song_analysis import Analysis

if TYPE_CHECKING:
    from backbeat.analysis.pipeline import Analyzer

_lock = threading.Lock()
_default: dict[tuple[float | None, str], Analyzer] = {}

#: Default duration limit (seconds), same as :data:`backbeat.analysis.audio.DEFAULT_MAX_DURATION_S`.
DEFAULT_MAX_DURATION_S = 20 * 60.0


def _analyzer(max_duration_s: float | None, beat_source: str, tempo_hint_bpm: float | None) -> Analyzer:
    """A shared analyser per settings (the models are loaded once per process); with a tempo
    hint a new one (cheap: the models are shared), so hints do not pile up in the cache."""
    from backbeat.analysis.pipeline import Analyzer

    if tempo_hint_bpm is not None:
        return Analyzer(max_duration_s=max_duration_s, beat_source=beat_source, tempo_hint_bpm=tempo_hint_bpm)
    key = (max_duration_s, beat_source)
    with _lock:
        a = _default.get(key)
        if a is None:
            a = Analyzer(max_duration_s=max_duration_s, beat_source=beat_source)
            _default[key] = a
    return a


def analyze(path: str | Path, *, max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
            beat_source: str = "auto", tempo_hint_bpm: float | None = None) -> Analysis:
    """Analyse one audio file: tempo map, beats with bar positions, drum hits, sections.

    Parameters
    ----------
    path
        Audio file (wav, flac, ogg, mp3, m4a/aac; any channels and sample rate).
    max_duration_s
        Longest audio accepted, seconds (``None``: no limit).
    beat_source
        ``"auto"``, ``"dsp"``, ``"model"`` or ``"mean"`` (see :mod:`backbeat.analysis.pipeline`).
    tempo_hint_bpm
        The song's rough tempo (BPM) if known: it picks the beat level, e.g. 170
        rather than 85 (see :class:`~backbeat.analysis.pipeline.Analyzer`).

    Returns
    -------
    Analysis

    Raises
    ------
    AudioError
        Its subclasses name the file and the problem (not audio, corrupt,
        silent or too short, too long).
    InvalidArgumentError
        A tempo hint outside the analysed tempo range.
    """
    return _analyzer(max_duration_s, beat_source, tempo_hint_bpm).analyze(path)


@dataclass(frozen=True)
class Result:
    """Outcome of one file in a batch.

    Attributes
    ----------
    path
        Input file.
    outputs
        Files written (empty if failed or skipped).
    status
        ``"ok"``, ``"skipped"`` or ``"failed"``.
    error
        What went wrong (``status == "failed"``).
    seconds
        Wall time spent on the file.
    duration_s
        Audio duration, when analysed.
    summary
        Short text (tempo and meter) for people.
    """

    path: Path
    outputs: tuple[Path, ...] = ()
    status: str = "ok"
    error: str = ""
    seconds: float = 0.0
    duration_s: float = 0.0
    summary: str = ""

    @property
    def ok(self) -> bool:
        """True unless the file failed."""
        return self.status != "failed"


def output_path(audio_path: str | Path, out_dir: str | Path) -> Path:
    """Where the analysis JSON of ``audio_path`` goes: ``out_dir/<stem>.json``."""
    return Path(out_dir) / f"{Path(audio_path).stem}.json"


def beats_tsv_text(analysis: Analysis) -> str:
    """Beats as ``time<TAB>beat_in_bar`` lines (the madmom / beat_this ``.beats`` format)."""
    return "".join(f"{b.time_s:.6f}\t{b.position}\n" for b in analysis.beats)


def analysis_json_text(analysis: Analysis) -> str:
    """The JSON file content for an analysis."""
    return json.dumps(analysis.to_json(), indent=1) + "\n"


def analyze_batch(paths: Sequence[str | Path], out_dir: str | Path, *, skip_existing: bool = False,
                  beats_tsv: bool = False, max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
                  beat_source: str = "auto", tempo_hint_bpm: float | None = None,
                  on_progress: Callable[[int, int, Result], None] | None = None,
                  on_start: Callable[[int, int, Path], None] | None = None) -> list[Result]:
    """Analyse many files with one analyser, writing ``out_dir/<stem>.json`` for each.

    Parameters
    ----------
    paths
        Audio files.
    out_dir
        Output folder (created if needed).
    skip_existing
        Skip files whose JSON already exists.
    beats_tsv
        Also write ``out_dir/<stem>.beats``.
    max_duration_s, beat_source, tempo_hint_bpm
        As in :func:`analyze` (one hint for every file).
    on_progress
        Called after each file with ``(done, total, result)``.
    on_start
        Called before each file with ``(index, total, path)``.

    Returns
    -------
    list of Result
        One per input, in order. A failed file leaves no output behind.

    Raises
    ------
    InvalidArgumentError
        An output path that is not a folder, or a tempo hint outside the analysed range.
    """
    from backbeat.analysis.pipeline import check_tempo_hint, tempo_segments_summary
    from backbeat.formats.atomic import atomic_write_text

    check_tempo_hint(tempo_hint_bpm)  # once, not as the same failure for every file

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"{out}: output path exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    analyzer: Analyzer | None = None
    results: list[Result] = []
    seen: dict[str, Path] = {}
    total = len(paths)
    for i, raw in enumerate(paths):
        path = Path(raw)
        if on_start is not None:
            on_start(i, total, path)
        t0 = time.perf_counter()
        json_path = output_path(path, out)
        if json_path.name in seen:
            res = Result(path, status="failed",
                         error=f"{path}: same output name as {seen[json_path.name]} ({json_path.name}); "
                               "rename one of them")
        elif skip_existing and json_path.exists():
            res = Result(path, status="skipped")
        else:
            try:
                if analyzer is None:
                    analyzer = _analyzer(max_duration_s, beat_source, tempo_hint_bpm)
                analysis = analyzer.analyze(path)
                written = [atomic_write_text(json_path, analysis_json_text(analysis))]
                if beats_tsv:
                    written.append(atomic_write_text(json_path.with_suffix(".beats"),
                                                     beats_tsv_text(analysis)))
                res = Result(path, tuple(written), "ok", seconds=time.perf_counter() - t0,
                             duration_s=analysis.duration_s,
                             summary=tempo_segments_summary(analysis.tempo_map))
            except BackbeatError as exc:
                res = Result(path, status="failed", error=str(exc), seconds=time.perf_counter() - t0)
            except MemoryError:
                res = Result(path, status="failed", error=f"{path}: out of memory while analysing")
        if res.ok:  # a failed file leaves its output name free
            seen.setdefault(json_path.name, path)
        results.append(res)
        if on_progress is not None:
            on_progress(i + 1, total, res)
    return results
