"""The engine on real community charts (../shared/data/charts): the perfect bot is an oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbeat.core.chart import Chart
from backbeat.engine import PlayerEngine, Replay, human_bot, perfect_bot, simulate
from backbeat.formats import read_chart
from backbeat.storage import Database

CHARTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "charts"
FOLDERS = sorted(p.name for p in CHARTS.iterdir() if p.is_dir()) if CHARTS.is_dir() else []

pytestmark = pytest.mark.skipif(not FOLDERS, reason=f"shared chart data not found at {CHARTS}")


def load(name: str) -> Chart:
    return read_chart(CHARTS / name)


@pytest.mark.parametrize("name", FOLDERS)
def test_perfect_bot_full_combo_on_every_track(name: str) -> None:
    chart = load(name)
    for (part, level), track in chart.tracks.items():
        notes = list(track.notes)
        eng = PlayerEngine(notes)
        eng.queue_inputs(perfect_bot(notes))
        eng.finish()
        r = eng.result()
        assert r.accuracy == 1.0, (name, part, level)
        assert r.max_combo == len(notes) and r.counts["overhit"] == 0, (name, part, level)
        any_pad = PlayerEngine(notes, mode="any_pad")
        any_pad.queue_inputs(perfect_bot(notes))
        any_pad.finish()
        ra = any_pad.result()
        assert ra.accuracy == 1.0 and ra.counts["miss"] == 0, (name, part, level)
        assert ra.notes_total == len({n.time_s for n in notes})


@pytest.mark.parametrize("name", ["ff5-replace-me", "onyx-lte-914", "vsnares-vokeheads"])
def test_human_replay_through_the_database_rescores_identically(name: str, tmp_path: Path) -> None:
    if name not in FOLDERS:
        pytest.skip(f"{name} not in the shared chart data")
    chart = load(name)
    track = max(chart.tracks.values(), key=lambda t: t.difficulty.rank)
    notes = list(track.notes)
    eng = PlayerEngine(notes, playback_rate=0.75, calibration_offset_ms=20.0)
    for hit in human_bot(notes, seed=11, skill=0.5, playback_rate=0.75):
        eng.queue_input(hit)
        eng.update(hit.time_s + 0.05)
    eng.finish()
    live = eng.result()
    assert 0.3 < live.accuracy < 1.0
    with Database(tmp_path / "r.db") as db:
        ses = db.create_session(None)
        player = db.add_player("bot")
        db.save_replay(ses.id, player.id, Replay.from_engine(eng, chart_id=name).to_json())
        row = db.get_replay(ses.id, player.id)
    assert row is not None
    assert simulate(Replay.from_json(row.json), notes) == live
