"""A small, tolerant Standard MIDI File reader and a writer.

Real Clone Hero / Rock Band MIDIs carry Phase Shift SysEx messages whose
payload bytes are above 127, which strict readers reject; this reader keeps
every event it can name and skips the rest. It handles running status,
type 0 and type 1 files, and unknown chunks. Times stay in ticks; the caller
builds the tempo map.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from backbeat.core.errors import ChartFormatError

#: Meta event types used here.
META_TEXT = 0x01
META_TRACK_NAME = 0x03
META_LYRIC = 0x05
META_MARKER = 0x06
META_END_OF_TRACK = 0x2F
META_TEMPO = 0x51
META_TIME_SIGNATURE = 0x58

#: Most events Backbeat accepts in one file (about 10x a dense real chart).
MAX_EVENTS = 2_000_000


@dataclass(slots=True)
class MidiNote:
    """A note with its span in ticks (``end_tick`` is the matching note-off)."""

    tick: int
    end_tick: int
    channel: int
    key: int
    velocity: int


@dataclass(slots=True)
class MidiTrack:
    """Events of one track that chart readers need, each list sorted by tick."""

    name: str = ""
    notes: list[MidiNote] = field(default_factory=list)
    #: (tick, meta type, text) for text-like meta events (0x01-0x0F).
    texts: list[tuple[int, int, str]] = field(default_factory=list)
    #: (tick, microseconds per quarter note).
    tempos: list[tuple[int, int]] = field(default_factory=list)
    #: (tick, numerator, denominator).
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)
    #: (tick, payload) of SysEx messages.
    sysex: list[tuple[int, bytes]] = field(default_factory=list)
    end_tick: int = 0


@dataclass(slots=True)
class MidiFile:
    """A parsed Standard MIDI File."""

    format: int
    resolution: int
    tracks: list[MidiTrack]


def _read_varlen(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= end:
            raise IndexError
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, pos
    raise ValueError("variable-length number longer than 4 bytes")


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_midi(data: bytes, *, path: str | Path = "<bytes>") -> MidiFile:
    """Parse Standard MIDI File bytes.

    Parameters
    ----------
    data
        The whole file.
    path
        Name used in error messages.

    Returns
    -------
    MidiFile
        Tracks with notes paired into spans (a note-on with velocity 0 is a
        note-off; a note-on without a note-off ends at the track end).

    Raises
    ------
    ChartFormatError
        If the header is missing or damaged, the timing is SMPTE-based, a
        track is truncated in the middle of an event, or the file holds more
        than :data:`MAX_EVENTS` events.
    """
    if len(data) < 14 or data[:4] != b"MThd":
        raise ChartFormatError(path, "not a MIDI file (no MThd header)")
    hlen = struct.unpack(">I", data[4:8])[0]
    if hlen < 6 or 8 + hlen > len(data):
        raise ChartFormatError(path, "MIDI header is truncated")
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt not in (0, 1, 2):
        raise ChartFormatError(path, f"unknown MIDI file type {fmt}")
    if division & 0x8000:
        raise ChartFormatError(path, "SMPTE-timed MIDI files are not supported (need ticks per quarter)")
    if division == 0:
        raise ChartFormatError(path, "MIDI header gives 0 ticks per quarter note")
    pos = 8 + hlen
    tracks: list[MidiTrack] = []
    n_events = 0
    while pos + 8 <= len(data):
        ctype = data[pos:pos + 4]
        clen = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        start = pos + 8
        end = start + clen
        if ctype != b"MTrk":
            pos = end
            continue
        if end > len(data):
            raise ChartFormatError(path, f"track {len(tracks)} is truncated "
                                         f"(needs {clen} bytes, file has {len(data) - start})",
                                   f"byte {pos}")
        track, count = _parse_track(data, start, end, path=path, index=len(tracks))
        n_events += count
        if n_events > MAX_EVENTS:
            raise ChartFormatError(path, f"more than {MAX_EVENTS} MIDI events; refusing to load")
        tracks.append(track)
        pos = end
    if not tracks:
        raise ChartFormatError(path, "MIDI file has no tracks")
    if ntracks and len(tracks) < ntracks and pos < len(data):
        raise ChartFormatError(path, f"MIDI file is truncated: header announces {ntracks} tracks, "
                                     f"found {len(tracks)}")
    return MidiFile(fmt, division, tracks)


def _parse_track(data: bytes, pos: int, end: int, *, path: str | Path,
                 index: int) -> tuple[MidiTrack, int]:
    track = MidiTrack()
    tick = 0
    status = 0
    open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    count = 0
    where = f"track {index}"
    try:
        while pos < end:
            delta, pos = _read_varlen(data, pos, end)
            tick += delta
            count += 1
            b = data[pos]
            if b & 0x80:
                status = b
                pos += 1
            elif status == 0 or status >= 0xF0:
                raise ChartFormatError(path, f"data byte 0x{b:02X} without a status byte",
                                       f"{where}, byte {pos}")
            if status == 0xFF:
                mtype = data[pos]
                length, pos = _read_varlen(data, pos + 1, end)
                payload = data[pos:pos + length]
                if pos + length > end:
                    raise IndexError
                pos += length
                status = 0  # meta events cancel running status
                if mtype == META_END_OF_TRACK:
                    break
                if mtype == META_TEMPO and length == 3:
                    track.tempos.append((tick, int.from_bytes(payload, "big")))
                elif mtype == META_TIME_SIGNATURE and length >= 2:
                    track.time_signatures.append((tick, payload[0], 2 ** payload[1]))
                elif mtype == META_TRACK_NAME and not track.name:
                    track.name = _decode_text(payload)
                    track.texts.append((tick, mtype, track.name))
                elif 0x01 <= mtype <= 0x0F:
                    track.texts.append((tick, mtype, _decode_text(payload)))
            elif status in (0xF0, 0xF7):
                length, pos = _read_varlen(data, pos, end)
                if pos + length > end:
                    raise IndexError
                track.sysex.append((tick, bytes(data[pos:pos + length])))
                pos += length
                status = 0
            elif status >= 0xF0:
                # System common/real-time messages do not belong in files; skip their data.
                pos += {0xF1: 1, 0xF2: 2, 0xF3: 1}.get(status, 0)
                status = 0
            else:
                kind = status & 0xF0
                ch = status & 0x0F
                if kind in (0xC0, 0xD0):
                    pos += 1
                    continue
                k = data[pos]
                v = data[pos + 1]
                pos += 2
                if pos > end:
                    raise IndexError
                if kind == 0x90 and v > 0:
                    open_notes.setdefault((ch, k), []).append((tick, v))
                elif kind == 0x80 or kind == 0x90:
                    stack = open_notes.get((ch, k))
                    if stack:
                        t0, vel = stack.pop(0)
                        track.notes.append(MidiNote(t0, tick, ch, k, vel))
    except IndexError:
        raise ChartFormatError(path, "track ends in the middle of an event (file truncated?)",
                               f"{where}, tick {tick}") from None
    except ValueError as exc:
        raise ChartFormatError(path, str(exc), f"{where}, tick {tick}") from None
    for (ch, k), stack in open_notes.items():
        for t0, vel in stack:
            track.notes.append(MidiNote(t0, max(tick, t0), ch, k, vel))
    track.end_tick = tick
    track.notes.sort(key=lambda n: (n.tick, n.key))
    return track, count


# -- writing -----------------------------------------------------------------

def _varlen(value: int) -> bytes:
    if value < 0:
        raise ValueError("negative delta time")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@dataclass(slots=True)
class TrackBuilder:
    """Collects events of one track for :func:`encode_midi`.

    Events at the same tick are written in this order: meta, note-offs,
    note-ons, so a note that ends where the next one starts stays separate.
    """

    name: str = ""
    _events: list[tuple[int, int, int, bytes]] = field(default_factory=list)

    def _add(self, tick: int, order: int, raw: bytes) -> None:
        if tick < 0:
            raise ValueError(f"negative MIDI tick {tick}")
        self._events.append((tick, order, len(self._events), raw))

    def meta(self, tick: int, mtype: int, payload: bytes) -> None:
        """Add a meta event."""
        self._add(tick, 0, bytes([0xFF, mtype]) + _varlen(len(payload)) + payload)

    def text(self, tick: int, text: str, *, mtype: int = META_TEXT) -> None:
        """Add a text-like meta event (UTF-8)."""
        self.meta(tick, mtype, text.encode("utf-8"))

    def tempo(self, tick: int, us_per_quarter: int) -> None:
        """Add a set-tempo event."""
        self.meta(tick, META_TEMPO, int(us_per_quarter).to_bytes(3, "big"))

    def time_signature(self, tick: int, numerator: int, denominator: int) -> None:
        """Add a time-signature event (24 clocks per click, 8 32nds per quarter)."""
        self.meta(tick, META_TIME_SIGNATURE,
                  bytes([numerator, denominator.bit_length() - 1, 24, 8]))

    def note(self, tick: int, length: int, key: int, velocity: int, *, channel: int = 0) -> None:
        """Add a note-on/note-off pair (``length`` >= 1 tick)."""
        self._add(tick, 2, bytes([0x90 | channel, key, velocity]))
        self._add(tick + max(1, length), 1, bytes([0x80 | channel, key, 0]))

    def encode(self) -> bytes:
        """The ``MTrk`` chunk."""
        events = sorted(self._events)
        out = bytearray()
        if self.name:
            name = self.name.encode("utf-8")
            out += b"\x00\xff\x03" + _varlen(len(name)) + name
        last = 0
        for tick, _, _, raw in events:
            out += _varlen(tick - last)
            out += raw
            last = tick
        out += b"\x00\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(out)) + bytes(out)


def encode_midi(tracks: Iterable[TrackBuilder], *, resolution: int) -> bytes:
    """A type 1 Standard MIDI File holding ``tracks``."""
    chunks = [t.encode() for t in tracks]
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), resolution)
    return header + b"".join(chunks)
