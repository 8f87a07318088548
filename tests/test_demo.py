"""The packaged demo song, its truth file, the scoring functions and ``backbeat demo``."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from backbeat.cli.main import main
from backbeat.core.errors import BackbeatError, InvalidArgumentError
from backbeat.core.kit import GM_DETAIL_BY_NOTE, Instrument
from backbeat.core.song_analysis import Analysis
from backbeat.services.demo import (
    demo_files,
    load_truth,
    match_events,
    run_demo,
    score_analysis,
    summary_lines,
)

DEMO_BPM = 114.0


@pytest.fixture(scope="module")
def truth() -> Analysis:
    return load_truth()


# -- the packaged files --------------------------------------------------------------------------

def test_demo_audio_decodes_with_sane_levels() -> None:
    with demo_files() as files:
        assert files.audio.stat().st_size < 1.5e6
        audio, sr = sf.read(str(files.audio), dtype="float32", always_2d=True)
    assert sr == 44100
    duration_s = audio.shape[0] / sr
    assert 60.0 <= duration_s <= 90.0
    peak = float(np.abs(audio).max())
    rms_dbfs = 20 * np.log10(float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))))
    assert peak < 0.99, "the mix clips"
    assert -22.0 < rms_dbfs < -10.0, f"the mix is {rms_dbfs:.1f} dBFS RMS"
    # no long silent stretch before the final fade
    mono = audio.mean(axis=1)
    frame = sr // 2
    frames = mono[: (len(mono) // frame) * frame].reshape(-1, frame)
    frame_rms = np.sqrt(np.mean(frames**2, axis=1))
    assert (frame_rms[1:-4] > 0.01).all()


def test_truth_is_valid_analysis_json(truth: Analysis) -> None:
    with demo_files() as files:
        data = json.loads(files.truth.read_text())
    assert Analysis.from_json(data) == truth
    assert truth.source == "demo.ogg"
    assert 60.0 <= truth.duration_s <= 90.0
    assert len(truth.tempo_map) == 1 and truth.tempo_map[0].bpm == pytest.approx(DEMO_BPM)
    assert truth.tempo_map[0].beats_per_bar == 4


def test_truth_beats_are_the_grid(truth: Analysis) -> None:
    times = np.array([b.time_s for b in truth.beats])
    assert np.allclose(np.diff(times), 60.0 / DEMO_BPM, atol=2e-5)
    assert [b.position for b in truth.beats] == [i % 4 + 1 for i in range(len(truth.beats))]
    assert times[0] > 0.3 and times[-1] < truth.duration_s


def test_truth_sections_cover_the_song(truth: Analysis) -> None:
    secs = truth.sections
    assert secs[0].start_s == 0.0 and secs[-1].end_s == pytest.approx(truth.duration_s)
    for a, b in itertools.pairwise(secs):
        assert a.end_s == b.start_s and a.start_s < a.end_s
    labels = [s.label for s in secs]
    assert {"intro", "verse", "pre-chorus", "chorus", "bridge", "outro"} <= set(labels)
    downbeats = truth.downbeats_s
    for s in secs[1:]:
        assert min(abs(s.start_s - d) for d in downbeats) < 1e-4, "sections start on a downbeat"


def test_truth_drums_are_a_real_part(truth: Analysis) -> None:
    drums = truth.drums
    times = [d.time_s for d in drums]
    assert times == sorted(times) and 0 < times[0] and times[-1] < truth.duration_s
    by_inst = {inst: [d for d in drums if d.instrument is inst] for inst in Instrument}
    assert all(by_inst[inst] for inst in Instrument), "every instrument class plays"
    details = {d.detail for d in drums}
    assert {"snare_ghost", "hihat_open", "hihat_closed", "crash", "ride", "clap", "tom_floor"} <= details
    velocities = np.array([d.velocity for d in drums])
    assert velocities.min() < 45 and velocities.max() > 105 and velocities.std() > 10
    # crashes mark the starts of verse, pre-chorus, choruses, bridge and outro
    crash_times = [d.time_s for d in drums if d.detail == "crash"]
    for s in truth.sections[1:]:
        assert min(abs(s.start_s - t) for t in crash_times) < 0.03, s.label


def test_truth_matches_midi_plus_render_latency(truth: Analysis) -> None:
    """Every truth hit is a drum note of demo.mid, a few ms later (the sample's attack)."""
    with demo_files() as files:
        mid = mido.MidiFile(str(files.midi))
    tempo = 500000
    notes: list[tuple[float, Instrument]] = []
    t_s = 0.0
    for msg in mido.merge_tracks(mid.tracks):
        t_s += mido.tick2second(msg.time, mid.ticks_per_beat, tempo)
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "note_on" and msg.velocity > 0 and msg.channel == 9:
            notes.append((t_s, GM_DETAIL_BY_NOTE[msg.note][0]))
    assert mido.tempo2bpm(tempo) == pytest.approx(DEMO_BPM)
    # layered claps share their snare's time, so there are at least as many notes as hits
    assert len(notes) >= len(truth.drums)
    for inst in Instrument:
        midi_t = np.array([t for t, i in notes if i is inst])
        for hit in (d for d in truth.drums if d.instrument is inst):
            lag_ms = 1000 * (hit.time_s - midi_t)
            assert ((lag_ms > 0.0) & (lag_ms < 12.0)).any(), f"{inst.value} at {hit.time_s}"


# -- scoring ------------------------------------------------------------------------------------

def _brute_force_matches(ref: list[float], est: list[float], tol: float) -> int:
    if not ref or not est:
        return 0
    ok = np.array([[abs(r - e) <= tol + 1e-9 for e in est] for r in ref], dtype=float)
    rows, cols = linear_sum_assignment(-ok)
    return int(ok[rows, cols].sum())


times = st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=25)


@settings(max_examples=200, deadline=None)
@given(times, times, st.sampled_from([0.0, 0.02, 0.05, 0.07, 0.3]))
def test_match_events_is_a_maximum_matching(ref: list[float], est: list[float], tol: float) -> None:
    score = match_events(ref, est, tolerance_s=tol)
    assert score.n_matched == _brute_force_matches(ref, est, tol)
    assert score.n_matched == match_events(est, ref, tolerance_s=tol).n_matched
    assert 0.0 <= score.f_measure <= 1.0


def test_match_events_edges() -> None:
    assert match_events([], [], tolerance_s=0.05).f_measure == 1.0
    assert match_events([1.0], [], tolerance_s=0.05).f_measure == 0.0
    assert match_events([], [1.0], tolerance_s=0.05).f_measure == 0.0
    s = match_events([1.0, 2.0, 3.0, 4.0], [1.04, 2.06, 3.0], tolerance_s=0.05)
    assert (s.n_matched, s.precision, s.recall) == (2, 2 / 3, 0.5)
    with pytest.raises(InvalidArgumentError):
        match_events([1.0], [1.0], tolerance_s=-0.1)


def test_score_analysis_against_itself_and_shifted(truth: Analysis) -> None:
    perfect = score_analysis(truth, truth)
    assert perfect.beats.f_measure == 1.0 and perfect.downbeats.f_measure == 1.0
    assert perfect.drums_all.f_measure == 1.0 and perfect.drums_all.n_reference == len(truth.drums)
    assert perfect.tempo_bpm_estimate == pytest.approx(DEMO_BPM)
    assert perfect.boundaries.f_measure == 1.0 and perfect.boundaries.n_reference == len(truth.sections) - 1

    def shifted(by_s: float) -> Analysis:
        return replace(truth, drums=tuple(replace(d, time_s=d.time_s + by_s) for d in truth.drums),
                       beats=tuple(replace(b, time_s=b.time_s + by_s) for b in truth.beats))

    near = score_analysis(shifted(0.03), truth)
    assert near.drums_all.f_measure > 0.97 and near.beats.f_measure == 1.0
    assert score_analysis(shifted(0.26), truth).beats.f_measure == 0.0  # half a beat off
    off_grid = score_analysis(shifted(0.066), truth)  # half a sixteenth off
    assert off_grid.drums_all.f_measure < 0.05 and off_grid.beats.f_measure == 1.0
    # confusing snare with kick costs both classes
    swapped = replace(truth, drums=tuple(
        replace(d, instrument=Instrument.KICK) if d.instrument is Instrument.SNARE else d
        for d in truth.drums))
    acc = score_analysis(swapped, truth)
    assert acc.drums[Instrument.SNARE].recall == 0.0 and acc.drums[Instrument.KICK].precision < 0.6


def test_run_demo_writes_outputs_with_given_analyzer(tmp_path: Path, truth: Analysis) -> None:
    """run_demo's own plumbing, with the truth standing in for the analysis."""
    seen: list[Path] = []

    def analyze(path: Path) -> Analysis:
        seen.append(path)
        assert path.name == "demo.ogg" and path.is_file()
        return truth

    def charts(src: Path, audio: Path, out: Path) -> list[Path]:
        assert audio.name == "demo.ogg" and audio.parent == tmp_path / "out"
        out.mkdir(parents=True, exist_ok=True)
        p = out / "notes.chart"
        p.write_text(src.read_text()[:10])
        return [p]

    result = run_demo(tmp_path / "out", analyze_fn=analyze, build_charts_fn=charts)
    assert seen and result.accuracy.drums_all.f_measure == 1.0
    written = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert Analysis.from_json(written) == truth
    assert (tmp_path / "out" / "demo.ogg").stat().st_size > 100_000
    lines = summary_lines(result)
    assert any("beats F=1.000" in line for line in lines)
    assert any("charts: 1 files" in line for line in lines)


def test_load_truth_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text("{ not json")
    with pytest.raises(BackbeatError, match=r"t\.json"):
        load_truth(bad)
    bad.write_text(json.dumps({"schema_version": 99, "duration_s": 1}))
    with pytest.raises(BackbeatError, match="schema_version"):
        load_truth(bad)


def test_cli_demo_bad_output_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["demo", "--no-serve", "-o", str(blocker / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot create the output folder" in err and "Traceback" not in err
    assert main(["demo", "--no-serve", "--port", "70000", "-o", str(tmp_path / "o")]) == 1


# -- the real thing -----------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo-out"
    assert main(["demo", "--no-serve", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy vs truth" in printed and "tempo" in printed
    analysis = Analysis.from_json(json.loads((out / "demo.json").read_text()))
    assert 60.0 <= analysis.duration_s <= 90.0
    assert analysis.beats and analysis.drums
    charts = list((out / "charts").rglob("*"))
    names = {p.name for p in charts}
    assert {"notes.chart", "notes.mid", "song.ini", "song.ogg", "backbeat.json"} <= names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_cli_demo_serves_the_play_along(tmp_path: Path) -> None:
    """``backbeat demo`` (serving) prints the URL, the library lists the demo song, Ctrl+C stops it."""
    port = _free_port()
    out = tmp_path / "demo-out"
    log = tmp_path / "demo.log"
    with log.open("w") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backbeat.cli.main", "demo", "-o", str(out), "--port", str(port)],
            stdout=log_fh, stderr=subprocess.STDOUT, text=True)
    songs = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and songs is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/songs", timeout=5) as resp:
                    songs = json.loads(resp.read())
            except OSError:
                time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail("backbeat demo did not stop on Ctrl+C within 30 s")
    printed = log.read_text()
    assert songs is not None, f"the web app did not answer:\n{printed}"
    assert any(s.get("title") == "Backbeat Demo Groove" for s in songs), songs
    assert f"http://127.0.0.1:{port}/" in printed
    assert "accuracy vs truth" in printed and "Traceback" not in printed
    assert (out / "web").is_dir() and (out / "charts" / "notes.chart").is_file()
