"""The /ws/play message protocol: validation of every field, size limit, rate limiter."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backbeat.web.protocol import (
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    MAX_MESSAGE_BYTES,
    EndMsg,
    HitMsg,
    JoinMsg,
    ProtocolViolation,
    RateLimiter,
    TickMsg,
    check_song_time,
    parse_message,
)


def msg(**kw: object) -> str:
    return json.dumps({"v": 1, **kw})


def test_valid_messages_parse() -> None:
    join = parse_message(msg(type="join", session="3", player="Ann", part="drums", level="hard",
                             mode="any_pad", rate=0.5, device="midi:TD-17", from_s=10.0, to_s=20.0))
    assert join == JoinMsg("3", "Ann", "drums", "hard", "any_pad", 0.5, "midi:TD-17", 10.0, 20.0)
    hit = parse_message(msg(type="hit", seq=7, t_song_s=1.25, pad="yellow", velocity=64, cymbal=True))
    assert hit == HitMsg(7, 1.25, 2, 64, True)
    assert parse_message(msg(type="hit", seq=0, t_song_s=0, pad=0)) == HitMsg(0, 0.0, 0, 100, None)
    assert parse_message(msg(type="tick", t_song_s=3.5)) == TickMsg(3.5)
    assert parse_message(msg(type="end")) == EndMsg()
    assert parse_message(msg(type="tick", t_song_s=1.0).encode()) == TickMsg(1.0)


@pytest.mark.parametrize(("raw", "code"), [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_schema"),
    (json.dumps({"type": "tick", "t_song_s": 1}), "bad_version"),
    (msg(type="dance"), "bad_type"),
    (msg(type="hit", seq=-1, t_song_s=1, pad=0), "bad_field"),
    (msg(type="hit", seq=1.5, t_song_s=1, pad=0), "bad_field"),
    (msg(type="hit", seq=True, t_song_s=1, pad=0), "bad_field"),
    (msg(type="hit", seq=1, t_song_s="1", pad=0), "bad_field"),
    (msg(type="hit", seq=1, t_song_s=1, pad=5), "bad_field"),
    (msg(type="hit", seq=1, t_song_s=1, pad="purple"), "bad_field"),
    (msg(type="hit", seq=1, t_song_s=1, pad=1, velocity=0), "bad_field"),
    (msg(type="hit", seq=1, t_song_s=1, pad=1, velocity=128), "bad_field"),
    (msg(type="hit", seq=1, t_song_s=1, pad=1, cymbal="yes"), "bad_field"),
    ('{"v": 1, "type": "tick", "t_song_s": NaN}', "bad_time"),
    ('{"v": 1, "type": "tick", "t_song_s": Infinity}', "bad_time"),
    (msg(type="join", session="1", player=""), "bad_field"),
    (msg(type="join", session="1", player="x" * 65), "bad_field"),
    (msg(type="join", session="1", player="<script>"), "bad_field"),
    (msg(type="join", session="1", player="a", mode="chaos"), "bad_field"),
    (msg(type="join", session="1", player="a", rate=5), "bad_field"),
    (msg(type="join", session="1", player="a", from_s=-1), "bad_field"),
])
def test_invalid_messages_are_refused_with_a_code(raw: str, code: str) -> None:
    with pytest.raises(ProtocolViolation) as err:
        parse_message(raw)
    assert err.value.code == code
    assert str(err.value)


def test_oversized_and_bad_json_close_codes() -> None:
    big = msg(type="tick", t_song_s=1.0, pad="x" * MAX_MESSAGE_BYTES)
    with pytest.raises(ProtocolViolation) as err:
        parse_message(big)
    assert err.value.code == "too_big" and err.value.close_code == CLOSE_TOO_BIG
    with pytest.raises(ProtocolViolation) as err:
        parse_message(b"\xff\xfe")
    assert err.value.close_code == CLOSE_UNSUPPORTED


def test_song_time_bounds() -> None:
    check_song_time(-9.9, duration_s=60.0)
    check_song_time(69.9, duration_s=60.0)
    for bad in (-10.5, 70.5, 1e12):
        with pytest.raises(ProtocolViolation) as err:
            check_song_time(bad, duration_s=60.0)
        assert err.value.code == "bad_time"


def test_rate_limiter_allows_burst_then_sustained_rate() -> None:
    rl = RateLimiter(rate_per_s=100.0, burst=200.0)
    assert sum(rl.allow(0.0) for _ in range(300)) == 200
    # After one second, 100 more tokens.
    assert sum(rl.allow(1.0) for _ in range(300)) == 100
    # A steady 100/s stream is never refused.
    rl2 = RateLimiter(rate_per_s=100.0, burst=200.0)
    assert all(rl2.allow(i / 100.0) for i in range(2000))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.dictionaries(st.sampled_from(["v", "type", "seq", "t_song_s", "pad", "velocity", "cymbal",
                                                  "session", "player", "rate", "mode"]),
                                 st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                           st.text(max_size=10),
                                           st.sampled_from(["hit", "tick", "join", "end"])),
                                 max_size=8).map(lambda d: json.dumps({"v": 1, **d}))))
def test_any_input_either_parses_or_raises_protocol_violation(raw: str | bytes) -> None:
    try:
        out = parse_message(raw)
    except ProtocolViolation as exc:
        assert exc.code and str(exc)
        return
    if isinstance(out, HitMsg | TickMsg):
        assert math.isfinite(out.t_song_s)
    if isinstance(out, HitMsg):
        assert 0 <= out.pad <= 4 and 1 <= out.velocity <= 127 and out.seq >= 0
