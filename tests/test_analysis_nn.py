"""Tests for backbeat.analysis.nn: the numpy forward pass of the shipped network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backbeat.analysis.drums import MODEL_PATH
from backbeat.analysis.features import N_BANDS
from backbeat.analysis.nn import OUTPUTS, TCN, _conv3
from backbeat.core.errors import ModelError


@pytest.fixture(scope="module")
def net() -> TCN:
    return TCN.load(MODEL_PATH)


def test_shipped_weights_are_small_and_plain() -> None:
    assert MODEL_PATH.stat().st_size < 3_000_000
    with np.load(MODEL_PATH, allow_pickle=False) as z:  # raises if anything needs pickle
        assert all(z[k].dtype != object for k in z.files)


def test_numpy_forward_matches_torch_reference(net: TCN) -> None:
    """ref_output was computed by torch (training/finalize.py) from ref_input."""
    x, ref = net.extra["ref_input"], net.extra["ref_output"]
    assert ref.shape == (len(x), len(OUTPUTS))
    np.testing.assert_allclose(net.forward(x), ref, atol=2e-4)


def test_forward_shape_and_range(net: TCN) -> None:
    x = np.random.default_rng(0).uniform(0, 2, (321, N_BANDS)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == (321, len(OUTPUTS)) and y.dtype == np.float32
    assert (y >= 0).all() and (y <= 1).all()
    assert net.forward(np.zeros((0, N_BANDS))).shape == (0, len(OUTPUTS))


def test_forward_is_local_in_time(net: TCN) -> None:
    """Changing frames far away (beyond the receptive field) leaves an output frame unchanged."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, (1200, N_BANDS)).astype(np.float32)
    field = 1 + sum(net.dilations)  # frames each side
    x2 = x.copy()
    x2[600 + field + 1:] = rng.uniform(0, 2, x2[600 + field + 1:].shape)
    np.testing.assert_allclose(net.forward(x)[600], net.forward(x2)[600], atol=1e-5)
    assert not np.allclose(net.forward(x)[1000], net.forward(x2)[1000])


def test_conv3_matches_direct_sum() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    d = 4
    xp = np.pad(x, ((d, d), (0, 0)))
    direct = np.stack([sum(w[:, :, k] @ xp[t + k * d] for k in range(3)) + b for t in range(50)])
    np.testing.assert_allclose(_conv3(x, w, b, d), direct, rtol=1e-4, atol=1e-4)


def test_wrong_band_count_raises(net: TCN) -> None:
    with pytest.raises(ModelError, match="shape"):
        net.forward(np.zeros((10, N_BANDS + 1)))


def test_missing_or_bad_weights_raise(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        TCN.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, format_version=np.array(1), dilations=np.array([1]))
    with pytest.raises(ModelError, match="lack"):
        TCN.load(bad)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, format_version=np.array(99), dilations=np.array([1]))
    with pytest.raises(ModelError, match="version"):
        TCN.load(wrong)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ModelError):
        TCN.load(junk)
