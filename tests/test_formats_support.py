"""Shared pieces for the formats tests: random charts (hypothesis), data paths, comparisons.

No tests here; other test_formats_* modules import from it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hypothesis import strategies as st

from backbeat.core.chart import MAIN_PART, Chart, ChartSection, Dynamic, Note, Phrase, SongInfo, Track
from backbeat.core.difficulty import GAME_DIFFICULTIES, Difficulty
from backbeat.core.kit import Pad
from backbeat.core.tempo import TempoChange, TempoMap, TimeSignature
from backbeat.formats.chart_build import assemble_chart

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHARTS = DATA / "charts"
JS_DIR = Path(__file__).resolve().parent / "js"

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éü-'&!"


def clean_text() -> st.SearchStrategy[str]:
    """Names every format can carry: letters, digits, single spaces, no quotes or brackets."""
    word = st.text(alphabet=_NAME_CHARS, min_size=1, max_size=8)
    return st.lists(word, min_size=1, max_size=3).map(" ".join)


@st.composite
def random_chart(draw: st.DrawFn, *, grid_steps_per_quarter: int | None = None,
                 difficulties: tuple[Difficulty, ...] = GAME_DIFFICULTIES, extra_parts: bool = False,
                 max_notes: int = 40, dynamics: bool = True, one_lane_per_pad: bool = True) -> Chart:
    """A random valid chart.

    ``grid_steps_per_quarter`` puts every note and tempo change on that grid
    (for the quantising formats). ``one_lane_per_pad`` keeps a pad from being
    both tom and cymbal at one tick in any level (which Clone Hero / Rock Band files cannot express).
    """
    res = draw(st.sampled_from([96, 192, 480]))
    grid = res // grid_steps_per_quarter if grid_steps_per_quarter else 1
    n_tempos = draw(st.integers(1, 4))
    tempo_beats = sorted(draw(st.sets(st.integers(1, 40), min_size=n_tempos - 1, max_size=n_tempos - 1)))
    tempos = [TempoChange(0, draw(st.integers(40_000, 300_000)) / 1000)]
    for b in tempo_beats:
        tempos.append(TempoChange(b * res, draw(st.integers(40_000, 300_000)) / 1000))
    sig_beats = sorted(draw(st.sets(st.integers(1, 40), max_size=2)))
    sigs = [TimeSignature(0, draw(st.integers(2, 7)), draw(st.sampled_from([4, 8])))]
    for b in sig_beats:
        sigs.append(TimeSignature(b * res, draw(st.integers(2, 7)), draw(st.sampled_from([4, 8]))))
    tm = TempoMap(res, tuple(tempos), tuple(sigs))
    max_tick = 48 * res
    note_tick = st.integers(0, max_tick // grid).map(lambda k: k * grid)
    lane = st.sampled_from([(Pad.KICK, False), (Pad.RED, False), (Pad.YELLOW, False), (Pad.YELLOW, True),
                            (Pad.BLUE, False), (Pad.BLUE, True), (Pad.GREEN, False), (Pad.GREEN, True)])
    dyn = st.sampled_from(list(Dynamic)) if dynamics else st.just(Dynamic.NORMAL)

    kind_at: dict[tuple[int, Pad], bool] = {}

    def track_notes(expert: bool) -> list[Note]:
        raw = draw(st.lists(st.tuples(note_tick, lane, dyn, st.integers(1, 127), st.booleans()),
                            max_size=max_notes))
        out: dict[tuple[int, Pad, bool], Note] = {}
        for tick, (pad, cym), d, vel, dbl in raw:
            if one_lane_per_pad:
                # The game formats cannot hold a tom and a cymbal of one pad at one tick, and
                # notes.mid tom markers apply to every level: one kind per (tick, pad).
                cym = kind_at.setdefault((tick, pad), cym)
            out[(tick, pad, cym)] = Note(tick, pad, cym, velocity=vel, dynamic=d,
                                         double_kick=dbl and expert and pad is Pad.KICK)
        return sorted(out.values())

    notes: dict[tuple[str, Difficulty], list[Note]] = {}
    for d in difficulties:
        notes[(MAIN_PART, d)] = track_notes(d is Difficulty.EXPERT)
    if extra_parts:
        notes[("duet_guest", Difficulty.MEDIUM)] = track_notes(False)
    sec_ticks = sorted(draw(st.sets(st.integers(0, 40), max_size=4)))
    sections = [ChartSection(b * res, draw(clean_text())) for b in sec_ticks]
    # Phrases do not overlap (overlapping ones have no meaning in the game formats).
    starts = sorted(draw(st.sets(st.integers(0, 40), max_size=3)))
    phrases = [Phrase(draw(st.sampled_from(["fill", "star_power"])), b * res,
                      min(draw(st.integers(1, 4)), (nxt - b) if nxt is not None else 4) * res)
               for b, nxt in zip(starts, [*starts[1:], None])]
    info = SongInfo(name=draw(clean_text()), artist=draw(clean_text()), charter=draw(clean_text()),
                    album=draw(clean_text()), genre=draw(clean_text()),
                    year=str(draw(st.integers(1950, 2030))),
                    preview_start_s=draw(st.integers(0, 100_000)) / 1000,
                    delay_ms=draw(st.integers(-500, 500)), length_s=0.0)
    return assemble_chart("<random>", info=info, tempo_map=tm, notes=notes, sections=sections,
                          phrases=phrases)


def lanes(track: Track) -> list[tuple[int, int, bool]]:
    """(tick, pad, cymbal) of each note."""
    return [(n.tick, int(n.pad), n.cymbal) for n in track.notes]


def full_notes(track: Track) -> list[tuple[int, int, bool, str, bool]]:
    """(tick, pad, cymbal, dynamic, double kick) of each note."""
    return [(n.tick, int(n.pad), n.cymbal, n.dynamic.value, n.double_kick) for n in track.notes]


def node_available() -> bool:
    """True when node and the scan-chart package are installed for the cross-checks."""
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "scan-chart").is_dir()


def scan_chart(path: Path, *, pro_drums: bool = False) -> dict:  # type: ignore[type-arg]
    """Parse a .chart/.mid with scan-chart (tests/js/scan.mjs) and return its JSON summary."""
    import json

    proc = subprocess.run(["node", str(JS_DIR / "scan.mjs"), str(path), "1" if pro_drums else "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"scan-chart failed on {path}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


SCAN_DIFF = {"expert": Difficulty.EXPERT, "hard": Difficulty.HARD, "medium": Difficulty.MEDIUM,
             "easy": Difficulty.EASY}


def scan_notes(track_json: dict, *, pro: bool = True) -> list[tuple[int, int, bool, str, bool]]:  # type: ignore[type-arg]
    """scan-chart notes as (tick, pad, cymbal, dynamic, double kick), sorted like ours.

    scan-chart marks disco-flip notes with a flag (128) and leaves the lanes; on pro
    charts the games (and Backbeat) play them swapped: red as yellow cymbal, yellow as red.
    """
    out = []
    for tick, lane, flags in track_json["notes"]:
        dyn = "accent" if flags & 1024 else "ghost" if flags & 512 else "normal"
        cymbal = bool(flags & 32)
        if pro and flags & 128 and lane in (1, 2):
            lane, cymbal = (2, True) if lane == 1 else (1, False)
        out.append((tick, lane, cymbal, dyn, bool(flags & 8)))
    return sorted(out, key=lambda n: (n[0], n[1], n[2]))


def golden_chart() -> Chart:
    """A small hand-built chart that uses every feature the formats carry.

    Two bars of 4/4 at 120.5 BPM, a bar of 7/8 at 97.125 BPM, a bar of 4/4 at 140 BPM;
    cymbals and toms on every pad, accents, ghosts, double kicks, a fill, star power,
    three sections, all five levels and a duet part.
    """
    res = 192
    odd = 8 * res + 7 * 96  # end of the 7/8 bar
    tm = TempoMap(res, (TempoChange(0, 120.5), TempoChange(8 * res, 97.125), TempoChange(odd, 140.0)),
                  (TimeSignature(0, 4, 4), TimeSignature(8 * res, 7, 8), TimeSignature(odd, 4, 4)))
    e = res // 2  # an eighth note
    expert: list[Note] = []
    for k in range(16):  # bars 1-2: hi-hat eighths, kick 1 & 3 (+ double kick), snare 2 & 4
        t = k * e
        expert.append(Note(t, Pad.YELLOW, True, velocity=90 if k % 2 else 110,
                           dynamic=Dynamic.ACCENT if k == 0 else Dynamic.NORMAL))
        if k % 4 == 0:
            expert.append(Note(t, Pad.KICK, velocity=120))
        if k % 4 == 1:
            expert.append(Note(t, Pad.KICK, velocity=100, double_kick=True))
        if k % 4 == 2:
            expert.append(Note(t, Pad.RED, velocity=115))
        if k == 7:
            expert.append(Note(t + e // 2, Pad.RED, velocity=30, dynamic=Dynamic.GHOST))
    base = 8 * res
    for k in range(7):  # 7/8 bar: tom run high -> floor, ride on 1
        pad = (Pad.YELLOW, Pad.YELLOW, Pad.BLUE, Pad.BLUE, Pad.GREEN, Pad.GREEN, Pad.RED)[k]
        expert.append(Note(base + k * 96, pad, velocity=100))
    expert.append(Note(base, Pad.BLUE, True, velocity=100))
    last = base + 7 * 96
    expert += [Note(last, Pad.GREEN, True, velocity=127, dynamic=Dynamic.ACCENT),
               Note(last, Pad.KICK, velocity=127),
               Note(last + 2 * res, Pad.RED, velocity=100), Note(last + 3 * res, Pad.KICK, velocity=100)]
    hard = [n for n in expert if not n.double_kick and n.dynamic is not Dynamic.GHOST]
    medium = [replace_note(n) for n in hard if n.tick % res == 0]
    easy = [n for n in medium if n.pad is not Pad.KICK or n.tick % (2 * res) == 0]
    beginner = [n for n in easy if n.pad in (Pad.KICK, Pad.RED)]
    guest = [n for n in medium if n.pad is not Pad.KICK]
    notes = {(MAIN_PART, Difficulty.EXPERT): expert, (MAIN_PART, Difficulty.HARD): hard,
             (MAIN_PART, Difficulty.MEDIUM): medium, (MAIN_PART, Difficulty.EASY): easy,
             (MAIN_PART, Difficulty.BEGINNER): beginner, ("duet_guest", Difficulty.MEDIUM): guest}
    sections = [ChartSection(0, "Intro"), ChartSection(base, "Odd Bar"), ChartSection(last, "Outro")]
    phrases = [Phrase("star_power", 0, 4 * res), Phrase("fill", base, 7 * 96)]
    info = SongInfo(name="Golden Groove", artist="Backbeat Tests", charter="Backbeat", album="Fixtures",
                    genre="Test", year="2026", preview_start_s=1.5, delay_ms=0)
    return assemble_chart("<golden>", info=info, tempo_map=tm, notes=notes, sections=sections,
                          phrases=phrases)


def replace_note(n: Note) -> Note:
    """``n`` as a plain note (no accent/ghost mark)."""
    return Note(n.tick, n.pad, n.cymbal, velocity=n.velocity)
