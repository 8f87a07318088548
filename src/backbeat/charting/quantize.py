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
MIXED_PENALTY = 0.03
#: Extra penalty for a grid outside the section's main feel family.
OFF_FEEL_PENALTY = 0.008
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


def _snap(x: np.ndarray, s: int) -> np.ndarray:
    return np.round(x * s) / s


def _choose_grid(pos_beats: np.ndarray, n_beats: int,
                 family_bias: str | None) -> tuple[tuple[int, ...], float]:
    """Best grid for hits at ``pos_beats`` (beats from the bar start)."""

    def bias(s: int) -> float:
        if family_bias is None:
            return 0.0
        return OFF_FEEL_PENALTY if (family_bias == "triplet") != _is_triplet(s) and s > 1 else 0.0

    if pos_beats.size == 0:
        return (1,) * n_beats, 0.0
    best: tuple[float, tuple[int, ...], float] = (math.inf, (1,) * n_beats, 0.0)
    for s, pen in GRID_PENALTY.items():
        err = float(np.mean(np.abs(pos_beats - _snap(pos_beats, s))))
        cost = err + pen + bias(s)
        if cost < best[0]:
            best = (cost, (s,) * n_beats, err)
    # Mixed: each beat picks straight or triplet on its own.
    beat_idx = np.clip(np.floor(pos_beats + 1 / 24).astype(int), 0, n_beats - 1)
    subs: list[int] = []
    total_err = 0.0
    kinds = set()
    for k in range(n_beats):
        xs = pos_beats[beat_idx == k]
        if xs.size == 0:
            subs.append(1)
            continue
        options = []
        for s in (2, 4, 3, 6):
            e = float(np.sum(np.abs(xs - _snap(xs, s))))
            options.append((e / xs.size + GRID_PENALTY[s], s, e))
        _, s_best, e_best = min(options)
        subs.append(s_best)
        kinds.add(_is_triplet(s_best))
        total_err += e_best
    if len(kinds) == 2:
        err = total_err / pos_beats.size
        cost = err + MIXED_PENALTY
        if cost < best[0]:
            best = (cost, tuple(subs), err)
    return best[1], best[2]


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
                   section_ticks: Sequence[int] = ()) -> tuple[np.ndarray, list[BarFeel]]:
    """Snap fractional ticks to a per-bar musical grid.

    Parameters
    ----------
    ticks_f
        Fractional tick positions of the hits, shape (n,).
    tempo_map
        The sync track whose bars and beats define the grid.
    section_ticks
        Section starts; bars lean towards the feel most bars of their section use.

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
    feels: list[BarFeel] = []
    for b in bars:
        subs, err = chosen[b]
        beat = grid.beat_ticks_at(b)
        mask = bar_of == b
        pos = (x[mask] - b) / beat
        k = np.clip(np.floor(pos + 1 / 24).astype(int), 0, len(subs) - 1)
        s_arr = np.array([subs[i] for i in k], dtype=float)
        snapped = np.round(pos * s_arr) / s_arr
        out[mask] = np.round(b + snapped * beat).astype(np.int64)
        feels.append(BarFeel(b, subs, _feel_of(subs, np.mod(snapped, 1.0)), err))
    return np.maximum(out, 0), feels


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
                                    resolution=resolution, beat_denominator=beat_unit)
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


def notes_from_positions(ticks: Sequence[int], pads: Sequence[tuple[Pad, bool]],
                         velocities: Sequence[int]) -> list[Note]:
    """Merge quantised hits into chart notes: one note per (tick, pad), the loudest wins.

    Two different hits landing on the same pad at the same tick (a flam, or
    a hi-hat and a high tom both on yellow) become one note.
    """
    best: dict[tuple[int, Pad], Note] = {}
    for t, (pad, cym), v in zip(ticks, pads, velocities):
        note = Note(int(t), pad, cym, velocity=int(min(127, max(1, v))))
        key = (note.tick, pad)
        if key not in best or note.velocity > best[key].velocity:
            best[key] = note
    return sorted(best.values())


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
    ticks, _ = quantize_ticks(ticks_f, tm, section_ticks=[s.tick for s in sections])
    pads = [instrument_to_pad(h.instrument, h.detail) for h in hits]
    notes = _dynamics(notes_from_positions(ticks.tolist(), pads, [h.velocity for h in hits]))
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
    ticks, _ = quantize_ticks([n.tick for n in ns], tm, section_ticks=[s.tick for s in chart.sections])
    merged = notes_from_positions(ticks.tolist(), [(n.pad, n.cymbal) for n in ns], [n.velocity for n in ns])
    notes = timed_notes(_dynamics(merged), tm)
    tracks = {k: v for k, v in chart.tracks.items() if k[0] != part}
    tracks[(part, Difficulty.EXPERT)] = Track(Difficulty.EXPERT, notes, part)
    fills = detect_fills(notes, tm, section_ticks=[s.tick for s in chart.sections])
    others = tuple(p for p in chart.phrases if p.kind != "fill")
    return Chart(chart.info, tm, tracks, chart.sections, tuple(sorted(others + fills, key=lambda p: p.tick)))
