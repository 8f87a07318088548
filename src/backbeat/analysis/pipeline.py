"""The whole analysis of one song: audio to :class:`~backbeat.core.song_analysis.Analysis`.

Steps: decode (:mod:`.audio`) → log filterbank (:mod:`.features`) → drum
model activations (:mod:`.drums`) → beat activation and tracking
(:mod:`.beats`) → meter and downbeats (:mod:`.downbeats`) → drum hits, read
against the song's pattern on its beats (:func:`.drums.transcribe`) → sections
(:mod:`.sections`). An :class:`Analyzer` loads the model once and is reused
for any number of files.

Beat source (``beat_source``):

* ``"auto"`` (default): ``"beat_model"`` when the beat network loads; else
  ``"model"`` when the drum model has a beat output; else ``"dsp"``;
* ``"beat_model"``: the dedicated beat/downbeat network (:mod:`.beat_model`,
  ±10 s receptive field) drives the beat tracker; bar positions come from a
  fused bar-phase decision (below);
* ``"model"``: the drum model's learned beat activation (scaled to [0, 1]);
  the default before the fused path;
* ``"dsp"``: spectral-flux onset activation (:func:`.beats.onset_activation`);
* ``"mean"``: the mean of ``"dsp"`` and ``"model"``.

With the beat network, beat versus off-beat is its own beat output's call
(the drum model's vote is off, :data:`BEAT_MODEL_OFFBEAT_VOTE`). When the drum
model runs too, meter and bar positions come from
:func:`.downbeats.assign_positions` with both networks' evidence: the drum
cues and the drum model's downbeat output (4/4 bar template) plus the beat
network's downbeat log-odds (:func:`.downbeats.network_downbeat_evidence`),
decoded with :data:`.downbeats.FUSED_SLIP_COST`. Without the drum model they
come from the network's downbeat output alone (:func:`.beat_model.bar_positions`).
The bar-start cues (crash, tom fill, kick just after the beat;
:func:`.downbeats.bar_start_cues`) are added to that evidence too.
Fast songs that the network reads at half tempo are tracked again at twice it
when the snare's back beat says so (:func:`.beats.beats_at_half_level`).
Compound meters tracked two eighths a beat (a 6/8 read as 3/4) are counted in
eighths as 6/8 when kick and snare alternate on the dotted quarters
(:func:`.beats.in_compound_pairs`; with a tempo hint too, which then reads as the
quarter-note tempo a 6/8 chart counts); 6/8 bars start on that pulse
(:func:`.downbeats.pulse_evidence`).
On the tuning sets the fused path (two beat networks averaged, since
2026-11-24; ninth-stage drum model since session 14; the doubling check since session 8, with
the kick since session 9; compound meters since session 10) gives beat F / downbeat F 0.922 / 0.785
(dev-renders), 0.878 / 0.759 (tune-drums), 0.988 / 0.978 (tune-mix, re-rendered in session 10),
0.991 / 0.739 (eval-drums), 0.913 / 0.751 (eval-mix), 0.982 / 0.913 and 0.982 / 0.959 (the meter
sets, drums and mixes); on the held-out eval2 sets 0.829 / 0.695
(drums) and 0.939 / 0.926 (mixes). When the fused path was chosen (with the first
network alone), ``"model"`` gave
0.865 / 0.757, 0.811 / 0.677, 0.842 / 0.815 on the first three sets; without the
drum model the network alone gave 0.865 / 0.787, 0.877 / 0.662, 0.942 / 0.873
against 0.854 / 0.618, 0.493 / 0.329, 0.767 / 0.718 for ``"dsp"``.

On the other paths (drum model's or DSP beats), beat versus off-beat is
settled after tracking by a vote of the drum model's beat, kick, snare and
downbeat outputs (:func:`.beats.correct_offbeat_cues`), or without the drum
model by the low-band (kick) flux (:func:`.beats.correct_offbeat`); bar
positions by :func:`.downbeats.assign_positions` on the drum cues alone.
A user's tempo hint (``Analyzer(tempo_hint_bpm=...)``) replaces the tempo
prior of every path by a narrow one around it, so it decides the beat level.
:meth:`Analyzer.analyze_activations`
runs these steps on given activations (used by the benchmarks' cache).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backbeat.analysis import beats as beats_mod
from backbeat.analysis import downbeats as downbeats_mod
from backbeat.analysis import sections as sections_mod
from backbeat.analysis.audio import DEFAULT_MAX_DURATION_S, AudioSignal, load_audio
from backbeat.analysis.features import FPS, N_FFT, SR, log_filterbank
from backbeat.core.errors import InvalidArgumentError, ModelError
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section, TempoSegment

BEAT_SOURCES = ("auto", "beat_model", "dsp", "model", "mean")
#: With the beat network: also run the drum model's off-beat vote (:func:`.beats.correct_offbeat_cues`).
#: Off: on the tuning sets it mends two dev-render files but breaks four Groove MIDI tuning excerpts.
BEAT_MODEL_OFFBEAT_VOTE = False
#: Width (octaves) of the tempo prior when the beat network drives the tracker. The network marks
#: the beat level itself, so its tempo needs less of the prior than onset flux (``beats.PRIOR_OCTAVES``,
#: 0.6). At 0.8, three tuning files come out at the annotated beat level or twice it (a slow 6/8
#: groove, a 4/4 groove that was read as 3/4 at 3:2, a mix that was tracked on the off-beat) and no
#: file of the tuning sets gets worse (bench/analysis.py; docs/BENCHMARKS.md, ninth round).
BEAT_NET_PRIOR_OCTAVES = 0.8
#: Width (octaves) of the tempo prior around a user's tempo hint: narrow enough that the beat level
#: nearest the hint wins (twice or half the hint is weighted 3e-4), wide enough for a rough hint.
TEMPO_HINT_OCTAVES = 0.25
#: Audio per feature chunk, seconds (bounds the temporary memory of the STFT).
FEATURE_CHUNK_S = 60.0


def check_tempo_hint(tempo_hint_bpm: float | None) -> None:
    """Raise :class:`InvalidArgumentError` unless the hint is None or within the analysed tempo range."""
    if tempo_hint_bpm is not None and not beats_mod.MIN_BPM <= tempo_hint_bpm <= beats_mod.MAX_BPM:
        raise InvalidArgumentError(f"tempo hint must be {beats_mod.MIN_BPM:.0f}-{beats_mod.MAX_BPM:.0f} BPM, "
                                   f"got {tempo_hint_bpm:g}")


def chunked_log_filterbank(samples: np.ndarray, *, sr: int = SR,
                           chunk_s: float = FEATURE_CHUNK_S) -> np.ndarray:
    """:func:`backbeat.analysis.features.log_filterbank` computed chunk by chunk.

    Each chunk is computed with enough audio context on both sides that
    every frame equals the one-shot result, while temporary buffers stay at
    the size of one chunk instead of the whole song.

    Parameters
    ----------
    samples
        Mono audio, shape ``(n,)``.
    sr
        Sample rate (a multiple of the frame rate).
    chunk_s
        Chunk length in seconds.

    Returns
    -------
    np.ndarray
        Shape ``(1 + n // hop, n_bands)``, float32.
    """
    x = np.asarray(samples)
    hop = sr // FPS
    n = x.size
    n_frames = 1 + n // hop
    chunk_frames = max(1, int(chunk_s * FPS))
    if n_frames <= chunk_frames:
        return log_filterbank(x, sr=sr)
    ctx = hop * (-(-N_FFT * sr // SR // 2 // hop) + 1)  # >= half an FFT, a whole number of hops
    parts = []
    for f0 in range(0, n_frames, chunk_frames):
        f1 = min(n_frames, f0 + chunk_frames)
        start = max(0, f0 * hop - ctx)
        stop = min(n, f1 * hop + ctx)
        off = (f0 * hop - start) // hop
        parts.append(log_filterbank(x[start:stop], sr=sr)[off:off + (f1 - f0)])
    return np.concatenate(parts, axis=0)


@dataclass
class Timings:
    """Seconds spent in each step of the last analysis."""

    decode_s: float = 0.0
    features_s: float = 0.0
    drums_s: float = 0.0
    beats_s: float = 0.0
    sections_s: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    def total_s(self) -> float:
        """Sum of all steps."""
        return self.decode_s + self.features_s + self.drums_s + self.beats_s + self.sections_s


class Analyzer:
    """Analyses songs; loads the drum model once.

    Parameters
    ----------
    max_duration_s
        Longest audio accepted (``None``: no limit).
    beat_source
        ``"auto"``, ``"beat_model"``, ``"dsp"``, ``"model"`` or ``"mean"`` (see module docs).
    use_drum_model
        If False, or if the weights are missing, no drum hits are produced
        and bar positions come from the beat network alone (or, without it,
        beats and bars from the DSP activation); ``Analysis.extra["warnings"]``
        says so.
    tempo_hint_bpm
        The song's tempo in BPM if the user knows it, roughly: it picks the
        beat level (say 170 rather than 85 for a fast punk song, which
        the analysis on its own tends to halve); beats and tempo changes
        still come from the audio. In quarter notes a minute, as a chart
        counts: a 6/8 at 60 dotted quarters is 90. ``None``: no hint.
    """

    def __init__(self, *, max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
                 beat_source: str = "auto", use_drum_model: bool = True,
                 tempo_hint_bpm: float | None = None) -> None:
        if beat_source not in BEAT_SOURCES:
            raise InvalidArgumentError(f"beat_source must be one of {BEAT_SOURCES}, got {beat_source!r}")
        check_tempo_hint(tempo_hint_bpm)
        self.max_duration_s = max_duration_s
        self.beat_source = beat_source
        self.tempo_hint_bpm = tempo_hint_bpm
        self.model: Any = None
        self.model_problem = ""
        if use_drum_model:
            try:
                from backbeat.analysis.drums import DrumModel

                self.model = DrumModel.load()
            except (ModelError, ImportError) as exc:
                self.model_problem = f"drum model unavailable: {exc}"
        else:
            self.model_problem = "drum model disabled"
        if beat_source in ("model", "mean") and self.model is None:
            raise ModelError(f"beat_source 'model' needs the drum model ({self.model_problem})")
        self.beat_model: Any = None
        self.beat_model_problem = ""
        if beat_source in ("auto", "beat_model"):
            try:
                from backbeat.analysis.beat_model import BeatModel

                self.beat_model = BeatModel.load()
            except (ModelError, ImportError) as exc:
                if beat_source == "beat_model":
                    raise ModelError(f"beat_source 'beat_model' needs the beat network ({exc})") from exc
                self.beat_model_problem = f"beat network unavailable: {exc}"
        self.timings = Timings()

    def analyze(self, path: str | Path) -> Analysis:
        """Analyse one audio file.

        Raises
        ------
        AudioError
            Subclasses for unreadable, corrupt, silent or too long files.
        """
        t0 = time.perf_counter()
        signal = load_audio(path, sr=SR, max_duration_s=self.max_duration_s)
        decode_s = time.perf_counter() - t0
        t = time.perf_counter()
        features = chunked_log_filterbank(signal.samples, sr=SR)
        features_s = time.perf_counter() - t
        duration_s, name = signal.duration_s, Path(signal.path).name
        del signal  # the samples are not needed any more: free them before the rest runs
        result = self.analyze_features(features, duration_s=duration_s, source=name)
        self.timings.decode_s = decode_s
        self.timings.features_s = features_s
        return result

    def analyze_signal(self, signal: AudioSignal) -> Analysis:
        """Analyse decoded audio (mono at :data:`backbeat.analysis.features.SR`)."""
        if signal.sr != SR:
            raise InvalidArgumentError(f"analysis runs at {SR} Hz, got audio at {signal.sr} Hz")
        t = time.perf_counter()
        features = chunked_log_filterbank(signal.samples, sr=SR)
        features_s = time.perf_counter() - t
        result = self.analyze_features(features, duration_s=signal.duration_s, source=Path(signal.path).name)
        self.timings.features_s = features_s
        return result

    def analyze_features(self, features: np.ndarray, *, duration_s: float, source: str = "") -> Analysis:
        """Analyse a song from its log filterbank (shape ``(n_frames, n_bands)`` at 100 fps).

        Parameters
        ----------
        features
            From :func:`chunked_log_filterbank` / ``log_filterbank``.
        duration_s
            Length of the audio in seconds.
        source
            File name for :attr:`Analysis.source`.
        """
        t = time.perf_counter()
        acts = self.drum_activations(features)
        drums_s = time.perf_counter() - t
        result = self.analyze_activations(features, acts, duration_s=duration_s, source=source)
        self.timings.drums_s += drums_s
        return result

    def drum_activations(self, features: np.ndarray) -> Any:
        """The drum model's activations, or None without the model."""
        return None if self.model is None else self.model.activations(features)

    def analyze_activations(self, features: np.ndarray, acts: Any, hits: list[DrumHit] | None = None, *,
                            duration_s: float, source: str = "") -> Analysis:
        """Beats, meter, downbeats and sections from features and drum-model activations.

        Parameters
        ----------
        features
            Log filterbank, shape ``(n_frames, n_bands)`` at 100 fps.
        acts
            The drum model's activations (any object with the
            :class:`~backbeat.analysis.drums.Activations` attributes), or None.
        hits
            Drum hits to store in the analysis; default: transcribed from ``acts`` on the
            beats found (:func:`.drums.transcribe`), none without the drum model or when ``acts``
            is not its :class:`~backbeat.analysis.drums.Activations`.
        duration_s
            Length of the audio in seconds.
        source
            File name for :attr:`Analysis.source`.
        """
        timings = Timings()
        warnings = [p for p in (self.model_problem, self.beat_model_problem) if p]

        t = time.perf_counter()
        if self.beat_model is not None:
            beat_times, positions, meter = self._beats_from_beat_model(features, acts, duration_s=duration_s)
        else:
            beat_times, positions, meter = self._beats_from_activation(features, acts, duration_s=duration_s)
        segments = beats_mod.tempo_segments_from_beats(beat_times, beats_per_bar=meter.beats_per_bar,
                                                       beat_unit=meter.beat_unit)
        if not segments:
            warnings.append("too short to find a tempo")
        timings.beats_s = time.perf_counter() - t

        t = time.perf_counter()
        if hits is None:
            hits = self._transcribe(acts, beat_times)
        timings.drums_s = time.perf_counter() - t

        t = time.perf_counter()
        sections: list[Section] = sections_mod.find_sections(features, beat_times, positions,
                                                            duration_s=duration_s, fps=FPS, activations=acts)
        timings.sections_s = time.perf_counter() - t
        self.timings = timings

        extra: dict[str, Any] = {
            "meter": f"{meter.beats_per_bar}/{meter.beat_unit}",
            "beat_source": self.effective_beat_source(acts),
        }
        if self.tempo_hint_bpm is not None:
            extra["tempo_hint_bpm"] = self.tempo_hint_bpm
        if warnings:
            extra["warnings"] = warnings
        return Analysis(
            duration_s=float(duration_s),
            tempo_map=tuple(segments),
            beats=tuple(Beat(float(b), int(p)) for b, p in zip(beat_times, positions)),
            drums=tuple(hits),
            sections=tuple(sections),
            source=source,
            extra=extra,
        )

    def _transcribe(self, acts: Any, beats_s: np.ndarray) -> list[DrumHit]:
        """Drum hits (in time order) from the drum model's activations and the song's beats; none
        without the model or for activations that are not its :class:`.drums.Activations` (the
        benchmarks' caches of a few of them)."""
        from backbeat.analysis.drums import Activations, transcribe

        if self.model is None or not isinstance(acts, Activations):
            return []
        return transcribe(acts, thresholds=self.model.thresholds, beats_s=beats_s)

    def _beats_from_beat_model(self, features: np.ndarray, acts: Any, *,
                               duration_s: float) -> tuple[np.ndarray, np.ndarray, downbeats_mod.Meter]:
        """Beats, bar positions and meter from the beat network.

        Beats: :func:`.beats.track_beats` over the network's beat output (plus the drum
        model's off-beat vote if :data:`BEAT_MODEL_OFFBEAT_VOTE`), tracked again at twice the
        tempo where the snare's back beat says so (:func:`_settle_beat_level`; not with a tempo
        hint). Bar positions: with drum-model activations, :func:`.downbeats.assign_positions`
        (meter detection and the 4/4 bar template) with the network's downbeat log-odds added
        (:func:`.downbeats.network_downbeat_evidence`) and the bar-start cues
        (:func:`.downbeats.bar_start_cues`: crash, fill, kick after the beat); without,
        :func:`.beat_model.bar_positions` over the network's downbeat output.
        """
        from backbeat.analysis.beat_model import bar_positions

        bacts = self.beat_model.activations(features)
        prior_bpm, prior_octaves = self._tempo_prior(BEAT_NET_PRIOR_OCTAVES)
        all_beats = beats_mod.track_beats(bacts.beat, fps=FPS, prior_bpm=prior_bpm,
                                          prior_octaves=prior_octaves).beats_s
        if acts is not None and BEAT_MODEL_OFFBEAT_VOTE:
            all_beats = _offbeat_vote(all_beats, acts)
        meter = None
        if acts is not None and self.tempo_hint_bpm is None:
            all_beats = _settle_beat_level(all_beats, bacts.beat, acts, prior_bpm=prior_bpm,
                                           prior_octaves=prior_octaves)
        if acts is not None and _in_compound_pairs(all_beats, acts):
            # A compound meter tracked two eighths a beat: count it in eighths, as 6/8 (whose bars
            # start on the dotted-quarter pulse, .downbeats.pulse_evidence). Also with a hint: the
            # beats' quarter-note tempo stays the hint's, as a 6/8 chart counts it.
            all_beats = beats_mod.halves(all_beats)
            meter = downbeats_mod.Meter(6, 8)
        beat_times = all_beats[all_beats < duration_s]
        if acts is not None:
            net_evidence = downbeats_mod.network_downbeat_evidence(beat_times, bacts.downbeat, fps=FPS)
            bar_start = None
            if all(getattr(acts, k, None) is not None for k in ("cymbal", "tom", "kick")):
                bar_start = downbeats_mod.bar_start_cues(beat_times, acts.cymbal, acts.tom, acts.kick,
                                                         ride_activation=getattr(acts, "ride", None), fps=FPS)
            return (beat_times, *_bar_positions(beat_times, features, acts, extra_evidence=net_evidence,
                                                bar_start=bar_start, meter=meter,
                                                eighths=not self._hinted_quarters(beat_times),
                                                slip_cost=downbeats_mod.FUSED_SLIP_COST))
        positions, beats_per_bar = bar_positions(beat_times, bacts.downbeat, fps=FPS)
        return beat_times, positions, downbeats_mod.Meter(beats_per_bar, 4)

    def _beats_from_activation(self, features: np.ndarray, acts: Any, *,
                               duration_s: float) -> tuple[np.ndarray, np.ndarray, downbeats_mod.Meter]:
        """Beats, bar positions and meter from the drum model's outputs or the DSP activation."""
        activation = self.beat_activation(features, acts)
        prior_bpm, prior_octaves = self._tempo_prior(beats_mod.PRIOR_OCTAVES)
        anchor = None if acts is not None else beats_mod.low_band_activation(features)
        all_beats = beats_mod.track_beats(activation, fps=FPS, anchor=anchor, prior_bpm=prior_bpm,
                                          prior_octaves=prior_octaves).beats_s
        if acts is not None:
            all_beats = _offbeat_vote(all_beats, acts)
        beat_times = all_beats[all_beats < duration_s]
        return (beat_times, *_bar_positions(beat_times, features, acts,
                                            eighths=not self._hinted_quarters(beat_times)))

    def _hinted_quarters(self, beats_s: np.ndarray) -> bool:
        """Whether a tempo hint makes the tracked beats quarter notes, never a 6/8's eighths.

        A hint counts quarter notes a minute, as a chart does. Beats the tracker found near
        it (nearer than to twice it) counted as eighths would chart at half the hint: pressing
        "twice the tempo" on a 6/8 read in slow eighths would give the same reading again.
        Beats near twice the hint may still be a 6/8's eighths (its quarters at the hint).
        """
        if self.tempo_hint_bpm is None or len(beats_s) < 2:
            return False
        return beats_mod.median_bpm(beats_s) <= np.sqrt(2.0) * self.tempo_hint_bpm

    def _tempo_prior(self, octaves: float) -> tuple[float, float]:
        """Centre (BPM) and width (octaves) of the tempo prior: default, ``octaves`` wide, or the hint's."""
        if self.tempo_hint_bpm is None:
            return beats_mod.PRIOR_BPM, octaves
        return self.tempo_hint_bpm, TEMPO_HINT_OCTAVES

    def effective_beat_source(self, acts: Any) -> str:
        """Which activation drives the beat tracker for these activations."""
        if self.beat_model is not None:
            return "beat_model"
        has_model_beat = acts is not None and getattr(acts, "beat", None) is not None
        if self.beat_source == "dsp" or not has_model_beat:
            return "dsp"
        return "mean" if self.beat_source == "mean" else "model"

    def beat_activation(self, features: np.ndarray, acts: Any) -> np.ndarray:
        """The beat activation for the configured ``beat_source``, shape ``(n_frames,)``."""
        source = self.effective_beat_source(acts)
        if source == "model":
            return beats_mod.normalize_activation(np.asarray(acts.beat, dtype=np.float64))
        dsp = beats_mod.onset_activation(features, fps=FPS)
        if source == "mean":
            return 0.5 * (dsp + beats_mod.normalize_activation(np.asarray(acts.beat, dtype=np.float64)))
        return dsp


def _settle_beat_level(beats_s: np.ndarray, beat_activation: np.ndarray, acts: Any, *, prior_bpm: float,
                       prior_octaves: float) -> np.ndarray:
    """The beats tracked again at twice their tempo if the snare's back beat says they are every other
    beat (:func:`.beats.beats_at_half_level`); else as they are."""
    snare = getattr(acts, "snare", None)
    if snare is None:
        return beats_s
    kick = getattr(acts, "kick", None)
    if not beats_mod.beats_at_half_level(beats_s, beat_activation, snare, kick_activation=kick, fps=FPS,
                                         prior_bpm=prior_bpm, prior_octaves=prior_octaves):
        return beats_s
    twice_bpm = 2.0 * beats_mod.median_bpm(beats_s)
    return beats_mod.track_beats(beat_activation, fps=FPS, tempo_bpm=twice_bpm).beats_s


def _in_compound_pairs(beats_s: np.ndarray, acts: Any) -> bool:
    """Whether the beats are pairs of eighths of a compound meter (:func:`.beats.in_compound_pairs`);
    False without kick and snare activations."""
    kick, snare = getattr(acts, "kick", None), getattr(acts, "snare", None)
    if kick is None or snare is None:
        return False
    return beats_mod.in_compound_pairs(beats_s, kick, snare, fps=FPS)


def _offbeat_vote(beats_s: np.ndarray, acts: Any) -> np.ndarray:
    """Beat versus off-beat from the drum model's beat, kick, snare and downbeat outputs together."""
    cues = {k: getattr(acts, k, None) for k in beats_mod.OFFBEAT_CUES}
    return beats_mod.correct_offbeat_cues(beats_s, {k: v for k, v in cues.items() if v is not None}, fps=FPS)


def _bar_positions(beat_times: np.ndarray, features: np.ndarray, acts: Any, *,
                   extra_evidence: np.ndarray | None = None,
                   bar_start: np.ndarray | None = None,
                   meter: downbeats_mod.Meter | None = None,
                   eighths: bool = True,
                   slip_cost: float = downbeats_mod.SLIP_COST) -> tuple[np.ndarray, downbeats_mod.Meter]:
    """Meter (detected unless given) and bar positions (bar template), with the drum model's cues if any."""
    return downbeats_mod.assign_positions(
        beat_times, features, fps=FPS, downbeat_activation=getattr(acts, "downbeat", None),
        kick_activation=getattr(acts, "kick", None), snare_activation=getattr(acts, "snare", None),
        meter=meter, eighths=eighths, extra_evidence=extra_evidence, bar_start=bar_start, slip_cost=slip_cost)


def tempo_segments_summary(segments: tuple[TempoSegment, ...]) -> str:
    """Short text such as ``"120.0 BPM 4/4"`` or ``"96.0-120.0 BPM 4/4"``."""
    if not segments:
        return "no tempo"
    bpms = [s.bpm for s in segments]
    meter = f"{segments[0].beats_per_bar}/{segments[0].beat_unit}"
    if max(bpms) - min(bpms) < 0.5:
        return f"{bpms[0]:.1f} BPM {meter}"
    return f"{min(bpms):.1f}-{max(bpms):.1f} BPM {meter}"
