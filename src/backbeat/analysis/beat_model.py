"""The beat/downbeat network: frame activations from the shipped weights, then beats and bar positions.

A dilated temporal conv net of the same layout as the drum model
(:class:`backbeat.analysis.nn.TCN`), trained only for beats and downbeats
(``training/train_beats.py``) with dilations up to 512 frames, so one output
frame sees ±10 s of the song instead of the drum model's ±1.3 s: enough to
hear whole bars and settle beat versus off-beat and half versus double tempo.

Decoding is done in two steps:

1. beats: the tempo/beat-position Viterbi of :func:`backbeat.analysis.beats.track_beats`
   over the beat activation;
2. bar positions (:func:`bar_positions`): an HMM over position-in-bar for each
   candidate bar length (3 and 4 beats) over the beat-synchronous downbeat
   activation, with a cost for phase slips; the bar length whose best path is
   most likely (with a prior for 4/4) wins. This is the path without the drum
   model; with it (the default analysis), :mod:`backbeat.analysis.pipeline`
   adds this network's downbeat log-odds to the drum cues' bar evidence
   instead (:func:`backbeat.analysis.downbeats.network_downbeat_evidence`).

Typical use::

    model = BeatModel.load()
    acts = model.activations(features)   # BeatActivations(beat, downbeat), each (n_frames,)
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from backbeat.analysis.nn import TCN
from backbeat.core.errors import InvalidArgumentError, ModelError

#: The shipped weights.
BEAT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "beats_tcn.npz"
FPS = 100
#: Bar lengths (beats) considered by :func:`bar_positions`, with their log prior.
BAR_LENGTH_LOG_PRIOR: dict[int, float] = {4: 0.0, 3: -4.0}
#: Cost (log probability) of a phase slip of the bar grid between two beats.
BAR_SLIP_LOG_COST = 8.0


@dataclass(frozen=True)
class BeatActivations:
    """Per-frame beat and downbeat activations in [0, 1], shape ``(n_frames,)``, at 100 fps."""

    beat: np.ndarray
    downbeat: np.ndarray


class BeatModel:
    """The shipped beat/downbeat network (numpy inference)."""

    _cache: ClassVar[dict[Path, BeatModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, net: TCN) -> None:
        if tuple(net.outputs[:2]) != ("beat", "downbeat"):
            raise ModelError(f"beat model outputs must start with beat, downbeat; got {net.outputs}")
        self.net = net

    @classmethod
    def load(cls, path: str | Path | None = None) -> BeatModel:
        """Load weights once per process (cached by path).

        Raises
        ------
        ModelError
            If the weights are missing or malformed.
        """
        p = Path(path) if path is not None else BEAT_MODEL_PATH
        with cls._lock:
            if p not in cls._cache:
                cls._cache[p] = cls(TCN.load(p))
            return cls._cache[p]

    def activations(self, features: np.ndarray) -> BeatActivations:
        """Beat and downbeat activations of a log filterbank (shape ``(n_frames, n_bands)``, 100 fps)."""
        y = self.net.forward(features)
        return BeatActivations(beat=y[:, 0].astype(np.float64), downbeat=y[:, 1].astype(np.float64))


def beat_synchronous_max(activation: np.ndarray, beats_s: np.ndarray, *, fps: float = FPS,
                         window_s: float = 0.04) -> np.ndarray:
    """Maximum of an activation within ``±window_s`` of each beat, shape ``(n_beats,)``."""
    from scipy.ndimage import maximum_filter1d

    a = np.asarray(activation, dtype=np.float64)
    b = np.asarray(beats_s, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return np.zeros(b.size)
    w = max(0, round(window_s * fps))
    peak = maximum_filter1d(a, size=2 * w + 1, mode="nearest")
    frames = np.clip(np.round(b * fps).astype(np.int64), 0, a.size - 1)
    return peak[frames]


def decode_bar(downbeat_prob: np.ndarray, beats_per_bar: int, *,
               slip_log_cost: float = BAR_SLIP_LOG_COST) -> tuple[np.ndarray, float]:
    """Best bar positions for one bar length, and the log-likelihood of that path.

    An HMM over positions ``0 .. beats_per_bar - 1``: each beat moves to the
    next position, or (at ``slip_log_cost``) to any other. Position 0 sees
    ``log p``, the others ``log(1 - p)``, with ``p`` the beat's downbeat probability.

    Returns
    -------
    positions, log_likelihood
        1-based int positions, shape ``(n_beats,)``, and the path's log-likelihood.
    """
    m = int(beats_per_bar)
    if m < 1:
        raise InvalidArgumentError(f"beats_per_bar must be >= 1, got {beats_per_bar}")
    p = np.clip(np.asarray(downbeat_prob, dtype=np.float64), 1e-4, 1 - 1e-4)
    n = p.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    obs = np.tile(np.log1p(-p)[:, None], (1, m))
    obs[:, 0] = np.log(p)
    score = obs[0] - math.log(m)
    back = np.zeros((n, m), dtype=np.int64)
    prev_pos = (np.arange(m) - 1) % m
    for i in range(1, n):
        stay = score[prev_pos]
        best_any = int(np.argmax(score))
        jump = score[best_any] - slip_log_cost
        take_stay = stay >= jump
        score = np.where(take_stay, stay, jump) + obs[i]
        back[i] = np.where(take_stay, prev_pos, best_any)
    pos = np.zeros(n, dtype=np.int64)
    pos[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        pos[i - 1] = back[i, pos[i]]
    return pos + 1, float(score.max())


def bar_positions(beats_s: np.ndarray, downbeat_activation: np.ndarray, *, fps: float = FPS,
                  bar_lengths: dict[int, float] | None = None,
                  slip_log_cost: float = BAR_SLIP_LOG_COST) -> tuple[np.ndarray, int]:
    """Bar length and 1-based bar position of every beat from a downbeat activation.

    Parameters
    ----------
    beats_s
        Beat times, shape ``(n,)``.
    downbeat_activation
        Frame activation in [0, 1], shape ``(n_frames,)``.
    bar_lengths
        Candidate bar lengths in beats and their log prior (default :data:`BAR_LENGTH_LOG_PRIOR`).

    Returns
    -------
    positions, beats_per_bar
    """
    lengths = BAR_LENGTH_LOG_PRIOR if bar_lengths is None else bar_lengths
    if not lengths:
        raise InvalidArgumentError("bar_lengths must not be empty")
    b = np.asarray(beats_s, dtype=np.float64)
    if b.size == 0:
        return np.zeros(0, dtype=np.int64), max(lengths, key=lambda k: lengths[k])
    p = beat_synchronous_max(downbeat_activation, b, fps=fps)
    best: tuple[float, int, np.ndarray] | None = None
    for m, log_prior in lengths.items():
        pos, ll = decode_bar(p, m, slip_log_cost=slip_log_cost)
        if best is None or ll + log_prior > best[0]:
            best = (ll + log_prior, m, pos)
    assert best is not None
    return best[2], best[1]
