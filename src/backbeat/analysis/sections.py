"""Song sections: boundaries on downbeats, labels by similarity.

Bar-synchronous feature vectors (mean log filterbank over each bar, split
into 12 coarse bands, plus loudness and onset density) form a self-similarity
matrix; a checkerboard kernel slid along its diagonal gives a novelty curve
whose peaks, at least ``min_bars`` apart, become boundaries. Boundaries are
therefore always downbeats. Segments are grouped by the similarity of their
mean vectors; groups get labels: segments at the edges that do not recur are
``intro`` / ``outro``, the loudest recurring group is ``chorus``, the next
recurring group ``verse``, anything else ``bridge`` (then ``C``, ``D``...).
Sections are contiguous and cover ``[0, duration_s]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.song_analysis import Section

FPS = 100


def bar_times(beats_s: Sequence[float] | np.ndarray, positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """Downbeat times; when there are fewer than two, every 4th beat."""
    b = np.asarray(beats_s, dtype=np.float64)
    p = np.asarray(positions)
    down = b[p == 1] if p.size == b.size else np.zeros(0)
    if down.size < 2:
        down = b[::4]
    return down


def bar_features(features: np.ndarray, bars_s: np.ndarray, *, fps: float = FPS,
                 duration_s: float | None = None) -> np.ndarray:
    """One feature vector per bar.

    Returns
    -------
    np.ndarray
        Shape ``(n_bars, 14)``: 12 coarse band means, loudness and onset density,
        each column standardised over the song.
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"features must be (n_frames, n_bands), got {f.shape}")
    end_s = duration_s if duration_s is not None else f.shape[0] / fps
    edges = np.append(bars_s, end_s)
    groups = np.array_split(np.arange(f.shape[1]), min(12, f.shape[1]))
    coarse = np.stack([f[:, g].mean(axis=1) for g in groups], axis=1)
    flux = np.zeros(f.shape[0], dtype=np.float32)
    for a in range(1, f.shape[0], 65536):  # in blocks: no song-sized temporary
        b = min(f.shape[0], a + 65536)
        flux[a:b] = np.maximum(f[a:b] - f[a - 1:b - 1], 0).sum(axis=1)
    rows = []
    for a, b in itertools.pairwise(edges):
        lo = int(max(0, round(a * fps)))
        hi = int(min(f.shape[0], max(lo + 1, round(b * fps))))
        seg = coarse[lo:hi]
        if seg.size == 0:
            rows.append(np.zeros(coarse.shape[1] + 2))
            continue
        rows.append(np.concatenate([seg.mean(axis=0), [seg.sum(axis=1).mean(), flux[lo:hi].mean()]]))
    x = np.asarray(rows)
    if x.shape[0] > 1:
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    return x


def novelty_curve(bar_vectors: np.ndarray, *, kernel_bars: int = 8) -> np.ndarray:
    """Checkerboard-kernel novelty along the diagonal of the bar self-similarity matrix.

    Returns
    -------
    np.ndarray
        Shape ``(n_bars,)``; entry ``i`` measures change at the start of bar ``i``.
    """
    x = np.asarray(bar_vectors, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        return np.zeros(n)
    norm = np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    ssm = (x / norm) @ (x / norm).T
    half = max(1, kernel_bars // 2)
    sign = np.concatenate([-np.ones(half), np.ones(half)])
    kernel = np.outer(sign, sign)
    g = np.exp(-0.5 * ((np.arange(2 * half) - half + 0.5) / max(half * 0.5, 1)) ** 2)
    kernel *= np.outer(g, g)
    padded = np.pad(ssm, half, mode="edge")
    nov = np.zeros(n)
    for i in range(n):
        block = padded[i:i + 2 * half, i:i + 2 * half]
        nov[i] = float(np.sum(block * kernel))
    nov[0] = 0.0
    return np.maximum(nov, 0.0)


def pick_boundaries(novelty: np.ndarray, *, min_bars: int = 4, threshold: float = 0.25) -> list[int]:
    """Bar indices of section starts (always including 0).

    Peaks of ``novelty`` above ``threshold`` times its maximum, greedily by
    height, no two closer than ``min_bars``; a boundary closer than
    ``min_bars`` to the end is dropped.
    """
    nov = np.asarray(novelty, dtype=np.float64)
    n = nov.size
    if n == 0:
        return [0]
    peak = float(nov.max())
    chosen = [0]
    if peak <= 0:
        return chosen
    is_peak = np.zeros(n, dtype=bool)
    is_peak[1:-1] = (nov[1:-1] >= nov[:-2]) & (nov[1:-1] >= nov[2:])
    if n > 1:
        is_peak[-1] = nov[-1] >= nov[-2]
    for i in np.argsort(-nov):
        if not is_peak[i] or nov[i] < threshold * peak:
            continue
        if i < min_bars or n - i < min_bars:
            continue
        if all(abs(int(i) - c) >= min_bars for c in chosen):
            chosen.append(int(i))
    return sorted(chosen)


def segment_similarity(bar_vectors: np.ndarray, starts: list[int], ends: list[int]) -> np.ndarray:
    """Similarity of segments: mean bar-to-bar cosine, normalised by the segments' self-similarity.

    Returns
    -------
    np.ndarray
        Shape ``(n_segments, n_segments)``, 1 on the diagonal.
    """
    x = np.asarray(bar_vectors, dtype=np.float64)
    unit = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    n = len(starts)
    raw = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            raw[i, j] = float(np.mean(unit[starts[i]:ends[i]] @ unit[starts[j]:ends[j]].T))
    diag = np.sqrt(np.maximum(np.diag(raw), 1e-6))
    out = raw / np.outer(diag, diag)
    np.fill_diagonal(out, 1.0)
    return out


def label_segments(seg_vectors: np.ndarray, *, loudness: np.ndarray, similarity: float = 0.6,
                   lengths: np.ndarray | None = None, pair_similarity: np.ndarray | None = None) -> list[str]:
    """Labels for segments from their mean vectors (see module docs).

    ``intro`` / ``outro`` are given only to non-recurring edge segments no
    longer than a quarter of the song (``lengths`` in any unit, e.g. bars).
    ``pair_similarity`` (from :func:`segment_similarity`) replaces the cosine
    of the mean vectors when given.
    """
    x = np.asarray(seg_vectors, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return []
    if n == 1:
        return ["A"]
    norm = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    sim_matrix = norm @ norm.T if pair_similarity is None else np.asarray(pair_similarity)
    groups = [-1] * n
    reps: list[int] = []
    for i in range(n):
        best, best_sim = -1, similarity
        for g, r in enumerate(reps):
            s = float(sim_matrix[i, r])
            if s > best_sim:
                best, best_sim = g, s
        if best < 0:
            reps.append(i)
            best = len(reps) - 1
        groups[i] = best
    counts = np.bincount(groups)
    labels = [""] * n
    recurring = [g for g in range(len(reps)) if counts[g] > 1]
    recurring.sort(key=lambda g: -float(np.mean([loudness[i] for i in range(n) if groups[i] == g])))
    names: dict[int, str] = {}
    if recurring:
        names[recurring[0]] = "chorus"
    if len(recurring) > 1:
        names[recurring[1]] = "verse"
    spare = iter(["bridge"] + [chr(ord("C") + k) for k in range(24)])
    total = float(np.sum(lengths)) if lengths is not None else float(n)
    size = np.asarray(lengths, dtype=np.float64) if lengths is not None else np.ones(n)
    for i in range(n):
        g = groups[i]
        edge_like = size[i] <= 0.25 * total
        if g in names:
            labels[i] = names[g]
        elif i == 0 and counts[g] == 1 and edge_like:
            labels[i] = "intro"
        elif i == n - 1 and counts[g] == 1 and edge_like:
            labels[i] = "outro"
        else:
            names[g] = next(spare, "X")
            labels[i] = names[g]
    return labels


def find_sections(features: np.ndarray, beats_s: Sequence[float] | np.ndarray,
                  positions: Sequence[int] | np.ndarray, *, duration_s: float, fps: float = FPS,
                  min_bars: int = 4, kernel_bars: int = 8) -> list[Section]:
    """Sections of a song, contiguous from 0 to ``duration_s``, starting on downbeats.

    Parameters
    ----------
    features
        Log filterbank, shape ``(n_frames, n_bands)`` at ``fps``.
    beats_s, positions
        Beats and their bar positions.
    duration_s
        Song length.
    min_bars
        Shortest section in bars.
    kernel_bars
        Width of the novelty kernel in bars.

    Returns
    -------
    list of Section
        At least one; the first starts at 0, the last ends at ``duration_s``.
    """
    if duration_s <= 0:
        raise InvalidArgumentError(f"duration_s must be positive, got {duration_s}")
    bars = bar_times(beats_s, positions)
    bars = bars[bars < duration_s]
    if bars.size < 2 * min_bars:
        return [Section(0.0, float(duration_s), "A")]
    vec = bar_features(features, bars, fps=fps, duration_s=duration_s)
    nov = novelty_curve(vec, kernel_bars=kernel_bars)
    starts = pick_boundaries(nov, min_bars=min_bars)
    ends = [*starts[1:], bars.size]
    seg_vec = np.stack([vec[a:b].mean(axis=0) for a, b in zip(starts, ends)])
    loud = np.array([vec[a:b, -2].mean() for a, b in zip(starts, ends)])
    labels = label_segments(seg_vec, loudness=loud, pair_similarity=segment_similarity(vec, starts, ends),
                            lengths=np.array([b - a for a, b in zip(starts, ends, strict=True)]))
    times = [0.0] + [float(bars[s]) for s in starts[1:]] + [float(duration_s)]
    return [Section(times[i], times[i + 1], labels[i]) for i in range(len(labels))]
