"""A numpy forward pass for Backbeat's dilated temporal convolution network.

The network reads the log filterbank (:func:`backbeat.analysis.features.log_filterbank`)
and its positive frame difference, and gives per-frame activations in [0, 1]
for each of :data:`OUTPUTS`. Weights are plain ``.npz`` arrays exported by
``training/train.py`` and loaded with ``allow_pickle=False``.

Architecture (all convolutions over time, zero "same" padding)::

    x = (concat(feats, relu(feats[t] - feats[t-1])) - mean) / std   (feats[-1] = 0)
    h = relu(conv3(x))
    for d in dilations:  h = h + conv1(relu(conv3_dilated_d(h)))
    y = sigmoid(conv1(relu(conv1(h))))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backbeat.core.errors import ModelError

#: Output rows of the network, in order.
OUTPUTS: tuple[str, ...] = (
    "kick", "snare", "hihat", "tom", "cymbal",
    "hihat_open", "tom_high", "tom_mid", "tom_floor", "ride",
    "beat", "downbeat",
)

FORMAT_VERSION = 1


def _conv3(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
    """Kernel-3 dilated convolution over time with zero padding.

    x (T, Cin); w (Cout, Cin, 3) in torch layout; returns (T, Cout).
    """
    y = x @ w[:, :, 1].T
    y += b
    d = dilation
    if d < len(x):
        y[d:] += x[:-d] @ w[:, :, 0].T
        y[:-d] += x[d:] @ w[:, :, 2].T
    return y


@dataclass(frozen=True)
class TCN:
    """Weights of the temporal conv net and its forward pass."""

    mean: np.ndarray
    std: np.ndarray
    inp_w: np.ndarray
    inp_b: np.ndarray
    dil_w: tuple[np.ndarray, ...]
    dil_b: tuple[np.ndarray, ...]
    mix_w: tuple[np.ndarray, ...]
    mix_b: tuple[np.ndarray, ...]
    dilations: tuple[int, ...]
    head1_w: np.ndarray
    head1_b: np.ndarray
    head2_w: np.ndarray
    head2_b: np.ndarray
    outputs: tuple[str, ...]
    extra: dict[str, np.ndarray]

    @property
    def context_frames(self) -> int:
        """Frames on each side that one output frame sees (input conv plus every dilated conv)."""
        return 1 + sum(self.dilations)

    @classmethod
    def load(cls, path: str | Path) -> TCN:
        """Read weights from an ``.npz`` file.

        Raises
        ------
        ModelError
            If the file is missing, unreadable, or its arrays do not fit together.
        """
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"{p}: cannot read model weights ({exc})") from exc
        try:
            version = int(arrays.pop("format_version"))
            if version != FORMAT_VERSION:
                raise ModelError(f"{p}: model format version {version}, this code reads {FORMAT_VERSION}")
            dil = tuple(int(d) for d in arrays.pop("dilations"))
            f32 = {k: v.astype(np.float32) for k, v in arrays.items() if v.dtype.kind == "f"}
            model = cls(
                mean=f32["mean"], std=f32["std"], inp_w=f32["inp_w"], inp_b=f32["inp_b"],
                dil_w=tuple(f32[f"dil{i}_w"] for i in range(len(dil))),
                dil_b=tuple(f32[f"dil{i}_b"] for i in range(len(dil))),
                mix_w=tuple(f32[f"mix{i}_w"] for i in range(len(dil))),
                mix_b=tuple(f32[f"mix{i}_b"] for i in range(len(dil))),
                dilations=dil, head1_w=f32["head1_w"], head1_b=f32["head1_b"],
                head2_w=f32["head2_w"], head2_b=f32["head2_b"],
                outputs=tuple(str(s) for s in arrays["outputs"]),
                extra={k: v for k, v in arrays.items() if not k.startswith(
                    ("dil", "mix", "inp_", "head", "mean", "std", "outputs"))},
            )
        except KeyError as exc:
            raise ModelError(f"{p}: model weights lack array {exc}") from exc
        if model.head2_w.shape[0] != len(model.outputs) or model.inp_w.shape[1] != len(model.mean):
            raise ModelError(f"{p}: model weights have inconsistent shapes")
        return model

    @property
    def n_bands(self) -> int:
        """Number of filterbank bands the network expects."""
        return len(self.mean) // 2

    def forward(self, features: np.ndarray) -> np.ndarray:
        """Activations for every frame.

        Parameters
        ----------
        features
            Log filterbank, shape (n_frames, n_bands), as from ``log_filterbank``.

        Returns
        -------
        np.ndarray
            Shape (n_frames, len(outputs)), float32 in [0, 1].

        Raises
        ------
        ModelError
            If the number of bands does not match the weights.
        """
        f = np.asarray(features, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != self.n_bands:
            raise ModelError(f"model expects features of shape (n_frames, {self.n_bands}), got {f.shape}")
        if len(f) == 0:
            return np.zeros((0, len(self.outputs)), dtype=np.float32)
        diff = np.empty_like(f)
        diff[0] = f[0]  # the frame before the first counts as zeros, as in training
        np.subtract(f[1:], f[:-1], out=diff[1:])
        np.maximum(diff, 0.0, out=diff)
        x = np.concatenate([f, diff], axis=1)
        x -= self.mean
        x /= self.std
        h = np.maximum(_conv3(x, self.inp_w, self.inp_b, 1), 0.0)
        layers = zip(self.dil_w, self.dil_b, self.mix_w, self.mix_b, self.dilations, strict=True)
        for w, b, mw, mb, d in layers:
            z = np.maximum(_conv3(h, w, b, d), 0.0)
            h += z @ mw.T
            h += mb
        z = np.maximum(h @ self.head1_w.T + self.head1_b, 0.0)
        logits = z @ self.head2_w.T + self.head2_b
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
