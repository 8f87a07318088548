"""From heard drum hits (or a played MIDI performance) to an Expert chart on a musical grid.

Each bar gets its own grid: straight (1, 2, 4 or 8 notes per beat), triplet
(3, 6 or 12 per beat) or mixed (each beat straight or triplet on its own),
chosen by the smallest mean quantisation error plus a complexity penalty, so
a swung groove is written on triplets and a straight one is never forced
onto 32nds. Bars then lean towards the feel most of their section uses.
Velocities are kept and marked as ghost or accent relative to the pad's
typical loudness; sections come from the analysis and fills are detected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from backbeat.charting.fills import detect_fills
from backbeat.charting.grid import MeterGrid
from backbeat.core.chart import (
    MAIN_PART,
    Chart,
    ChartSection,
    Dynamic,
    Note,
    SongInfo,
    Track,
    timed_notes,
    timed_sections,
)
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad, instrument_to_pad
from backbeat.core.song_analysis import Analysis
from backbeat.core.tempo import (
    TempoChange,
    TempoMap,
    TimeSignature,
    constant_tempo_map,
    tempo_map_from_beats,
)


class Feel(StrEnum):
    """Rhythmic feel of a bar."""

    STRAIGHT = "straight"
    SWUNG = "swung"
    TRIPLET = "triplet"
    MIXED = "mixed"


#: Candidate grids (subdivisions per beat) and their complexity penalty, in beats of mean error.
GRID_PENALTY: dict[int, float] = {1: 0.0, 2: 0.004, 4: 0.012, 8: 0.035, 3: 0.012, 6: 0.03, 12: 0.06}
#: Penalty of a bar mixing straight and triplet beats.
MIXED_PENALTY = 0.016
#: Extra penalty for a grid outside the section's main feel family.
OFF_FEEL_PENALTY = 0.008
#: Largest move (seconds) quantisation may give a hit before the beat's grid is refined.
MAX_ERROR_S = 0.035
#: Two strokes of one lane closer than this are one note (a flam).
FLAM_S = 0.025
#: Positions (fraction of a beat) of swung eighths and swung sixteenths.
_SWUNG_8 = {0.0, 2 / 3}
_SWUNG_16 = {0.0, 1 / 3, 0.5, 5 / 6}
#: Ghost/accent thresholds relative to the median velocity of the pad.
GHOST_RATIO = 0.6
ACCENT_RATIO = 1.25


@dataclass(frozen=True, slots=True)
class BarFeel:
    """The grid chosen for one bar.

    Attributes
    ----------
    bar_tick
        Downbeat tick of the bar.
    subdivisions
        Notes per beat of the chosen grid per beat of the bar.
    feel
        Straight, swung, triplet or mixed.
    error_beats
        Mean absolute quantisation error in beats.
    """

    bar_tick: int
    subdivisions: tuple[int, ...]
    feel: Feel
    error_beats: float


def _is_triplet(s: int) -> bool:
    return s % 3 == 0


_GRID_S = np.array(list(GRID_PENALTY), dtype=float)
_GRID_PEN = np.array(list(GRID_PENALTY.values()), dtype=float)
_GRID_TRIPLET = np.array([_is_triplet(int(g)) for g in GRID_PENALTY])
_MIXED_S = (2, 4, 3, 6)
_MIXED_IDX = np.array([list(GRID_PENALTY).index(g) for g in _MIXED_S])


def _choose_grid(pos_beats: np.ndarray, n_beats: int,
                 family_bias: str | None) -> tuple[tuple[int, ...], float]:
    """Best grid for hits at ``pos_beats`` (beats from the bar start): (subdivisions per beat, mean error)."""
    if pos_beats.size == 0:
        return (1,) * n_beats, 0.0
    # err[i, g]: distance of hit i to grid g, in beats.
    scaled = pos_beats[:, None] * _GRID_S[None, :]
    err = np.abs(scaled - np.round(scaled)) / _GRID_S[None, :]
    mean_err = err.mean(axis=0)
    bias = np.zeros_like(_GRID_PEN)
    if family_bias is not None:
        off = (_GRID_TRIPLET != (family_bias == "triplet")) & (_GRID_S > 1)
        bias[off] = OFF_FEEL_PENALTY
    cost = mean_err + _GRID_PEN + bias
    g = int(np.argmin(cost))
    best_cost, best_subs, best_err = float(cost[g]), (int(_GRID_S[g]),) * n_beats, float(mean_err[g])
    # Mixed: each beat picks straight or triplet on its own.
    beat_idx = np.clip(np.floor(pos_beats + 1 / 24).astype(int), 0, n_beats - 1)
    sub_err = err[:, _MIXED_IDX]
    sums = np.zeros((n_beats, len(_MIXED_S)))
    np.add.at(sums, beat_idx, sub_err)
    counts = np.bincount(beat_idx, minlength=n_beats)
    used = counts > 0
    if np.count_nonzero(used) >= 2:
        per_beat_cost = sums[used] / counts[used, None] + _GRID_PEN[_MIXED_IDX][None, :]
        choice = np.argmin(per_beat_cost, axis=1)
        kinds = {_is_triplet(_MIXED_S[c]) for c in choice}
        if len(kinds) == 2:
            total = float(sums[used][np.arange(choice.size), choice].sum())
            m_err = total / pos_beats.size
            if m_err + MIXED_PENALTY < best_cost:
                subs = [1] * n_beats
                for beat_no, c in zip(np.flatnonzero(used), choice):
                    subs[int(beat_no)] = _MIXED_S[int(c)]
                best_subs, best_err = tuple(subs), m_err
    return best_subs, best_err


def _feel_of(subs: tuple[int, ...], snapped_frac: np.ndarray) -> Feel:
    kinds = {_is_triplet(s) for s in subs if s > 1}
    if len(kinds) == 2:
        return Feel.MIXED
    if kinds != {True}:
        return Feel.STRAIGHT
    fr = {round(float(f), 3) for f in snapped_frac}
    if fr <= {round(v, 3) for v in _SWUNG_8} or fr <= {round(v, 3) for v in _SWUNG_16}:
        return Feel.SWUNG
    return Feel.TRIPLET


def quantize_ticks(ticks_f: Sequence[float] | np.ndarray, tempo_map: TempoMap, *,
                   section_ticks: Sequence[int] = (), keys: Sequence[int] | None = None,
                   max_error_s: float = MAX_ERROR_S) -> tuple[np.ndarray, list[BarFeel]]:
    """Snap fractional ticks to a per-bar musical grid.

    Parameters
    ----------
    ticks_f
        Fractional tick positions of the hits, shape (n,).
    tempo_map
        The sync track whose bars and beats define the grid.
    section_ticks
        Section starts; bars lean towards the feel most bars of their section use.
    keys
        Optional lane of each hit (e.g. the pad number). Within a beat where two
        hits of one lane more than :data:`FLAM_S` apart would land on the same
        tick, or where a hit would move by more than ``max_error_s``, the
        beat's grid is refined (halved, up to three times) so that a drag or a
        32nd figure is kept rather than merged or misplaced.
    max_error_s
        Largest acceptable move of a hit, in seconds.

    Returns
    -------
    ticks : np.ndarray
        Integer ticks, shape (n,), same order as the input.
    feels : list of BarFeel
        The grid chosen for every bar that has hits.
    """
    x = np.asarray(ticks_f, dtype=float)
    out = np.zeros(x.shape, dtype=np.int64)
    if x.size == 0:
        return out, []
    if np.any(~np.isfinite(x)):
        raise InvalidArgumentError("hit positions must be finite")
    x = np.maximum(x, 0.0)
    grid = MeterGrid(tempo_map)
    # Bars are taken around each hit: a hit within a 48th of a beat before a
    # downbeat belongs to that bar (it is an early downbeat, not a late bar end).
    bar_of = np.empty(x.size, dtype=np.int64)
    for i, t in enumerate(x):
        lead = grid.beat_ticks_at(int(t)) / 24.0
        bar_of[i] = grid.bar_start(math.floor(t + lead))
    bars = sorted(set(bar_of.tolist()))
    sec_sorted = sorted(set(section_ticks)) or [0]

    def section_of(tick: int) -> int:
        i = int(np.searchsorted(sec_sorted, tick, side="right")) - 1
        return max(0, i)

    def fit(bias_by_section: dict[int, str] | None) -> dict[int, tuple[tuple[int, ...], float]]:
        chosen = {}
        for b in bars:
            beat = grid.beat_ticks_at(b)
            n_beats = max(1, grid.bar_length(b) // beat)
            pos = (x[bar_of == b] - b) / beat
            fam = None if bias_by_section is None else bias_by_section.get(section_of(b))
            chosen[b] = _choose_grid(pos, n_beats, fam)
        return chosen

    first = fit(None)
    votes: dict[int, list[int]] = {}
    for b, (subs, _) in first.items():
        votes.setdefault(section_of(b), []).append(sum(_is_triplet(s) for s in subs if s > 1)
                                                    - sum(not _is_triplet(s) for s in subs if s > 1))
    fam_of = {k: ("triplet" if sum(v) > 0 else "straight") for k, v in votes.items()}
    chosen = fit(fam_of)
    key_arr = np.asarray(keys, dtype=np.int64) if keys is not None else np.zeros(x.size, dtype=np.int64)
    if key_arr.shape != x.shape:
        raise InvalidArgumentError("keys must have one entry per hit")
    to_s = _TickClock(tempo_map)
    times_s = to_s(x)
    feels: list[BarFeel] = []
    for b in bars:
        subs, err = chosen[b]
        beat = grid.beat_ticks_at(b)
        idx = np.flatnonzero(bar_of == b)
        pos = (x[idx] - b) / beat
        k = np.clip(np.floor(pos + 1 / 24).astype(int), 0, len(subs) - 1)
        s_arr = np.array([subs[i] for i in k], dtype=float)
        snapped = np.round(pos * s_arr) / s_arr
        feels.append(BarFeel(b, subs, _feel_of(subs, np.mod(snapped, 1.0)), err))
        ticks_bar = np.round(b + snapped * beat).astype(np.int64)
        for beat_i in np.unique(k):
            sel = k == beat_i
            s0 = subs[int(beat_i)]
            candidates = [s0 * m for m in (1, 2, 4, 8) if beat % (s0 * m) == 0 and s0 * m <= 24]
            best_ticks = ticks_bar[sel]
            for s_try in candidates:
                t_try = np.round(b + np.round(pos[sel] * s_try) / s_try * beat).astype(np.int64)
                if _beat_ok(t_try, times_s[idx[sel]], key_arr[idx[sel]], to_s, max_error_s):
                    best_ticks = t_try
                    break
            else:
                if candidates:
                    s_try = candidates[-1]
                    best_ticks = np.round(b + np.round(pos[sel] * s_try) / s_try * beat).astype(np.int64)
            ticks_bar[sel] = best_ticks
        out[idx] = ticks_bar
    return np.maximum(out, 0), feels


class _TickClock:
    """Tick -> seconds for many small arrays (the tempo map's arrays built once)."""

    def __init__(self, tempo_map: TempoMap) -> None:
        self.starts = np.array([t.tick for t in tempo_map.tempos], dtype=float)
        self.base_s = np.array(tempo_map.ticks_to_seconds(self.starts), dtype=float)
        self.s_per_tick = np.array([60.0 / (t.bpm * tempo_map.resolution) for t in tempo_map.tempos])

    def __call__(self, ticks: np.ndarray) -> np.ndarray:
        arr = np.asarray(ticks, dtype=float)
        i = np.clip(np.searchsorted(self.starts, arr, side="right") - 1, 0, None)
        return self.base_s[i] + (arr - self.starts[i]) * self.s_per_tick[i]


def _beat_ok(ticks: np.ndarray, times_s: np.ndarray, keys: np.ndarray, to_s: _TickClock,
             max_error_s: float) -> bool:
    """No hit moved more than ``max_error_s``; no two distinct strokes of one lane merged."""
    moved = np.abs(to_s(ticks) - times_s)
    if np.any(moved > max_error_s):
        return False
    seen: dict[tuple[int, int], float] = {}
    for t, key, ts in zip(ticks.tolist(), keys.tolist(), times_s.tolist()):
        other = seen.get((t, key))
        if other is not None and abs(ts - other) > FLAM_S:
            return False
        seen[(t, key)] = ts
    return True


#: Beats that one steady tempo fits this closely share a tempo event (steady songs get steady maps;
#: well under beat-tracking jitter and the ±25 ms Perfect window).
TEMPO_TOLERANCE_S = 0.010


def tempo_map_from_analysis(analysis: Analysis, *, resolution: int = 192) -> TempoMap:
    """The chart sync track for an analysis: every beat on the grid, meter from the positions.

    Falls back to the analysis tempo segments, and to 120 BPM 4/4 when the
    analysis has neither beats nor tempo.
    """
    beat_unit = analysis.tempo_map[0].beat_unit if analysis.tempo_map else 4
    if beat_unit not in (4, 8):
        beat_unit = 4
    if len(analysis.beats) >= 2:
        return tempo_map_from_beats([b.time_s for b in analysis.beats], [b.position for b in analysis.beats],
                                    resolution=resolution, beat_denominator=beat_unit,
                                    tolerance_s=TEMPO_TOLERANCE_S)
    if analysis.tempo_map:
        seg0 = analysis.tempo_map[0]
        step = resolution * 4 // beat_unit
        tempos = [TempoChange(0, seg0.bpm * 4 / beat_unit)]
        sigs = [TimeSignature(0, max(1, seg0.beats_per_bar), beat_unit)]
        tick = 0.0
        for a, b in zip(analysis.tempo_map, analysis.tempo_map[1:]):
            tick += (b.time_s - a.time_s) * a.bpm / 60.0 * step
            t = round(tick)
            if t > tempos[-1].tick:
                tempos.append(TempoChange(t, b.bpm * 4 / beat_unit))
        return TempoMap(resolution, tuple(tempos), tuple(sigs))
    return constant_tempo_map(120.0, resolution=resolution)


def _dynamics(notes: list[Note]) -> list[Note]:
    out = []
    med: dict[Pad, float] = {}
    for pad in Pad:
        v = [n.velocity for n in notes if n.pad is pad]
        if v:
            med[pad] = float(np.median(v))
    for n in notes:
        m = med[n.pad]
        dyn = Dynamic.NORMAL
        if n.velocity < GHOST_RATIO * m and n.velocity < 70:
            dyn = Dynamic.GHOST
        elif n.velocity > ACCENT_RATIO * m and n.velocity >= 90:
            dyn = Dynamic.ACCENT
        out.append(replace(n, dynamic=dyn))
    return out


#: Where a tom goes when its own pad is taken by a cymbal at the same tick.
_TOM_ALTERNATIVES: dict[Pad, tuple[Pad, ...]] = {
    Pad.YELLOW: (Pad.BLUE, Pad.GREEN), Pad.BLUE: (Pad.GREEN, Pad.YELLOW), Pad.GREEN: (Pad.BLUE, Pad.YELLOW),
}


def notes_from_positions(ticks: Sequence[int], pads: Sequence[tuple[Pad, bool]],
                         velocities: Sequence[int], *, weights: Sequence[float] | None = None) -> list[Note]:
    """Merge quantised hits into chart notes: one note per (tick, pad), at most two hands at once.

    Two hits of one kind on the same pad and tick (a flam) become one note,
    the louder. A tom meeting a cymbal on the same pad (a high tom and the
    hi-hat both on yellow) moves to the nearest free tom pad. When more than
    two hand notes fall on one tick the two with the largest ``weights``
    (default: velocity) stay.
    """
    w = list(weights) if weights is not None else [float(v) for v in velocities]
    best: dict[tuple[int, Pad], tuple[Note, float]] = {}
    order = sorted(range(len(ticks)), key=lambda i: -w[i])
    for i in order:
        pad, cym = pads[i]
        note = Note(int(ticks[i]), pad, cym, velocity=int(min(127, max(1, velocities[i]))))
        key = (note.tick, pad)
        if key in best:
            held = best[key][0]
            if held.cymbal == note.cymbal or pad not in _TOM_ALTERNATIVES:
                continue  # same stroke twice: the stronger one is kept
            tom = note if not note.cymbal else held
            cymbal_note = held if tom is note else note
            moved = next((p for p in _TOM_ALTERNATIVES[pad] if (note.tick, p) not in best), None)
            best[key] = (cymbal_note, best[key][1] if cymbal_note is held else w[i])
            if moved is not None:
                best[(note.tick, moved)] = (replace(tom, pad=moved), w[i])
            continue
        best[key] = (note, w[i])
    by_tick: dict[int, list[tuple[Note, float]]] = {}
    for note, weight in best.values():
        by_tick.setdefault(note.tick, []).append((note, weight))
    out: list[Note] = []
    for items in by_tick.values():
        hands = sorted((it for it in items if it[0].pad is not Pad.KICK), key=lambda it: -it[1])
        out.extend(it[0] for it in items if it[0].pad is Pad.KICK)
        out.extend(it[0] for it in hands[:2])
    return sorted(out)


def chart_from_analysis(analysis: Analysis, *, info: SongInfo, resolution: int = 192) -> Chart:
    """Write the Expert chart of an analysed song.

    Parameters
    ----------
    analysis
        Beats (or tempo), drum hits and sections.
    info
        Song metadata; ``length_s`` is filled from the analysis when 0.
    resolution
        Ticks per quarter note.

    Returns
    -------
    Chart
        One Expert track on the main part, sections, and fill phrases.
    """
    tm = tempo_map_from_analysis(analysis, resolution=resolution)
    grid = MeterGrid(tm)
    sections: list[ChartSection] = []
    for sec in analysis.sections:
        t = round(tm.seconds_to_tick(max(0.0, sec.start_s)))
        bar = grid.bar_start(t)
        nxt = bar + grid.bar_length(bar)
        snapped = bar if t - bar <= nxt - t else nxt
        if abs(snapped - t) <= grid.bar_length(bar) // 2:
            t = snapped
        if sections and sections[-1].tick >= t:
            continue
        sections.append(ChartSection(t, sec.label))
    hits = sorted(analysis.drums, key=lambda h: h.time_s)
    ticks_f = tm.seconds_to_ticks([h.time_s for h in hits])
    pads = [instrument_to_pad(h.instrument, h.detail) for h in hits]
    ticks, _ = quantize_ticks(ticks_f, tm, section_ticks=[s.tick for s in sections],
                              keys=[int(p) for p, _ in pads])
    weights = [h.velocity * (0.3 if h.detail == "hihat_pedal" else 1.0) for h in hits]
    notes = _dynamics(notes_from_positions(ticks.tolist(), pads, [h.velocity for h in hits], weights=weights))
    notes_t = timed_notes(notes, tm)
    secs = timed_sections(sections, tm)
    fills = detect_fills(notes_t, tm, section_ticks=[s.tick for s in secs])
    if info.length_s == 0.0:
        info = replace(info, length_s=float(analysis.duration_s))
    track = Track(Difficulty.EXPERT, notes_t, MAIN_PART)
    return Chart(info, tm, {(MAIN_PART, Difficulty.EXPERT): track}, secs, fills)


def is_quantized(notes: Sequence[Note], tempo_map: TempoMap, *, min_share: float = 0.9) -> bool:
    """True when at least ``min_share`` of notes sit on a 32nd or 16th-triplet grid."""
    if not notes:
        return True
    grid = MeterGrid(tempo_map)
    on = 0
    for n in notes:
        beat = grid.beat_ticks_at(n.tick)
        rel = n.tick - grid.bar_start(n.tick)
        on += any(rel * s % beat == 0 for s in (8, 12))
    return on >= min_share * len(notes)


def requantize_chart(chart: Chart, *, part: str = MAIN_PART) -> Chart:
    """Quantise a played performance (e.g. an imported GM drum MIDI) onto a musical grid.

    Only the Expert track of ``part`` is changed; other levels are dropped
    for that part (they would no longer match) and fills are re-detected.
    """
    expert = chart.track(Difficulty.EXPERT, part)
    tm = chart.tempo_map
    ns = list(expert.notes)
    ticks, _ = quantize_ticks([n.tick for n in ns], tm, section_ticks=[s.tick for s in chart.sections],
                              keys=[int(n.pad) for n in ns])
    merged = notes_from_positions(ticks.tolist(), [(n.pad, n.cymbal) for n in ns], [n.velocity for n in ns])
    notes = timed_notes(_dynamics(merged), tm)
    tracks = {k: v for k, v in chart.tracks.items() if k[0] != part}
    tracks[(part, Difficulty.EXPERT)] = Track(Difficulty.EXPERT, notes, part)
    fills = detect_fills(notes, tm, section_ticks=[s.tick for s in chart.sections])
    others = tuple(p for p in chart.phrases if p.kind != "fill")
    return Chart(chart.info, tm, tracks, chart.sections, tuple(sorted(others + fills, key=lambda p: p.tick)))
