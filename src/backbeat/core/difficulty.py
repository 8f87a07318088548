"""Difficulty levels, from a first-timer's to an expert's."""

from __future__ import annotations

from enum import StrEnum


class Difficulty(StrEnum):
    """Chart difficulty levels, easiest first."""

    BEGINNER = "beginner"
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"
    EXPERT = "expert"

    @property
    def rank(self) -> int:
        """0 for Beginner up to 4 for Expert."""
        return list(Difficulty).index(self)


#: The four levels Clone Hero / Rock Band files carry (Beginner is Backbeat's own).
GAME_DIFFICULTIES: tuple[Difficulty, ...] = (
    Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD, Difficulty.EXPERT,
)
