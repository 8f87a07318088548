"""Song sections: boundaries on downbeats, repeated parts recognised, practice-loop names.

The song is cut into bars at its downbeats. Each bar gets three kinds of
feature (:func:`bar_features`): timbre (16 coarse log-spectrum bands), harmony
(a 12-bin chroma folded from the log filterbank's semitone-spaced bands) and
drum pattern (the drum model's kick, snare, hi-hat, tom and cymbal
activations on a sixteenth grid over the first half of the bar, so that a
fill at the bar's end weighs little; spectral-flux bands without the model).
Their bar-by-bar cosine similarities, weighted (a kind that barely changes in
the song counts less), form one self-similarity matrix; a checkerboard kernel
slid along its diagonal gives a novelty curve, to which a drummer's cue is
added: a fill (toms, snare) in the second half of the bar before. Boundaries
are chosen by dynamic programming over bar indices (:func:`segment_bars`):
each boundary earns its novelty less a fixed cost, sections shorter than
``min_bars`` are not allowed (the first and the last may be as short as
``edge_min_bars``), and lengths that are not whole 4-bar phrases pay a
penalty. Boundaries are therefore always downbeats. Quiet or near-empty
bars at the end (a final hit ringing out) belong to the last section.

Sections are then grouped by their bar-aligned similarity (the mean of the
similarity matrix along the diagonal where the two sections' bars line up),
so that a repeated part gets one label, and groups are named
(:func:`name_groups`): of the two main repeated parts, the louder, more
repeated and later-starting one is ``chorus``; a repeated part whose
sections each lead straight into a chorus (the song's last section aside)
and are at most three quarters of its length is ``pre-chorus``; the
earliest other repeated part is ``verse``; further repeated parts are ``C``,
``D``...; a part heard once is ``intro`` at the start, ``outro`` at the end,
``verse`` before the first chorus when there is no repeated verse,
``pre-chorus`` between a verse and a chorus when short, else ``bridge``
(further ones ``interlude``, ``interlude 2``...). A song too short for two sections is one
section ``A``. Sections are contiguous and cover ``[0, duration_s]``.

The weights and costs were chosen on the tuning songs of
``bench/section_songs.py`` (``bench/sections.py`` measures them).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from backbeat.core.errors import InvalidArgumentError
from backbeat.core.song_analysis import Section

FPS = 100
#: Labels the section finder gives (also ``C``, ``D``... for further repeated parts, ``interlude 2``,
#: ``interlude 3``... for further parts heard once, ``A`` for a one-section song).
LABELS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "interlude", "outro")
#: Weights of the feature kinds in the bar similarity matrix.
FEATURE_WEIGHTS = {"timbre": 1.0, "chroma": 1.0, "rhythm": 1.0, "loudness": 0.0}
#: Spread over the bars below which a feature kind counts for little (see :func:`similarity_matrix`).
FEATURE_FLOORS = {"timbre": 0.02, "chroma": 0.003, "rhythm": 0.02}
#: Weight of the fill-in-the-bar-before cue added to the novelty (whose 95th percentile is 1).
#: (A crash-on-the-downbeat cue was tried and left out: on the tuning songs it added false boundaries.)
FILL_CUE_WEIGHT = 0.15
#: Cost of one boundary in the segmentation (novelty units).
BOUNDARY_COST = 0.4
#: Penalty of a section whose length is not a whole number of 4-bar phrases.
PHRASE_PENALTY = 1.0
#: Bar-aligned similarity above which two sections are the same part.
GROUP_SIMILARITY = 0.45
#: Chorus choice: bonus for the main recurring group that comes later (verses usually come first).
CHORUS_LATER_BONUS = 1.0
#: Chorus choice: bonus per occurrence (the chorus is the most repeated part).
CHORUS_COUNT_BONUS = 0.5
#: Longest tail (bars) joined to the last section.
MAX_TAIL_BARS = 4
#: A pre-chorus is at most this share of the chorus's length.
PRE_CHORUS_RATIO = 0.75
#: Trailing bars this far (dB) below the song's median bar level are a tail: part of the last section.
QUIET_TAIL_DB = 12.0
#: Share of the bar (from its downbeat) whose drum pattern is compared: fills at the bar's end weigh less.
RHYTHM_PART = 0.5
#: Width of the novelty kernel in bars.
KERNEL_BARS = 8
#: Spectral bar means use every this many frames.
SPECTRAL_STRIDE = 4
#: Drum activations used for the rhythm features, in this order.
DRUM_FIELDS = ("kick", "snare", "hihat", "tom", "cymbal")
#: Grid points per beat of the rhythm features.
STEPS_PER_BEAT = 4
#: Chroma is folded from bands with centres in this range (Hz).
CHROMA_RANGE_HZ = (100.0, 2500.0)


def bar_times(beats_s: Sequence[float] | np.ndarray, positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """Downbeat times; when there are fewer than two, every 4th beat.

    Parameters
    ----------
    beats_s
        Beat times in seconds.
    positions
        1-based bar positions of the beats (1 = downbeat), same length.

    Returns
    -------
    np.ndarray
        Bar start times in seconds, increasing.
    """
    b = np.asarray(beats_s, dtype=np.float64)
    p = np.asarray(positions)
    down = b[p == 1] if p.size == b.size else np.zeros(0)
    if down.size < 2:
        down = b[::4]
    return down


def _band_centres_hz(n_bands: int) -> np.ndarray | None:
    """Centre frequencies of the analysis filterbank's bands, or None if ``n_bands`` is not its size."""
    from backbeat.analysis.features import band_centres_hz

    centres = band_centres_hz()
    return centres if centres.size == n_bands else None


@lru_cache(maxsize=4)
def chroma_matrix(n_bands: int) -> np.ndarray | None:
    """Band-to-pitch-class weights, shape ``(n_bands, 12)``, or None when the bands are unknown.

    A band in :data:`CHROMA_RANGE_HZ` spreads over the pitch classes near its
    centre (Gaussian, 0.5 semitone s.d., circular).
    """
    centres = _band_centres_hz(n_bands)
    if centres is None:
        return None
    m = np.zeros((n_bands, 12))
    lo, hi = CHROMA_RANGE_HZ
    for k, f in enumerate(centres):
        if not lo <= f <= hi:
            continue
        pitch = 69.0 + 12.0 * np.log2(f / 440.0)
        d = (np.arange(12) - pitch % 12 + 6) % 12 - 6
        m[k] = np.exp(-0.5 * (d / 0.5) ** 2)
    m.setflags(write=False)  # cached: shared by every call
    return m


@dataclass(frozen=True)
class BarFeatures:
    """Per-bar features of a song (rows are bars).

    Attributes
    ----------
    timbre, chroma, rhythm
        Shapes ``(n_bars, k)``; ``chroma`` may have 0 columns.
    loudness
        Mean summed log filterbank per bar, shape ``(n_bars,)``.
    density
        Mean onset strength (positive spectral flux) per bar, shape ``(n_bars,)``.
    fill
        Tom and snare activity in the second half of each bar over the song's
        usual, scaled to ``[0, 1]``, shape ``(n_bars,)``.
    level_db
        Mean power per bar in dB (arbitrary reference), shape ``(n_bars,)``.
    """

    timbre: np.ndarray
    chroma: np.ndarray
    rhythm: np.ndarray
    loudness: np.ndarray
    density: np.ndarray
    fill: np.ndarray
    level_db: np.ndarray

    @property
    def n_bars(self) -> int:
        """Number of bars."""
        return int(self.loudness.size)

    def head(self, n: int) -> BarFeatures:
        """The first ``n`` bars."""
        return BarFeatures(timbre=self.timbre[:n], chroma=self.chroma[:n], rhythm=self.rhythm[:n],
                           loudness=self.loudness[:n], density=self.density[:n], fill=self.fill[:n],
                           level_db=self.level_db[:n])


def _activation_matrix(activations: Any, n_frames: int) -> np.ndarray | None:
    """The drum activations as ``(n_frames, 5)`` (:data:`DRUM_FIELDS`), or None."""
    if activations is None:
        return None
    cols = []
    for name in DRUM_FIELDS:
        a = getattr(activations, name, None)
        if a is None:
            return None
        a = np.asarray(a, dtype=np.float32).ravel()
        col = np.zeros(n_frames, dtype=np.float32)
        m = min(n_frames, a.size)
        col[:m] = a[:m]
        cols.append(col)
    return np.stack(cols, axis=1)


def _flux_bands(f: np.ndarray) -> np.ndarray:
    """Positive spectral flux in three bands (low, mid, high), ``(n_frames, 3)``."""
    out = np.zeros((f.shape[0], 3), dtype=np.float32)
    cuts = [0, *(int(g[-1]) + 1 for g in np.array_split(np.arange(f.shape[1]), 3))]
    for a in range(1, f.shape[0], 65536):  # in blocks: no song-sized temporary
        b = min(f.shape[0], a + 65536)
        d = np.maximum(f[a:b] - f[a - 1:b - 1], 0)
        for j in range(3):
            out[a:b, j] = d[:, cuts[j]:cuts[j + 1]].mean(axis=1)
    return out


def _standardise(x: np.ndarray) -> np.ndarray:
    if x.shape[0] < 2 or x.shape[1] == 0:
        return x
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def _bar_means(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Means of ``x`` (frames on axis 0) over frame ranges ``[lo, hi)`` (``hi > lo``), by cumulative sums."""
    c = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0, dtype=np.float64)])
    width = (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return np.asarray((c[hi] - c[lo]) / width)


def bar_features(features: np.ndarray, bars_s: np.ndarray, *, fps: float = FPS,
                 duration_s: float | None = None, activations: Any = None,
                 beats_per_bar: int = 4) -> BarFeatures:
    """Per-bar timbre, chroma, drum pattern, loudness, onset density and the fill cue.

    Parameters
    ----------
    features
        Log filterbank, shape ``(n_frames, n_bands)`` at ``fps``.
    bars_s
        Bar start times in seconds, increasing.
    fps
        Frame rate of ``features`` and ``activations``.
    duration_s
        End of the last bar (default: the end of ``features``).
    activations
        Drum model activations (attributes :data:`DRUM_FIELDS`, each ``(n_frames,)``)
        or None; without them the drum pattern uses spectral-flux bands.
    beats_per_bar
        Beats in a bar; the drum pattern samples ``beats_per_bar * STEPS_PER_BEAT``
        points per bar (the first :data:`RHYTHM_PART` of them) per instrument.

    Returns
    -------
    BarFeatures
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2:
        raise InvalidArgumentError(f"features must be (n_frames, n_bands), got {f.shape}")
    n_frames = f.shape[0]
    end_s = duration_s if duration_s is not None else n_frames / fps
    edges = np.append(np.asarray(bars_s, dtype=np.float64), end_s)
    n_bars = edges.size - 1
    if n_frames == 0 or n_bars <= 0:
        z = np.zeros((max(n_bars, 0), 0))
        e = np.zeros(max(n_bars, 0))
        return BarFeatures(timbre=z, chroma=z, rhythm=z, loudness=e, density=e, fill=e, level_db=e - 120.0)
    lo = np.clip(np.round(edges[:-1] * fps).astype(int), 0, n_frames - 1)
    hi = np.clip(np.round(edges[1:] * fps).astype(int), lo + 1, n_frames)
    mid = lo + (hi - lo) // 2
    # spectral bar means from every SPECTRAL_STRIDE-th frame (plenty for bar averages, a fraction of the cost)
    fs = f[::SPECTRAL_STRIDE]
    lo2 = np.minimum(lo // SPECTRAL_STRIDE, fs.shape[0] - 1)
    hi2 = np.maximum(hi // SPECTRAL_STRIDE, lo2 + 1).clip(max=fs.shape[0])
    starts = np.array([int(g[0]) for g in np.array_split(np.arange(f.shape[1]), min(16, f.shape[1]))])
    coarse = np.add.reduceat(fs, starts, axis=1) / np.diff(np.append(starts, f.shape[1]))
    timbre = _bar_means(coarse, lo2, hi2)
    loudness = _bar_means(fs.sum(axis=1), lo2, hi2)
    acts = _activation_matrix(activations, n_frames)
    drums = _flux_bands(f) if acts is None else acts  # onset strength per instrument (or band)
    density = _bar_means(drums.sum(axis=1), lo, hi)
    mag = np.exp(fs * np.float32(np.log(10.0))) - np.float32(1.0)
    level_db = 10.0 * np.log10(_bar_means(np.einsum("ij,ij->i", mag, mag) / f.shape[1], lo2, hi2) + 1e-12)
    cm = chroma_matrix(f.shape[1])
    if cm is not None:
        c = np.sqrt(np.maximum(_bar_means(mag @ cm.astype(np.float32), lo2, hi2), 0.0))
        chroma = c / (np.linalg.norm(c, axis=1, keepdims=True) + 1e-9)
    else:
        chroma = np.zeros((n_bars, 0))
    drums = drums / (np.percentile(drums, 99, axis=0) + 1e-6)
    n_steps = max(1, beats_per_bar * STEPS_PER_BEAT)
    used = max(1, round(n_steps * RHYTHM_PART))
    t = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * (np.arange(used) / n_steps)[None, :]
    frame = np.round(t * fps).astype(int)
    pooled = np.max([drums[np.clip(frame + d, 0, n_frames - 1)] for d in (-2, -1, 0, 1, 2)], axis=0)
    rhythm = pooled.transpose(0, 2, 1).reshape(n_bars, -1)
    fill_src = drums[:, 3] + 0.5 * drums[:, 1] if acts is not None else drums[:, 1]
    fill = _bar_means(fill_src, mid, hi)
    fill = np.maximum(fill - np.median(fill), 0.0)
    return BarFeatures(timbre=timbre, chroma=chroma, rhythm=rhythm, loudness=loudness, density=density,
                       fill=fill / (fill.max() + 1e-9), level_db=level_db)


def _cosine_ssm(x: np.ndarray) -> np.ndarray:
    u = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    return np.asarray(u @ u.T)


def similarity_matrix(bars: BarFeatures, *, weights: dict[str, float] | None = None) -> np.ndarray:
    """Weighted bar-by-bar similarity in ``[-1, 1]``, shape ``(n_bars, n_bars)``.

    Each feature kind is standardised over the song and compared by cosine;
    loudness by ``1 - |difference|`` of its standardised values (clipped).
    A kind's weight is scaled by ``v / (v + floor)``, ``v`` the RMS over its
    columns of their spread over the bars and ``floor`` its
    :data:`FEATURE_FLOORS` entry, so a kind that barely changes in the song
    (the harmony of drums alone) does not add noise.
    """
    w = FEATURE_WEIGHTS if weights is None else weights
    n = bars.n_bars
    total = np.zeros((n, n))
    wsum = 0.0
    for name, x in (("timbre", bars.timbre), ("chroma", bars.chroma), ("rhythm", bars.rhythm)):
        if x.shape[1] == 0 or w.get(name, 0.0) == 0.0 or n < 2:
            continue
        spread = float(np.sqrt(np.mean(x.std(axis=0) ** 2)))
        weight = w[name] * spread / (spread + FEATURE_FLOORS[name])
        xs = _standardise(x) if name != "chroma" else x - x.mean(axis=0)
        total += weight * _cosine_ssm(xs)
        wsum += weight
    if w.get("loudness", 0.0) > 0 and n > 1:
        z = (bars.loudness - bars.loudness.mean()) / (bars.loudness.std() + 1e-6)
        total += w["loudness"] * np.clip(1.0 - np.abs(z[:, None] - z[None, :]), -1.0, 1.0)
        wsum += w["loudness"]
    return total / wsum if wsum > 1e-9 else np.ones((n, n))


def novelty_curve(ssm: np.ndarray, *, kernel_bars: int = KERNEL_BARS) -> np.ndarray:
    """Checkerboard-kernel novelty along the diagonal of a bar similarity matrix.

    Parameters
    ----------
    ssm
        Similarity matrix, shape ``(n_bars, n_bars)``.
    kernel_bars
        Kernel width in bars (half on each side of the boundary).

    Returns
    -------
    np.ndarray
        Shape ``(n_bars,)``, non-negative; entry ``i`` measures change at the start of bar ``i``
        (entry 0 is 0). Near the song's edges the kernel is cut to the bars that exist.
    """
    s = np.asarray(ssm, dtype=np.float64)
    n = s.shape[0]
    nov = np.zeros(n)
    if n < 2:
        return nov
    half = max(1, kernel_bars // 2)
    taper = np.exp(-0.5 * ((np.arange(half) + 0.5) / max(half * 0.5, 1.0)) ** 2)
    for i in range(1, n):
        k = min(half, i, n - i)
        wb = taper[:k][::-1]
        wa = taper[:k]
        before = s[i - k:i, i - k:i]
        after = s[i:i + k, i:i + k]
        cross = s[i - k:i, i:i + k]
        nov[i] = (wb @ before @ wb + wa @ after @ wa - 2.0 * (wb @ cross @ wa)) / (2.0 * wb.sum() * wa.sum())
    return np.maximum(nov, 0.0)


def segment_bars(score: np.ndarray, *, min_bars: int = 4, edge_min_bars: int = 2,
                 boundary_cost: float = BOUNDARY_COST, phrase_penalty: float = PHRASE_PENALTY,
                 phrase_bars: int = 4) -> list[int]:
    """Bar indices of section starts (always including 0), by dynamic programming.

    Maximises the sum over boundaries of ``score[i] - boundary_cost`` less
    ``phrase_penalty`` for every section whose length is not a multiple of
    ``phrase_bars``. Inner sections are at least ``min_bars`` long, the first
    and the last at least ``edge_min_bars``.

    Parameters
    ----------
    score
        Boundary evidence per bar, shape ``(n_bars,)``; ``score[i]`` is for a section starting at bar ``i``.

    Returns
    -------
    list of int
        Increasing bar indices, the first 0.
    """
    s = np.asarray(score, dtype=np.float64)
    n = s.size
    if n == 0:
        return [0]
    edge = max(1, min(edge_min_bars, min_bars))
    inner = max(1, min_bars)
    best = np.full(n + 1, -np.inf)  # best[j]: best value of a segmentation of bars [0, j)
    prev = np.full(n + 1, -1, dtype=int)
    best[0] = 0.0
    for j in range(1, n + 1):
        first = np.arange(0, j)  # candidate start of the section that ends at j
        length = j - first
        if j < n:
            need = np.where(first == 0, edge, inner)
        else:  # the last section (or the whole song)
            need = np.where(first == 0, 1, edge)
        ok = (length >= need) & np.isfinite(best[first])
        if not ok.any():
            continue
        gain = (best[first] + np.where(length % phrase_bars == 0, 0.0, -phrase_penalty)
                + np.where(first > 0, s[np.minimum(first, n - 1)] - boundary_cost, 0.0))
        k = int(np.argmax(np.where(ok, gain, -np.inf)))
        best[j], prev[j] = float(gain[k]), k
    starts: list[int] = []
    j = n
    while j > 0:
        start = int(prev[j])
        if start < 0:  # no admissible segmentation (too few bars): one section
            return [0]
        starts.append(start)
        j = start
    return sorted(starts)


def segment_similarity(ssm: np.ndarray, starts: Sequence[int], ends: Sequence[int]) -> np.ndarray:
    """Bar-aligned similarity of sections.

    For two sections the similarity matrix is averaged along the diagonal where
    their bars line up (first bar with first bar, over the shorter length), and
    also with their last bars lined up; the larger of the two counts.

    Returns
    -------
    np.ndarray
        Shape ``(n_sections, n_sections)``, symmetric, 1 on the diagonal.
    """
    s = np.asarray(ssm, dtype=np.float64)
    n_bars = s.shape[0]
    # diagonal prefix sums: diag[i, j] = sum of s[i - k, j - k] for k = 1 .. min(i, j)
    diag = np.zeros((n_bars + 1, n_bars + 1))
    for i in range(n_bars):
        diag[i + 1, 1:] = diag[i, :-1] + s[i]
    a = np.asarray(starts, dtype=int)
    e = np.asarray(ends, dtype=int)
    m = np.minimum.outer(e - a, e - a)
    safe = np.maximum(m, 1)
    ai, aj = a[:, None], a[None, :]
    ei, ej = e[:, None], e[None, :]
    head = (diag[ai + m, aj + m] - diag[ai, aj]) / safe
    tail = (diag[ei, ej] - diag[ei - m, ej - m]) / safe
    out = np.where(m > 0, np.maximum(head, tail), 0.0)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out)


def group_segments(similarity: np.ndarray, *, threshold: float = GROUP_SIMILARITY) -> list[int]:
    """Group ids per section: average-linkage clustering, merging while the similarity exceeds ``threshold``.

    Returns
    -------
    list of int
        Group id per section, numbered in order of first appearance.
    """
    sim = np.array(similarity, dtype=np.float64)
    n = sim.shape[0]
    members: list[list[int]] = [[i] for i in range(n)]
    alive = np.ones(n, dtype=bool)
    size = np.ones(n)
    link = sim.copy()
    np.fill_diagonal(link, -np.inf)
    while alive.sum() > 1:
        masked = np.where(alive[:, None] & alive[None, :], link, -np.inf)
        flat = int(np.argmax(masked))
        x, y = divmod(flat, n)
        if not masked[x, y] > threshold:
            break
        x, y = min(x, y), max(x, y)
        # average linkage (Lance-Williams): the mean similarity of all member pairs
        merged = (size[x] * link[x] + size[y] * link[y]) / (size[x] + size[y])
        link[x], link[:, x] = merged, merged
        link[x, x] = -np.inf
        size[x] += size[y]
        alive[y] = False
        members[x] += members[y]
    clusters = sorted((sorted(members[i]) for i in range(n) if alive[i]), key=lambda c: c[0])
    ids = [0] * n
    for g, group in enumerate(clusters):
        for i in group:
            ids[i] = g
    return ids


def name_groups(groups: Sequence[int], *, energy: Sequence[float], lengths: Sequence[int]) -> list[str]:
    """Labels for sections from their groups, loudness and lengths (see module docs).

    Parameters
    ----------
    groups
        Group id per section (sections in time order).
    energy
        Loudness-like score per section (higher = louder, busier), standardised over the song.
    lengths
        Length per section in bars.

    Returns
    -------
    list of str
        One label per section; sections of one group share a label.
    """
    n = len(groups)
    if n == 0:
        return []
    if n == 1:
        return ["A"]
    g = list(groups)
    e = np.asarray(energy, dtype=np.float64)
    ln = np.asarray(lengths, dtype=np.float64)
    members: dict[int, list[int]] = {}
    for i, gid in enumerate(g):
        members.setdefault(gid, []).append(i)
    # a group that only opens or closes the song is not a repeated part
    recurring = [gid for gid, m in members.items() if len(m) > 1 and any(0 < i < n - 1 for i in m)]
    names: dict[int, str] = {}
    if recurring:
        main = sorted(recurring, key=lambda gid: -float(ln[members[gid]].sum()))[:2]

        def chorus_score(gid: int) -> float:
            later = float(members[gid][0] > min(members[o][0] for o in main))
            return (float(np.mean(e[members[gid]])) + CHORUS_LATER_BONUS * later
                    + CHORUS_COUNT_BONUS * len(members[gid]))

        chorus = max(main, key=chorus_score)
        names[chorus] = "chorus"
        chorus_len = float(np.median(ln[members[chorus]]))
        rest = [gid for gid in recurring if gid != chorus]
        for gid in rest:
            inner = [i for i in members[gid] if i < n - 1]  # the song's last section may close it
            leads_in = all(g[i + 1] == chorus for i in inner)
            if leads_in and float(np.mean(ln[inner])) <= PRE_CHORUS_RATIO * chorus_len:
                names[gid] = "pre-chorus"
                break
        rest = sorted((gid for gid in rest if gid not in names), key=lambda gid: members[gid][0])
        if rest:
            names[rest[0]] = "verse"
    used = set(names.values())
    for gid in sorted((gid for gid in recurring if gid not in names), key=lambda gid: members[gid][0]):
        names[gid] = _free_name(_extra_names(), used)
        used.add(names[gid])
    labels = [""] * n
    chorus_at = [i for i in range(n) if names.get(g[i]) == "chorus"]
    first_chorus = chorus_at[0] if chorus_at else n
    singles = [i for i in range(n) if g[i] not in names]
    if not recurring:
        # nothing repeats: the loudest middle part is the chorus
        middle = [i for i in singles if 0 < i < n - 1] or singles
        loudest = max(middle, key=lambda i: e[i])
        labels[loudest] = "chorus"
        used.add("chorus")
        first_chorus = loudest
        chorus_at = [loudest]
    for i in singles:
        if labels[i]:
            continue
        prev_label = (labels[i - 1] or names.get(g[i - 1], "")) if i > 0 else ""
        if i == 0:
            labels[i] = "intro"
        elif i == n - 1:
            labels[i] = "outro"
        elif i < first_chorus and "verse" not in used:
            labels[i] = "verse"
        elif (i + 1 in chorus_at and prev_label == "verse" and "pre-chorus" not in used
              and ln[i] <= PRE_CHORUS_RATIO * max(ln[i - 1], ln[i + 1])):
            labels[i] = "pre-chorus"
        elif "bridge" not in used:
            labels[i] = "bridge"
        else:
            labels[i] = _free_name(_interludes(), used)
        used.add(labels[i])
    for i in range(n):
        if not labels[i]:
            labels[i] = names[g[i]]
    return labels


def _free_name(candidates: Iterator[str], used: set[str]) -> str:
    """The first of ``candidates`` not in ``used``."""
    return next(name for name in candidates if name not in used)


def _interludes() -> Iterator[str]:
    """Names for parts heard once after the bridge: ``interlude``, ``interlude 2``..."""
    yield "interlude"
    yield from (f"interlude {k}" for k in itertools.count(2))


def _extra_names() -> Iterator[str]:
    """Names for further parts: ``C`` ... ``Z``, then ``Z2``, ``Z3``..."""
    yield from (chr(c) for c in range(ord("C"), ord("Z") + 1))
    yield from (f"Z{k}" for k in itertools.count(2))


def _music_bars(level_db: np.ndarray, density: np.ndarray, *, quiet_db: float = QUIET_TAIL_DB,
                sparse: float = 0.2, max_tail_bars: int = MAX_TAIL_BARS) -> int:
    """Number of bars before the song's tail.

    The tail is the run of last bars (at most ``max_tail_bars``) that are more
    than ``quiet_db`` below the song's median bar level or whose onset density
    is below ``sparse`` times the median (a final hit ringing out); a longer
    quiet ending stays music (an outro of its own).
    """
    n = level_db.size
    if n == 0:
        return 0
    floor = float(np.median(level_db)) - quiet_db
    dens_floor = sparse * float(np.median(density))
    k = n
    while k > max(1, n - max_tail_bars) and (level_db[k - 1] < floor or density[k - 1] < dens_floor):
        k -= 1
    return k


def find_sections(features: np.ndarray, beats_s: Sequence[float] | np.ndarray,
                  positions: Sequence[int] | np.ndarray, *, duration_s: float, fps: float = FPS,
                  activations: Any = None, min_bars: int = 4, edge_min_bars: int = 2,
                  kernel_bars: int = KERNEL_BARS) -> list[Section]:
    """Sections of a song, contiguous from 0 to ``duration_s``, starting on downbeats.

    Parameters
    ----------
    features
        Log filterbank, shape ``(n_frames, n_bands)`` at ``fps``.
    beats_s, positions
        Beats (seconds) and their bar positions (1 = downbeat).
    duration_s
        Song length in seconds.
    fps
        Frame rate of ``features`` and ``activations``.
    activations
        The drum model's activations (any object with ``kick``, ``snare``,
        ``hihat``, ``tom``, ``cymbal`` arrays of shape ``(n_frames,)``), or None.
    min_bars
        Shortest inner section in bars.
    edge_min_bars
        Shortest first or last section in bars.
    kernel_bars
        Width of the novelty kernel in bars.

    Returns
    -------
    list of Section
        At least one; the first starts at 0, the last ends at ``duration_s``.
    """
    if not duration_s > 0:
        raise InvalidArgumentError(f"duration_s must be positive, got {duration_s}")
    bars = bar_times(beats_s, positions)
    bars = bars[(bars < duration_s) & (bars >= 0)]
    if bars.size < 2 * min_bars:
        return [Section(0.0, float(duration_s), "A")]
    pos = np.asarray(positions)
    bpb = int(np.max(pos)) if pos.size and pos.size == np.asarray(beats_s).size else 4
    bpb = int(np.clip(bpb, 2, 12))
    feats = bar_features(features, bars, fps=fps, duration_s=duration_s, activations=activations,
                         beats_per_bar=bpb)
    n_music = _music_bars(feats.level_db, feats.density)
    if n_music < 2 * min_bars:
        return [Section(0.0, float(duration_s), "A")]
    ssm = similarity_matrix(feats.head(n_music))
    nov = novelty_curve(ssm, kernel_bars=kernel_bars)
    peak = float(np.percentile(nov, 95)) if nov.size else 0.0
    score = nov / peak if peak > 1e-9 else nov
    cue = np.zeros(n_music)
    cue[1:] = FILL_CUE_WEIGHT * feats.fill[:n_music - 1]
    starts = segment_bars(score + cue, min_bars=min_bars, edge_min_bars=edge_min_bars,
                          boundary_cost=BOUNDARY_COST, phrase_penalty=PHRASE_PENALTY)
    ends = [*starts[1:], n_music]
    groups = group_segments(segment_similarity(ssm, starts, ends), threshold=GROUP_SIMILARITY)
    loud = feats.loudness[:n_music]
    dens = feats.density[:n_music]
    z_loud = (loud - loud.mean()) / (loud.std() + 1e-6)
    z_dens = (dens - dens.mean()) / (dens.std() + 1e-6)
    energy = [float(np.mean(z_loud[a:b] + 0.5 * z_dens[a:b])) for a, b in zip(starts, ends, strict=True)]
    labels = name_groups(groups, energy=energy, lengths=[b - a for a, b in zip(starts, ends, strict=True)])
    times = [0.0] + [float(bars[s]) for s in starts[1:]] + [float(duration_s)]
    return [Section(times[i], times[i + 1], labels[i]) for i in range(len(labels))]

