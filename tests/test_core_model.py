"""Core model: analysis JSON, chart invariants, kit mapping."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbeat.core.chart import Chart, Note, SongInfo, Track, timed_notes
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import (
    BackbeatError,
    ChartFormatError,
    CorruptAudioError,
    InvalidArgumentError,
    SilentAudioError,
)
from backbeat.core.kit import DETAILS, Instrument, Pad, instrument_to_pad, pad_to_instrument
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section, TempoSegment
from backbeat.core.tempo import constant_tempo_map


def _analysis() -> Analysis:
    return Analysis(
        duration_s=10.0,
        tempo_map=(TempoSegment(0.0, 120.0),),
        beats=tuple(Beat(0.5 * i, i % 4 + 1) for i in range(20)),
        drums=(DrumHit(0.0, Instrument.KICK, 110, "kick"), DrumHit(0.5, Instrument.HIHAT, 70, "hihat_open")),
        sections=(Section(0.0, 10.0, "intro"),),
        source="x.wav",
    )


def test_analysis_json_round_trip() -> None:
    a = _analysis()
    data = a.to_json()
    assert data["schema_version"] == 1
    assert {d["instrument"] for d in data["drums"]} <= {"kick", "snare", "hihat", "tom", "cymbal"}
    assert Analysis.from_json(data) == a
    assert a.downbeats_s == [0.0, 2.0, 4.0, 6.0, 8.0]


@pytest.mark.parametrize(
    "patch",
    [
        {"schema_version": 2},
        {"duration_s": float("nan")},
        {"drums": [{"time_s": 0.0, "instrument": "cowbell", "velocity": 10}]},
        {"drums": [{"time_s": 0.0, "instrument": "kick", "velocity": 300}]},
        {"beats": [{"time_s": "soon", "position": 1}]},
    ],
)
def test_analysis_json_rejects_malformed(patch: dict) -> None:
    data = {**_analysis().to_json(), **patch}
    with pytest.raises(InvalidArgumentError):
        Analysis.from_json(data)


@pytest.mark.parametrize("inst", list(Instrument))
def test_every_detail_maps_to_a_pad_and_back(inst: Instrument) -> None:
    for detail in DETAILS[inst]:
        pad, cymbal = instrument_to_pad(inst, detail)
        back, _ = pad_to_instrument(pad, cymbal)
        # snare/kick/tom/hihat come back as themselves; ride/crash come back as cymbal
        assert back is inst or (inst is Instrument.CYMBAL and back is Instrument.CYMBAL)


def test_note_validation() -> None:
    with pytest.raises(InvalidArgumentError):
        Note(0, Pad.RED, cymbal=True)
    with pytest.raises(InvalidArgumentError):
        Note(-1, Pad.KICK)
    with pytest.raises(InvalidArgumentError):
        Note(0, Pad.RED, double_kick=True)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(list(Pad))), max_size=50))
def test_track_sorted_and_timed(raw: list[tuple[int, Pad]]) -> None:
    tm = constant_tempo_map(150.0)
    track = Track(Difficulty.EXPERT, timed_notes([Note(t, p) for t, p in raw], tm))
    ticks = [n.tick for n in track.notes]
    assert ticks == sorted(ticks)
    for n in track.notes:
        assert n.time_s == pytest.approx(n.tick * 60.0 / (150.0 * 192))
    chart = Chart(SongInfo(), tm, {("drums", Difficulty.EXPERT): track})
    assert chart.track(Difficulty.EXPERT) is track
    with pytest.raises(InvalidArgumentError):
        chart.track(Difficulty.EASY)


@pytest.mark.parametrize(
    "error",
    [
        CorruptAudioError("a.mp3", "truncated"),
        SilentAudioError("b.wav", "all silence"),
        ChartFormatError("notes.chart", "tempo 0", "line 12"),
        ChartFormatError("notes.mid", "bad header"),
        InvalidArgumentError("bad level"),
    ],
)
def test_errors_survive_pickling_across_processes(error: BackbeatError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
