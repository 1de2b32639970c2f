"""The annotation formats the server offers, by CVAT's display names.

``dataset_formats()`` is the body of ``GET /api/server/annotation/formats``
(CVAT's ``DatasetFormats``). ``find_importer``/``find_exporter`` resolve the
``format`` query parameter, including the legacy names the SDK still sends
(``CVAT XML 1.1`` for import, cvat-api 2.8), and raise ``UnknownFormat`` (a
``KeyError`` whose message lists the known names) otherwise.

Every importer reads ``(source, labels, frames, start_frame=, frame_step=)``
and returns an ``AnnotationSet``; every exporter writes the raw document with
``(out, data, labels, frames, meta)``, and ``export_archive`` wraps it in the
zip CVAT serves (``annotations.xml`` or ``annotations/instances_<subset>.json``);
adding images to that zip is the caller's business.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from annotask.annotations.model import AnnotationSet
from annotask.annotations.schema import LabelSet
from annotask.formats import coco, cvat_xml
from annotask.formats.common import FrameInfo
from annotask.formats.cvat_xml import DumpMeta

#: CVAT's ``DimensionType.DIM_2D``; the serializer writes the enum value.
DIMENSION_2D = "2d"


class UnknownFormat(KeyError):
    """A format name the server does not offer; ``str()`` is the message itself."""

    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        self.message = f"Unknown {kind} format '{name}'. Available: {', '.join(known)}."
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


Loader = Callable[..., AnnotationSet]
Dumper = Callable[[IO[bytes], AnnotationSet, LabelSet, Sequence[FrameInfo], DumpMeta], None]


@dataclass(frozen=True)
class Format:
    name: str  # CVAT's display name: "<NAME> <VERSION>"
    ext: str
    version: str
    aliases: tuple[str, ...] = ()
    enabled: bool = True
    dimension: str = DIMENSION_2D
    load: Loader | None = field(default=None, compare=False, repr=False)
    dump: Dumper | None = field(default=None, compare=False, repr=False)
    member: str = ""  # path of the document inside the exported zip; {subset} is replaced

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ext": self.ext,
            "version": self.version,
            "enabled": self.enabled,
            "dimension": self.dimension,
        }


def _load_cvat(
    source: IO[bytes],
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    *,
    start_frame: int = 0,
    frame_step: int = 1,
    **_: Any,
) -> AnnotationSet:
    return cvat_xml.load_cvat(
        source, labels, frames, start_frame=start_frame, frame_step=frame_step
    )


def _load_coco(
    source: IO[bytes], labels: LabelSet, frames: Sequence[FrameInfo], **_: Any
) -> AnnotationSet:
    return coco.load_coco(source, labels, frames)


def _dump_coco(
    out: IO[bytes],
    data: AnnotationSet,
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    meta: DumpMeta,
) -> None:
    coco.dump_coco(out, data, labels, frames)


IMPORTERS: tuple[Format, ...] = (
    Format("CVAT 1.1", "XML, ZIP", "1.1", aliases=("CVAT XML 1.1",), load=_load_cvat),
    Format("COCO 1.0", "JSON, ZIP", "1.0", load=_load_coco),
)

EXPORTERS: tuple[Format, ...] = (
    Format(
        "CVAT for video 1.1",
        "ZIP",
        "1.1",
        aliases=("CVAT XML 1.1 for videos",),
        dump=cvat_xml.dump_cvat_video,
        member="annotations.xml",
    ),
    Format(
        "CVAT for images 1.1",
        "ZIP",
        "1.1",
        aliases=("CVAT XML 1.1 for images",),
        dump=cvat_xml.dump_cvat_images,
        member="annotations.xml",
    ),
    Format(
        "COCO 1.0",
        "ZIP",
        "1.0",
        dump=_dump_coco,
        member="annotations/instances_{subset}.json",
    ),
)


def dataset_formats() -> dict[str, list[dict[str, Any]]]:
    """``GET /api/server/annotation/formats``."""
    return {
        "importers": [f.to_json() for f in IMPORTERS],
        "exporters": [f.to_json() for f in EXPORTERS],
    }


def _find(formats: Sequence[Format], kind: str, name: str) -> Format:
    for fmt in formats:
        if name == fmt.name or name in fmt.aliases:
            return fmt
    folded = name.strip().casefold()
    for fmt in formats:
        if folded in (n.casefold() for n in (fmt.name, *fmt.aliases)):
            return fmt
    raise UnknownFormat(kind, name, [f.name for f in formats])


def find_importer(name: str) -> Format:
    return _find(IMPORTERS, "import", name)


def find_exporter(name: str) -> Format:
    return _find(EXPORTERS, "export", name)


def export_archive(
    name: str,
    out: IO[bytes],
    data: AnnotationSet,
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    meta: DumpMeta,
) -> zipfile.ZipFile:
    """Write the export zip for format ``name`` to ``out``; returns the still-open zip.

    The caller may add images to the returned zip and must close it.
    """
    fmt = find_exporter(name)
    assert fmt.dump is not None
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
    member = fmt.member.format(subset=meta.subset or "default")
    with archive.open(member, "w", force_zip64=True) as document:
        fmt.dump(document, data, labels, frames, meta)
    return archive
