"""Annotations as plain data: the model, validation, interpolation and the overlap merge.

Pure code over dataclasses: no database, no HTTP. The domain layer converts rows
to these objects and back (``AnnotationSet.from_json``/``to_json`` match CVAT's
``LabeledData`` JSON).
"""

from annotask.annotations.model import (
    AnnotationError,
    AnnotationSet,
    Attribute,
    Shape,
    Tag,
    Track,
    TrackedShape,
)
from annotask.annotations.schema import AttributeSpec, LabelSet, LabelSpec

__all__ = [
    "AnnotationError",
    "AnnotationSet",
    "Attribute",
    "AttributeSpec",
    "LabelSet",
    "LabelSpec",
    "Shape",
    "Tag",
    "Track",
    "TrackedShape",
]
