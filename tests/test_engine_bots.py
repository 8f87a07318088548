"""Bots: deterministic, seeded, with the promised statistics."""

from __future__ import annotations

import statistics

import pytest

from backbeat.core.chart import Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.engine import PlayerEngine, bot_inputs, human_bot, perfect_bot


def long_chart(n: int = 2000) -> list[Note]:
    return [Note(tick=i * 48, pad=Pad(i % 5), time_s=i * 0.125) for i in range(n)]


def test_perfect_bot_is_exact() -> None:
    notes = long_chart(50)
    hits = perfect_bot(notes)
    assert [(h.time_s, h.pad) for h in hits] == [(n.time_s, n.pad) for n in notes]
    assert [h.seq for h in hits] == list(range(50))


def test_bots_are_seeded() -> None:
    notes = long_chart(300)
    assert human_bot(notes, seed=5) == human_bot(notes, seed=5)
    assert human_bot(notes, seed=5) != human_bot(notes, seed=6)


def test_jitter_bias_and_rates() -> None:
    notes = long_chart()
    hits = bot_inputs(notes, jitter_ms=10.0, bias_ms=-5.0, seed=1, playback_rate=0.5)
    offsets_real_ms = [(h.time_s - n.time_s) / 0.5 * 1000 for h, n in zip(hits, notes, strict=True)]
    assert statistics.mean(offsets_real_ms) == pytest.approx(-5.0, abs=1.0)
    assert statistics.pstdev(offsets_real_ms) == pytest.approx(10.0, rel=0.1)


def test_miss_and_extra_rates() -> None:
    notes = long_chart()
    hits = bot_inputs(notes, miss_rate=0.1, extra_rate=0.05, seed=2)
    eng = PlayerEngine(notes, overhit_breaks_combo=False)
    eng.queue_inputs(hits)
    eng.finish()
    r = eng.result()
    assert r.counts["miss"] / len(notes) == pytest.approx(0.1, abs=0.03)
    # Extra hits land 150-400 ms after a note on a random pad: most match no note.
    assert 0 < r.counts["overhit"] <= 0.05 * len(notes) * 1.5


def test_human_bot_skill_orders_accuracy() -> None:
    notes = long_chart(800)
    acc = []
    for skill in (0.0, 0.5, 1.0):
        eng = PlayerEngine(notes)
        eng.queue_inputs(human_bot(notes, seed=4, skill=skill))
        eng.finish()
        acc.append(eng.result().accuracy)
    assert acc[0] < acc[1] < acc[2]
    assert acc[2] > 0.9


@pytest.mark.parametrize("kw", [{"jitter_ms": -1.0}, {"miss_rate": 1.5}, {"playback_rate": 0.0}])
def test_bad_bot_arguments(kw: dict[str, float]) -> None:
    with pytest.raises(InvalidArgumentError):
        bot_inputs(long_chart(5), **kw)  # type: ignore[arg-type]
