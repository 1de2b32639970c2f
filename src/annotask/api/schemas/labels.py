"""Label, Attribute and Sublabel as the clients deserialize them (spec 4.4).

Write bodies are modelled here for the schema only: label lists are validated by
``annotask.domain.labels``, which names every faulty field by its full path.
"""

from __future__ import annotations

from annotask.api.schemas.common import ReadModel, WriteModel
from annotask.db.models import AttributeSpec, Label


class AttributeRead(ReadModel):
    id: int
    name: str
    mutable: bool
    input_type: str
    default_value: str
    values: list[str]


class SublabelRead(ReadModel):
    id: int
    name: str
    color: str
    type: str
    has_parent: bool
    attributes: list[AttributeRead]


class LabelRead(ReadModel):
    id: int
    name: str
    color: str
    type: str
    svg: str
    attributes: list[AttributeRead]
    sublabels: list[SublabelRead]
    has_parent: bool
    parent_id: int | None
    task_id: int | None
    project_id: int | None


def attribute_read(spec: AttributeSpec) -> AttributeRead:
    return AttributeRead(
        id=spec.id,
        name=spec.name,
        mutable=spec.mutable,
        input_type=spec.input_type,
        default_value=spec.default_value or "",
        values=list(spec.values or []),
    )


def label_read(label: Label) -> LabelRead:
    """A label with its attributes and, for skeletons, its points nested in ``sublabels``."""
    return LabelRead(
        id=label.id,
        name=label.name,
        color=label.color,
        type=label.type,
        svg=label.svg or "",
        attributes=[attribute_read(a) for a in label.attributes],
        sublabels=[
            SublabelRead(
                id=sub.id,
                name=sub.name,
                color=sub.color,
                type=sub.type,
                has_parent=True,
                attributes=[attribute_read(a) for a in sub.attributes],
            )
            for sub in label.sublabels
        ],
        has_parent=label.parent_id is not None,
        parent_id=label.parent_id,
        task_id=label.task_id,
        project_id=label.project_id,
    )


class AttributeWrite(WriteModel):
    id: int | None = None
    name: str
    mutable: bool = False
    input_type: str
    default_value: str = ""
    values: list[str] = []
    deleted: bool = False


class SublabelWrite(WriteModel):
    id: int | None = None
    name: str
    color: str = ""
    attributes: list[AttributeWrite] = []
    type: str = "any"
    has_parent: bool = True


class LabelPatch(WriteModel):
    """``PatchedLabelRequest``, for the schema: ``domain.labels`` validates the body."""

    id: int | None = None
    name: str = ""
    color: str = ""
    attributes: list[AttributeWrite] = []
    deleted: bool = False
    type: str = "any"
    svg: str = ""
    sublabels: list[SublabelWrite] = []
