"""What the reductions keep, as human authors do: Easy with the hands, cymbal pairs on Hard and Medium."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backbeat.charting.levels import DENSITY_TARGET, build_levels, reduce_notes
from backbeat.charting.rules import check_chart
from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Note, SongInfo, Track, timed_notes
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Pad
from backbeat.core.tempo import constant_tempo_map

RES = 192
BAR = 4 * RES
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _chart(notes: list[Note], sections: tuple[ChartSection, ...] = (ChartSection(0, "verse"),)) -> Chart:
    tm = constant_tempo_map(120, resolution=RES)
    track = Track(Difficulty.EXPERT, timed_notes(notes, tm))
    return Chart(SongInfo(), tm, {(MAIN_PART, Difficulty.EXPERT): track}, sections)


def _groove(bars: range) -> list[Note]:
    """Eighth-note hi-hat, kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, a crash every 4 bars."""
    notes = []
    for bar in bars:
        base = bar * BAR
        for k in range(8):
            t = base + k * RES // 2
            if not (k == 0 and bar % 4 == 0):
                notes.append(Note(t, Pad.YELLOW, True, velocity=90))
            if k in (0, 4, 5):
                notes.append(Note(t, Pad.KICK, velocity=110))
            if k in (2, 6):
                notes.append(Note(t, Pad.RED, velocity=120))
        if bar % 4 == 0:
            notes.append(Note(base, Pad.GREEN, True, velocity=127))
    return notes


def test_easy_is_played_with_the_hands() -> None:
    full = build_levels(_chart(_groove(range(8))))
    easy = full.track(Difficulty.EASY)
    assert easy.notes
    assert not [n for n in easy.notes if n.pad is Pad.KICK]
    snare_ticks = {n.tick for n in easy.notes if n.pad is Pad.RED}
    assert {bar * BAR + b * RES for bar in range(8) for b in (1, 3)} <= snare_ticks
    # the snare carries the section: the hi-hat gives way, the crashes stay
    assert not [n for n in easy.notes if n.pad is Pad.YELLOW]
    assert {n.tick for n in easy.notes if n.pad is Pad.GREEN} == {0, 4 * BAR}
    assert all(v == [] for v in check_chart(full).values())
    # Medium still has the kick under the groove
    assert any(n.pad is Pad.KICK for n in full.track(Difficulty.MEDIUM).notes)


def test_easy_keeps_the_kicks_of_a_kick_only_section() -> None:
    intro = [Note(bar * BAR + b * RES, Pad.KICK, velocity=100) for bar in range(4) for b in range(4)]
    chart = _chart(intro + _groove(range(4, 8)), (ChartSection(0, "intro"), ChartSection(4 * BAR, "verse")))
    full = build_levels(chart)
    easy = full.track(Difficulty.EASY).notes
    intro_kicks = [n for n in easy if n.tick < 4 * BAR]
    assert intro_kicks and all(n.pad is Pad.KICK for n in intro_kicks)
    assert not [n for n in easy if n.tick >= 4 * BAR and n.pad is Pad.KICK]
    assert all(v == [] for v in check_chart(full).values())


def test_cymbal_pairs_stay_on_hard_and_medium_and_become_the_crash_on_easy() -> None:
    tm = constant_tempo_map(120, resolution=RES)
    notes = timed_notes([Note(0, Pad.YELLOW, True, velocity=100), Note(0, Pad.GREEN, True, velocity=120),
                         Note(2 * RES, Pad.RED, velocity=110)], tm)
    hard = reduce_notes(notes, tm, Difficulty.HARD)
    assert {(n.tick, n.pad) for n in hard} == {(0, Pad.YELLOW), (0, Pad.GREEN), (2 * RES, Pad.RED)}
    medium = reduce_notes(hard, tm, Difficulty.MEDIUM)
    assert {(n.tick, n.pad) for n in medium} >= {(0, Pad.YELLOW), (0, Pad.GREEN)}
    easy = reduce_notes(medium, tm, Difficulty.EASY, section_ticks=[0])
    assert [(n.tick, n.pad) for n in easy if n.tick == 0] == [(0, Pad.GREEN)]


def test_hard_aims_at_the_density_of_human_hard_parts() -> None:
    # 16th-note hi-hat groove: Hard must thin it, but keep most of it (humans keep 73-93 %).
    notes = []
    for bar in range(8):
        for k in range(16):
            t = bar * BAR + k * RES // 4
            notes.append(Note(t, Pad.YELLOW, True, velocity=100 if k % 2 == 0 else 60))
            if k in (0, 8, 10):
                notes.append(Note(t, Pad.KICK, velocity=110))
            if k in (4, 12):
                notes.append(Note(t, Pad.RED, velocity=120))
    chart = _chart(notes)
    full = build_levels(chart)
    n_expert = len(chart.track(Difficulty.EXPERT).notes)
    share = len(full.track(Difficulty.HARD).notes) / n_expert
    assert 0.5 < share < 1.0
    assert DENSITY_TARGET[Difficulty.HARD] == pytest.approx(0.8)


def _f1(a: set[tuple[int, Pad]], b: set[tuple[int, Pad]]) -> float:
    return 2 * len(a & b) / (len(a) + len(b))


def test_held_out_easy_agrees_with_its_author() -> None:
    from backbeat.formats import read_chart

    path = DATA / "charts" / "ff5-replace-me" / "notes.chart"
    if not path.exists():
        pytest.skip(f"shared chart data not available at {path}")
    chart = read_chart(path)
    gen = build_levels(chart, regenerate=True)
    ours = {(n.tick, n.pad) for n in gen.track(Difficulty.EASY).notes}
    human = {(n.tick, n.pad) for n in chart.track(Difficulty.EASY).notes}
    assert _f1(ours, human) > 0.8
    assert not [p for _, p in ours if p is Pad.KICK]


def test_beginner_borrows_the_kick_beats_a_hands_only_easy_drops() -> None:
    # Kick on 1 and 3, snare on the "and" of 2 and 4: Easy keeps the off-beat snares only.
    notes = []
    for bar in range(8):
        base = bar * BAR
        notes += [Note(base, Pad.KICK, velocity=110), Note(base + 2 * RES, Pad.KICK, velocity=110),
                  Note(base + RES + RES // 2, Pad.RED, velocity=120),
                  Note(base + 3 * RES + RES // 2, Pad.RED, velocity=120)]
    full = build_levels(_chart(notes))
    easy = full.track(Difficulty.EASY).notes
    beginner = full.track(Difficulty.BEGINNER).notes
    assert easy and not [n for n in easy if n.pad is Pad.KICK]
    assert beginner and len(beginner) <= len(easy)
    assert {n.tick for n in beginner} <= {bar * BAR + b * RES for bar in range(8) for b in (0, 2)}
    assert {bar * BAR for bar in range(8)} <= {n.tick for n in beginner if n.pad is Pad.KICK}
    assert all(v == [] for v in check_chart(full).values())


@st.composite
def grooves(draw: st.DrawFn) -> Chart:
    """Random 4/4 grooves on a 16th grid over two sections, any pads, kicks included."""
    lanes = [(Pad.KICK, False), (Pad.RED, False), (Pad.YELLOW, True), (Pad.BLUE, False), (Pad.GREEN, True)]
    cells = draw(st.lists(st.tuples(st.integers(0, 8 * 16 - 1), st.integers(0, len(lanes) - 1)),
                          min_size=1, max_size=120))
    notes: dict[tuple[int, Pad], Note] = {}
    for slot, lane in cells:
        pad, cym = lanes[lane]
        notes[(slot * RES // 4, pad)] = Note(slot * RES // 4, pad, cym, velocity=100)
    by_tick: dict[int, list[Note]] = {}
    for n in notes.values():
        by_tick.setdefault(n.tick, []).append(n)
    kept = [n for ns in by_tick.values() for n in [m for m in ns if m.pad is not Pad.KICK][:2]
            + [m for m in ns if m.pad is Pad.KICK]]
    return _chart(kept, (ChartSection(0, "a"), ChartSection(4 * BAR, "b")))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grooves())
def test_easy_kicks_only_in_sections_without_hands_and_beginner_never_denser(chart: Chart) -> None:
    full = build_levels(chart)
    easy = full.track(Difficulty.EASY).notes
    for lo, hi in ((0, 4 * BAR), (4 * BAR, 1 << 40)):
        sec = [n for n in easy if lo <= n.tick < hi]
        if any(n.pad is not Pad.KICK for n in sec):
            assert not [n for n in sec if n.pad is Pad.KICK]
    assert len(full.track(Difficulty.BEGINNER).notes) <= len(easy)
    assert all(v == [] for v in check_chart(full).values())
