"""Our MusicXML validates against the strict MusicXML 2.0 XSD that music21 ships.

The files declare MusicXML 4.0 (a superset); keeping them valid under the older strict
schema means any notation program (MuseScore, Finale, Sibelius) can open them.

The schema imports xml.xsd and xlink.xsd from the web; offline, small local stand-ins
define the few attributes it uses (xml:lang, xlink:href/type/role/title/show/actuate).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from backbeat.core.chart import Chart
from backbeat.core.difficulty import Difficulty
from backbeat.formats.musicxml import chart_to_musicxml
from test_formats_support import golden_chart, random_chart

etree = pytest.importorskip("lxml.etree", reason="lxml is needed to validate against the XSD")

XML_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="space"><xs:simpleType><xs:restriction base="xs:NCName">
    <xs:enumeration value="default"/><xs:enumeration value="preserve"/></xs:restriction></xs:simpleType>
  </xs:attribute>
</xs:schema>
"""
XLINK_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/1999/xlink">
  <xs:attribute name="href" type="xs:anyURI"/>
  <xs:attribute name="type" type="xs:token"/>
  <xs:attribute name="role" type="xs:string"/>
  <xs:attribute name="title" type="xs:string"/>
  <xs:attribute name="show" type="xs:token"/>
  <xs:attribute name="actuate" type="xs:token"/>
</xs:schema>
"""


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    music21 = pytest.importorskip("music21")
    xsd = Path(music21.__file__).parent / "musicxml" / "musicxml.xsd"
    if not xsd.is_file():
        pytest.skip(f"MusicXML XSD not found at {xsd}")
    d = tmp_path_factory.mktemp("xsd")
    (d / "xml.xsd").write_text(XML_XSD, encoding="utf-8")
    (d / "xlink.xsd").write_text(XLINK_XSD, encoding="utf-8")
    text = xsd.read_text(encoding="utf-8")
    text = text.replace("http://www.musicxml.org/xsd/xml.xsd", (d / "xml.xsd").as_uri())
    text = text.replace("http://www.musicxml.org/xsd/xlink.xsd", (d / "xlink.xsd").as_uri())
    (d / "musicxml.xsd").write_text(text, encoding="utf-8")
    return etree.XMLSchema(etree.parse(str(d / "musicxml.xsd")))


def _validate(schema, text: str) -> None:  # type: ignore[no-untyped-def]
    doc = etree.fromstring(text.encode("utf-8"), etree.XMLParser(load_dtd=False, no_network=True))
    if not schema.validate(doc):
        errors = "\n".join(str(e) for e in list(schema.error_log)[:5])
        raise AssertionError(f"MusicXML does not validate:\n{errors}")


def test_golden_musicxml_validates(schema) -> None:  # type: ignore[no-untyped-def]
    chart = golden_chart()
    for diff in chart.difficulties():
        _validate(schema, chart_to_musicxml(chart, difficulty=diff))
    _validate(schema, chart_to_musicxml(chart, steps_per_quarter=8))


@settings(max_examples=15, deadline=None)
@given(chart=random_chart(difficulties=(Difficulty.EXPERT,)))
def test_random_musicxml_validates(schema, chart: Chart) -> None:  # type: ignore[no-untyped-def]
    _validate(schema, chart_to_musicxml(chart))
