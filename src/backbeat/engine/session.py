"""A play session of N players, each with their own engine, advanced together."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backbeat.core.errors import InvalidArgumentError
from backbeat.engine.inputs import InputHit, JudgmentEvent
from backbeat.engine.player import PlayerEngine
from backbeat.engine.results import PlayerResult

#: Most players one session may hold.
MAX_PLAYERS = 8


@dataclass(frozen=True)
class CombinedResult:
    """Team result of a session.

    Attributes
    ----------
    players
        Player id -> result.
    score
        Sum of the players' scores.
    accuracy
        Mean of the players' accuracies.
    notes_total, notes_hit, misses, overhits
        Sums over players.
    """

    players: dict[str, PlayerResult]
    score: int
    accuracy: float
    notes_total: int
    notes_hit: int
    misses: int
    overhits: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "players": {k: v.to_dict() for k, v in self.players.items()},
            "score": self.score,
            "accuracy": self.accuracy,
            "notes_total": self.notes_total,
            "notes_hit": self.notes_hit,
            "misses": self.misses,
            "overhits": self.overhits,
        }


class SessionEngine:
    """Engines of several players on one song clock.

    Parameters
    ----------
    players
        Player id -> that player's :class:`PlayerEngine` (each may have its own
        part, level, mode and calibration).
    """

    def __init__(self, players: Mapping[str, PlayerEngine]) -> None:
        if not players:
            raise InvalidArgumentError("a session needs at least one player")
        if len(players) > MAX_PLAYERS:
            raise InvalidArgumentError(f"a session holds at most {MAX_PLAYERS} players, got {len(players)}")
        for pid, eng in players.items():
            if not isinstance(pid, str) or not pid:
                raise InvalidArgumentError(f"player ids must be non-empty strings, got {pid!r}")
            if not isinstance(eng, PlayerEngine):
                raise InvalidArgumentError(f"player {pid!r} needs a PlayerEngine, got {type(eng).__name__}")
        self.players: dict[str, PlayerEngine] = dict(players)

    def add_player(self, player_id: str, engine: PlayerEngine) -> None:
        """Seat another player (e.g. a friend joining mid-song).

        Raises
        ------
        InvalidArgumentError
            If the id is taken or invalid, or the session is full.
        """
        if not isinstance(player_id, str) or not player_id:
            raise InvalidArgumentError(f"player ids must be non-empty strings, got {player_id!r}")
        if player_id in self.players:
            raise InvalidArgumentError(f"player {player_id!r} is already in this session")
        if len(self.players) >= MAX_PLAYERS:
            raise InvalidArgumentError(f"a session holds at most {MAX_PLAYERS} players")
        if not isinstance(engine, PlayerEngine):
            raise InvalidArgumentError(
                f"player {player_id!r} needs a PlayerEngine, got {type(engine).__name__}"
            )
        self.players[player_id] = engine

    def remove_player(self, player_id: str) -> PlayerEngine:
        """Take a player out of the session (their engine is returned, e.g. to store its result)."""
        engine = self.engine(player_id)
        del self.players[player_id]
        return engine

    def engine(self, player_id: str) -> PlayerEngine:
        """The engine of one player.

        Raises
        ------
        InvalidArgumentError
            For an unknown player id.
        """
        try:
            return self.players[player_id]
        except KeyError:
            raise InvalidArgumentError(
                f"no player {player_id!r} in this session (players: {sorted(self.players)})"
            ) from None

    def queue_input(self, player_id: str, hit: InputHit) -> bool:
        """Queue a hit for one player; False if it arrived too late and was dropped."""
        return self.engine(player_id).queue_input(hit)

    def update(self, now_s: float) -> dict[str, list[JudgmentEvent]]:
        """Advance every player to ``now_s``; returns each player's new events."""
        return {pid: eng.update(now_s) for pid, eng in self.players.items()}

    def finish(self) -> dict[str, list[JudgmentEvent]]:
        """Finalise every player."""
        return {pid: eng.finish() for pid, eng in self.players.items()}

    @property
    def finished(self) -> bool:
        """True when every player's engine is finished."""
        return all(eng.finished for eng in self.players.values())

    def results(self) -> dict[str, PlayerResult]:
        """Each player's result."""
        return {pid: eng.result() for pid, eng in self.players.items()}

    def combined_result(self) -> CombinedResult:
        """Team result: summed score and counts, mean accuracy.

        Raises
        ------
        InvalidArgumentError
            If every player has left.
        """
        res = self.results()
        if not res:
            raise InvalidArgumentError("the session has no players left")
        counts = [r.counts for r in res.values()]
        return CombinedResult(
            players=res,
            score=sum(r.score for r in res.values()),
            accuracy=math.fsum(r.accuracy for r in res.values()) / len(res),
            notes_total=sum(r.notes_total for r in res.values()),
            notes_hit=sum(c["perfect"] + c["great"] + c["good"] for c in counts),
            misses=sum(c["miss"] for c in counts),
            overhits=sum(c["overhit"] for c in counts),
        )
