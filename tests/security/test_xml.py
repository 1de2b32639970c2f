"""The hardened XML parser refuses DTDs and entities and reports bad XML readably."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from annotask.security import UnsafeInput
from annotask.security.xml import iterparse_xml, parse_xml, parse_xml_string

GOOD = b'<?xml version="1.0"?><annotations><image id="0" name="a.jpg"/></annotations>'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<annotations>&lol2;</annotations>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotations>&xxe;</annotations>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE annotations SYSTEM "http://127.0.0.1:9/evil.dtd">
<annotations/>"""


def test_parses_good_xml(tmp_path: Path) -> None:
    assert parse_xml_string(GOOD).find("image").get("name") == "a.jpg"
    assert parse_xml_string(GOOD.decode()).tag == "annotations"
    path = tmp_path / "ann.xml"
    path.write_bytes(GOOD)
    assert parse_xml(path).getroot().tag == "annotations"
    assert parse_xml(str(path)).getroot().tag == "annotations"
    events = [(event, elem.tag) for event, elem in iterparse_xml(io.BytesIO(GOOD))]
    assert events == [("end", "image"), ("end", "annotations")]


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, EXTERNAL_DTD])
def test_refuses_dtds_and_entities(payload: bytes) -> None:
    with pytest.raises(UnsafeInput, match="DTD or entities"):
        parse_xml_string(payload, label="annotations.xml")
    with pytest.raises(UnsafeInput, match="DTD or entities"):
        parse_xml(io.BytesIO(payload))
    with pytest.raises(UnsafeInput, match="DTD or entities"):
        list(iterparse_xml(io.BytesIO(payload)))


def test_malformed_xml_is_a_readable_error() -> None:
    with pytest.raises(UnsafeInput, match=r"^annotations\.xml is not valid XML"):
        parse_xml_string(b"<annotations><image></annotations>", label="annotations.xml")
    with pytest.raises(UnsafeInput, match="not valid XML"):
        list(iterparse_xml(io.BytesIO(b"<a><b></a>")))
