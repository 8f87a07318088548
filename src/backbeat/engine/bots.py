"""Bots that play a chart: the perfect bot (a test oracle) and a seeded human-like bot."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from backbeat.core.chart import Note
from backbeat.core.errors import InvalidArgumentError
from backbeat.core.kit import Pad
from backbeat.engine.inputs import InputHit


def bot_inputs(
    notes: Sequence[Note],
    *,
    jitter_ms: float = 0.0,
    seed: int = 0,
    bias_ms: float = 0.0,
    miss_rate: float = 0.0,
    extra_rate: float = 0.0,
    playback_rate: float = 1.0,
) -> list[InputHit]:
    """Hits a bot plays for ``notes``, sorted by time.

    Parameters
    ----------
    notes
        Chart notes with ``time_s`` set.
    jitter_ms
        Standard deviation of Gaussian timing noise, real ms (0 = perfect).
    seed
        Random seed; the same arguments always give the same hits.
    bias_ms
        Constant offset added to every hit, real ms (positive = late).
    miss_rate
        Probability of leaving a note unplayed.
    extra_rate
        Probability, per note, of an extra stray hit on a random pad 150-400
        real ms after the note.
    playback_rate
        Song speed; real-ms noise becomes ``ms * playback_rate`` in song time.

    Returns
    -------
    list of InputHit
        One hit per played note (same pad and cymbal flag, the note's
        velocity), plus extra hits; ``seq`` numbers them in time order.
    """
    for name, value, lo, hi in (
        ("jitter_ms", jitter_ms, 0.0, 1000.0), ("bias_ms", bias_ms, -1000.0, 1000.0),
        ("miss_rate", miss_rate, 0.0, 1.0), ("extra_rate", extra_rate, 0.0, 1.0),
        ("playback_rate", playback_rate, 0.25, 2.0),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
            raise InvalidArgumentError(f"{name} must be between {lo} and {hi}, got {value!r}")
    rng = random.Random(seed)
    scale_s = playback_rate / 1000.0
    hits: list[tuple[float, Pad, int, bool | None]] = []
    for note in sorted(notes, key=lambda n: (n.time_s, int(n.pad))):
        # Draw every random number for every note so that changing one rate
        # does not reshuffle the noise of the others.
        noise = rng.gauss(0.0, 1.0)
        missed = rng.random() < miss_rate
        extra = rng.random() < extra_rate
        extra_pad = Pad(rng.randrange(len(Pad)))
        extra_delay_ms = rng.uniform(150.0, 400.0)
        if not missed:
            t = note.time_s + (bias_ms + jitter_ms * noise) * scale_s
            hits.append((t, note.pad, note.velocity, note.cymbal))
        if extra:
            hits.append((note.time_s + extra_delay_ms * scale_s, extra_pad, 90, None))
    hits.sort(key=lambda h: (h[0], int(h[1])))
    return [InputHit(time_s=t, pad=p, velocity=v, cymbal=c, seq=i) for i, (t, p, v, c) in enumerate(hits)]


def perfect_bot(notes: Sequence[Note]) -> list[InputHit]:
    """Hits exactly on every note (scores 100 % accuracy)."""
    return bot_inputs(notes)


def human_bot(notes: Sequence[Note], *, seed: int = 0, skill: float = 0.8,
              playback_rate: float = 1.0) -> list[InputHit]:
    """A plausible human: timing noise, a slight rush, occasional misses and stray hits.

    Parameters
    ----------
    skill
        0 (first-timer) .. 1 (pro): jitter falls from 45 to 8 ms, misses from
        15 % to 0.5 %, stray hits from 8 % to 0.5 %.
    """
    if not (isinstance(skill, int | float) and 0.0 <= skill <= 1.0):
        raise InvalidArgumentError(f"skill must be between 0 and 1, got {skill!r}")
    return bot_inputs(
        notes,
        jitter_ms=45.0 - 37.0 * skill,
        bias_ms=-6.0 * (1.0 - skill),
        miss_rate=0.15 - 0.145 * skill,
        extra_rate=0.08 - 0.075 * skill,
        seed=seed,
        playback_rate=playback_rate,
    )
