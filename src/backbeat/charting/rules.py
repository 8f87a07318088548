"""The rules a drum track of each level must obey, and a checker that lists every breach.

Rules per level (distances in beats of the meter at the earlier note):

* every level: one note per (tick, pad); at most two hand notes at once;
* Expert: nothing more (double kicks allowed);
* Hard: no double kicks; no kick inside a fill; hand notes at least a
  sixteenth apart, kicks at least a sixteenth apart;
* Medium: no three limbs at once (a kick has at most one hand note with it);
  hand notes and kicks at least an eighth apart; no kick or snare strictly
  between two time-keeping notes (hi-hat / ride) that are at most a beat apart;
* Easy: never a hand note together with a kick; in a section that uses the
  kick only one hand plays (no two hand notes at once); hand notes at least an
  eighth apart, kicks at least a beat apart;
* Beginner: kick and snare only, one note at a time, on beats, at least a beat apart.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from backbeat.charting.fills import in_phrases, is_time_keeping
from backbeat.charting.grid import MeterGrid
from backbeat.core.chart import Chart, Note, Phrase, Track
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartRuleError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap

#: Minimum distance (beats) between distinct hand-note ticks, per level.
MIN_HAND_GAP_BEATS: dict[Difficulty, float] = {
    Difficulty.EXPERT: 0.0, Difficulty.HARD: 0.25, Difficulty.MEDIUM: 0.5,
    Difficulty.EASY: 0.5, Difficulty.BEGINNER: 1.0,
}
#: Minimum distance (beats) between kicks, per level.
MIN_KICK_GAP_BEATS: dict[Difficulty, float] = {
    Difficulty.EXPERT: 0.0, Difficulty.HARD: 0.25, Difficulty.MEDIUM: 0.5,
    Difficulty.EASY: 1.0, Difficulty.BEGINNER: 1.0,
}


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One breach of a level rule.

    Attributes
    ----------
    tick
        Where it happens.
    rule
        Short rule id, e.g. ``"three_limbs"``.
    message
        What is wrong, in words.
    """

    tick: int
    rule: str
    message: str


def _gaps(ticks: Sequence[int], grid: MeterGrid, min_beats: float, rule: str, what: str,
          out: list[RuleViolation]) -> None:
    if min_beats <= 0:
        return
    for a, b in itertools.pairwise(ticks):
        dist = grid.beats_between(a, b)
        if dist < min_beats - 1e-9:
            out.append(RuleViolation(b, rule, f"{what} {dist:.3g} beats after the previous one "
                                              f"(minimum {min_beats:g})"))


def check_track(track: Track, tempo_map: TempoMap, *, phrases: Sequence[Phrase] = (),
                section_ticks: Sequence[int] = ()) -> list[RuleViolation]:
    """List every rule of the track's level that the track breaks.

    Parameters
    ----------
    track
        The track to check; its ``difficulty`` selects the rules.
    tempo_map
        The chart's sync track (for beat lengths).
    phrases
        The chart's phrases; kicks inside ``"fill"`` phrases break the Hard rules.
    section_ticks
        Section starts, for Easy's two-limbs-per-section rule.

    Returns
    -------
    list of RuleViolation
        Empty when the track obeys every rule.
    """
    level = track.difficulty
    grid = MeterGrid(tempo_map)
    out: list[RuleViolation] = []
    by_tick: dict[int, list[Note]] = {}
    for n in track.notes:
        by_tick.setdefault(n.tick, []).append(n)
    for tick, ns in by_tick.items():
        pads = [n.pad for n in ns]
        if len(set(pads)) != len(pads):
            out.append(RuleViolation(tick, "duplicate", "two notes on the same pad at once"))
        hands = [n for n in ns if n.pad is not Pad.KICK]
        if len(hands) > 2:
            out.append(RuleViolation(tick, "hands", f"{len(hands)} hand notes at once (two hands)"))
    if level is Difficulty.EXPERT:
        return sorted(out, key=lambda v: v.tick)
    hand_ticks = sorted(t for t, ns in by_tick.items() if any(n.pad is not Pad.KICK for n in ns))
    kick_ticks = sorted(t for t, ns in by_tick.items() if any(n.pad is Pad.KICK for n in ns))
    _gaps(hand_ticks, grid, MIN_HAND_GAP_BEATS[level], "hand_spacing", "hand note", out)
    _gaps(kick_ticks, grid, MIN_KICK_GAP_BEATS[level], "kick_spacing", "kick", out)
    for n in track.notes:
        if n.double_kick:
            out.append(RuleViolation(n.tick, "double_kick", "double-kick notes belong to Expert only"))
    fills = [p for p in phrases if p.kind == "fill"]
    for t in kick_ticks:
        if fills and in_phrases(t, fills):
            out.append(RuleViolation(t, "fill_kick",
                                     "kick inside a fill (below Expert fills are hands only)"))
    if level.rank <= Difficulty.MEDIUM.rank:
        for t in kick_ticks:
            hands = [n for n in by_tick[t] if n.pad is not Pad.KICK]
            if len(hands) > 1:
                out.append(RuleViolation(t, "three_limbs", "kick with two hand notes (three limbs)"))
    if level is Difficulty.MEDIUM:
        keep_ticks = sorted(t for t, ns in by_tick.items() if any(is_time_keeping(n) for n in ns))
        for t, ns in by_tick.items():
            if not any(n.pad in (Pad.KICK, Pad.RED) for n in ns) or t in keep_ticks:
                continue
            i = bisect.bisect_left(keep_ticks, t)
            if 0 < i < len(keep_ticks):
                a, b = keep_ticks[i - 1], keep_ticks[i]
                if grid.beats_between(a, b) <= 1.0 + 1e-9:
                    out.append(RuleViolation(t, "between_time_keeping",
                                             "kick or snare between two time-keeping notes"))
    if level is Difficulty.EASY:
        bounds = sorted({0, *section_ticks})
        for k, start in enumerate(bounds):
            stop = bounds[k + 1] if k + 1 < len(bounds) else None
            ticks = [t for t in by_tick if t >= start and (stop is None or t < stop)]
            uses_kick = any(n.pad is Pad.KICK for t in ticks for n in by_tick[t])
            for t in ticks:
                ns = by_tick[t]
                hands = [n for n in ns if n.pad is not Pad.KICK]
                if hands and len(hands) < len(ns):
                    out.append(RuleViolation(t, "hand_with_kick", "hand note together with a kick"))
                if uses_kick and len(hands) > 1:
                    out.append(RuleViolation(t, "two_limbs",
                                             "two hands at once in a section that also uses the kick"))
    if level is Difficulty.BEGINNER:
        for t, ns in by_tick.items():
            if len(ns) > 1:
                out.append(RuleViolation(t, "one_note", "more than one note at once"))
            if any(n.pad not in (Pad.KICK, Pad.RED) for n in ns):
                out.append(RuleViolation(t, "pads", "Beginner uses kick and snare only"))
            if (t - grid.bar_start(t)) % grid.beat_ticks_at(t):
                out.append(RuleViolation(t, "off_beat", "Beginner notes sit on beats"))
    return sorted(out, key=lambda v: (v.tick, v.rule))


def check_chart(chart: Chart) -> dict[tuple[str, Difficulty], list[RuleViolation]]:
    """Check every track of a chart; also that each level has no more notes than the one above.

    Returns
    -------
    dict
        Violations per (part, difficulty); a density breach is reported on the
        sparser level's key with rule ``"denser_than_above"``.
    """
    sections = [s.tick for s in chart.sections]
    result: dict[tuple[str, Difficulty], list[RuleViolation]] = {}
    for key, track in chart.tracks.items():
        result[key] = check_track(track, chart.tempo_map, phrases=chart.phrases, section_ticks=sections)
    for part in chart.parts:
        levels = chart.difficulties(part)
        for lower, upper in itertools.pairwise(levels):
            n_lo = len(chart.tracks[(part, lower)].notes)
            n_up = len(chart.tracks[(part, upper)].notes)
            if n_lo > n_up:
                result[(part, lower)].append(RuleViolation(
                    0, "denser_than_above",
                    f"{lower.value} has {n_lo} notes, more than {upper.value} ({n_up})"))
    return result


def require_valid(chart: Chart, *, parts: Sequence[str] | None = None) -> None:
    """Raise :class:`ChartRuleError` when a generated track breaks its level's rules."""
    for (part, level), violations in check_chart(chart).items():
        if parts is not None and part not in parts:
            continue
        if violations:
            v = violations[0]
            raise ChartRuleError(
                f"{part}/{level.value} breaks {len(violations)} rule(s); first at tick {v.tick}: "
                f"{v.rule}: {v.message}"
            )
