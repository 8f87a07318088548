"""Training-side weight tools (training/average_weights.py) on the shipped drum model's file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from backbeat.analysis.drums import MODEL_PATH

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
average_weights = pytest.importorskip("average_weights")


def _write(path: Path, weights: dict[str, np.ndarray]) -> Path:
    np.savez(path, **weights)
    return path


def test_average_is_the_element_wise_mean_and_keeps_the_architecture(tmp_path: Path) -> None:
    with np.load(MODEL_PATH, allow_pickle=False) as z:
        shipped = {k: z[k] for k in z.files}
    moved = {k: (v + np.float32(0.5) if k not in average_weights.SHARED and v.dtype.kind == "f" else v)
             for k, v in shipped.items()}
    out = average_weights.average_weights([_write(tmp_path / "a.npz", shipped),
                                           _write(tmp_path / "b.npz", moved)])
    assert set(out) == set(shipped)
    for key, value in shipped.items():
        assert out[key].dtype == value.dtype
        if key in average_weights.SHARED or value.dtype.kind != "f":
            np.testing.assert_array_equal(out[key], value)
        else:
            np.testing.assert_allclose(out[key], value + 0.25, rtol=1e-6, atol=1e-6)


def test_files_of_other_architectures_are_refused(tmp_path: Path) -> None:
    with np.load(MODEL_PATH, allow_pickle=False) as z:
        shipped = {k: z[k] for k in z.files}
    first = _write(tmp_path / "a.npz", shipped)
    other = _write(tmp_path / "b.npz", dict(shipped, dilations=shipped["dilations"] * 2))
    with pytest.raises(ValueError, match="not one architecture"):
        average_weights.average_weights([first, other])
    fewer = _write(tmp_path / "c.npz", {k: v for k, v in shipped.items() if k != "head2_b"})
    with pytest.raises(ValueError, match="other entries"):
        average_weights.average_weights([first, fewer])
    stacked = np.zeros((1, *shipped["inp_w"].shape), np.float32)
    wider = _write(tmp_path / "d.npz", dict(shipped, inp_w=stacked))
    with pytest.raises(ValueError, match="shape"):
        average_weights.average_weights([first, wider])
