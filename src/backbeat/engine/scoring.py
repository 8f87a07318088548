"""Points, combo multiplier and accuracy weights.

Scoring follows the rhythm games drummers know: each played note earns base
points by judgment times the current multiplier; the multiplier is
``1 + combo // 10`` capped at 4 (x2 from 10 in a row, x4 from 30). A Miss
resets the combo; an overhit resets it when the settings say so.

Accuracy is timing-weighted: Perfect 1, Great 0.75, Good 0.5, Miss 0,
averaged over the notes judged so far (1.0 before any note is judged).
Overhits do not lower accuracy; they are counted separately.
"""

from __future__ import annotations

from backbeat.core.judgment import Judgment

#: Base points per judged note.
POINTS: dict[Judgment, int] = {
    Judgment.PERFECT: 100,
    Judgment.GREAT: 75,
    Judgment.GOOD: 50,
    Judgment.MISS: 0,
    Judgment.OVERHIT: 0,
}

#: Accuracy weight per judged note.
ACCURACY_WEIGHT: dict[Judgment, float] = {
    Judgment.PERFECT: 1.0,
    Judgment.GREAT: 0.75,
    Judgment.GOOD: 0.5,
    Judgment.MISS: 0.0,
}

#: Notes in a row per multiplier step, and the highest multiplier.
COMBO_PER_STEP = 10
MAX_MULTIPLIER = 4


def multiplier_for_combo(combo: int) -> int:
    """Score multiplier for a running combo (1..:data:`MAX_MULTIPLIER`)."""
    return min(1 + combo // COMBO_PER_STEP, MAX_MULTIPLIER)


def accuracy_from_counts(counts: dict[Judgment, int]) -> float:
    """Timing-weighted accuracy in 0..1 from judgment counts (1.0 when no note was judged)."""
    judged = sum(counts.get(j, 0) for j in ACCURACY_WEIGHT)
    if judged == 0:
        return 1.0
    return sum(ACCURACY_WEIGHT[j] * counts.get(j, 0) for j in ACCURACY_WEIGHT) / judged


def hit_ratio_from_counts(counts: dict[Judgment, int]) -> float:
    """Share of judged notes that were played at all (1.0 when none was judged)."""
    judged = sum(counts.get(j, 0) for j in ACCURACY_WEIGHT)
    if judged == 0:
        return 1.0
    return (judged - counts.get(Judgment.MISS, 0)) / judged
