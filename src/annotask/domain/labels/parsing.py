"""Label bodies as clients send them, typed and checked field by field.

Parsing only checks types and formats and records every violation under the
field path the client used (``labels[0].attributes[1].values``); whether the
labels make sense together is decided later, when a change is planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotask.domain.bodies import note_ignored
from annotask.domain.errors import Errors
from annotask.domain.labels.colors import COLOR_RE

LABEL_TYPES = (
    "any",
    "cuboid",
    "ellipse",
    "mask",
    "points",
    "polygon",
    "polyline",
    "rectangle",
    "skeleton",
    "interval",
    "tag",
)
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")
NAME_MAX = 64
MAX_ID = 2**31 - 1
#: Most labels of one task or project, skeleton points included: LVIS has 1,203, and
#: the cap keeps one request's label work (and its write transaction) bounded.
MAX_LABELS = 5000
#: Most attributes of one label.
MAX_ATTRIBUTES = 256
#: Most values of one attribute (a select or radio list).
MAX_VALUES = 1000

LABEL_KEYS = frozenset({"id", "name", "color", "attributes", "deleted", "type", "svg", "sublabels"})
SUBLABEL_KEYS = frozenset({"id", "name", "color", "attributes", "type"})
ATTRIBUTE_KEYS = frozenset(
    {"id", "name", "mutable", "input_type", "values", "default_value", "deleted"}
)
REQUIRED = "This field is required."


@dataclass
class AttributeInput:
    path: str
    id: int | None = None
    name: str | None = None
    mutable: bool | None = None
    input_type: str | None = None
    values: list[str] | None = None
    default_value: str | None = None
    deleted: bool = False


@dataclass
class LabelInput:
    path: str
    id: int | None = None
    name: str | None = None
    color: str | None = None
    type: str | None = None
    svg: str | None = None
    attributes: list[AttributeInput] = field(default_factory=list)
    sublabels: list[LabelInput] | None = None
    deleted: bool = False


def field_path(path: str, key: str) -> str:
    """Where a nested field sits, in the notation of the client's body."""
    return f"{path}.{key}" if path else key


def _object(raw: Any, path: str, allowed: frozenset[str], errors: Errors) -> dict | None:
    if not isinstance(raw, dict):
        errors.add(path, "Expected an object.")
        return None
    # Read-only fields sent back (has_parent, parent_id, task_id, project_id...) and
    # unknown ones are ignored, as CVAT's serializers do.
    note_ignored(f"label {path}", (key for key in raw if key not in allowed))
    return raw


def _str(raw: dict, key: str, path: str, errors: Errors) -> str | None:
    value = raw.get(key)
    if value is None:
        if key in raw:
            errors.add(field_path(path, key), "This field may not be null.")
        return None
    if not isinstance(value, str):
        errors.add(field_path(path, key), "Expected a string.")
        return None
    return value


def _bool(raw: dict, key: str, path: str, errors: Errors) -> bool | None:
    value = raw.get(key)
    if key in raw and not isinstance(value, bool):
        errors.add(field_path(path, key), "Expected true or false.")
        return None
    return value


def _id(raw: dict, path: str, errors: Errors) -> int | None:
    value = raw.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        errors.add(field_path(path, "id"), "Expected a positive integer id.")
        return None
    return value


def _name(raw: dict, path: str, errors: Errors) -> str | None:
    value = _str(raw, "name", path, errors)
    if value is None:
        return None
    value = value.strip()
    if not 1 <= len(value) <= NAME_MAX:
        errors.add(field_path(path, "name"), f"A name must have 1 to {NAME_MAX} characters.")
        return None
    return value


def _list(raw: dict, key: str, path: str, errors: Errors) -> list | None:
    value = raw.get(key)
    if value is None:
        if key in raw:
            errors.add(field_path(path, key), "This field may not be null.")
        return None
    if not isinstance(value, list):
        errors.add(field_path(path, key), "Expected a list.")
        return None
    return value


def parse_attribute(raw: Any, path: str, errors: Errors) -> AttributeInput | None:
    data = _object(raw, path, ATTRIBUTE_KEYS, errors)
    if data is None:
        return None
    attr = AttributeInput(path=path, id=_id(data, path, errors), name=_name(data, path, errors))
    attr.mutable = _bool(data, "mutable", path, errors)
    attr.deleted = bool(_bool(data, "deleted", path, errors))
    input_type = _str(data, "input_type", path, errors)
    if input_type is not None and input_type not in INPUT_TYPES:
        errors.add(field_path(path, "input_type"), f"Must be one of {', '.join(INPUT_TYPES)}.")
    else:
        attr.input_type = input_type
    values = _list(data, "values", path, errors)
    if values is not None and len(values) > MAX_VALUES:
        errors.add(field_path(path, "values"), f"An attribute has at most {MAX_VALUES} values.")
    elif values is not None:
        if all(isinstance(v, str) for v in values):
            attr.values = values
        else:
            errors.add(field_path(path, "values"), "Expected a list of strings.")
    attr.default_value = _str(data, "default_value", path, errors)
    if attr.deleted and attr.id is None:
        errors.add(field_path(path, "deleted"), "A deleted attribute must have an id.")
    return attr


def parse_label(
    raw: Any, path: str, errors: Errors, *, sublabel: bool = False
) -> LabelInput | None:
    """One label (or skeleton sublabel) as sent by a client; types only, no rules yet."""
    data = _object(raw, path, SUBLABEL_KEYS if sublabel else LABEL_KEYS, errors)
    if data is None:
        return None
    label = LabelInput(path=path, id=_id(data, path, errors), name=_name(data, path, errors))
    label.deleted = bool(_bool(data, "deleted", path, errors))
    color = _str(data, "color", path, errors)
    if color:
        if COLOR_RE.match(color):
            label.color = color.lower()
        else:
            errors.add(field_path(path, "color"), "A colour must look like #rrggbb.")
    label_type = _str(data, "type", path, errors)
    if label_type is not None and label_type not in LABEL_TYPES:
        errors.add(field_path(path, "type"), f"Must be one of {', '.join(LABEL_TYPES)}.")
    else:
        label.type = label_type
    label.svg = _str(data, "svg", path, errors)
    attributes = _list(data, "attributes", path, errors) or []
    if len(attributes) > MAX_ATTRIBUTES:
        errors.add(
            field_path(path, "attributes"), f"A label has at most {MAX_ATTRIBUTES} attributes."
        )
        attributes = []
    for index, item in enumerate(attributes):
        attr = parse_attribute(item, f"{field_path(path, 'attributes')}[{index}]", errors)
        if attr is not None:
            label.attributes.append(attr)
    sublabels = _list(data, "sublabels", path, errors)
    if sublabels is not None and len(sublabels) > MAX_LABELS:
        errors.add(field_path(path, "sublabels"), f"At most {MAX_LABELS} labels are allowed.")
        sublabels = None
    if sublabels is not None:
        label.sublabels = []
        for index, item in enumerate(sublabels):
            child = parse_label(
                item, f"{field_path(path, 'sublabels')}[{index}]", errors, sublabel=True
            )
            if child is not None:
                label.sublabels.append(child)
    if label.deleted and label.id is None:
        errors.add(field_path(path, "deleted"), "A deleted label must have an id.")
    return label


def parse_labels(raw: Any, path: str, errors: Errors) -> list[LabelInput]:
    """A ``labels`` list from a task or project body; types only, violations go to ``errors``."""
    if not isinstance(raw, list):
        errors.add(path, "Expected a list of labels.")
        return []
    if len(raw) > MAX_LABELS:
        # Refused before looking at each one: parsing costs time too.
        errors.add(path, f"A task or project has at most {MAX_LABELS} labels.")
        return []
    labels = [parse_label(item, f"{path}[{i}]", errors) for i, item in enumerate(raw)]
    return [label for label in labels if label is not None]
