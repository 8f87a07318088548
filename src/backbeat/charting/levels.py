"""Difficulty reduction: Hard, Medium, Easy and Beginner from an Expert part.

The reduction follows the rules human chart authors use (Rock Band / Clone
Hero authoring practice, and the automatic reductions of the Onyx toolkit):

* notes are kept by grid priority (downbeat > half bar > beat > eighth >
  sixteenth), then by loudness, with a minimum spacing per level and per limb
  group (snare first, then the rest of the hands, then the kick);
* Hard drops kicks inside fills and thins the fastest figures to eighths;
* Medium never asks for three limbs at once and thins hands to the beat and
  kicks to half bars;
* Easy is played with the hands: kicks are dropped wherever the section has
  hand notes (a section of kicks alone keeps its kicks), and the snare
  replaces the hi-hat where the section has a snare part;
* Beginner is the backbone: one note per beat at most, kick on the odd beats
  and snare on the even ones, only where the song plays (on Easy's beats,
  then Medium's, never more notes than Easy).

Each level is reduced from the one above, so each level's (tick, pad) set is
a subset of the level above (and therefore never denser).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from backbeat.charting.fills import FILL, detect_fills, in_phrases, is_crash, is_time_keeping
from backbeat.charting.grid import MeterGrid
from backbeat.core.chart import MAIN_PART, Chart, Dynamic, Note, Phrase, Track, timed_notes
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoMap

#: Levels below Expert, hardest first (the order they are built in).
REDUCED_LEVELS: tuple[Difficulty, ...] = (
    Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY, Difficulty.BEGINNER,
)
#: Easy lets the snare carry a section instead of the hi-hat when it has at least this many snares.
EASY_DROP_HATS = True
EASY_MIN_SNARES = 4
#: A hand-made level with fewer notes than this is treated as missing.
MIN_AUTHORED_NOTES = 5


@dataclass(frozen=True)
class ReductionParams:
    """Knobs of one reduction step (distances in beats of the meter).

    Attributes
    ----------
    snare_gap_beats
        Minimum distance between kept snare notes and any other kept hand note.
    hand_gap_beats
        Minimum distance between kept tom/cymbal chords and other kept hand notes.
    kick_gap_beats
        Minimum distance between kept kicks.
    kicks_in_fills
        Keep kicks inside fill phrases.
    max_hands
        Most hand notes at one tick.
    kick_alone_or_single_hand
        A kick is kept only with at most one hand note at its tick (no three limbs).
    two_limbs_per_section
        Easy: each section with hand notes is played with the hands only (see :func:`_two_limbs`).
    clear_between_time_keeping
        Drop kicks and snares that fall between two time-keeping notes at most a beat apart.
    """

    snare_gap_beats: float
    hand_gap_beats: float
    kick_gap_beats: float
    kicks_in_fills: bool
    max_hands: int
    kick_alone_or_single_hand: bool
    two_limbs_per_section: bool = False
    clear_between_time_keeping: bool = False


#: Parameters per level, tuned on hand-made reductions (see docs/BENCHMARKS.md, "Charts").
DEFAULT_PARAMS: dict[Difficulty, ReductionParams] = {
    Difficulty.HARD: ReductionParams(0.5, 0.25, 1.0, False, 2, False),
    Difficulty.MEDIUM: ReductionParams(1.0, 1.0, 2.0, False, 2, True, False, True),
    Difficulty.EASY: ReductionParams(1.0, 1.0, 2.0, False, 2, True, True),
}
#: Alternative spacings per level, tried in order when the level has a density target.
PARAM_LADDER: dict[Difficulty, tuple[ReductionParams, ...]] = {
    Difficulty.HARD: (
        DEFAULT_PARAMS[Difficulty.HARD],
        ReductionParams(0.25, 0.25, 0.5, False, 2, False),
        ReductionParams(0.5, 0.5, 1.0, False, 2, False),
        ReductionParams(1.0, 0.5, 2.0, False, 2, False),
        ReductionParams(1.0, 1.0, 2.0, False, 2, False),
    ),
}
#: Share of Expert notes a level aims at (human Hard parts keep 73-93 % of Expert on five of the
#: six reference charts; 0.8 is the best value on the three tuning charts, tried from 0.65 to 0.85);
#: the spacing of :data:`PARAM_LADDER` whose result lands nearest is chosen per song.
DENSITY_TARGET: dict[Difficulty, float] = {Difficulty.HARD: 0.8}


def _priority(grid: MeterGrid, tick: int, notes: Sequence[Note]) -> tuple[int, int, int]:
    if len(notes) == 1:
        n = notes[0]
        bonus = (2 if n.dynamic is Dynamic.GHOST else 0) - (1 if n.dynamic is Dynamic.ACCENT else 0)
        return (grid.strength(tick) + bonus, -n.velocity, tick)
    loud = max(n.velocity for n in notes)
    ghost = any(n.dynamic is Dynamic.GHOST for n in notes)
    accent = any(n.dynamic is Dynamic.ACCENT for n in notes)
    return (grid.strength(tick) + (2 if ghost else 0) - (1 if accent else 0), -loud, tick)


class _Kept:
    """Kept notes by tick with window queries."""

    def __init__(self) -> None:
        self.ticks: list[int] = []
        self.notes: dict[int, list[Note]] = {}

    def add(self, note: Note) -> None:
        if note.tick not in self.notes:
            bisect.insort(self.ticks, note.tick)
            self.notes[note.tick] = []
        self.notes[note.tick].append(note)

    def window(self, lo: float, hi: float) -> list[int]:
        """Kept ticks strictly inside (lo, hi)."""
        i = bisect.bisect_right(self.ticks, lo)
        j = bisect.bisect_left(self.ticks, hi)
        return self.ticks[i:j]


def _simplify_chord(notes: list[Note], level: Difficulty) -> list[Note]:
    """Drop redundant hand notes from a tom/cymbal chord.

    Hard and Medium keep two cymbals struck together (hi-hat + crash is what
    human authors keep there); Easy keeps only the crash/ride of such a pair.
    Medium and below keep one tom of two.
    """
    if len(notes) < 2:
        return notes
    cymbals = [n for n in notes if n.cymbal]
    if len(cymbals) >= 2 and level.rank < Difficulty.MEDIUM.rank:
        # Keep the louder-sounding accent cymbal: green over blue over yellow (hi-hat).
        keep = max(cymbals, key=lambda n: n.pad)
        notes = [n for n in notes if not n.cymbal or n is keep]
    toms = [n for n in notes if not n.cymbal]
    if level.rank <= Difficulty.MEDIUM.rank and len(toms) >= 2:
        keep_tom = min(toms, key=lambda n: n.pad)
        notes = [n for n in notes if n.cymbal or n is keep_tom]
    return notes


def reduce_notes(notes: Sequence[Note], tempo_map: TempoMap, level: Difficulty, *,
                 fills: Sequence[Phrase] = (), section_ticks: Sequence[int] = (),
                 params: ReductionParams | None = None, support: Sequence[Note] = ()) -> tuple[Note, ...]:
    """Reduce the notes of one level to the next level down.

    Parameters
    ----------
    notes
        Notes of the level above (Expert for Hard, Hard for Medium, ...).
    tempo_map
        The chart's sync track.
    level
        Target level: HARD, MEDIUM, EASY or BEGINNER.
    fills
        Fill phrases (kicks inside them are dropped below Expert).
    section_ticks
        Section starts; Easy picks its two limbs per section.
    params
        Override the level's :data:`DEFAULT_PARAMS` (tuning).
    support
        Beginner only: notes of a denser level lending beats (see :func:`beginner_notes`).

    Returns
    -------
    tuple of Note
        The reduced notes, sorted, each also present in ``notes``.
    """
    if level is Difficulty.EXPERT:
        return tuple(sorted(notes))
    if level is Difficulty.BEGINNER:
        return beginner_notes(notes, tempo_map, fills=fills, support=support)
    p = params or DEFAULT_PARAMS[level]
    grid = MeterGrid(tempo_map)
    src = [n for n in notes if not n.double_kick]
    by_tick: dict[int, list[Note]] = {}
    for n in src:
        by_tick.setdefault(n.tick, []).append(n)
    kept = _Kept()

    def beats(tick: int, g: float) -> float:
        return g * grid.beat_ticks_at(tick)

    # 1. Snares: the backbeat survives first.
    snares = [n for n in src if n.pad is Pad.RED]
    for n in sorted(snares, key=lambda n: _priority(grid, n.tick, [n])):
        gap = beats(n.tick, p.snare_gap_beats)
        if not kept.window(n.tick - gap, n.tick + gap):
            kept.add(n)
    # 2. Toms and cymbals, as chords.
    kit: dict[int, list[Note]] = {}
    for n in src:
        if n.pad not in (Pad.KICK, Pad.RED):
            kit.setdefault(n.tick, []).append(n)
    for tick in sorted(kit, key=lambda t: _priority(grid, t, kit[t])):
        chord = _simplify_chord(kit[tick], level)
        gap = beats(tick, p.hand_gap_beats)
        near = kept.window(tick - gap, tick + gap)
        if near and near != [tick]:
            continue
        room = p.max_hands - len(kept.notes.get(tick, []))
        for n in sorted(chord, key=lambda n: (not is_crash(n), -n.velocity))[: max(0, room)]:
            kept.add(n)
    # 3. Kicks.
    kicks = [n for n in src if n.pad is Pad.KICK]
    kick_ticks: list[int] = []
    for n in sorted(kicks, key=lambda n: _priority(grid, n.tick, by_tick[n.tick])):
        if not p.kicks_in_fills and in_phrases(n.tick, fills):
            continue
        gap = beats(n.tick, p.kick_gap_beats)
        i = bisect.bisect_right(kick_ticks, n.tick - gap)
        if i < len(kick_ticks) and kick_ticks[i] < n.tick + gap:
            continue
        hands_here = len(kept.notes.get(n.tick, []))
        if p.kick_alone_or_single_hand and hands_here > 1:
            continue
        bisect.insort(kick_ticks, n.tick)
        kept.add(n)
    out = [n for t in kept.ticks for n in kept.notes[t]]
    if p.clear_between_time_keeping:
        out = _clear_between_time_keeping(out, grid)
    if p.two_limbs_per_section:
        out = _two_limbs(out, section_ticks)
    return tuple(sorted(out))


def _reduce_to_target(notes: Sequence[Note], tempo_map: TempoMap, level: Difficulty, *, n_expert: int,
                      fills: Sequence[Phrase], section_ticks: Sequence[int],
                      support: Sequence[Note] = ()) -> tuple[Note, ...]:
    """Reduce with the ladder spacing whose density is nearest the level's target (default spacing else)."""
    target = DENSITY_TARGET.get(level)
    ladder = PARAM_LADDER.get(level, ())
    if target is None or not ladder or n_expert == 0:
        return reduce_notes(notes, tempo_map, level, fills=fills, section_ticks=section_ticks,
                            support=support)
    best: tuple[float, tuple[Note, ...]] | None = None
    for params in ladder:
        out = reduce_notes(notes, tempo_map, level, fills=fills, section_ticks=section_ticks, params=params)
        miss = abs(len(out) / n_expert - target)
        if best is None or miss < best[0] - 1e-12:
            best = (miss, out)
    return best[1] if best is not None else ()


def _clear_between_time_keeping(notes: list[Note], grid: MeterGrid) -> list[Note]:
    """Medium: no kick or snare strictly between two time-keeping notes at most a beat apart."""
    keepers = sorted({n.tick for n in notes if is_time_keeping(n)})
    keeper_set = set(keepers)
    out = []
    for n in notes:
        if n.pad in (Pad.KICK, Pad.RED) and n.tick not in keeper_set:
            i = bisect.bisect_left(keepers, n.tick)
            if 0 < i < len(keepers) and grid.beats_between(keepers[i - 1], keepers[i]) <= 1.0 + 1e-9:
                continue
        out.append(n)
    return out


def _two_limbs(notes: list[Note], section_ticks: Sequence[int]) -> list[Note]:
    """Easy: per section, hands only; a section of kicks alone keeps its kicks.

    Human Easy parts are played with the hands: the reference charts have 8
    kicks among 694 Easy notes, all in one chart. Within a section with a
    snare part (at least :data:`EASY_MIN_SNARES` snares) the time-keeping
    hi-hat/ride gives way to the snare, and crashes and toms stay.
    """
    bounds = sorted({0, *section_ticks})
    out: list[Note] = []
    for k, start in enumerate(bounds):
        stop = bounds[k + 1] if k + 1 < len(bounds) else None
        sec = [n for n in notes if n.tick >= start and (stop is None or n.tick < stop)]
        hands = [n for n in sec if n.pad is not Pad.KICK]
        if not hands:
            out.extend(sec)
            continue
        snares = sum(n.pad is Pad.RED for n in hands)
        drop_hats = EASY_DROP_HATS and snares >= EASY_MIN_SNARES
        out.extend(n for n in hands if not (drop_hats and is_time_keeping(n)))
    return out


def beginner_notes(notes: Sequence[Note], tempo_map: TempoMap, *,
                   fills: Sequence[Phrase] = (), support: Sequence[Note] = ()) -> tuple[Note, ...]:
    """The backbone a first-timer can play: one note per beat at most, on beats the song plays.

    Kick on odd beats of the bar and snare on even beats, placed on beat
    ticks where ``notes`` have a note (so the song never goes silent under a
    beginner, and never asks for more than it plays). Notes are picked from
    ``notes`` when the right pad is there, so on a simple groove Beginner is
    a subset of the level above. Inside fills every beat is a snare (no kicks in fills).

    ``support`` (the notes of a denser level, e.g. Medium) lends more beats
    where ``notes`` are silent there (the kick on 1 that a hands-only Easy
    drops), strongest beats first, while Beginner has fewer notes than ``notes``.
    """
    grid = MeterGrid(tempo_map)

    def on_beats(src: Sequence[Note]) -> dict[int, list[Note]]:
        by_tick: dict[int, list[Note]] = {}
        for n in src:
            if (n.tick - grid.bar_start(n.tick)) % grid.beat_ticks_at(n.tick) == 0:
                by_tick.setdefault(n.tick, []).append(n)
        return by_tick

    def beat_note(tick: int, here: Sequence[Note]) -> Note:
        index = (tick - grid.bar_start(tick)) // grid.beat_ticks_at(tick)
        pad = Pad.KICK if index % 2 == 0 and not in_phrases(tick, fills) else Pad.RED
        same = [n for n in here if n.pad is pad]
        if same:
            return replace(same[0], double_kick=False, cymbal=False)
        vel = max(n.velocity for n in here)
        return Note(tick, pad, False, here[0].time_s, vel)

    main = on_beats(notes)
    out = {tick: beat_note(tick, here) for tick, here in main.items()}
    budget = len(notes) - len(out)
    if budget > 0 and support:
        extra = {t: ns for t, ns in on_beats(support).items() if t not in out}
        for tick in sorted(extra, key=lambda t: (grid.strength(t), t))[:budget]:
            out[tick] = beat_note(tick, extra[tick])
    return tuple(out[t] for t in sorted(out))


def build_levels(chart: Chart, *, levels: Iterable[Difficulty] | None = None,
                 regenerate: bool = False, part: str = MAIN_PART) -> Chart:
    """Add lower levels to a chart from its Expert track.

    Parameters
    ----------
    chart
        A chart with an Expert track for ``part``.
    levels
        Levels the result must hold (default: all five). Levels not listed
        are dropped from ``part``; Expert is always the source.
    regenerate
        Rebuild every lower level from Expert even when the chart already
        has a hand-made one (by default hand-made levels are kept).
    part
        Which part to work on (other parts are copied unchanged).

    Returns
    -------
    Chart
        A new chart; fill phrases are detected and added when the chart had none.

    Raises
    ------
    InvalidArgumentError
        If the chart has no Expert track for ``part``.
    """
    wanted = set(levels) if levels is not None else set(Difficulty)
    expert = chart.track(Difficulty.EXPERT, part)
    tm = chart.tempo_map
    fills = tuple(p for p in chart.phrases if p.kind == FILL)
    phrases = chart.phrases
    if not fills:
        fills = detect_fills(expert.notes, tm, section_ticks=[s.tick for s in chart.sections])
        phrases = tuple(sorted(chart.phrases + fills, key=lambda p: (p.tick, p.kind)))
    section_ticks = [s.tick for s in chart.sections]
    tracks = {k: v for k, v in chart.tracks.items() if k[0] != part}
    # A four-lane chart (no pro-drum cymbal markers) still has a hi-hat: the yellow lane.
    # Reduce a view where yellow is a cymbal, then hand back the original notes.
    four_lane = not any(n.cymbal for n in expert.notes)
    originals = {(n.tick, n.pad): n for n in expert.notes}
    above = tuple(replace(n, cymbal=True) if four_lane and n.pad is Pad.YELLOW else n for n in expert.notes)
    built: dict[Difficulty, tuple[Note, ...]] = {Difficulty.EXPERT: expert.notes}
    views: dict[Difficulty, tuple[Note, ...]] = {Difficulty.EXPERT: above}
    for level in REDUCED_LEVELS:
        existing = chart.tracks.get((part, level))
        if existing is not None and len(existing.notes) >= MIN_AUTHORED_NOTES and not regenerate:
            notes = existing.notes
            above = notes
        else:
            # Beginner borrows beats from Medium where the hands-only Easy is silent.
            support = views.get(Difficulty.MEDIUM, ()) if level is Difficulty.BEGINNER else ()
            view = _reduce_to_target(above, tm, level, n_expert=len(expert.notes), fills=fills,
                                     section_ticks=section_ticks, support=support)
            above = view
            notes = timed_notes([originals.get((n.tick, n.pad), n) if four_lane else n for n in view], tm)
        built[level] = notes
        views[level] = above
    for level, notes in built.items():
        if level in wanted:
            tracks[(part, level)] = Track(level, notes, part)
    if Difficulty.EXPERT not in wanted and not any(lv in wanted for lv in REDUCED_LEVELS):
        raise InvalidArgumentError("no levels requested")
    return Chart(chart.info, tm, tracks, chart.sections, phrases)
