"""General MIDI drum files (channel 10): writer and reader.

The writer puts one chart track on MIDI channel 10 (index 9) with the GM key of
each note's instrument (:data:`backbeat.core.kit.GM_NOTE_BY_DETAIL`, through
:func:`~backbeat.core.kit.pad_to_instrument`) and its velocity, after a tempo
track with the chart's tempo map and meters. Double kicks are written on key 35
(Acoustic Bass Drum).

The reader takes any drum MIDI, such as the Groove MIDI Dataset's Roland TD-11
recordings: every note on channel 10 (or, if the file has none there, every
note whose key is a known drum key) is mapped by
:data:`~backbeat.core.kit.GM_DETAIL_BY_NOTE` and
:func:`~backbeat.core.kit.instrument_to_pad` into a one-track Expert chart on
the file's own tick grid and tempo map. Velocities are kept; the finer
instrument detail (open vs closed hi-hat...) is lost, as the chart has lanes.
"""

from __future__ import annotations

from pathlib import Path

from backbeat.core.chart import MAIN_PART, Chart, Note, SongInfo, Track
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError
from backbeat.core.kit import GM_DETAIL_BY_NOTE, GM_NOTE_BY_DETAIL, Pad, instrument_to_pad, pad_to_instrument
from backbeat.formats.chart_build import assemble_chart
from backbeat.formats.midi_file import MidiFile, TrackBuilder, encode_midi, parse_midi
from backbeat.formats.rb_midi import tempo_map_from_midi, tempo_track
from backbeat.formats.text_io import read_bytes

DRUM_CHANNEL = 9
DOUBLE_KICK_KEY = 35


def gm_key(note: Note) -> int:
    """GM percussion key for a chart note."""
    if note.double_kick:
        return DOUBLE_KICK_KEY
    _instrument, detail = pad_to_instrument(note.pad, note.cymbal)
    return GM_NOTE_BY_DETAIL[detail]


def chart_to_gm_midi(chart: Chart, *, difficulty: Difficulty = Difficulty.EXPERT,
                     part: str = MAIN_PART, note_length_ticks: int | None = None) -> bytes:
    """GM drum MIDI bytes for one track of ``chart``.

    Parameters
    ----------
    chart
        The chart.
    difficulty, part
        Which track to write.
    note_length_ticks
        Length of each note (default: a 32nd note), cut short before the next hit of the same key.
    """
    track: Track = chart.track(difficulty, part)
    res = chart.tempo_map.resolution
    length = note_length_ticks or max(1, res // 8)
    tempo = tempo_track(chart, chart.info.name)
    drums = TrackBuilder(name=f"Drums ({part}, {difficulty.value})")
    drums.meta(0, 0x04, b"Drums")  # instrument name
    by_key: dict[int, dict[int, int]] = {}
    for n in track.notes:
        key_vel = by_key.setdefault(gm_key(n), {})
        key_vel[n.tick] = max(key_vel.get(n.tick, 0), n.velocity)
    for key, vel_at in by_key.items():
        ticks = sorted(vel_at)
        for a, b in zip(ticks, [*ticks[1:], None]):
            ln = length if b is None else max(1, min(length, b - a))
            drums.note(a, ln, key, vel_at[a], channel=DRUM_CHANNEL)
    return encode_midi([tempo, drums], resolution=res)


def chart_from_gm_midi(midi: MidiFile, path: str | Path, *, info: SongInfo | None = None) -> Chart:
    """Build a one-track Expert chart from a parsed GM drum MIDI (see module notes).

    Raises
    ------
    ChartFormatError
        If the file has no drum notes or an invalid tempo map.
    """
    tempo_map = tempo_map_from_midi(midi, path)
    all_notes = [n for t in midi.tracks for n in t.notes]
    drum_notes = [n for n in all_notes if n.channel == DRUM_CHANNEL]
    if not drum_notes:
        drum_notes = [n for n in all_notes if n.key in GM_DETAIL_BY_NOTE]
    mapped: dict[tuple[int, Pad, bool], Note] = {}
    for n in drum_notes:
        if n.key not in GM_DETAIL_BY_NOTE:
            continue
        instrument, detail = GM_DETAIL_BY_NOTE[n.key]
        pad, cymbal = instrument_to_pad(instrument, detail)
        vel = max(1, min(127, n.velocity))
        k = (n.tick, pad, cymbal)
        old = mapped.get(k)
        double = n.key == DOUBLE_KICK_KEY
        if old is None or vel > old.velocity or (old.double_kick and not double):
            mapped[k] = Note(n.tick, pad, cymbal, velocity=vel, double_kick=double and (
                old is None or old.double_kick))
    if not mapped:
        raise ChartFormatError(path, "no drum notes (nothing on channel 10 and no known drum keys)")
    if info is None:
        name = next((t.name.strip() for t in midi.tracks if t.name.strip()), "")
        info = SongInfo(name=name or Path(str(path)).stem)
    return assemble_chart(path, info=info, tempo_map=tempo_map,
                          notes={(MAIN_PART, Difficulty.EXPERT): sorted(mapped.values())})


def read_gm_midi(path: str | Path, *, info: SongInfo | None = None) -> Chart:
    """Read a General MIDI drum file into a one-track Expert chart."""
    return chart_from_gm_midi(parse_midi(read_bytes(path), path=path), path, info=info)
