"""Experiment: a learned note scorer for the lower levels, against the shipped rule-based reduction.

Run:  nice -n 10 .venv/bin/python bench/charts_scorer.py      (about 30 s)

Each Expert note of the six reference charts (bench/charts.py, part b) gets
features: pad, cymbal, time-keeping, crash, metric strength, velocity over the
chart's median, in a fill, chord size, notes within a beat, distance to the
previous/next note on its pad (beats), beat length (s), double kick. A
logistic regression (scikit-learn, charts weighted equally) predicts whether
the author kept the note at a level; notes are then taken by falling
probability under the level's rules (spacing, two hands, no kick in fills, no
kick in Easy, no three limbs below Hard) up to a fixed share of Expert
(Hard 0.8, Medium 0.5, Easy 0.3). Two protocols: trained on the three tuning
charts and scored on the three held-out ones; leave one chart out over all
six. Printed beside the shipped reduction's F on the same charts (the anchor).
The scorer is not shipped: it does worse (docs/CHARTING.md).
"""

from __future__ import annotations

import bisect
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from backbeat.charting.fills import FILL, detect_fills, in_phrases, is_crash, is_time_keeping
from backbeat.charting.grid import MeterGrid
from backbeat.charting.levels import build_levels
from backbeat.core.chart import MAIN_PART, Chart, Note, Phrase
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Pad
from backbeat.formats import read_chart

sys.path.insert(0, str(Path(__file__).resolve().parent))
from charts import CHARTS, DATA, HELD_OUT, TUNED, _f1, _pairs

LEVELS = (Difficulty.HARD, Difficulty.MEDIUM, Difficulty.EASY)
HAND_GAP_BEATS = {Difficulty.HARD: 0.25, Difficulty.MEDIUM: 0.5, Difficulty.EASY: 0.5}
KICK_GAP_BEATS = {Difficulty.HARD: 0.25, Difficulty.MEDIUM: 0.5, Difficulty.EASY: 1.0}
SHARE = {Difficulty.HARD: 0.8, Difficulty.MEDIUM: 0.5, Difficulty.EASY: 0.3}


def note_features(chart: Chart) -> tuple[list[Note], np.ndarray, tuple[Phrase, ...]]:
    """Expert notes (yellow is a hi-hat on four-lane charts), their feature rows and the fills."""
    tm = chart.tempo_map
    grid = MeterGrid(tm)
    src = chart.track(Difficulty.EXPERT).notes
    four_lane = not any(n.cymbal for n in src)
    notes = [replace(n, cymbal=True) if four_lane and n.pad is Pad.YELLOW else n for n in src]
    fills = tuple(p for p in chart.phrases if p.kind == FILL) or detect_fills(
        notes, tm, section_ticks=[s.tick for s in chart.sections])
    ticks = sorted({n.tick for n in notes})
    by_tick: dict[int, list[Note]] = {}
    by_pad: dict[Pad, list[int]] = {}
    for n in notes:
        by_tick.setdefault(n.tick, []).append(n)
        by_pad.setdefault(n.pad, []).append(n.tick)
    for v in by_pad.values():
        v.sort()
    median_vel = max(1.0, float(np.median([n.velocity for n in notes])))
    rows = []
    for n in notes:
        beat = grid.beat_ticks_at(n.tick)
        pad = [0.0] * 5
        pad[int(n.pad)] = 1.0
        strength = [0.0] * 7
        strength[grid.strength(n.tick)] = 1.0
        lo = bisect.bisect_left(ticks, n.tick - beat)
        hi = bisect.bisect_right(ticks, n.tick + beat)
        same = by_pad[n.pad]
        i = bisect.bisect_left(same, n.tick)
        gap_prev = (n.tick - same[i - 1]) / beat if i > 0 else 4.0
        gap_next = (same[i + 1] - n.tick) / beat if i + 1 < len(same) else 4.0
        beat_s = tm.tick_to_seconds(n.tick + beat) - tm.tick_to_seconds(n.tick)
        rows.append(pad + strength + [
            float(n.cymbal), float(is_time_keeping(n)), float(is_crash(n)), n.velocity / median_vel,
            float(in_phrases(n.tick, fills)), float(len(by_tick[n.tick])), (hi - lo) / 2.0,
            min(gap_prev, 4.0), min(gap_next, 4.0), beat_s, float(n.double_kick)])
    return notes, np.array(rows, dtype=float), fills


def select(chart: Chart, notes: list[Note], prob: np.ndarray, fills: tuple[Phrase, ...],
           level: Difficulty) -> set[tuple[int, int]]:
    """Most probable notes first, each kept only when the level's rules still hold."""
    grid = MeterGrid(chart.tempo_map)
    budget = round(SHARE[level] * len(notes))
    kept: list[Note] = []
    hand_ticks: list[int] = []
    kick_ticks: list[int] = []
    hands_at: dict[int, int] = {}
    for i in np.argsort(-prob):
        if len(kept) >= budget:
            break
        n = notes[int(i)]
        if n.double_kick:
            continue
        beat = grid.beat_ticks_at(n.tick)
        if n.pad is Pad.KICK:
            if level is Difficulty.EASY or in_phrases(n.tick, fills):
                continue
            gap = KICK_GAP_BEATS[level] * beat
            j = bisect.bisect_left(kick_ticks, n.tick - gap + 1)
            if j < len(kick_ticks) and kick_ticks[j] < n.tick + gap:
                continue
            if level is not Difficulty.HARD and hands_at.get(n.tick, 0) > 1:
                continue
            bisect.insort(kick_ticks, n.tick)
        else:
            gap = HAND_GAP_BEATS[level] * beat
            j = bisect.bisect_left(hand_ticks, n.tick - gap + 1)
            k = bisect.bisect_left(hand_ticks, n.tick + gap)
            if any(t != n.tick for t in hand_ticks[j:k]) or hands_at.get(n.tick, 0) >= 2:
                continue
            if level is not Difficulty.HARD and n.tick in kick_ticks and hands_at.get(n.tick, 0) >= 1:
                continue
            if n.tick not in hands_at:
                bisect.insort(hand_ticks, n.tick)
            hands_at[n.tick] = hands_at.get(n.tick, 0) + 1
        kept.append(n)
    return {(n.tick, int(n.pad)) for n in kept}


def main() -> int:
    if not CHARTS.exists():
        print(f"data folder {DATA} not found", file=sys.stderr)
        return 1
    data = {}
    for group, items in (("tuned", TUNED), ("held-out", HELD_OUT)):
        for folder, name in items:
            chart = read_chart(CHARTS / folder / name)
            notes, x, fills = note_features(chart)
            labels = {}
            for d in LEVELS:
                if (MAIN_PART, d) in chart.tracks and len(chart.track(d).notes) >= 5:
                    human = _pairs(chart, d)
                    labels[d] = np.array([(n.tick, int(n.pad)) in human for n in notes])
            rules = build_levels(chart, regenerate=True)
            data[folder] = (group, chart, notes, x, fills, labels, rules)
    for protocol in ("trained on tuned, scored on held-out", "leave one chart out"):
        print(f"{protocol}: F over (tick, pad) pairs, scorer vs shipped rules")
        means: dict[tuple[str, str], dict[Difficulty, list[float]]] = {}
        for folder, (group, chart, notes, x, fills, labels, rules) in data.items():
            for d in labels:
                if protocol.startswith("trained"):
                    if group != "held-out":
                        continue
                    train = [f for f, v in data.items() if v[0] == "tuned" and d in v[5]]
                else:
                    train = [f for f, v in data.items() if f != folder and d in v[5]]
                xt = np.vstack([data[f][3] for f in train])
                yt = np.concatenate([data[f][5][d] for f in train])
                weight = np.concatenate([np.full(len(data[f][5][d]), 1.0 / len(data[f][5][d]))
                                         for f in train])
                model = LogisticRegression(max_iter=2000).fit(xt, yt, sample_weight=weight * len(weight))
                ours = select(chart, notes, model.predict_proba(x)[:, 1], fills, d)
                human = _pairs(chart, d)
                f_scorer, f_rules = _f1(ours, human), _f1(_pairs(rules, d), human)
                means.setdefault((group, "scorer"), {}).setdefault(d, []).append(f_scorer)
                means.setdefault((group, "rules"), {}).setdefault(d, []).append(f_rules)
                print(f"    {folder:22s} {d.value:7s} scorer {f_scorer:.3f}  rules {f_rules:.3f}")
        for (group, what), per in sorted(means.items()):
            vals = [statistics.mean(per[d]) for d in LEVELS if d in per]
            print(f"  {group:9s} {what:6s} " + " / ".join(f"{v:.3f}" for v in vals)
                  + f"   mean {statistics.mean(vals):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
