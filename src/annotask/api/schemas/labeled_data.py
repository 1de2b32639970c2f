"""CVAT's ``LabeledData`` (annotations as JSON, spec 2.7) as the schema shows it.

The annotation routes read and write these documents with
``annotask.annotations.model`` (which names every faulty field by path) and
answer its dicts as they are; these models only describe them, and
tests/compat/test_openapi_schema.py checks them against the CVAT SDK's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from annotask.api.schemas.common import ReadModel

ShapeType = Literal[
    "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"
]


class AttributeVal(ReadModel):
    spec_id: int
    value: str


class LabeledImage(ReadModel):
    """A tag."""

    id: int | None = None
    frame: int
    label_id: int
    group: int | None
    source: str
    attributes: list[AttributeVal]


class SubLabeledShape(ReadModel):
    """A skeleton's point."""

    id: int | None = None
    type: ShapeType
    frame: int
    label_id: int
    group: int | None
    source: str
    occluded: bool
    outside: bool
    z_order: int
    rotation: float
    points: list[float]
    attributes: list[AttributeVal]
    elements: list[SubLabeledShape]
    score: float = Field(default=1.0, description="Sent only when it is not 1.")


class LabeledShape(SubLabeledShape):
    pass


class TrackedShape(ReadModel):
    id: int | None = None
    type: ShapeType
    frame: int
    occluded: bool
    outside: bool
    z_order: int
    rotation: float
    points: list[float]
    attributes: list[AttributeVal]


class SubLabeledTrack(ReadModel):
    id: int | None = None
    frame: int
    label_id: int
    group: int | None
    source: str
    shapes: list[TrackedShape]
    attributes: list[AttributeVal]
    elements: list[SubLabeledTrack]


class LabeledTrack(SubLabeledTrack):
    pass


class LabeledData(ReadModel):
    """A job's or task's annotations; ``version`` is also the ETag of the read."""

    version: int
    tags: list[LabeledImage]
    shapes: list[LabeledShape]
    tracks: list[LabeledTrack]
    intervals: list[dict]


class LabeledDataWrite(LabeledData):
    """The body of ``PUT`` and ``PATCH ?action=``; ``version`` is ignored (use If-Match)."""

    version: int = 0
    tags: list[LabeledImage] = []
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    intervals: list[dict] = []
