"""Average drum-model weights that share one architecture (a "model soup").

Models fine-tuned from one start can be averaged weight by weight (as WiSE-FT
interpolates a fine-tuned model with its start): the average often keeps what
each run learned and loses less on material unlike the training data. Give
raw training exports (``train.py --export``) of the same shape; finalize the
result with ``finalize.py`` as any other weights.

Usage::

    .venv/bin/python training/average_weights.py cache/drums_tcn_s14_t061.npz cache/drums_tcn_s15.npz \\
        cache/drums_tcn_s16_t062.npz --out cache/drums_tcn_soup_s16.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: Entries that describe the architecture and input scaling: equal in every file, copied as they are.
SHARED = ("format_version", "outputs", "dilations", "mean", "std")


def average_weights(paths: list[Path]) -> dict[str, np.ndarray]:
    """The element-wise mean of the weights in ``paths``.

    Raises
    ------
    ValueError
        If the files hold other entries, other shapes, or differ in an entry of :data:`SHARED`.
    """
    loaded = []
    for p in paths:
        with np.load(p, allow_pickle=False) as z:
            loaded.append({k: z[k] for k in z.files})
    first = loaded[0]
    out: dict[str, np.ndarray] = {}
    for other, path in zip(loaded[1:], paths[1:], strict=True):
        if set(other) != set(first):
            raise ValueError(f"{path} holds other entries than {paths[0]}")
    for key, value in first.items():
        values = [w[key] for w in loaded]
        if any(v.shape != value.shape for v in values):
            raise ValueError(f"entry {key!r} differs in shape between the files")
        if key in SHARED or value.dtype.kind != "f":
            if key in SHARED and not all(np.array_equal(v, value) for v in values):
                raise ValueError(f"entry {key!r} differs between the files: not one architecture")
            out[key] = value
        else:
            out[key] = np.mean(values, axis=0).astype(value.dtype)
    return out


def main() -> None:
    """Average the given weights files and write the result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path, nargs="+", help="raw training exports of one architecture")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if len(args.weights) < 2:
        ap.error("give at least two weights files")
    try:
        averaged = average_weights(args.weights)
    except (OSError, ValueError) as exc:
        ap.error(str(exc))
    np.savez(args.out, **averaged)
    print(f"wrote {args.out} (mean of {len(args.weights)} files)")


if __name__ == "__main__":
    main()
