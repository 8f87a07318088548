"""Replays: JSON round trip, validation, chart identity, dropped hits."""

from __future__ import annotations

import json

import pytest

from backbeat.core.chart import Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.judgment import HitWindows
from backbeat.core.kit import Pad
from backbeat.engine import (
    EngineSettings,
    InputHit,
    PlayerEngine,
    Replay,
    ReplaySettings,
    human_bot,
    notes_fingerprint,
    simulate,
    simulate_events,
)


def groove(n_bars: int = 8, bpm: float = 120.0) -> list[Note]:
    beat = 60.0 / bpm
    notes = []
    for i in range(n_bars * 8):
        t = i * beat / 2
        notes.append(Note(tick=i * 96, pad=Pad.YELLOW, cymbal=True, time_s=t))
        if i % 4 == 0:
            notes.append(Note(tick=i * 96, pad=Pad.KICK, time_s=t))
        if i % 4 == 2:
            notes.append(Note(tick=i * 96, pad=Pad.RED, time_s=t))
    return notes


def live_engine(notes: list[Note], **kw: object) -> PlayerEngine:
    eng = PlayerEngine(notes, windows=HitWindows(20, 40, 80), **kw)  # type: ignore[arg-type]
    for h in human_bot(notes, seed=3, skill=0.3):
        eng.queue_input(h)
        eng.update(h.time_s + 0.01)
    eng.finish()
    return eng


def test_replay_json_round_trip_and_resimulation() -> None:
    notes = groove()
    eng = live_engine(notes, mode="pads", playback_rate=0.75, calibration_offset_ms=12.5, strict_cymbals=True)
    rep = Replay.from_engine(eng, chart_id="song-7/expert", difficulty="expert", lane_map={"KeyJ": 1})
    text = rep.to_json()
    back = Replay.from_json(text)
    assert back == rep
    assert back.settings.engine.windows == HitWindows(20, 40, 80)
    assert back.settings.lane_map == {"KeyJ": 1}
    r1 = simulate(back, notes)
    assert r1 == eng.result()
    assert simulate(back, notes) == r1
    result, events = simulate_events(back, notes)
    assert result == r1
    assert [e.time_s for e in events] == sorted(e.time_s for e in events)
    assert sum(1 for e in events if e.judgment.is_hit) == r1.lanes["all"].hits


def test_dropped_hits_are_kept_in_the_replay() -> None:
    notes = groove(2)
    eng = PlayerEngine(notes)
    eng.update(3.0)
    assert not eng.queue_input(InputHit(0.5, Pad.YELLOW, cymbal=True))
    eng.finish()
    rep = Replay.from_json(Replay.from_engine(eng).to_json())
    assert len(rep.dropped) == 1
    assert simulate(rep, notes) == eng.result()
    assert simulate(rep, notes).dropped_inputs == 1


def test_replay_on_other_chart_is_refused() -> None:
    notes = groove()
    rep = Replay.from_engine(live_engine(notes))
    other = groove(bpm=121.0)
    assert notes_fingerprint(other) != notes_fingerprint(notes)
    with pytest.raises(InvalidArgumentError, match="different chart"):
        simulate(rep, other)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "not a Backbeat replay"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.update(inputs="nope"), "list of hits"),
        (lambda d: d["inputs"].append([1.0, 9, 100, None, None]), "pad"),
        (lambda d: d["inputs"].append(["x", 1]), "hit time"),
        (lambda d: d["inputs"].append([1.0, 1, 300]), "velocity"),
        (lambda d: d["settings"]["engine"].update(mode="drums"), "mode"),
        (lambda d: d["settings"]["engine"].update(playback_rate=0), "playback_rate"),
        (lambda d: d["settings"]["engine"]["windows"].update(good_ms=10), "hit windows"),
        (lambda d: d["settings"].update(lane_map={"a": 9}), "lane_map"),
        (lambda d: d.update(extra=1), "unknown replay fields"),
        (lambda d: d["settings"]["engine"].update(speed=2), "unknown engine settings"),
    ],
)
def test_invalid_replays_are_rejected(mutate: object, message: str) -> None:
    d = Replay.from_engine(live_engine(groove(2))).to_dict()
    mutate(d)  # type: ignore[operator]
    with pytest.raises(InvalidArgumentError, match=message):
        Replay.from_json(json.dumps(d))


def test_not_json_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        Replay.from_json("{oops")


def test_settings_defaults_round_trip() -> None:
    s = ReplaySettings()
    assert ReplaySettings.from_dict(s.to_dict()) == s
    assert EngineSettings.from_dict({}) == EngineSettings()
