"""Bad input: readers raise ChartFormatError naming the file and the spot; nothing is half-written."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import BackbeatError, ChartFormatError, InvalidArgumentError
from backbeat.formats import read_chart, write_chart, write_song_folder
from backbeat.formats.atomic import OutputWriteError
from backbeat.formats.chart_build import MAX_NOTES_PER_TRACK
from backbeat.formats.song_ini import parse_song_ini, read_song_ini
from test_formats_support import golden_chart

GOOD_HEAD = """[Song]
{
  Name = "T"
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
}
[Events]
{
}
"""


def _chart(tmp_path: Path, text: str, *, name: str = "bad.chart", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _drums(body: str) -> str:
    return GOOD_HEAD + "[ExpertDrums]\n{\n" + body + "}\n"


def test_good_minimal_chart_reads(tmp_path: Path) -> None:
    chart = read_chart(_chart(tmp_path, _drums("  0 = N 0 0\n  192 = N 1 0\n")))
    assert len(chart.track(Difficulty.EXPERT).notes) == 2


@pytest.mark.parametrize(("text", "match", "where"), [
    (GOOD_HEAD + "[ExpertDrums]\n{\n  0 = N 0 0\n  19", "truncated", None),
    (_drums("  0 = N 0 0\n").replace("Resolution = 192", "Resolution = 0"), "resolution 0", "line 4"),
    (_drums("  0 = N 0 0\n").replace("Resolution = 192", "Resolution = 999999999"), "resolution", "line 4"),
    (_drums("  -192 = N 0 0\n"), "negative tick", "line 16"),
    (_drums("  384 = N 0 0\n  192 = N 1 0\n"), "not in time order", "line 17"),
    (_drums("  0 = N 0 0\n").replace("B 120000", "B 0"), "tempo 0 BPM", "line 9"),
    (_drums("  0 = N 0 0\n").replace("B 120000", "B 10000000"), "tempo 10000 BPM", "line 9"),
    (_drums("  0 = N 0 0\n").replace("[SyncTrack]\n{\n  0 = TS 4\n  0 = B 120000\n}\n", ""),
     "no \\[SyncTrack\\]", None),
    (_drums("  0 N 0 0\n"), "malformed line", "line 16"),
    (_drums("  abc = N 0 0\n"), "not a whole number", "line 16"),
    (_drums("  0 = N x 0\n"), "not a whole number", "line 16"),
    (_drums("  0 = N\n"), "needs 2 number", "line 16"),
    (_drums("  0 = N 0 0\n").replace("0 = TS 4", "0 = TS 0"), "time signature", "line 8"),
    (GOOD_HEAD, "no drum track", None),
    ("garbage before any section\n" + GOOD_HEAD, "expected a \\[Section\\] header", "line 1"),
    (GOOD_HEAD.replace("[Events]\n{", "[Events]\n"), "expected '\\{'", None),
])
def test_bad_chart_files(tmp_path: Path, text: str, match: str, where: str | None) -> None:
    path = _chart(tmp_path, text)
    with pytest.raises(ChartFormatError, match=match) as info:
        read_chart(path)
    assert str(path) in str(info.value)
    if where:
        assert info.value.where == where


def test_unknown_sections_and_events_are_skipped(tmp_path: Path) -> None:
    text = _drums("  0 = N 0 0\n  0 = N 7 0\n  0 = E solo\n  96 = S 99 10\n") + \
        "[SomethingNew]\n{\n  whatever = 1\n}\n[ExpertSingle]\n{\n  0 = N 0 0\n}\n"
    chart = read_chart(_chart(tmp_path, text))
    assert len(chart.track(Difficulty.EXPERT).notes) == 1
    assert chart.phrases == ()


def test_duplicate_note_lines_become_one_note(tmp_path: Path) -> None:
    chart = read_chart(_chart(tmp_path, _drums("  0 = N 1 0\n  0 = N 1 0\n  0 = N 0 0\n  0 = N 32 0\n")))
    notes = chart.track(Difficulty.EXPERT).notes
    assert [(n.pad.name, n.double_kick) for n in notes] == [("KICK", False), ("RED", False)]


def test_non_utf8_chart_falls_back_to_latin1(tmp_path: Path) -> None:
    path = _chart(tmp_path, _drums("  0 = N 0 0\n").replace('Name = "T"', 'Name = "Café Señor"'),
                  encoding="latin-1")
    assert read_chart(path).info.name == "Café Señor"


def test_bom_and_crlf_chart(tmp_path: Path) -> None:
    p = tmp_path / "crlf.chart"
    p.write_bytes(b"\xef\xbb\xbf" + _drums("  0 = N 0 0\n").replace("\n", "\r\n").encode())
    assert len(read_chart(p).track(Difficulty.EXPERT).notes) == 1


def test_200k_notes_read_fast(tmp_path: Path) -> None:
    lines = "".join(f"  {k * 12} = N {k % 5} 0\n" for k in range(200_000))
    path = _chart(tmp_path, _drums(lines))
    t0 = time.perf_counter()
    chart = read_chart(path)
    elapsed = time.perf_counter() - t0
    assert len(chart.track(Difficulty.EXPERT).notes) == 200_000
    assert elapsed < 10.0, f"reading 200k notes took {elapsed:.1f} s"
    assert MAX_NOTES_PER_TRACK >= 200_000


# -- MIDI ---------------------------------------------------------------------------

def _midi(tracks: list[bytes], *, division: int = 480, fmt: int = 1) -> bytes:
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    for t in tracks:
        out += b"MTrk" + struct.pack(">I", len(t)) + t
    return out


def _gm_track_running_status() -> bytes:
    # note-on ch 10 kick, then running status snare, then note-offs as velocity-0 note-ons
    return bytes([0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,      # 120 BPM
                  0x00, 0x99, 36, 100,                           # kick
                  0x83, 0x60, 38, 90,                            # +480: snare (running status)
                  0x10, 36, 0,                                   # kick off
                  0x10, 38, 0,                                   # snare off
                  0x00, 0xFF, 0x2F, 0x00])


def test_type0_gm_midi_with_running_status(tmp_path: Path) -> None:
    p = tmp_path / "groove.mid"
    p.write_bytes(_midi([_gm_track_running_status()], fmt=0))
    notes = read_chart(p).track(Difficulty.EXPERT).notes
    assert [(n.tick, n.pad.name, n.velocity) for n in notes] == [(0, "KICK", 100), (480, "RED", 90)]
    assert notes[1].time_s == pytest.approx(0.5)


@pytest.mark.parametrize(("data", "match"), [
    (b"RIFF0000WAVEfmt ", "not a MIDI file"),
    (_midi([_gm_track_running_status()])[:30], "truncated"),
    (_midi([_gm_track_running_status()], division=0), "0 ticks per quarter"),
    (_midi([_gm_track_running_status()], division=0xE728), "SMPTE"),
    (_midi([bytes([0x00, 0xFF, 0x51, 0x03, 0, 0, 0, 0x00, 0x99, 36, 100, 0x00, 0xFF, 0x2F, 0])]), "0 µs"),
    (_midi([bytes([0x00, 0xFF, 0x51, 0x03, 0, 0x17, 0x70, 0x00, 0x99, 36, 100, 0x00, 0xFF, 0x2F, 0])]),
     "outside 1-1000 BPM"),
    (_midi([bytes([0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0])]), "no drum notes"),
    (_midi([bytes([0x00, 36, 100, 0x00, 0xFF, 0x2F, 0])]), "without a status byte"),
])
def test_bad_midi_files(tmp_path: Path, data: bytes, match: str) -> None:
    p = tmp_path / "bad.mid"
    p.write_bytes(data)
    with pytest.raises(ChartFormatError, match=match) as info:
        read_chart(p)
    assert str(p) in str(info.value)


def test_rb_midi_with_only_tempo_track_is_gm_error(tmp_path: Path) -> None:
    p = tmp_path / "notes.mid"
    p.write_bytes(_midi([bytes([0x00, 0xFF, 0x2F, 0])]))
    with pytest.raises(ChartFormatError, match="no drum notes"):
        read_chart(p)


# -- JSON, tab, MusicXML ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "match"), [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a Backbeat chart"),
    ('{"format": "backbeat-chart", "version": 99}', "newer than this Backbeat"),
    ('{"format": "backbeat-chart", "version": 1, "resolution": 192, "tempos": [[0, 0]], "tracks": []}',
     "outside 1-1000 BPM"),
    ('{"format": "backbeat-chart", "version": 1, "resolution": 192, "tempos": [[0, 120]], '
     '"tracks": [{"part": "drums", "difficulty": "insane", "notes": []}]}', "unknown difficulty"),
    ('{"format": "backbeat-chart", "version": 1, "resolution": 192, "tempos": [[0, 120]], '
     '"tracks": [{"part": "drums", "difficulty": "expert", "notes": [[5, 9, false, 100, "normal", false]]}]}',
     "outside 0-4"),
    ('{"format": "backbeat-chart", "version": 1, "resolution": 192, "tempos": [[0, 120]], '
     '"tracks": [{"part": "drums", "difficulty": "expert", "notes": [[5, 0, false, 100, "normal", false], '
     '[1, 0, false, 100, "normal", false]]}]}', "out of time order"),
    ('{"format": "backbeat-chart", "version": 1, "resolution": 192, "tempos": [[0, 120]], '
     '"tracks": [{"part": "drums", "difficulty": "expert", "notes": [[5, 1, true, 100, "normal", false]]}]}',
     "cannot be a cymbal"),
])
def test_bad_json(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ChartFormatError, match=match):
        read_chart(p)


@pytest.mark.parametrize(("text", "match"), [
    ("just words\n", "no drum tab lines"),
    ("ZZ|----|\n", "unknown drum line"),
    ("Steps per quarter: 4\nSD|----o---|\n", "has 8 steps, the meter needs 16"),
    ("Steps per quarter: 4\nSD|----q-------o---|\n", "unknown character 'q'"),
    ("Tempo: 0 0\nSD|----------------|\n", "tempo 0 BPM"),
    ("Resolution: 0\nSD|----------------|\n", "resolution 0"),
])
def test_bad_tab(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ChartFormatError, match=match):
        read_chart(p)


def test_plain_internet_tab_reads_as_4_4(tmp_path: Path) -> None:
    p = tmp_path / "tab.txt"
    p.write_text("HH|x-x-x-x-x-x-x-x-|\nSD|----o-------o---|\nBD|o-------o-------|\n", encoding="utf-8")
    notes = read_chart(p).track(Difficulty.EXPERT).notes
    assert len(notes) == 12
    assert [n.tick for n in notes if n.pad.name == "RED"] == [192, 576]


@pytest.mark.parametrize(("text", "match"), [
    ("<score-partwise><part", "not well-formed"),
    ("<score-timewise/>", "score-partwise"),
    ('<!DOCTYPE x [<!ENTITY a "b">]><score-partwise/>', "entity"),
])
def test_bad_musicxml(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.musicxml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ChartFormatError, match=match):
        read_chart(p)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "x.docx"
    p.write_text("x")
    with pytest.raises(ChartFormatError, match="unknown chart file type"):
        read_chart(p)
    with pytest.raises(ChartFormatError, match="not found"):
        read_chart(tmp_path / "missing.chart")
    with pytest.raises(ChartFormatError, match=r"no notes\.mid or notes\.chart"):
        read_chart(tmp_path)


# -- song.ini -----------------------------------------------------------------------------

def test_song_ini_is_read_tolerantly(tmp_path: Path) -> None:
    p = tmp_path / "song.ini"
    p.write_bytes(b"\xef\xbb\xbf; comment\r\n[Song]\r\n  NAME =  Th\xc3\xa9 Song \r\nArtist=Band\r\n"
                  b"pro_drums = True\r\ndiff_drums=-1\r\npreview_start_time = 12500\r\n"
                  b"[other]\r\nname=no\r\n")
    ini = read_song_ini(p)
    assert (ini.info.name, ini.info.artist, ini.pro_drums, ini.diff_drums) == ("Thé Song", "Band", True, -1)
    assert ini.info.preview_start_s == pytest.approx(12.5)
    latin = tmp_path / "latin.ini"
    latin.write_bytes("[song]\nname=Señor\n".encode("latin-1"))
    assert read_song_ini(latin).info.name == "Señor"
    assert parse_song_ini("name = Loose\n").info.name == "Loose"
    with pytest.raises(ChartFormatError, match="not a number"):
        parse_song_ini("[song]\ndelay = soon\n")


# -- writing: nothing half-written ------------------------------------------------------------

def test_failed_writes_leave_nothing(tmp_path: Path) -> None:
    chart = golden_chart()
    with pytest.raises(InvalidArgumentError, match="unknown chart format"):
        write_chart(chart, tmp_path / "x.pdf", fmt="pdf")
    with pytest.raises(InvalidArgumentError, match="no nobody/expert track"):
        write_chart(chart, tmp_path / "x.mid", fmt="gm-mid", part="nobody")
    with pytest.raises(OutputWriteError, match="audio file not found"):
        write_song_folder(chart, tmp_path / "song", audio_path=tmp_path / "missing.ogg")
    assert list(tmp_path.iterdir()) == []


def test_every_error_is_a_backbeat_error() -> None:
    assert issubclass(ChartFormatError, BackbeatError)
    assert issubclass(OutputWriteError, BackbeatError)


def test_disco_flip_swaps_red_and_yellow_on_pro_charts(tmp_path: Path) -> None:
    body = ("  0 = N 1 0\n  0 = N 2 0\n  0 = N 66 0\n"
            '  192 = E "mix_3_drums0d"\n  192 = N 1 0\n  192 = N 2 0\n  192 = N 66 0\n  288 = N 2 0\n'
            "  384 = E mix_3_drums0\n  384 = N 1 0\n")
    notes = read_chart(_chart(tmp_path, _drums(body))).track(Difficulty.EXPERT).notes
    assert [(n.tick, n.pad.name, n.cymbal) for n in notes] == [
        (0, "RED", False), (0, "YELLOW", True),      # before the flip: as charted
        (192, "RED", False), (192, "YELLOW", True),  # red <-> yellow cymbal swap: same set here
        (288, "RED", False),                          # a yellow tom is played as red
        (384, "RED", False),                          # flip off again
    ]
    # without cymbal markers (not pro) the mix event only changes audio stems
    plain = body.replace("  0 = N 66 0\n", "").replace("  192 = N 66 0\n", "")
    notes = read_chart(_chart(tmp_path, _drums(plain), name="plain.chart")).track(Difficulty.EXPERT).notes
    assert [(n.tick, n.pad.name) for n in notes if n.tick == 288] == [(288, "YELLOW")]
