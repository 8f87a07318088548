"""Unit tests of the player engine: judgments, windows, misses, overhits, modes, rates, lateness."""

from __future__ import annotations

import pytest

from backbeat.core.chart import Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import HitWindows, Judgment
from backbeat.core.kit import Pad
from backbeat.engine import InputHit, PlayerEngine, perfect_bot
from backbeat.engine.scoring import multiplier_for_combo


def note(time_s: float, pad: Pad = Pad.RED, *, cymbal: bool = False, tick: int | None = None) -> Note:
    return Note(tick=round(time_s * 1000) if tick is None else tick, pad=pad, cymbal=cymbal, time_s=time_s)


def play(notes: list[Note], hits: list[InputHit], **kw: object) -> PlayerEngine:
    eng = PlayerEngine(notes, **kw)  # type: ignore[arg-type]
    for h in hits:
        eng.queue_input(h)
    eng.finish()
    return eng


@pytest.mark.parametrize(
    ("offset_ms", "expected"),
    [
        (0.0, Judgment.PERFECT), (25.0, Judgment.PERFECT), (-25.0, Judgment.PERFECT),
        (25.5, Judgment.GREAT), (-50.0, Judgment.GREAT), (50.1, Judgment.GOOD),
        (90.0, Judgment.GOOD), (-90.0, Judgment.GOOD),
    ],
)
def test_judgment_by_offset(offset_ms: float, expected: Judgment) -> None:
    eng = play([note(1.0)], [InputHit(1.0 + offset_ms / 1000, Pad.RED)])
    r = eng.result()
    assert r.counts[expected.value] == 1
    assert r.counts["miss"] == 0
    assert r.lanes["red"].mean_offset_ms == pytest.approx(offset_ms, abs=1e-6)


#: A first note (played on time) and a last one, so hits in between are not "free".
LEAD, TAIL = note(0.5, Pad.KICK), note(5.0, Pad.KICK)
LEAD_HIT = InputHit(0.5, Pad.KICK)


@pytest.mark.parametrize("offset_ms", [90.5, -91.0, 200.0])
def test_hit_outside_good_window_is_overhit_and_note_missed(offset_ms: float) -> None:
    eng = play([LEAD, note(1.0), TAIL], [LEAD_HIT, InputHit(1.0 + offset_ms / 1000, Pad.RED)])
    r = eng.result()
    assert r.counts["overhit"] == 1
    assert r.lanes["red"].misses == 1
    assert r.free_hits == 0


def test_wrong_pad_does_not_match() -> None:
    eng = play([LEAD, note(1.0, Pad.RED), TAIL], [LEAD_HIT, InputHit(1.0, Pad.BLUE)])
    assert eng.result().counts == {"perfect": 1, "great": 0, "good": 0, "miss": 2, "overhit": 1}


def test_stray_hits_before_first_and_after_last_note_are_free() -> None:
    notes = [note(1.0), note(2.0)]
    hits = [InputHit(0.2, Pad.RED), InputHit(0.5, Pad.KICK), InputHit(1.0, Pad.RED),
            InputHit(1.5, Pad.KICK), InputHit(2.0, Pad.RED), InputHit(2.5, Pad.BLUE)]
    eng = PlayerEngine(notes)
    eng.queue_inputs(hits)
    events = eng.finish()
    assert [(e.judgment.value, e.free) for e in events] == [
        ("overhit", True), ("overhit", True), ("perfect", False), ("overhit", False),
        ("perfect", False), ("overhit", True),
    ]
    r = eng.result()
    assert r.free_hits == 3 and r.counts["overhit"] == 1
    assert r.max_combo == 1  # the counted overhit between the notes broke the combo


def test_custom_windows() -> None:
    w = HitWindows(perfect_ms=10, great_ms=20, good_ms=30)
    eng = play([note(1.0), note(2.0), note(3.0), TAIL],
               [InputHit(1.015, Pad.RED), InputHit(2.025, Pad.RED), InputHit(3.035, Pad.RED)], windows=w)
    c = eng.result().counts
    assert (c["great"], c["good"], c["miss"], c["overhit"]) == (1, 1, 2, 1)


def test_invalid_windows_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="perfect_ms <= great_ms"):
        HitWindows(perfect_ms=60, great_ms=50, good_ms=90)
    with pytest.raises(InvalidArgumentError):
        HitWindows(perfect_ms=float("nan"))


def test_miss_fires_exactly_when_good_window_closes() -> None:
    eng = PlayerEngine([note(1.0)], max_input_latency_s=0.0)
    assert eng.update(1.0899) == []
    assert eng.update(1.09) == []  # a hit exactly on the edge would still count
    events = eng.update(1.0901)
    assert [e.judgment for e in events] == [Judgment.MISS]
    assert events[0].time_s == pytest.approx(1.09)
    assert events[0].note_time_s == 1.0


def test_miss_waits_for_latency_tolerance() -> None:
    eng = PlayerEngine([note(1.0)], max_input_latency_s=0.15)
    assert eng.update(1.2) == []
    events = eng.update(1.2401)
    assert [e.judgment for e in events] == [Judgment.MISS]
    assert events[0].time_s == pytest.approx(1.09)


def test_hit_exactly_on_window_edge_counts() -> None:
    eng = play([note(1.0)], [InputHit(1.09, Pad.RED)], max_input_latency_s=0.0)
    assert eng.result().counts["good"] == 1


def test_late_arriving_hit_within_tolerance_is_judged_normally() -> None:
    notes = [note(1.0), note(1.5)]
    eng = PlayerEngine(notes, max_input_latency_s=0.15)
    eng.update(1.2)
    # The hit for the note at 1.0 s arrives 200 ms after it happened (inside 150 ms horizon slack).
    assert eng.queue_input(InputHit(1.06, Pad.RED))
    events = eng.update(2.0)
    assert [e.judgment for e in events] == [Judgment.GOOD, Judgment.MISS]
    assert events[0].offset_ms == pytest.approx(60.0)


def test_hit_older_than_horizon_is_dropped() -> None:
    eng = PlayerEngine([note(1.0)], max_input_latency_s=0.15)
    eng.update(1.3)  # horizon 1.15
    assert not eng.queue_input(InputHit(1.01, Pad.RED))
    eng.finish()
    r = eng.result()
    assert r.dropped_inputs == 1
    assert r.counts["miss"] == 1
    assert eng.dropped_inputs == (InputHit(1.01, Pad.RED),)


def test_nearest_note_wins_and_ties_go_to_earlier() -> None:
    notes = [note(1.0), note(1.1)]
    eng = PlayerEngine(notes)
    eng.queue_input(InputHit(1.06, Pad.RED))
    hit = next(e for e in eng.finish() if e.judgment.is_hit)
    assert hit.note_index == 1  # 40 ms from the note at 1.1 s beats 60 ms from 1.0 s
    assert hit.judgment is Judgment.GREAT
    eng2 = PlayerEngine(notes)
    eng2.queue_input(InputHit(1.05, Pad.RED))  # equidistant: the earlier note
    hit = next(e for e in eng2.finish() if e.judgment.is_hit)
    assert hit.note_index == 0


def test_chord_notes_are_separate_targets_in_pads_mode() -> None:
    notes = [note(1.0, Pad.KICK), note(1.0, Pad.GREEN, cymbal=True)]
    eng = play(notes, [InputHit(1.0, Pad.KICK)])
    r = eng.result()
    assert r.notes_total == 2
    assert r.counts["perfect"] == 1 and r.counts["miss"] == 1
    assert r.lanes["green"].misses == 1 and r.lanes["kick"].hits == 1


def test_any_pad_mode_counts_chords_once_and_matches_any_pad() -> None:
    notes = [note(1.0, Pad.KICK), note(1.0, Pad.GREEN, cymbal=True), note(1.5, Pad.RED)]
    eng = play(notes, [InputHit(1.0, Pad.BLUE), InputHit(1.01, Pad.YELLOW), InputHit(1.5, Pad.KICK)],
               mode="any_pad")
    r = eng.result()
    assert r.notes_total == 2
    assert r.counts["perfect"] == 2
    assert r.counts["overhit"] == 1  # second hand on the chord
    assert r.max_combo == 2  # extra hits do not break combo in any-pad mode by default
    assert set(r.lanes) == {"any", "all"}


def test_overhits_break_combo_in_pads_mode_unless_disabled() -> None:
    notes = [note(1.0), note(2.0)]
    hits = [InputHit(1.0, Pad.RED), InputHit(1.5, Pad.KICK), InputHit(2.0, Pad.RED)]
    assert play(notes, hits).result().max_combo == 1
    r = play(notes, hits, overhit_breaks_combo=False).result()
    assert r.max_combo == 2
    assert r.counts["overhit"] == 1


def test_strict_cymbals() -> None:
    notes = [LEAD, note(1.0, Pad.YELLOW, cymbal=True), note(2.0, Pad.YELLOW, cymbal=False)]
    hits = [LEAD_HIT, InputHit(1.0, Pad.YELLOW, cymbal=False), InputHit(2.0, Pad.YELLOW, cymbal=None)]
    assert play(notes, hits).result().counts["perfect"] == 3
    c = play(notes, hits, strict_cymbals=True).result().counts
    assert (c["perfect"], c["miss"], c["overhit"]) == (2, 1, 1)


def test_combo_multiplier_and_score() -> None:
    notes = [note(0.5 * i) for i in range(1, 41)]
    eng = play(notes, perfect_bot(notes))
    r = eng.result()
    assert r.max_combo == 40
    expected = sum(100 * multiplier_for_combo(c) for c in range(1, 41))
    assert r.score == expected == 100 * (9 * 1 + 10 * 2 + 10 * 3 + 11 * 4)
    assert eng.state.multiplier == 4


def test_miss_resets_combo_and_multiplier() -> None:
    notes = [note(0.5 * i) for i in range(1, 13)]
    hits = [h for h in perfect_bot(notes) if h.time_s != notes[10].time_s]
    eng = PlayerEngine(notes)
    for h in hits:
        eng.queue_input(h)
    events = eng.finish()
    miss = next(e for e in events if e.judgment is Judgment.MISS)
    assert miss.combo == 0 and miss.multiplier == 1
    assert eng.result().max_combo == 10
    assert eng.state.combo == 1


@pytest.mark.parametrize("rate", [0.5, 0.75, 1.0])
def test_windows_are_real_milliseconds_at_any_rate(rate: float) -> None:
    # In song time the note sits at 2.0 s; a hit 40 real ms late is 40*rate song ms late.
    n = [LEAD, note(2.0), TAIL]
    eng = play(n, [LEAD_HIT, InputHit(2.0 + 0.040 * rate, Pad.RED)], playback_rate=rate)
    ev = eng.result()
    assert ev.counts["great"] == 1
    assert ev.lanes["red"].mean_offset_ms == pytest.approx(40.0, abs=1e-6)
    # 95 real ms late is outside Good at any rate.
    eng = play(n, [LEAD_HIT, InputHit(2.0 + 0.095 * rate, Pad.RED)], playback_rate=rate)
    assert eng.result().counts["overhit"] == 1
    # The miss fires 90 real ms after the note: 90*rate ms of song time.
    eng = PlayerEngine([note(2.0)], playback_rate=rate, max_input_latency_s=0.0)
    assert eng.update(2.0 + 0.0899 * rate) == []
    assert [e.judgment for e in eng.update(2.0 + 0.0901 * rate)] == [Judgment.MISS]


def test_calibration_offset_shifts_hits_earlier() -> None:
    eng = play([note(1.0)], [InputHit(1.030, Pad.RED)], calibration_offset_ms=30.0)
    assert eng.result().counts["perfect"] == 1
    assert eng.result().lanes["all"].mean_offset_ms == pytest.approx(0.0, abs=1e-6)


def test_per_lane_stats_and_histogram() -> None:
    notes = [note(1.0, Pad.KICK), note(2.0, Pad.KICK), note(3.0, Pad.RED)]
    hits = [InputHit(0.990, Pad.KICK), InputHit(2.020, Pad.KICK), InputHit(3.0, Pad.RED)]
    r = play(notes, hits).result()
    kick = r.lanes["kick"]
    assert (kick.notes, kick.hits, kick.early, kick.late) == (2, 2, 1, 1)
    assert kick.mean_offset_ms == pytest.approx(5.0)
    assert kick.sd_offset_ms == pytest.approx(15.0)
    assert r.lanes["red"].early == 0 and r.lanes["red"].late == 0
    assert sum(r.histogram.counts) == 3
    assert r.histogram.start_ms == -90.0 and len(r.histogram.counts) == 36
    edges = r.histogram.edges_ms
    assert r.histogram.counts[edges.index(-10.0)] == 1
    assert r.histogram.counts[edges.index(20.0)] == 1
    assert r.histogram.counts[edges.index(0.0)] == 1


def test_events_carry_input_and_running_score() -> None:
    eng = PlayerEngine([note(1.0)], max_input_latency_s=0.0)
    hit = InputHit(1.002, Pad.RED, velocity=77, seq=41)
    eng.queue_input(hit)
    (ev,) = eng.update(1.5)
    assert ev.input == hit
    d = ev.to_dict()
    assert d["seq"] == 41 and d["pad"] == "red" and d["judgment"] == "perfect" and d["score"] == 100


def test_update_going_backwards_is_ignored_and_finished_flag() -> None:
    eng = PlayerEngine([note(1.0)], max_input_latency_s=0.0)
    assert len(eng.update(2.0)) == 1
    assert eng.update(0.5) == []
    assert eng.finished
    assert eng.result().complete


def test_empty_chart() -> None:
    eng = play([], [InputHit(1.0, Pad.RED)])
    r = eng.result()
    assert r.notes_total == 0 and r.free_hits == 1 and r.counts["overhit"] == 0
    assert r.accuracy == 1.0 and r.complete


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "drums"}, {"playback_rate": 0.0}, {"playback_rate": float("nan")},
     {"max_input_latency_s": -1.0}, {"calibration_offset_ms": 5000.0}],
)
def test_bad_settings_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        PlayerEngine([note(1.0)], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"time_s": float("inf"), "pad": Pad.RED}, {"time_s": 1.0, "pad": 7},
     {"time_s": 1.0, "pad": 1, "velocity": 0}, {"time_s": "1.0", "pad": 1},
     {"time_s": 1.0, "pad": 1, "cymbal": 1}],
)
def test_bad_inputs_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        InputHit(**kwargs)  # type: ignore[arg-type]


def test_input_pad_given_as_int_is_converted() -> None:
    assert InputHit(1.0, 2).pad is Pad.YELLOW  # type: ignore[arg-type]


def test_hit_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import backbeat.engine.player as player_mod

    monkeypatch.setattr(player_mod, "MAX_INPUTS", 3)
    eng = PlayerEngine([note(1.0)])
    for k in range(3):
        eng.queue_input(InputHit(1.0 + k, Pad.RED))
    with pytest.raises(InvalidArgumentError, match="too many hits"):
        eng.queue_input(InputHit(9.0, Pad.RED))


def test_dynamics_judged_relative_to_normal_velocity() -> None:
    from backbeat.core.chart import Dynamic

    def dn(t: float, dyn: Dynamic) -> Note:
        return Note(tick=round(t * 1000), pad=Pad.RED, time_s=t, dynamic=dyn)

    notes = [dn(1.0, Dynamic.NORMAL), dn(1.5, Dynamic.NORMAL), dn(2.0, Dynamic.ACCENT),
             dn(2.5, Dynamic.ACCENT), dn(3.0, Dynamic.GHOST), dn(3.5, Dynamic.GHOST), dn(4.0, Dynamic.GHOST)]
    hits = [InputHit(1.0, Pad.RED, velocity=80), InputHit(1.5, Pad.RED, velocity=80),
            InputHit(2.0, Pad.RED, velocity=110), InputHit(2.5, Pad.RED, velocity=85),
            InputHit(3.0, Pad.RED, velocity=40), InputHit(3.5, Pad.RED, velocity=79)]
    d = play(notes, hits).result().dynamics
    assert d.reference_velocity == 80.0
    assert (d.accent_notes, d.accent_hits, d.accents_loud) == (2, 2, 1)
    assert (d.ghost_notes, d.ghost_hits, d.ghosts_soft) == (3, 2, 1)
