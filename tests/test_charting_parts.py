"""Two-player parts: duet at two levels, and the kit split between two players."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from tests.test_charting_levels import _rock_groove, expert_charts

from backbeat.charting.levels import build_levels
from backbeat.charting.parts import (
    DUET_GUEST,
    DUET_HOST,
    SPLIT_FEET,
    SPLIT_HANDS,
    duet,
    split_kit,
)
from backbeat.charting.rules import check_chart
from backbeat.core.chart import MAIN_PART, Chart
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Pad


def test_duet_gives_each_player_their_level() -> None:
    chart = duet(_rock_groove(), host=Difficulty.EXPERT, guest=Difficulty.BEGINNER)
    host = chart.track(Difficulty.EXPERT, DUET_HOST)
    guest = chart.track(Difficulty.BEGINNER, DUET_GUEST)
    assert host.notes == chart.track(Difficulty.EXPERT).notes
    assert 0 < len(guest.notes) < len(host.notes)
    assert set(chart.parts) >= {MAIN_PART, DUET_HOST, DUET_GUEST}
    assert all(not v for v in check_chart(chart).values())


def test_duet_at_equal_levels() -> None:
    chart = duet(_rock_groove(), host=Difficulty.MEDIUM, guest=Difficulty.MEDIUM)
    assert chart.track(Difficulty.MEDIUM, DUET_HOST).notes == chart.track(Difficulty.MEDIUM, DUET_GUEST).notes


def _union_property(chart: Chart) -> None:
    split = split_kit(chart)
    for level in chart.difficulties(MAIN_PART):
        whole = set(chart.track(level).notes)
        hands = set(split.track(level, SPLIT_HANDS).notes)
        feet = set(split.track(level, SPLIT_FEET).notes)
        assert hands | feet == whole
        assert not hands & feet
        assert all(n.pad is not Pad.KICK for n in hands)
        assert all(n.pad in (Pad.KICK, Pad.RED) for n in feet)


def test_split_kit_backbeat_goes_to_the_feet_player() -> None:
    chart = build_levels(_rock_groove())
    split = split_kit(chart, levels=[Difficulty.EXPERT])
    feet = split.track(Difficulty.EXPERT, SPLIT_FEET).notes
    assert any(n.pad is Pad.RED and n.tick == 192 for n in feet)
    _union_property(chart)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expert_charts())
def test_split_union_is_the_groove_at_every_level(chart: Chart) -> None:
    full = build_levels(chart)
    _union_property(full)
    # Each split part obeys its level's rules (density order across levels is a whole-kit property).
    for key, violations in check_chart(split_kit(full)).items():
        if key[0] != MAIN_PART:
            assert [v for v in violations if v.rule != "denser_than_above"] == [], key
