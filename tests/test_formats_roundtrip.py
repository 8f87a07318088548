"""Property tests: random charts survive write -> read in every format.

Lossless formats (JSON, .chart, notes.mid) keep the notes exactly; GM MIDI keeps one
track's lanes and velocities; MusicXML and tab keep the notes at their quantised grid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backbeat.core.chart import Chart, Dynamic, Track
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError
from backbeat.formats import chart_bytes, chart_from_json, chart_to_json, read_chart, write_chart
from backbeat.formats.drum_tab import chart_to_tab
from backbeat.formats.rb_midi import bpm_to_us_per_quarter
from test_formats_support import full_notes, lanes, random_chart

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _write_read(chart: Chart, tmp_path: Path, fmt: str, suffix: str) -> Chart:
    path = tmp_path / f"rt{suffix}"
    write_chart(chart, path, fmt=fmt)
    return read_chart(path)


@SETTINGS
@given(chart=random_chart(difficulties=tuple(Difficulty), extra_parts=True, one_lane_per_pad=False))
def test_json_round_trip_is_exact(chart: Chart) -> None:
    back = chart_from_json(chart_to_json(chart))
    assert back.tempo_map == chart.tempo_map
    assert back.info == chart.info
    assert back.sections == chart.sections
    assert back.phrases == chart.phrases
    assert set(back.tracks) == set(chart.tracks)
    for key, tr in chart.tracks.items():
        def facts(t: Track) -> list[tuple[object, ...]]:
            return [(n.tick, n.pad, n.cymbal, n.velocity, n.dynamic, n.double_kick) for n in t.notes]

        assert facts(back.tracks[key]) == facts(tr)
        assert [n.time_s for n in back.tracks[key].notes] == [n.time_s for n in tr.notes]


@SETTINGS
@given(chart=random_chart())
def test_clone_hero_chart_round_trip(tmp_path: Path, chart: Chart) -> None:
    back = _write_read(chart, tmp_path, "chart", ".chart")
    assert back.tempo_map == chart.tempo_map  # milli-BPM charts keep BPM exactly
    assert back.sections == chart.sections
    assert back.phrases == chart.phrases
    assert (back.info.name, back.info.artist, back.info.charter, back.info.album, back.info.genre,
            back.info.year, back.info.delay_ms) == (chart.info.name, chart.info.artist, chart.info.charter,
                                                    chart.info.album, chart.info.genre, chart.info.year,
                                                    chart.info.delay_ms)
    assert back.info.preview_start_s == pytest.approx(chart.info.preview_start_s)
    for key, tr in chart.tracks.items():
        # .chart has no accent/ghost markers for kick
        want = [(t, p, c, "normal" if p == 0 else d, k) for t, p, c, d, k in full_notes(tr)]
        assert full_notes(back.tracks[key]) == want


@SETTINGS
@given(chart=random_chart())
def test_rb_midi_round_trip(tmp_path: Path, chart: Chart) -> None:
    back = _write_read(chart, tmp_path, "mid", ".mid")
    assert [t.tick for t in back.tempo_map.tempos] == [t.tick for t in chart.tempo_map.tempos]
    for a, b in zip(back.tempo_map.tempos, chart.tempo_map.tempos):
        assert bpm_to_us_per_quarter(a.bpm) == bpm_to_us_per_quarter(b.bpm)
        assert a.bpm == pytest.approx(b.bpm, rel=1e-5)
    assert back.tempo_map.time_signatures == chart.tempo_map.time_signatures
    assert back.sections == chart.sections
    assert back.phrases == chart.phrases
    for key, tr in chart.tracks.items():
        got = back.tracks.get(key, Track(key[1], ()))  # MIDI has no empty tracks
        assert full_notes(got) == full_notes(tr)
        for a, b in zip(got.notes, tr.notes):
            if b.dynamic is Dynamic.NORMAL:
                assert a.velocity == min(126, max(2, b.velocity))
            assert a.time_s == pytest.approx(b.time_s, abs=1e-4)


@SETTINGS
@given(chart=random_chart(difficulties=(Difficulty.EXPERT,), dynamics=False))
def test_gm_midi_round_trip_keeps_lanes_and_velocities(tmp_path: Path, chart: Chart) -> None:
    if not chart.track(Difficulty.EXPERT).notes:
        with pytest.raises(ChartFormatError, match="no drum notes"):
            _write_read(chart, tmp_path, "gm-mid", ".mid")
        return
    back = _write_read(chart, tmp_path, "gm-mid", ".mid")
    assert list(back.tracks) == [("drums", Difficulty.EXPERT)]
    want = chart.track(Difficulty.EXPERT).notes
    got = back.track(Difficulty.EXPERT).notes
    assert [(n.tick, n.pad, n.cymbal, n.velocity, n.double_kick) for n in got] == \
        [(n.tick, n.pad, n.cymbal, n.velocity, n.double_kick) for n in want]


@SETTINGS
@given(chart=random_chart(grid_steps_per_quarter=4, difficulties=(Difficulty.EXPERT,)), spq=st.just(4))
def test_tab_round_trip_on_grid(tmp_path: Path, chart: Chart, spq: int) -> None:
    back = _write_read(chart, tmp_path, "tab", ".txt")
    assert back.tempo_map == chart.tempo_map
    want = chart.track(Difficulty.EXPERT)
    got = back.track(Difficulty.EXPERT)
    assert lanes(got) == lanes(want)
    assert [n.double_kick for n in got.notes] == [n.double_kick for n in want.notes]
    # a double kick is written 'd' and loses its accent/ghost mark
    assert [n.dynamic for n in got.notes if not n.double_kick] == \
        [n.dynamic for n in want.notes if not n.double_kick]


@SETTINGS
@given(chart=random_chart(difficulties=(Difficulty.EXPERT,)))
def test_tab_off_grid_notes_land_on_nearest_step(tmp_path: Path, chart: Chart) -> None:
    res = chart.tempo_map.resolution
    step = res // 4
    back = read_chart_text(tmp_path, chart_to_tab(chart))
    want = {((2 * n.tick + step) // (2 * step) * step, int(n.pad), n.cymbal)
            for n in chart.track(Difficulty.EXPERT).notes}
    assert set(lanes(back.track(Difficulty.EXPERT))) == want


def read_chart_text(tmp_path: Path, text: str) -> Chart:
    p = tmp_path / "tab.txt"
    p.write_text(text, encoding="utf-8")
    return read_chart(p)


@SETTINGS
@given(chart=random_chart(grid_steps_per_quarter=4, difficulties=(Difficulty.EXPERT,)))
def test_musicxml_round_trip_on_grid(tmp_path: Path, chart: Chart) -> None:
    back = _write_read(chart, tmp_path, "musicxml", ".musicxml")
    want = chart.track(Difficulty.EXPERT).notes
    got = back.track(Difficulty.EXPERT).notes
    assert [(n.pad, n.cymbal, n.dynamic, n.double_kick) for n in got] == \
        [(n.pad, n.cymbal, n.dynamic, n.double_kick) for n in want]
    assert [n.time_s for n in got] == pytest.approx([n.time_s for n in want], abs=1e-6)
    # velocity travels as MusicXML "dynamics" (percent of forte), to within rounding
    assert all(abs(a.velocity - b.velocity) <= 1 for a, b in zip(got, want))
    def meters(c: Chart) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for s in c.tempo_map.time_signatures:
            if not out or out[-1] != (s.numerator, s.denominator):
                out.append((s.numerator, s.denominator))
        return out

    # meters up to the last note's bar are written (later ones have no measure to sit in)
    assert meters(back) == meters(chart)[: len(meters(back))]


@settings(max_examples=5, deadline=None)
@given(chart=random_chart())
def test_every_format_writes_bytes_for_a_random_chart(chart: Chart) -> None:
    for fmt in ("chart", "mid", "gm-mid", "musicxml", "tab", "json"):
        assert len(chart_bytes(chart, fmt=fmt)) > 50
