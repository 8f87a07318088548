"""``backbeat chart`` end to end: GM MIDI, analysis JSON, existing charts, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from backbeat.cli.main import main
from backbeat.core.chart import MAIN_PART
from backbeat.core.difficulty import Difficulty
from backbeat.core.kit import Instrument
from backbeat.core.song_analysis import Analysis, Beat, DrumHit, Section, TempoSegment
from backbeat.formats import read_chart

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GROOVE = DATA / "groove-midi" / "drummer1" / "session1" / "126_funk-fast_125_beat_4-4.mid"
HAND_MADE = DATA / "charts" / "sch-reduction-16"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    return path


def _analysis_json(tmp_path: Path) -> Path:
    beats = tuple(Beat(0.3 + 0.5 * i, i % 4 + 1) for i in range(48))
    hits = []
    for i, b in enumerate(beats[:-1]):
        hits.append(DrumHit(b.time_s + 0.004, Instrument.HIHAT, 90, "hihat_closed"))
        hits.append(DrumHit(b.time_s + 0.25, Instrument.HIHAT, 70, "hihat_closed"))
        hits.append(DrumHit(b.time_s, Instrument.KICK if i % 2 == 0 else Instrument.SNARE, 110,
                            "kick" if i % 2 == 0 else "snare"))
    a = Analysis(25.0, (), beats, tuple(hits), (Section(0.0, 12.3, "verse"), Section(12.3, 25.0, "chorus")),
                 "song.wav")
    path = tmp_path / "song.analysis.json"
    path.write_text(json.dumps(a.to_json()))
    return path


def test_gm_midi_to_song_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _need(GROOVE)
    out = tmp_path / "song"
    assert main(["chart", str(src), "-o", str(out), "--format", "all", "--parts", "duet,split"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"notes.chart", "notes.mid", "song.ini", "backbeat.json"} <= names
    assert {"drums_gm_expert.mid", "drums_expert.musicxml", "drums_tab_easy.txt"} <= names
    printed = capsys.readouterr().out
    assert "notes.chart" in printed
    chart = read_chart(out / "backbeat.json")
    counts = [len(chart.track(d).notes) for d in Difficulty]
    assert counts == sorted(counts) and counts[0] > 0
    assert {"duet_host", "duet_guest", "split_hands", "split_feet"} <= set(chart.parts)
    # the game files carry the four game levels
    game = read_chart(out / "notes.chart")
    assert set(game.difficulties(MAIN_PART)) >= {Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD,
                                                 Difficulty.EXPERT}
    # Expert notes are on a musical grid
    res = game.tempo_map.resolution
    assert all((n.tick * 48) % res == 0 for n in game.track(Difficulty.EXPERT).notes)


def test_analysis_json_to_charts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["chart", str(_analysis_json(tmp_path)), "-o", str(out), "--levels", "expert,medium,beginner",
                 "--format", "json"]) == 0
    chart = read_chart(out / "backbeat.json")
    assert chart.difficulties(MAIN_PART) == [Difficulty.BEGINNER, Difficulty.MEDIUM, Difficulty.EXPERT]
    assert [s.name for s in chart.sections] == ["verse", "chorus"]
    expert = chart.track(Difficulty.EXPERT)
    assert len(expert.notes) == 47 * 3
    assert expert.notes[0].time_s == pytest.approx(0.3, abs=0.01)


def test_six_eight_analysis_is_charted_in_six_eight(tmp_path: Path) -> None:
    """An analysis in 6/8 (eighth-note beats, as the analysis reports compound meters) gives 6/8 bars
    in the game files and in MusicXML, with every hit of the eighth-note groove kept on Expert."""
    eighth_s = 60.0 / 180.0
    beats = tuple(Beat(0.3 + eighth_s * i, i % 6 + 1) for i in range(72))
    hits = []
    for b in beats[:-1]:
        hits.append(DrumHit(b.time_s, Instrument.HIHAT, 80, "hihat_closed"))
        if b.position in (1, 4):
            kick = b.position == 1
            hits.append(DrumHit(b.time_s, Instrument.KICK if kick else Instrument.SNARE, 110,
                                "kick" if kick else "snare"))
    a = Analysis(26.0, (TempoSegment(0.3, 180.0, 6, 8),), beats, tuple(hits), (Section(0.0, 26.0, "verse"),),
                 "six_eight.wav")
    src = tmp_path / "six_eight.analysis.json"
    src.write_text(json.dumps(a.to_json()))
    out = tmp_path / "out"
    assert main(["chart", str(src), "-o", str(out), "--format", "all"]) == 0
    for name in ("notes.chart", "notes.mid", "backbeat.json"):
        chart = read_chart(out / name)
        meters = {(ts.numerator, ts.denominator) for ts in chart.tempo_map.time_signatures}
        assert (6, 8) in meters, name
        assert chart.tempo_map.tempos[-1].bpm == pytest.approx(90.0, rel=0.01)  # quarter notes
        expert = chart.track(Difficulty.EXPERT).notes
        assert len(expert) == len(hits), name
        assert expert[0].time_s == pytest.approx(0.3, abs=0.01)
    assert "<beats>6</beats><beat-type>8</beat-type>" in (out / "drums_expert.musicxml").read_text()


def test_existing_chart_keeps_hand_made_levels_or_regenerates(tmp_path: Path) -> None:
    src = _need(HAND_MADE)
    original = read_chart(src)
    kept_dir = tmp_path / "kept"
    assert main(["chart", str(src), "-o", str(kept_dir)]) == 0
    kept = read_chart(kept_dir / "notes.mid")
    for d in (Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD, Difficulty.EXPERT):
        want = {(n.tick, n.pad) for n in original.track(d).notes}
        assert {(n.tick, n.pad) for n in kept.track(d).notes} == want
    regen_dir = tmp_path / "regen"
    assert main(["chart", str(src), "-o", str(regen_dir), "--regenerate"]) == 0
    regen = read_chart(regen_dir / "notes.mid")
    assert {(n.tick, n.pad) for n in regen.track(Difficulty.EASY).notes} != {
        (n.tick, n.pad) for n in original.track(Difficulty.EASY).notes}
    assert regen.track(Difficulty.EXPERT).notes == kept.track(Difficulty.EXPERT).notes


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("not a chart", "bad.chart", "bad.chart"),
        ('{"schema_version": 1, "duration_s": "x", "drums": []}', "bad.json", "bad.json"),
        ("{nope", "broken.json", "not valid JSON"),
        ("MThd garbage", "bad.mid", "bad.mid"),
    ],
)
def test_bad_input_exits_non_zero_without_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 content: str, name: str, message: str) -> None:
    src = tmp_path / name
    src.write_text(content)
    out = tmp_path / "out"
    assert main(["chart", str(src), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_missing_source_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chart", str(tmp_path / "nothing.mid"), "-o", str(tmp_path / "o")]) == 1
    assert "no such file" in capsys.readouterr().err
    src = _analysis_json(tmp_path)
    assert main(["chart", str(src), "-o", str(tmp_path / "o"), "--levels", "expert,insane"]) == 1
    assert "unknown level 'insane'" in capsys.readouterr().err
    assert main(["chart", str(src), "-o", str(tmp_path / "o"), "--format", "pdf"]) == 1
    assert "unknown format 'pdf'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_failed_rebuild_leaves_previous_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "song"
    assert main(["chart", str(_analysis_json(tmp_path)), "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.chart"
    bad.write_text("[Song]\n{\n  Resolution = 0\n}\n")
    assert main(["chart", str(bad), "-o", str(out)]) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
def test_audio_to_song_folder_with_audio_copy(tmp_path: Path) -> None:
    src = _need(DATA / "dev-renders" / "drummer1__session1__126.flac")
    out = tmp_path / "song"
    assert main(["chart", str(src), "-o", str(out), "--levels", "expert,easy,beginner"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"notes.chart", "notes.mid", "song.ini", "song.ogg"} <= names  # FLAC is no game format
    assert "song.flac" not in names
    assert sf.info(out / "song.ogg").duration == pytest.approx(sf.info(src).duration, abs=0.05)
    chart = read_chart(out / "backbeat.json")
    assert chart.difficulties(MAIN_PART) == [Difficulty.BEGINNER, Difficulty.EASY, Difficulty.EXPERT]
    assert len(chart.track(Difficulty.EXPERT).notes) > 50


def test_audio_without_drum_hits_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import soundfile as sf

    src = tmp_path / "tone.wav"
    t = np.arange(44100 * 3) / 44100
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.5)  # no click at either end
    sf.write(src, 0.3 * fade * np.sin(2 * np.pi * 440 * t), 44100)
    out = tmp_path / "song"
    assert main(["chart", str(src), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "tone.wav" in err and "Traceback" not in err
    assert not out.exists()
