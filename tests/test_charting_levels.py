"""Difficulty levels: every generated level obeys its rules and is sparser than the one above."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backbeat.charting.fills import detect_fills
from backbeat.charting.levels import REDUCED_LEVELS, build_levels, reduce_notes
from backbeat.charting.rules import check_chart, check_track
from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Note, Phrase, SongInfo, Track, timed_notes
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoChange, TempoMap, TimeSignature, constant_tempo_map

RES = 192
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

LANES = [(Pad.KICK, False), (Pad.RED, False), (Pad.YELLOW, True), (Pad.YELLOW, False), (Pad.BLUE, True),
         (Pad.BLUE, False), (Pad.GREEN, True), (Pad.GREEN, False)]


@st.composite
def expert_charts(draw: st.DrawFn) -> Chart:
    """Random Expert charts: any lanes on 16th/triplet/32nd grids, meters, tempo changes, sections."""
    num = draw(st.sampled_from([3, 4, 5, 6, 7]))
    den = draw(st.sampled_from([4, 8]))
    bpm = draw(st.floats(min_value=60, max_value=220))
    tempos = [TempoChange(0, bpm)]
    if draw(st.booleans()):
        tempos.append(TempoChange(RES * 8, draw(st.floats(min_value=60, max_value=220))))
    sigs = [TimeSignature(0, num, den)]
    if draw(st.booleans()):
        sigs.append(TimeSignature(RES * 4 * 4, 4, 4))
    tm = TempoMap(RES, tuple(tempos), tuple(sigs))
    step = draw(st.sampled_from([RES // 4, RES // 3, RES // 6, RES // 8]))
    n_slots = 16 * RES // step
    cells = draw(st.lists(st.tuples(st.integers(0, n_slots), st.integers(0, len(LANES) - 1),
                                    st.integers(1, 127)), min_size=1, max_size=160))
    notes: dict[tuple[int, Pad], Note] = {}
    for slot, lane, vel in cells:
        pad, cym = LANES[lane]
        notes[(slot * step, pad)] = Note(slot * step, pad, cym, velocity=vel)
    # physical: at most two hands at once (as quantisation guarantees)
    by_tick: dict[int, list[Note]] = {}
    for n in notes.values():
        by_tick.setdefault(n.tick, []).append(n)
    kept = []
    for ns in by_tick.values():
        hands = [n for n in ns if n.pad is not Pad.KICK][:2]
        kept += hands + [n for n in ns if n.pad is Pad.KICK]
    sections = (ChartSection(0, "a"),)
    if draw(st.booleans()):
        sections += (ChartSection(RES * 4 * 2, "b"),)
    track = Track(Difficulty.EXPERT, timed_notes(kept, tm))
    return Chart(SongInfo(), tm, {(MAIN_PART, Difficulty.EXPERT): track}, sections)


def _pairs(track: Track) -> set[tuple[int, Pad]]:
    return {(n.tick, n.pad) for n in track.notes}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expert_charts())
def test_generated_levels_obey_rules_and_get_sparser(chart: Chart) -> None:
    full = build_levels(chart)
    report = check_chart(full)
    for key, violations in report.items():
        assert violations == [], (key, violations[:3])
    counts = [len(full.track(d).notes) for d in Difficulty]
    assert counts == sorted(counts), counts  # Beginner <= Easy <= ... <= Expert
    # Hard, Medium and Easy keep only notes of the level above.
    for upper, lower in zip((Difficulty.EXPERT, Difficulty.HARD, Difficulty.MEDIUM),
                            (Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY)):
        assert _pairs(full.track(lower)) <= _pairs(full.track(upper))


def _rock_groove(bars: int = 8) -> Chart:
    tm = constant_tempo_map(120, resolution=RES)
    notes = []
    for bar in range(bars):
        base = bar * 4 * RES
        fill = bar % 4 == 3
        for k in range(16):
            t = base + k * RES // 4
            beat, sub = divmod(k, 4)
            if fill and beat >= 2:
                notes.append(Note(t, Pad.BLUE if sub % 2 else Pad.RED, False, velocity=100))
                if sub == 0:
                    notes.append(Note(t, Pad.KICK))
                continue
            if sub % 2 == 0:
                notes.append(Note(t, Pad.YELLOW, True, velocity=90))
            if (sub == 0 and beat in (0, 2)) or (beat == 2 and sub == 2):
                notes.append(Note(t, Pad.KICK, velocity=110))
            if sub == 0 and beat in (1, 3):
                notes.append(Note(t, Pad.RED, velocity=120))
            if sub == 3 and beat == 1:
                notes.append(Note(t, Pad.RED, velocity=30))
        if bar % 4 == 0:
            notes.append(Note(base, Pad.GREEN, True, velocity=127))
    track = Track(Difficulty.EXPERT, timed_notes(notes, tm))
    return Chart(SongInfo(), tm, {(MAIN_PART, Difficulty.EXPERT): track},
                 (ChartSection(0, "verse"), ChartSection(4 * 4 * RES, "chorus")))


def test_fills_found_before_section_and_crash() -> None:
    chart = _rock_groove()
    fills = detect_fills(chart.track(Difficulty.EXPERT).notes, chart.tempo_map, section_ticks=[4 * 4 * RES])
    assert [(p.tick, p.tick + p.length_ticks) for p in fills] == [(3 * 4 * RES + 2 * RES, 4 * 4 * RES)]


def test_hard_drops_kicks_in_fills_and_medium_keeps_backbeat() -> None:
    full = build_levels(_rock_groove())
    fills = [p for p in full.phrases if p.kind == "fill"]
    assert fills
    hard = full.track(Difficulty.HARD)
    assert not [n for n in hard.notes if n.pad is Pad.KICK and any(
        p.tick <= n.tick < p.tick + p.length_ticks for p in fills)]
    medium = full.track(Difficulty.MEDIUM)
    backbeat = {(bar * 4 + b) * RES for bar in (0, 1, 2) for b in (1, 3)}
    assert backbeat <= {n.tick for n in medium.notes if n.pad is Pad.RED}
    # the ghost note on the "a" of 2 is gone below Expert
    assert all(n.velocity > 30 for n in medium.notes if n.pad is Pad.RED)


def test_beginner_is_a_backbone_on_the_beats() -> None:
    full = build_levels(_rock_groove())
    beg = full.track(Difficulty.BEGINNER)
    assert beg.notes
    assert check_track(beg, full.tempo_map) == []
    assert {n.pad for n in beg.notes} <= {Pad.KICK, Pad.RED}
    firsts = [n for n in beg.notes if n.tick == 0]
    assert firsts and firsts[0].pad is Pad.KICK
    assert any(n.pad is Pad.RED and n.tick == RES for n in beg.notes)


def test_rule_checker_catches_breaches() -> None:
    tm = constant_tempo_map(120, resolution=RES)
    three_limbs = Track(Difficulty.MEDIUM, (Note(0, Pad.KICK), Note(0, Pad.RED), Note(0, Pad.YELLOW, True)))
    assert {v.rule for v in check_track(three_limbs, tm)} == {"three_limbs"}
    between = Track(Difficulty.MEDIUM,
                    (Note(0, Pad.YELLOW, True), Note(96, Pad.KICK), Note(192, Pad.YELLOW, True)))
    assert "between_time_keeping" in {v.rule for v in check_track(between, tm)}
    easy = Track(Difficulty.EASY, (Note(0, Pad.KICK), Note(0, Pad.RED)))
    assert "hand_with_kick" in {v.rule for v in check_track(easy, tm)}
    fill_kick = Track(Difficulty.HARD, (Note(10 * 48, Pad.KICK),))
    assert [v.rule for v in check_track(fill_kick, tm, phrases=[Phrase("fill", 0, 4 * RES)])] == ["fill_kick"]
    beg = Track(Difficulty.BEGINNER, (Note(48, Pad.YELLOW, True),))
    assert {v.rule for v in check_track(beg, tm)} == {"pads", "off_beat"}
    fast = Track(Difficulty.HARD, (Note(0, Pad.RED), Note(24, Pad.RED)))
    assert [v.rule for v in check_track(fast, tm)] == ["hand_spacing"]
    expert = Track(Difficulty.EXPERT, (Note(0, Pad.RED), Note(0, Pad.YELLOW, True), Note(0, Pad.BLUE, True)))
    assert [v.rule for v in check_track(expert, tm)] == ["hands"]


def test_build_levels_keeps_hand_made_levels_unless_regenerate() -> None:
    chart = _rock_groove()
    hand = Track(Difficulty.EASY, timed_notes([Note(i * RES, Pad.RED) for i in range(8)], chart.tempo_map))
    with_easy = Chart(chart.info, chart.tempo_map, {**chart.tracks, (MAIN_PART, Difficulty.EASY): hand},
                      chart.sections)
    kept = build_levels(with_easy)
    assert kept.track(Difficulty.EASY).notes == hand.notes
    regen = build_levels(with_easy, regenerate=True)
    assert regen.track(Difficulty.EASY).notes != hand.notes
    only = build_levels(chart, levels=[Difficulty.EXPERT, Difficulty.EASY])
    assert only.difficulties() == [Difficulty.EASY, Difficulty.EXPERT]


def test_build_levels_needs_expert() -> None:
    chart = _rock_groove()
    no_expert = Chart(chart.info, chart.tempo_map, {}, ())
    with pytest.raises(InvalidArgumentError, match="expert"):
        build_levels(no_expert)


def test_reduce_expert_is_identity() -> None:
    chart = _rock_groove()
    notes = chart.track(Difficulty.EXPERT).notes
    assert reduce_notes(notes, chart.tempo_map, Difficulty.EXPERT) == notes
    assert REDUCED_LEVELS[0] is Difficulty.HARD


def _human_chart(folder: str, name: str) -> Chart:
    from backbeat.formats import read_chart

    path = DATA / "charts" / folder / name
    if not path.exists():
        pytest.skip(f"shared chart data not available at {path}")
    return read_chart(path)


@pytest.mark.parametrize(("folder", "name"),
                         [("onyx-lte-914", "notes.mid"), ("ff5-replace-me", "notes.chart")])
def test_reductions_of_real_charts_agree_with_authors_better_than_copying(folder: str, name: str) -> None:
    chart = _human_chart(folder, name)
    gen = build_levels(chart, regenerate=True)
    for key, violations in check_chart(gen).items():
        if key[1] is not Difficulty.EXPERT:
            assert violations == [], (key, violations[:3])

    def f1(a: set[tuple[int, Pad]], b: set[tuple[int, Pad]]) -> float:
        return 2 * len(a & b) / (len(a) + len(b))

    expert = _pairs(chart.track(Difficulty.EXPERT))
    for level in (Difficulty.MEDIUM, Difficulty.EASY):
        human = _pairs(chart.track(level))
        assert f1(_pairs(gen.track(level)), human) > f1(expert, human) + 0.05
