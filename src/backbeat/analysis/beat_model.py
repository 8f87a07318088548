"""The beat/downbeat network: frame activations from the shipped weights, then beats and bar positions.

A dilated temporal conv net of the same layout as the drum model
(:class:`backbeat.analysis.nn.TCN`), trained only for beats and downbeats
(``training/train_beats.py``) with dilations up to 512 frames, so one output
frame sees ±10 s of the song instead of the drum model's ±5.1 s: enough to
hear whole bars and settle beat versus off-beat and half versus double tempo.
Two such networks ship (:data:`BEAT_MODEL_PATHS`: 32 channels trained on three
rendered sets, 48 channels trained on four) and their outputs are averaged.

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

_MODELS = Path(__file__).resolve().parent / "models"
#: The shipped weights: the networks whose outputs :class:`BeatModel` averages. The 48-channel one
#: joined on 2026-11-24; beside the first it changes beat / downbeat F on the tuning sets by at most
#: 0.01 except for gains on mixes (docs/BENCHMARKS.md, Analysis, ninth round).
BEAT_MODEL_PATHS: tuple[Path, ...] = (_MODELS / "beats_tcn.npz", _MODELS / "beats_tcn_wide.npz")
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
    """The shipped beat/downbeat networks (numpy inference); their outputs are averaged."""

    _cache: ClassVar[dict[tuple[Path, ...], BeatModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, *nets: TCN) -> None:
        if not nets:
            raise ModelError("a beat model needs at least one network")
        for net in nets:
            if tuple(net.outputs[:2]) != ("beat", "downbeat"):
                raise ModelError(f"beat model outputs must start with beat, downbeat; got {net.outputs}")
        self.nets = nets

    @classmethod
    def load(cls, path: str | Path | tuple[str | Path, ...] | None = None) -> BeatModel:
        """Load weights once per process (cached by paths).

        Parameters
        ----------
        path
            A weights ``.npz`` or several (their outputs are averaged); default :data:`BEAT_MODEL_PATHS`.

        Raises
        ------
        ModelError
            If any weights file is missing or malformed.
        """
        if path is None:
            paths = BEAT_MODEL_PATHS
        elif isinstance(path, tuple):
            paths = tuple(Path(p) for p in path)
        else:
            paths = (Path(path),)
        with cls._lock:
            if paths not in cls._cache:
                cls._cache[paths] = cls(*(TCN.load(p) for p in paths))
            return cls._cache[paths]

    def activations(self, features: np.ndarray) -> BeatActivations:
        """Beat and downbeat activations of a log filterbank (shape ``(n_frames, n_bands)``, 100 fps)."""
        y = self.nets[0].forward(features).astype(np.float64)
        for net in self.nets[1:]:
            y += net.forward(features)
        y /= len(self.nets)
        return BeatActivations(beat=y[:, 0], downbeat=y[:, 1])


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
