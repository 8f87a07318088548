"""Tests for backbeat.analysis.beat_model: the shipped beat network and the bar-position decoder."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from backbeat.analysis.beat_model import (
    BEAT_MODEL_PATHS,
    BeatModel,
    bar_positions,
    beat_synchronous_max,
    decode_bar,
)
from backbeat.analysis.features import N_BANDS
from backbeat.analysis.nn import TCN
from backbeat.core.errors import InvalidArgumentError, ModelError


@pytest.fixture(scope="module")
def model() -> BeatModel:
    return BeatModel.load()


def test_shipped_weights_are_small_and_plain() -> None:
    assert sum(p.stat().st_size for p in BEAT_MODEL_PATHS) < 3_000_000
    for path in BEAT_MODEL_PATHS:
        with np.load(path, allow_pickle=False) as z:  # raises if anything needs pickle
            assert all(z[k].dtype != object for k in z.files)


def test_numpy_forward_matches_torch_reference(model: BeatModel) -> None:
    """ref_output was computed by torch (training/train_beats.py) from ref_input, for each network."""
    assert len(model.nets) == len(BEAT_MODEL_PATHS) >= 1
    for net in model.nets:
        x, ref = net.extra["ref_input"], net.extra["ref_output"]
        assert ref.shape == (len(x), 2)
        np.testing.assert_allclose(net.forward(x), ref, atol=2e-4)


def test_activations_average_the_networks(model: BeatModel) -> None:
    x = np.random.default_rng(2).uniform(0, 2, (500, N_BANDS)).astype(np.float32)
    each = [BeatModel.load(p).activations(x) for p in BEAT_MODEL_PATHS]
    both = model.activations(x)
    np.testing.assert_allclose(both.beat, np.mean([a.beat for a in each], axis=0), atol=1e-6)
    np.testing.assert_allclose(both.downbeat, np.mean([a.downbeat for a in each], axis=0), atol=1e-6)


@pytest.mark.parametrize("index", range(len(BEAT_MODEL_PATHS)))
def test_long_receptive_field(model: BeatModel, index: int) -> None:
    """One output frame sees about ten seconds either side, and nothing beyond."""
    net = model.nets[index]
    field = net.context_frames
    assert field >= 1000
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, (2 * field + 400, N_BANDS)).astype(np.float32)
    x2 = x.copy()
    centre = field + 200
    x2[centre + field + 1:] = rng.uniform(0, 2, x2[centre + field + 1:].shape)
    np.testing.assert_allclose(net.forward(x)[centre], net.forward(x2)[centre], atol=1e-5)
    x3 = x.copy()
    x3[centre + field - 5:] = 0.0  # changes inside the field do change the output
    assert np.any(net.forward(x)[centre] != net.forward(x3)[centre])


def test_activations_shape_and_range(model: BeatModel) -> None:
    x = np.random.default_rng(0).uniform(0, 2, (321, N_BANDS)).astype(np.float32)
    acts = model.activations(x)
    assert acts.beat.shape == (321,) and acts.downbeat.shape == (321,)
    assert (acts.beat >= 0).all() and (acts.beat <= 1).all()
    assert model.activations(np.zeros((0, N_BANDS))).beat.shape == (0,)


def test_load_is_cached_and_checks_outputs(tmp_path: Path) -> None:
    assert BeatModel.load() is BeatModel.load()
    with pytest.raises(ModelError):
        BeatModel.load(tmp_path / "missing.npz")
    with np.load(BEAT_MODEL_PATHS[0], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["outputs"] = np.array(["kick", "snare"])
    np.savez(tmp_path / "wrong.npz", **arrays)
    with pytest.raises(ModelError, match="beat, downbeat"):
        BeatModel(TCN.load(BEAT_MODEL_PATHS[0]), TCN.load(tmp_path / "wrong.npz"))
    with pytest.raises(ModelError, match="at least one"):
        BeatModel()


def _downbeat_probs(n: int, bar: int, phase: int, *, hi: float = 0.8, lo: float = 0.1) -> np.ndarray:
    p = np.full(n, lo)
    p[phase::bar] = hi
    return p


@pytest.mark.parametrize(("bar", "phase"), [(4, 0), (4, 1), (4, 3), (3, 2)])
def test_decode_bar_follows_the_evidence(bar: int, phase: int) -> None:
    p = _downbeat_probs(40, bar, phase)
    pos, _ = decode_bar(p, bar)
    assert np.all(pos[phase::bar] == 1)
    assert np.all(np.diff(pos)[phase:] % bar == 1 % bar)


def test_decode_bar_follows_one_added_beat_but_not_noise() -> None:
    # Bars of four, then one extra beat (a 5/4 bar), then bars of four again.
    p = np.concatenate([_downbeat_probs(32, 4, 0), _downbeat_probs(33, 4, 1)])
    pos, _ = decode_bar(p, 4)
    assert np.all(pos[np.flatnonzero(p > 0.5)] == 1)
    noisy = _downbeat_probs(48, 4, 0)
    noisy[21] = 0.9  # one spurious strong beat does not move the bar grid
    pos, _ = decode_bar(noisy, 4)
    assert np.all(pos[::4] == 1)


def test_bar_positions_picks_the_bar_length() -> None:
    fps = 100
    beats = np.arange(48) * 0.5 + 0.2
    for bar in (3, 4):
        act = np.zeros(3000)
        act[np.round(beats[::bar] * fps).astype(int)] = 0.9
        act[np.round(np.delete(beats, np.s_[::bar]) * fps).astype(int)] = 0.05
        pos, m = bar_positions(beats, act, fps=fps)
        assert m == bar
        assert np.all(pos[::bar] == 1)
    pos, m = bar_positions(np.zeros(0), np.zeros(10))
    assert pos.size == 0 and m == 4


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        decode_bar(np.ones(4), 0)
    with pytest.raises(InvalidArgumentError):
        bar_positions(np.ones(4), np.ones(500), bar_lengths={})


def test_beat_synchronous_max_window() -> None:
    act = np.zeros(100)
    act[50] = 1.0
    got = beat_synchronous_max(act, np.array([0.47, 0.5, 0.53, 0.6, 5.0]), fps=100, window_s=0.04)
    np.testing.assert_allclose(got, [1.0, 1.0, 1.0, 0.0, 0.0])


def test_analyzer_uses_the_beat_model_on_given_features(model: BeatModel) -> None:
    """The pipeline path with the beat network runs and reports it; positions follow the bar length."""
    from backbeat.analysis.pipeline import Analyzer

    an = Analyzer(use_drum_model=False, beat_source="beat_model")
    assert an.beat_model is not None
    feats = np.random.default_rng(3).uniform(0, 1, (1500, N_BANDS)).astype(np.float32)
    a = an.analyze_activations(feats, None, duration_s=15.0)
    assert a.extra["beat_source"] == "beat_model"
    bpb = int(a.extra["meter"].split("/")[0])
    assert all(1 <= b.position <= bpb for b in a.beats)
    assert an.effective_beat_source(SimpleNamespace(beat=np.zeros(3))) == "beat_model"
    assert Analyzer(use_drum_model=False).beat_model is not None  # auto uses it without the drum model too
    assert Analyzer(use_drum_model=False, beat_source="dsp").beat_model is None
