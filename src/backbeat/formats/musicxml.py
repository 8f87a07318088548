"""MusicXML percussion score (one drum-set part): writer and reader.

The writer quantises one chart track to a grid of ``steps_per_quarter`` steps
per quarter note (4 = sixteenths) and writes a single-voice drum-set part:
unpitched notes on the standard drum-set staff positions (kick F4, double
kick E4, snare C5, toms E5/D5/A4, hi-hat G5, ride F5, crash A5), ``x``
noteheads for cymbals, parentheses for ghost notes, accent marks, the note's
velocity as the ``dynamics`` attribute (percent of forte = 90), measures per
the tempo map's time signatures and the exact tempo as ``<sound tempo>``.
Each drum has a ``score-instrument`` with its General MIDI key on channel 10,
so notation programs (MuseScore) play it back with a drum kit.

The reader takes scores of this shape (first part; notes identified by
instrument, else by staff position and notehead) back into a one-track Expert
chart. Round trip: same notes at the quantised grid.
"""

from __future__ import annotations

import bisect
import functools
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from xml.sax.saxutils import escape

from backbeat.core.chart import MAIN_PART, Chart, Dynamic, Note, SongInfo
from backbeat.core.difficulty import Difficulty
from backbeat.core.errors import ChartFormatError, InvalidArgumentError
from backbeat.core.kit import GM_DETAIL_BY_NOTE, Pad, instrument_to_pad
from backbeat.formats.chart_build import MAX_TICK, assemble_chart, bar_bounds, build_tempo_map, check_bpm
from backbeat.formats.text_io import read_bytes


@dataclass(frozen=True, slots=True)
class DrumVoice:
    """How one (pad, cymbal, double kick) is notated."""

    instrument_id: str
    name: str
    gm_key: int
    step: str
    octave: int
    notehead: str  # "normal" or "x"


VOICES: dict[tuple[Pad, bool, bool], DrumVoice] = {
    (Pad.KICK, False, False): DrumVoice("P1-I36", "Bass Drum 1", 36, "F", 4, "normal"),
    (Pad.KICK, False, True): DrumVoice("P1-I35", "Acoustic Bass Drum", 35, "E", 4, "normal"),
    (Pad.RED, False, False): DrumVoice("P1-I38", "Acoustic Snare", 38, "C", 5, "normal"),
    (Pad.YELLOW, False, False): DrumVoice("P1-I50", "High Tom", 50, "E", 5, "normal"),
    (Pad.BLUE, False, False): DrumVoice("P1-I47", "Low-Mid Tom", 47, "D", 5, "normal"),
    (Pad.GREEN, False, False): DrumVoice("P1-I43", "High Floor Tom", 43, "A", 4, "normal"),
    (Pad.YELLOW, True, False): DrumVoice("P1-I42", "Closed Hi-Hat", 42, "G", 5, "x"),
    (Pad.BLUE, True, False): DrumVoice("P1-I51", "Ride Cymbal 1", 51, "F", 5, "x"),
    (Pad.GREEN, True, False): DrumVoice("P1-I49", "Crash Cymbal 1", 49, "A", 5, "x"),
}
VOICE_BY_ID = {v.instrument_id: k for k, v in VOICES.items()}
VOICE_BY_POSITION = {(v.step, v.octave, v.notehead == "x"): k for k, v in VOICES.items()}
FORTE_VELOCITY = 90
#: Note types by length in quarter notes.
NOTE_TYPES: dict[Fraction, str] = {
    Fraction(4): "whole", Fraction(2): "half", Fraction(1): "quarter", Fraction(1, 2): "eighth",
    Fraction(1, 4): "16th", Fraction(1, 8): "32nd", Fraction(1, 16): "64th",
}
ALLOWED_STEPS = (1, 2, 4, 8, 16)


@functools.lru_cache(maxsize=4096)
def _pieces(length_steps: int, div: int) -> tuple[tuple[int, str, bool], ...]:
    """Split a length of ``length_steps`` grid steps (``div`` per quarter) into notatable
    (duration in divisions, type, dotted) pieces, longest first."""
    out: list[tuple[int, str, bool]] = []
    rest = Fraction(length_steps, div)
    while rest > 0:
        for base, name in NOTE_TYPES.items():
            if base * Fraction(3, 2) <= rest and base >= Fraction(1, 8):
                piece, dotted = base * Fraction(3, 2), True
            elif base <= rest:
                piece, dotted = base, False
            else:
                continue
            out.append((int(piece * div), name, dotted))
            rest -= piece
            break
        else:
            raise InvalidArgumentError(f"length {length_steps}/{div} quarter notes cannot be notated")
    return tuple(out)


def chart_to_musicxml(chart: Chart, *, difficulty: Difficulty = Difficulty.EXPERT, part: str = MAIN_PART,
                      steps_per_quarter: int = 4) -> str:
    """MusicXML text for one track of ``chart``.

    Parameters
    ----------
    chart
        The chart.
    difficulty, part
        Which track.
    steps_per_quarter
        Quantisation grid: 4 for sixteenths, 8 for thirty-seconds (1, 2, 4, 8 or 16).

    Raises
    ------
    InvalidArgumentError
        If the grid is not supported or a measure's length is not a whole number of steps.
    """
    if steps_per_quarter not in ALLOWED_STEPS:
        raise InvalidArgumentError(f"steps_per_quarter must be one of {ALLOWED_STEPS}, "
                                   f"got {steps_per_quarter}")
    tm = chart.tempo_map
    res = tm.resolution
    track = chart.track(difficulty, part)
    div = steps_per_quarter
    step_ticks = Fraction(res, div)

    def to_step(tick: int) -> int:
        # Nearest grid step, halves rounded up, in exact integer arithmetic.
        return (2 * tick * step_ticks.denominator + step_ticks.numerator) // (2 * step_ticks.numerator)

    # The last bar must hold the last note after rounding to the grid.
    last_step = max((to_step(n.tick) for n in track.notes), default=0)
    bars = bar_bounds(tm, math.ceil(last_step * step_ticks))
    bar_steps = [to_step(b) for b in bars]
    # Group notes by absolute step.
    chords: dict[int, dict[tuple[Pad, bool, bool], Note]] = {}
    for n in track.notes:
        key = (n.pad, n.cymbal, n.double_kick and n.pad is Pad.KICK)
        slot = chords.setdefault(to_step(n.tick), {})
        if key not in slot or n.velocity > slot[key].velocity:
            slot[key] = n
    tempo_at: dict[int, float] = {}
    for t in tm.tempos:
        tempo_at[to_step(t.tick)] = t.bpm

    mark_steps = sorted(set(chords) | set(tempo_at))
    info = chart.info
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
        '"http://www.musicxml.org/dtds/partwise.dtd">',
        '<score-partwise version="4.0">',
        f"  <work><work-title>{escape(info.name)}</work-title></work>",
        "  <identification>",
        f'    <creator type="composer">{escape(info.artist)}</creator>',
        f'    <creator type="arranger">{escape(info.charter)}</creator>',
        "    <encoding><software>Backbeat</software></encoding>",
        "  </identification>",
        "  <part-list>",
        '    <score-part id="P1">',
        "      <part-name>Drumset</part-name>",
    ]
    for v in VOICES.values():
        out.append(f'      <score-instrument id="{v.instrument_id}"><instrument-name>{v.name}'
                   f"</instrument-name></score-instrument>")
    for v in VOICES.values():
        out.append(f'      <midi-instrument id="{v.instrument_id}"><midi-channel>10</midi-channel>'
                   f"<midi-unpitched>{v.gm_key + 1}</midi-unpitched></midi-instrument>")
    out += ["    </score-part>", "  </part-list>", '  <part id="P1">']
    prev_sig: tuple[int, int] | None = None
    for m in range(len(bars) - 1):
        start, stop = bar_steps[m], bar_steps[m + 1]
        if stop <= start:
            continue
        ts = tm.time_signature_at(bars[m])
        out.append(f'    <measure number="{m + 1}">')
        sig = (ts.numerator, ts.denominator)
        if m == 0 or sig != prev_sig:
            out.append("      <attributes>")
            if m == 0:
                out.append(f"        <divisions>{div}</divisions>")
            out.append(f"        <time><beats>{ts.numerator}</beats><beat-type>{ts.denominator}"
                       "</beat-type></time>")
            if m == 0:
                out.append("        <clef><sign>percussion</sign><line>2</line></clef>")
            out.append("      </attributes>")
            prev_sig = sig
        lo, hi = bisect.bisect_left(mark_steps, start), bisect.bisect_left(mark_steps, stop)
        marks = [start, *mark_steps[lo:hi]] if not (hi > lo and mark_steps[lo] == start) \
            else mark_steps[lo:hi]
        for k, s in enumerate(marks):
            seg_end = marks[k + 1] if k + 1 < len(marks) else stop
            if s in tempo_at:
                bpm = tempo_at[s]
                out.append('      <direction placement="above"><direction-type><metronome>'
                           f"<beat-unit>quarter</beat-unit><per-minute>{bpm:.2f}</per-minute>"
                           f'</metronome></direction-type><sound tempo="{bpm!r}"/></direction>')
            if seg_end <= s:
                continue
            pieces = list(_pieces(seg_end - s, div))
            notes = chords.get(s, {})
            if notes and s < stop:
                plen, ptype, dotted = pieces[0]
                first = True
                for key in sorted(notes, key=lambda kk: (int(kk[0]), kk[1], kk[2])):
                    n = notes[key]
                    out.append(_note_xml(VOICES[key], n, plen, ptype, dotted, chord=not first))
                    first = False
                pieces = pieces[1:]
            elif s == start and seg_end == stop and not notes:
                out.append(f'      <note><rest/><duration>{stop - start}</duration>'
                           "<voice>1</voice></note>")
                pieces = []
            for plen, ptype, dotted in pieces:
                out.append(f"      <note><rest/><duration>{plen}</duration><voice>1</voice>"
                           f"<type>{ptype}</type>{'<dot/>' if dotted else ''}</note>")
        out.append("    </measure>")
    out += ["  </part>", "</score-partwise>"]
    return "\n".join(out) + "\n"


def _note_xml(v: DrumVoice, n: Note, duration: int, ntype: str, dotted: bool, *, chord: bool) -> str:
    dyn = round(n.velocity * 100 / FORTE_VELOCITY, 2)
    parts = [f'      <note dynamics="{dyn:g}">']
    if chord:
        parts.append("<chord/>")
    parts.append(f"<unpitched><display-step>{v.step}</display-step>"
                 f"<display-octave>{v.octave}</display-octave></unpitched>")
    parts.append(f"<duration>{duration}</duration>")
    parts.append(f'<instrument id="{v.instrument_id}"/>')
    parts.append("<voice>1</voice>")
    parts.append(f"<type>{ntype}</type>")
    if dotted:
        parts.append("<dot/>")
    parts.append("<stem>down</stem>" if n.pad is Pad.KICK else "<stem>up</stem>")
    paren = ' parentheses="yes"' if n.dynamic is Dynamic.GHOST else ""
    if v.notehead != "normal" or paren:
        parts.append(f"<notehead{paren}>{v.notehead}</notehead>")
    if n.dynamic is Dynamic.ACCENT:
        parts.append("<notations><articulations><accent/></articulations></notations>")
    parts.append("</note>")
    return "".join(parts)


# -- reading -------------------------------------------------------------------

def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _int_text(el: ET.Element | None, path: str | Path, what: str) -> int:
    if el is None or el.text is None:
        raise ChartFormatError(path, f"missing {what}")
    try:
        return int(el.text.strip())
    except ValueError:
        raise ChartFormatError(path, f"{what} {el.text.strip()[:20]!r} is not a whole number") from None


def read_musicxml(path: str | Path, *, resolution: int = 480) -> Chart:
    """Read a MusicXML drum part (first part of a ``score-partwise``) into an Expert chart.

    Parameters
    ----------
    path
        ``.musicxml``/``.xml`` file (uncompressed).
    resolution
        Tick resolution of the returned chart.

    Raises
    ------
    ChartFormatError
        If the XML is malformed, not partwise MusicXML, or uses notes Backbeat cannot place.
    """
    data = read_bytes(path)
    if b"<!ENTITY" in data:
        raise ChartFormatError(path, "XML entity declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ChartFormatError(path, f"not well-formed XML ({exc})") from None
    _strip_ns(root)
    if root.tag != "score-partwise":
        raise ChartFormatError(path, f"expected a <score-partwise> MusicXML score, found <{root.tag}>")
    part = root.find("part")
    if part is None:
        raise ChartFormatError(path, "score has no <part>")
    gm_by_instrument: dict[str, int] = {}
    for mi in root.iter("midi-instrument"):
        unpitched = mi.findtext("midi-unpitched")
        if unpitched and unpitched.strip().isdigit():
            gm_by_instrument[mi.get("id", "")] = int(unpitched.strip()) - 1
    title = root.findtext("work/work-title") or root.findtext("movement-title") or "Unknown song"
    artist = root.findtext("identification/creator[@type='composer']") or "Unknown artist"
    charter = root.findtext("identification/creator[@type='arranger']") or ""

    divisions = 1
    measure_start = Fraction(0)  # in quarter notes
    notes: dict[tuple[int, Pad, bool], Note] = {}
    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    cur_sig = (4, 4)

    def tick_of(q: Fraction, where: str) -> int:
        t = q * resolution
        tick = math.floor(t + Fraction(1, 2))
        if tick < 0 or tick > MAX_TICK:
            raise ChartFormatError(path, f"position {float(q):g} quarters is out of range", where)
        return tick

    for mnum, measure in enumerate(part.findall("measure"), start=1):
        where = f"measure {measure.get('number', mnum)}"
        pos = Fraction(0)
        longest = Fraction(0)
        last_start = Fraction(0)
        for el in measure:
            if el.tag == "attributes":
                d = el.find("divisions")
                if d is not None:
                    divisions = _int_text(d, path, f"<divisions> in {where}")
                    if divisions <= 0:
                        raise ChartFormatError(path, "<divisions> must be positive", where)
                t = el.find("time")
                if t is not None and t.find("beats") is not None:
                    try:
                        num = int((t.findtext("beats") or "").split("+")[0])
                        den = int(t.findtext("beat-type") or "4")
                    except ValueError:
                        raise ChartFormatError(path, "time signature is not numeric", where) from None
                    cur_sig = (num, den)
                    sigs.append((tick_of(measure_start, where), num, den))
            elif el.tag in ("backup", "forward"):
                dur = Fraction(_int_text(el.find("duration"), path, f"<duration> in {where}"), divisions)
                pos = pos - dur if el.tag == "backup" else pos + dur
            elif el.tag in ("direction", "sound"):
                snd = el if el.tag == "sound" else el.find("sound")
                if snd is not None and snd.get("tempo"):
                    try:
                        bpm = float(snd.get("tempo", ""))
                    except ValueError:
                        raise ChartFormatError(path, f"tempo {snd.get('tempo')!r} is not a number",
                                               where) from None
                    check_bpm(path, bpm, where)
                    off = el.find("offset")
                    extra = Fraction(int(off.text), divisions) if off is not None and off.text else 0
                    tempos.append((tick_of(measure_start + pos + extra, where), bpm))
            elif el.tag == "note":
                if el.find("grace") is not None:
                    continue
                is_chord = el.find("chord") is not None
                dur_el = el.find("duration")
                dur = Fraction(_int_text(dur_el, path, f"<duration> in {where}"), divisions)
                start = last_start if is_chord else pos
                if not is_chord:
                    last_start = pos
                    pos += dur
                longest = max(longest, pos)
                if el.find("rest") is not None:
                    continue
                voice = _voice_of(el, gm_by_instrument)
                if voice is None:
                    continue
                pad, cymbal, double = voice
                try:
                    velocity = round(float(el.get("dynamics", "111.11")) * FORTE_VELOCITY / 100)
                except ValueError:
                    velocity = 100
                velocity = max(1, min(127, velocity))
                dynamic = Dynamic.NORMAL
                if el.find("notations/articulations/accent") is not None or \
                        el.find("notations/articulations/strong-accent") is not None:
                    dynamic = Dynamic.ACCENT
                nh = el.find("notehead")
                if nh is not None and nh.get("parentheses") == "yes":
                    dynamic = Dynamic.GHOST
                tick = tick_of(measure_start + start, where)
                note = Note(tick, pad, cymbal, velocity=velocity, dynamic=dynamic, double_kick=double)
                k2 = (tick, pad, cymbal)
                if k2 not in notes or (notes[k2].double_kick and not double):
                    notes[k2] = note
            longest = max(longest, pos)
        nominal = Fraction(cur_sig[0] * 4, cur_sig[1])
        measure_start += longest if longest > 0 else nominal
    tempo_map = build_tempo_map(path, resolution, tempos, sigs)
    info = SongInfo(name=title.strip() or "Unknown song", artist=artist.strip() or "Unknown artist",
                    charter=charter.strip())
    return assemble_chart(path, info=info, tempo_map=tempo_map,
                          notes={(MAIN_PART, Difficulty.EXPERT): sorted(notes.values())})


def _voice_of(el: ET.Element, gm_by_instrument: dict[str, int]) -> tuple[Pad, bool, bool] | None:
    inst = el.find("instrument")
    if inst is not None:
        iid = inst.get("id", "")
        if iid in VOICE_BY_ID:
            return VOICE_BY_ID[iid]
        if iid in gm_by_instrument:
            gm = gm_by_instrument[iid]
            if gm in GM_DETAIL_BY_NOTE:
                pad, cym = instrument_to_pad(*GM_DETAIL_BY_NOTE[gm])
                return (pad, cym, gm == 35)
    up = el.find("unpitched")
    if up is None:
        return None
    step = (up.findtext("display-step") or "").strip()
    try:
        octave = int((up.findtext("display-octave") or "").strip())
    except ValueError:
        return None
    nh = el.find("notehead")
    is_x = nh is not None and (nh.text or "").strip() in ("x", "cross", "circle-x")
    return VOICE_BY_POSITION.get((step, octave, is_x))
