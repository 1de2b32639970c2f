"""The one hardened XML parser configuration (annotation imports, manifests).

Annotation files come from clients, so the parser must not expand entities
(billion laughs), fetch external entities or DTDs (XXE/SSRF), or accept a DTD at
all: CVAT's formats never use one. defusedxml enforces exactly that on top of the
stdlib ElementTree; this module fixes the flags in one place and turns both
forbidden constructs and malformed XML into ``UnsafeInput`` with a short message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import IO, TypedDict
from xml.etree.ElementTree import Element, ElementTree, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as _safe

from annotask.security.errors import UnsafeInput

XmlSource = str | os.PathLike[str] | IO[bytes]


class _Flags(TypedDict):
    forbid_dtd: bool
    forbid_entities: bool
    forbid_external: bool


_FLAGS: _Flags = {"forbid_dtd": True, "forbid_entities": True, "forbid_external": True}


def _error(label: str, exc: Exception) -> UnsafeInput:
    if isinstance(exc, DefusedXmlException):
        return UnsafeInput(f"{label} uses a DTD or entities, which are not allowed")
    if isinstance(exc, LookupError | ValueError):
        # expat asks Python for the declared encoding: an unknown name is a
        # LookupError, a multi-byte one (UTF-7, UTF-32, Shift-JIS...) a ValueError.
        return UnsafeInput(f"{label} declares an unsupported encoding ({exc})")
    return UnsafeInput(f"{label} is not valid XML ({exc})")


#: What parsing raises on bad input: forbidden constructs, malformed XML, and
#: encodings expat cannot read.
_PARSE_ERRORS = (DefusedXmlException, ParseError, LookupError, ValueError)


def parse_xml(source: XmlSource, *, label: str = "XML document") -> ElementTree:
    """Parse a file path or binary file object into an ElementTree, safely."""
    try:
        return _safe.parse(source, **_FLAGS)
    except _PARSE_ERRORS as exc:
        raise _error(label, exc) from None


def parse_xml_string(data: bytes | str, *, label: str = "XML document") -> Element:
    """Parse XML held in memory and return its root element, safely."""
    try:
        return _safe.fromstring(data, **_FLAGS)
    except _PARSE_ERRORS as exc:
        raise _error(label, exc) from None


def iterparse_xml(
    source: XmlSource,
    events: Sequence[str] = ("end",),
    *,
    label: str = "XML document",
) -> Iterator[tuple[str, Element]]:
    """Stream ``(event, element)`` pairs, safely, for annotation files too big for memory.

    Callers should ``elem.clear()`` elements they are done with, as usual.
    """
    try:
        yield from _safe.iterparse(source, events, **_FLAGS)
    except _PARSE_ERRORS as exc:
        raise _error(label, exc) from None
