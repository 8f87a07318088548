"""The analysis pipeline end to end on synthetic kits and odd files."""

from __future__ import annotations

from pathlib import Path

import mir_eval
import numpy as np
import pytest
import soundfile as sf

from backbeat.analysis.pipeline import Analyzer, tempo_segments_summary
from backbeat.core.errors import InvalidArgumentError, ModelError, SilentAudioError
from backbeat.core.song_analysis import Analysis, TempoSegment


def drum_song(duration_s: float, *, bpm: float = 120.0, sr: int = 44100, beats_per_bar: int = 4,
              seed: int = 0, backbeat: bool = False, subdivision: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic kit: kick on 1 (and the "and" of 3 in 4/4), snare on other beats,
    hi-hat eighths, a crash on every fourth downbeat. With ``backbeat``, a rock beat instead:
    kick on 1 and 3, snare on 2 and 4. ``subdivision`` hi-hats a beat (3: a compound meter's
    dotted-quarter beats in eighths).

    Returns (samples float32, beat times in seconds).
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    x = np.zeros(n, dtype=np.float64)
    period = 60.0 / bpm
    t_kick = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t_kick * 30)) * t_kick) * np.exp(-t_kick * 12)
    n_snare = int(0.15 * sr)
    snare = rng.standard_normal(n_snare) * np.exp(-np.arange(n_snare) / (0.03 * sr)) * 0.6
    n_hat = int(0.05 * sr)
    hat = np.diff(rng.standard_normal(n_hat + 1)) * np.exp(-np.arange(n_hat) / (0.008 * sr)) * 0.2
    n_crash = int(1.0 * sr)
    crash = np.diff(rng.standard_normal(n_crash + 1)) * np.exp(-np.arange(n_crash) / (0.3 * sr)) * 0.3

    def add(sound: np.ndarray, t: float) -> None:
        i = round(t * sr)
        if i < n:
            m = min(sound.size, n - i)
            x[i:i + m] += sound[:m]

    beats = np.arange(0.1, duration_s - 0.05, period)
    for k, t in enumerate(beats):
        pos = k % beats_per_bar
        if backbeat:
            add(snare if pos % 2 else kick, t)
        elif pos == 0:
            add(kick, t)
            if (k // beats_per_bar) % 4 == 0:
                add(crash, t)
        else:
            add(snare, t)
        if beats_per_bar == 4 and pos == 2 and not backbeat:
            add(kick, t + period / 2)
        add(hat, t)
        for j in range(1, subdivision):
            add(hat * 0.6, t + period * j / subdivision)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32), beats


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """The DSP-only path (no drum model, no beat network)."""
    return Analyzer(use_drum_model=False, beat_source="dsp")


def _write(tmp_path: Path, name: str, x: np.ndarray, sr: int = 44100) -> Path:
    path = tmp_path / name
    sf.write(path, x, sr)
    return path


@pytest.mark.parametrize("bpm", [96.0, 128.0])
def test_synthetic_four_four(tmp_path: Path, analyzer: Analyzer, bpm: float) -> None:
    x, beats = drum_song(24.0, bpm=bpm)
    a = analyzer.analyze(_write(tmp_path, "four.wav", x))
    est = np.array([b.time_s for b in a.beats])
    assert mir_eval.beat.f_measure(beats, est) > 0.95
    assert len(a.tempo_map) == 1
    assert a.tempo_map[0].bpm == pytest.approx(bpm, rel=0.02)
    assert (a.tempo_map[0].beats_per_bar, a.tempo_map[0].beat_unit) == (4, 4)
    ref_down = beats[::4]
    assert mir_eval.onset.f_measure(ref_down, np.array(a.downbeats_s), window=0.07)[0] > 0.9
    assert a.sections[0].start_s == 0.0 and a.sections[-1].end_s == pytest.approx(a.duration_s)
    assert a.extra["beat_source"] == "dsp"


def test_synthetic_three_four(tmp_path: Path, analyzer: Analyzer) -> None:
    x, beats = drum_song(24.0, bpm=108.0, beats_per_bar=3)
    a = analyzer.analyze(_write(tmp_path, "waltz.flac", x))
    est = np.array([b.time_s for b in a.beats])
    assert mir_eval.beat.f_measure(beats, est) > 0.95
    assert a.extra["meter"] == "3/4"
    assert {b.position for b in a.beats} == {1, 2, 3}
    assert mir_eval.onset.f_measure(beats[::3], np.array(a.downbeats_s), window=0.07)[0] > 0.9


def test_json_round_trip(tmp_path: Path, analyzer: Analyzer) -> None:
    x, _ = drum_song(12.0)
    a = analyzer.analyze(_write(tmp_path, "rt.wav", x))
    data = a.to_json()
    assert data["schema_version"] == 1 and data["source"] == "rt.wav"
    b = Analysis.from_json(data)
    assert b.to_json() == data


def test_one_second_clip_is_analysed(tmp_path: Path, analyzer: Analyzer) -> None:
    x, _ = drum_song(1.0, bpm=120.0)
    a = analyzer.analyze(_write(tmp_path, "second.wav", x))
    assert a.duration_s == pytest.approx(1.0, abs=1e-3)
    assert len(a.sections) == 1 and a.sections[0].end_s == pytest.approx(1.0, abs=1e-3)
    assert all(0 <= b.time_s < 1.0 for b in a.beats)


def test_six_channel_96k_file(tmp_path: Path, analyzer: Analyzer) -> None:
    x, beats = drum_song(12.0, bpm=110.0, sr=96000)
    multi = np.zeros((x.size, 6), dtype=np.float32)
    multi[:, 0] = x
    multi[:, 1] = x
    a = analyzer.analyze(_write(tmp_path, "surround.flac", multi, sr=96000))
    est = np.array([b.time_s for b in a.beats])
    assert mir_eval.beat.f_measure(beats, est) > 0.9


def test_silence_raises(tmp_path: Path, analyzer: Analyzer) -> None:
    with pytest.raises(SilentAudioError, match="silent"):
        analyzer.analyze(_write(tmp_path, "quiet.wav", np.zeros(44100 * 3, dtype=np.float32)))


def test_bad_beat_source() -> None:
    with pytest.raises(InvalidArgumentError, match="beat_source"):
        Analyzer(beat_source="psychic", use_drum_model=False)


@pytest.mark.parametrize("hint", [54.0, 216.0, float("nan")])
def test_tempo_hint_outside_the_range_is_refused(hint: float) -> None:
    with pytest.raises(InvalidArgumentError, match="tempo hint must be 55-215 BPM"):
        Analyzer(use_drum_model=False, beat_source="dsp", tempo_hint_bpm=hint)


@pytest.mark.parametrize(("hint", "level"), [(100.0, 1.0), (180.0, 2.0), (115.0, 1.0)])
def test_tempo_hint_chooses_the_octave(tmp_path: Path, hint: float, level: float) -> None:
    """A 96 BPM kit with a hint near 96 stays there; a hint near 192 gives twice as many beats."""
    x, beats = drum_song(24.0, bpm=96.0)
    a = Analyzer(use_drum_model=False, beat_source="dsp", tempo_hint_bpm=hint).analyze(
        _write(tmp_path, "hint.wav", x))
    assert a.tempo_map[0].bpm == pytest.approx(96.0 * level, rel=0.02)
    est = np.array([b.time_s for b in a.beats])
    if level == 1.0:
        assert mir_eval.beat.f_measure(beats, est) > 0.95


@pytest.mark.parametrize("bpm", [165.0, 190.0])
def test_fast_rock_beat_is_counted_at_its_tempo(tmp_path: Path, bpm: float) -> None:
    """The beat network alone halves a fast rock beat; the snare's back beat brings it to its tempo."""
    x, beats = drum_song(30.0, bpm=bpm, backbeat=True)
    a = Analyzer().analyze(_write(tmp_path, "fast.wav", x))
    assert a.tempo_map[0].bpm == pytest.approx(bpm, rel=0.02)
    assert mir_eval.beat.f_measure(beats, np.array([b.time_s for b in a.beats])) > 0.95


@pytest.mark.parametrize("dq_bpm", [41.0, 56.0, 68.0])
def test_six_eight_is_counted_in_its_dotted_quarters(tmp_path: Path, dq_bpm: float) -> None:
    """A 6/8 beat (kick on 1, snare on 4, hi-hat eighths) that the networks track as a 3/4, in
    eighths when slow (41) or two eighths a beat (the hemiola, 56 and 68), comes out as 6/8 in
    eighths with its bars on the dotted quarters."""
    x, beats = drum_song(30.0, bpm=dq_bpm, beats_per_bar=2, backbeat=True, subdivision=3)
    a = Analyzer().analyze(_write(tmp_path, "six_eight.wav", x))
    assert a.extra["meter"] == "6/8"
    assert a.tempo_map[0].bpm == pytest.approx(3 * dq_bpm, rel=0.02)
    pulse = np.array([b.time_s for b in a.beats if b.position in (1, 4)])
    assert mir_eval.beat.f_measure(beats, pulse) > 0.95


def test_six_eight_with_a_hint_at_its_quarter_notes_is_still_six_eight(tmp_path: Path) -> None:
    """A tempo hint at the quarter-note tempo of a 6/8 (how its chart counts it: 90 for dotted
    quarters of 60) tracks two eighths a beat; the song is still counted in eighths as 6/8."""
    x, beats = drum_song(30.0, bpm=60.0, beats_per_bar=2, backbeat=True, subdivision=3)
    a = Analyzer(tempo_hint_bpm=90.0).analyze(_write(tmp_path, "six_eight_hint.wav", x))
    assert a.extra["meter"] == "6/8"
    pulse = np.array([b.time_s for b in a.beats if b.position in (1, 4)])
    assert mir_eval.beat.f_measure(beats, pulse) > 0.95


def test_a_hint_at_the_eighths_of_a_six_eight_counts_them_as_quarter_notes(tmp_path: Path) -> None:
    """A slow 6/8 (dotted quarters of 41) charts at 61.5 quarter notes a minute, counted in eighths.
    The setup screen's "twice the tempo" sends a hint of 123 quarter notes: the same eighths,
    which must now chart at the hint's tempo (3/4 in quarter notes), not come back as before."""
    x, _ = drum_song(30.0, bpm=41.0, beats_per_bar=2, backbeat=True, subdivision=3)
    path = _write(tmp_path, "slow_six_eight.wav", x)
    plain = Analyzer().analyze(path)
    assert plain.extra["meter"] == "6/8"
    quarter_bpm = plain.tempo_map[0].bpm / 2  # the tempo map counts 6/8 in eighths
    assert quarter_bpm == pytest.approx(61.5, rel=0.02)
    hinted = Analyzer(tempo_hint_bpm=2 * quarter_bpm).analyze(path)
    assert hinted.extra["meter"] == "3/4"
    assert hinted.tempo_map[0].bpm == pytest.approx(2 * quarter_bpm, rel=0.02)
    assert [b.time_s for b in hinted.beats] == [b.time_s for b in plain.beats]


def test_waltz_stays_in_three_quarter_notes(tmp_path: Path) -> None:
    x, beats = drum_song(30.0, bpm=100.0, beats_per_bar=3)
    a = Analyzer().analyze(_write(tmp_path, "waltz.wav", x))
    assert a.extra["meter"] == "3/4"
    assert mir_eval.beat.f_measure(beats, np.array([b.time_s for b in a.beats])) > 0.95


def test_tempo_summary() -> None:
    assert tempo_segments_summary(()) == "no tempo"
    assert tempo_segments_summary((TempoSegment(0, 120.0),)) == "120.0 BPM 4/4"
    segs = (TempoSegment(0, 100.0, 6, 8), TempoSegment(10, 120.0, 6, 8))
    assert tempo_segments_summary(segs) == "100.0-120.0 BPM 6/8"


def test_chunked_features_equal_one_shot() -> None:
    from backbeat.analysis.features import log_filterbank
    from backbeat.analysis.pipeline import chunked_log_filterbank

    rng = np.random.default_rng(0)
    for n in (44100 * 20 + 17, 441 * 1500, 441 * 1500 - 1):
        x = (rng.standard_normal(n) * 0.1).astype(np.float32)
        ref = log_filterbank(x)
        got = chunked_log_filterbank(x, chunk_s=3.7)
        assert got.shape == ref.shape
        assert np.max(np.abs(got - ref)) < 1e-5


def test_beat_source_selection_with_and_without_model_beats() -> None:
    from types import SimpleNamespace

    feats = np.random.default_rng(0).random((500, 80)).astype(np.float32)
    model_beat = np.zeros(500)
    model_beat[::50] = 0.4  # a weak but clean learned activation
    acts = SimpleNamespace(beat=model_beat)
    dsp_only = Analyzer(use_drum_model=False, beat_source="dsp")
    assert dsp_only.effective_beat_source(None) == "dsp"
    assert dsp_only.effective_beat_source(SimpleNamespace(beat=None)) == "dsp"
    auto = Analyzer(use_drum_model=False)  # selection logic only; activations are passed in
    assert auto.beat_model is not None  # auto loads the beat network, with or without the drum model
    assert auto.effective_beat_source(None) == "beat_model"
    auto.beat_model = None  # as if the beat network were missing: the drum model's beats, else DSP
    assert auto.effective_beat_source(None) == "dsp"
    assert auto.effective_beat_source(acts) == "model"
    act = auto.beat_activation(feats, acts)
    assert act.max() == pytest.approx(1.0)  # scaled to [0, 1]
    assert np.array_equal(np.flatnonzero(act), np.arange(0, 500, 50))
    forced = Analyzer(use_drum_model=False, beat_source="dsp")
    assert forced.beat_model is None  # only "auto" and "beat_model" load the beat network
    assert Analyzer(beat_source="model").beat_model is None
    assert forced.effective_beat_source(acts) == "dsp"
    with pytest.raises(ModelError):
        Analyzer(use_drum_model=False, beat_source="mean")


def test_auto_is_the_beat_network_with_both_models_and_falls_back_without_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Default path: beat network (+ drum model); without the beat network, the drum model's beats."""
    from types import SimpleNamespace

    from backbeat.analysis import beat_model

    auto = Analyzer()
    if auto.model is None:
        pytest.skip(f"drum model not available: {auto.model_problem}")
    assert auto.beat_model is not None and auto.beat_model_problem == ""
    assert auto.effective_beat_source(SimpleNamespace(beat=np.zeros(3))) == "beat_model"

    def missing(cls: type, path: object = None) -> None:
        raise ModelError("no weights")

    monkeypatch.setattr(beat_model.BeatModel, "load", classmethod(missing))
    fallback = Analyzer()
    assert fallback.beat_model is None and "beat network unavailable" in fallback.beat_model_problem
    assert fallback.effective_beat_source(SimpleNamespace(beat=np.zeros(3))) == "model"
    assert Analyzer(use_drum_model=False).effective_beat_source(None) == "dsp"
    with pytest.raises(ModelError, match="beat network"):
        Analyzer(beat_source="beat_model")
    x, _ = drum_song(8.0)
    a = fallback.analyze(_write(tmp_path, "fallback.wav", x))
    assert a.extra["beat_source"] == "model"
    assert any("beat network unavailable" in w for w in a.extra["warnings"])


@pytest.mark.parametrize(("bpm", "beats_per_bar"), [(96.0, 4), (128.0, 4), (108.0, 3)])
def test_beat_network_path_on_synthetic_drums(tmp_path: Path, bpm: float, beats_per_bar: int) -> None:
    """With the beat network (beat_source="beat_model"): beats, bar length and downbeats."""
    an = Analyzer(use_drum_model=False, beat_source="beat_model")
    x, beats = drum_song(24.0, bpm=bpm, beats_per_bar=beats_per_bar)
    a = an.analyze(_write(tmp_path, "net.flac", x))
    assert a.extra["beat_source"] == "beat_model"
    est = np.array([b.time_s for b in a.beats])
    assert mir_eval.beat.f_measure(beats, est) > 0.95
    assert a.extra["meter"] == f"{beats_per_bar}/4"
    assert a.tempo_map[0].bpm == pytest.approx(bpm, rel=0.02)
    ref_down = beats[::beats_per_bar]
    assert mir_eval.onset.f_measure(ref_down, np.array(a.downbeats_s), window=0.07)[0] > 0.9
