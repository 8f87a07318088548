"""Session engine: several players on one clock, combined result."""

from __future__ import annotations

import pytest

from backbeat.core.chart import Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.engine import InputHit, PlayerEngine, SessionEngine, human_bot, perfect_bot


def chart() -> list[Note]:
    return [Note(tick=i * 96, pad=Pad(i % 2), time_s=i * 0.25) for i in range(64)]


def test_two_players_advance_together_and_combine() -> None:
    notes = chart()
    easy = [n for n in notes if n.tick % 192 == 0]
    ses = SessionEngine({"host": PlayerEngine(notes), "guest": PlayerEngine(easy, mode="any_pad")})
    host_hits = perfect_bot(notes)
    guest_hits = human_bot(easy, seed=1, skill=0.4)
    events: dict[str, int] = {"host": 0, "guest": 0}
    for now in [i * 0.05 for i in range(400)]:
        for h in host_hits:
            if now - 0.05 < h.time_s <= now:
                ses.queue_input("host", h)
        for h in guest_hits:
            if now - 0.05 < h.time_s <= now:
                ses.queue_input("guest", h)
        for pid, evs in ses.update(now).items():
            events[pid] += len(evs)
    for pid, evs in ses.finish().items():
        events[pid] += len(evs)
    assert ses.finished
    res = ses.results()
    assert res["host"].accuracy == 1.0
    alone = PlayerEngine(easy, mode="any_pad")
    alone.queue_inputs(guest_hits)
    alone.finish()
    assert res["guest"] == alone.result()
    comb = ses.combined_result()
    assert comb.score == res["host"].score + res["guest"].score
    assert comb.accuracy == pytest.approx((1.0 + res["guest"].accuracy) / 2)
    assert comb.notes_total == len(notes) + len(easy)
    assert comb.to_dict()["players"]["host"]["accuracy"] == 1.0
    assert events["host"] == len(notes)


def test_session_errors() -> None:
    with pytest.raises(InvalidArgumentError):
        SessionEngine({})
    ses = SessionEngine({"a": PlayerEngine(chart())})
    with pytest.raises(InvalidArgumentError, match="no player 'b'"):
        ses.queue_input("b", InputHit(1.0, Pad.RED))


def test_players_join_and_leave() -> None:
    notes = chart()
    ses = SessionEngine({"a": PlayerEngine(notes)})
    ses.add_player("b", PlayerEngine(notes, mode="any_pad"))
    with pytest.raises(InvalidArgumentError, match="already"):
        ses.add_player("b", PlayerEngine(notes))
    ses.queue_input("b", InputHit(0.0, Pad.KICK))
    ses.finish()
    assert ses.combined_result().notes_hit == 1
    left = ses.remove_player("b")
    assert left.result().counts["perfect"] == 1
    assert set(ses.results()) == {"a"}
    ses.remove_player("a")
    with pytest.raises(InvalidArgumentError, match="no players"):
        ses.combined_result()
