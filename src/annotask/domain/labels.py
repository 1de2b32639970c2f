"""Label sets of tasks and projects: validation, colours, creation and updates.

The rules are CVAT's (task-semantics 1a) plus the checks CVAT leaves to its UI,
which we enforce on the server because other clients reach the API directly:
attribute ``values`` conventions per input type, colours as ``#rrggbb``.

Every request is validated completely before anything is written, and every
violation names its field path the way the client sent it, e.g.
``labels[0].attributes[1].values``, so a CLI user can find the mistake.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2s
from typing import Any

from sqlalchemy import Select, exists, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from annotask.db.base import utcnow
from annotask.db.models import (
    AttributeSpec,
    Job,
    Label,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    Project,
    Task,
    TrackedShape,
    User,
)
from annotask.domain import permissions
from annotask.domain.errors import NotFound, ValidationFailed

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
VALUE_MAX = 200
VALUES_TOTAL_MAX = 4096  # the values are stored joined by newlines in CVAT's column
DEFAULT_VALUE_MAX = 128
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_ID = 2**31 - 1

LABEL_KEYS = frozenset({"id", "name", "color", "attributes", "deleted", "type", "svg", "sublabels"})
SUBLABEL_KEYS = frozenset({"id", "name", "color", "attributes", "type", "has_parent"})
ATTRIBUTE_KEYS = frozenset(
    {"id", "name", "mutable", "input_type", "values", "default_value", "deleted"}
)
UNKNOWN_FIELD = "Unknown field, or a field that cannot be written."
REQUIRED = "This field is required."

LabelOwner = Task | Project


# ---- parsed input ----------------------------------------------------------


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


class Errors:
    """Collects every violation of one request, DRF style: ``{path: [messages]}``."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path or "non_field_errors", []).append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(raw: Any, path: str, allowed: frozenset[str], errors: Errors) -> dict | None:
    if not isinstance(raw, dict):
        errors.add(path, "Expected an object.")
        return None
    for key in raw:
        if key not in allowed:
            errors.add(_join(path, str(key)), UNKNOWN_FIELD)
    return raw


def _str(raw: dict, key: str, path: str, errors: Errors) -> str | None:
    value = raw.get(key)
    if value is None:
        if key in raw:
            errors.add(_join(path, key), "This field may not be null.")
        return None
    if not isinstance(value, str):
        errors.add(_join(path, key), "Expected a string.")
        return None
    return value


def _bool(raw: dict, key: str, path: str, errors: Errors) -> bool | None:
    value = raw.get(key)
    if key in raw and not isinstance(value, bool):
        errors.add(_join(path, key), "Expected true or false.")
        return None
    return value


def _id(raw: dict, path: str, errors: Errors) -> int | None:
    value = raw.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        errors.add(_join(path, "id"), "Expected a positive integer id.")
        return None
    return value


def _name(raw: dict, path: str, errors: Errors) -> str | None:
    value = _str(raw, "name", path, errors)
    if value is None:
        return None
    value = value.strip()
    if not 1 <= len(value) <= NAME_MAX:
        errors.add(_join(path, "name"), f"A name must have 1 to {NAME_MAX} characters.")
        return None
    return value


def _list(raw: dict, key: str, path: str, errors: Errors) -> list | None:
    value = raw.get(key)
    if value is None:
        if key in raw:
            errors.add(_join(path, key), "This field may not be null.")
        return None
    if not isinstance(value, list):
        errors.add(_join(path, key), "Expected a list.")
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
        errors.add(_join(path, "input_type"), f"Must be one of {', '.join(INPUT_TYPES)}.")
    else:
        attr.input_type = input_type
    values = _list(data, "values", path, errors)
    if values is not None:
        if all(isinstance(v, str) for v in values):
            attr.values = values
        else:
            errors.add(_join(path, "values"), "Expected a list of strings.")
    attr.default_value = _str(data, "default_value", path, errors)
    if attr.deleted and attr.id is None:
        errors.add(_join(path, "deleted"), "A deleted attribute must have an id.")
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
    _bool(data, "has_parent", path, errors)  # accepted from copied sublabels, derived anyway
    color = _str(data, "color", path, errors)
    if color:
        if COLOR_RE.match(color):
            label.color = color.lower()
        else:
            errors.add(_join(path, "color"), "A colour must look like #rrggbb.")
    label_type = _str(data, "type", path, errors)
    if label_type is not None and label_type not in LABEL_TYPES:
        errors.add(_join(path, "type"), f"Must be one of {', '.join(LABEL_TYPES)}.")
    else:
        label.type = label_type
    label.svg = _str(data, "svg", path, errors)
    for index, item in enumerate(_list(data, "attributes", path, errors) or []):
        attr = parse_attribute(item, f"{_join(path, 'attributes')}[{index}]", errors)
        if attr is not None:
            label.attributes.append(attr)
    sublabels = _list(data, "sublabels", path, errors)
    if sublabels is not None:
        label.sublabels = []
        for index, item in enumerate(sublabels):
            child = parse_label(item, f"{_join(path, 'sublabels')}[{index}]", errors, sublabel=True)
            if child is not None:
                label.sublabels.append(child)
    if label.deleted and label.id is None:
        errors.add(_join(path, "deleted"), "A deleted label must have an id.")
    return label


def parse_labels(raw: Any, path: str, errors: Errors) -> list[LabelInput]:
    """A ``labels`` list from a task or project body; types only, violations go to ``errors``."""
    if not isinstance(raw, list):
        errors.add(path, "Expected a list of labels.")
        return []
    labels = [parse_label(item, f"{path}[{i}]", errors) for i, item in enumerate(raw)]
    return [label for label in labels if label is not None]


def check_new_labels(raw: Any, errors: Errors, path: str = "labels") -> None:
    """Validate the label list of a new task or project without writing anything."""
    found = Errors()
    inputs = parse_labels(raw, path, found)
    if not found.items:
        _plan([], inputs, found, creating=True)
    for key, messages in found.items.items():
        for message in messages:
            errors.add(key, message)


# ---- attribute rules -------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_values(
    input_type: str, values: list[str], default: str | None, path: str, errors: Errors
) -> str:
    """Check ``values`` against the conventions of ``input_type``; return the default value.

    CVAT stores whatever it gets and leaves these conventions to its UI; a value
    list that breaks them makes annotation impossible, so it is refused here.
    """
    values_path, default_path = _join(path, "values"), _join(path, "default_value")
    for index, value in enumerate(values):
        if len(value) > VALUE_MAX:
            errors.add(values_path, f"Value {index} is longer than {VALUE_MAX} characters.")
    if len("\n".join(values)) > VALUES_TOTAL_MAX:
        errors.add(values_path, f"The values together exceed {VALUES_TOTAL_MAX} characters.")
    result = default
    if input_type in ("select", "radio"):
        if not values:
            errors.add(values_path, f"A {input_type} attribute needs at least one value.")
            return ""
        if default is None or (default == "" and "" not in values):
            result = values[0]
        elif default not in values:
            errors.add(default_path, "The default value must be one of the values.")
    elif input_type == "checkbox":
        if len(values) != 1 or values[0] not in ("true", "false"):
            errors.add(values_path, 'A checkbox has exactly one value, "true" or "false".')
            return ""
        if default is None or default == "":
            result = values[0]
        elif default not in ("true", "false"):
            errors.add(default_path, 'A checkbox default is "true" or "false".')
    elif input_type == "number":
        numbers = [_number(v) for v in values]
        if len(values) != 3 or None in numbers:
            errors.add(values_path, "A number attribute has exactly three numbers: min, max, step.")
            return ""
        low, high, step = numbers  # type: ignore[misc]
        if not low < high:
            errors.add(values_path, "The minimum must be less than the maximum.")
        elif not 0 < step <= high - low:
            errors.add(values_path, "The step must be positive and at most max - min.")
        if default is None or default == "":
            result = values[0]
        else:
            number = _number(default)
            if number is None or not low <= number <= high:
                errors.add(default_path, "The default must be a number between min and max.")
    else:  # text
        if len(values) > 1:
            errors.add(values_path, "A text attribute has at most one value: its default text.")
        if default is None:
            result = values[0] if values else ""
    result = result or ""
    if len(result) > DEFAULT_VALUE_MAX:
        errors.add(
            default_path,
            f"The default value (the first value when none is given) must have at most "
            f"{DEFAULT_VALUE_MAX} characters.",
        )
    return result


@dataclass
class _AttributePlan:
    input: AttributeInput
    existing: AttributeSpec | None
    values: list[str]
    default_value: str


def _plan_attributes(
    label_path: str,
    inputs: list[AttributeInput],
    existing: list[AttributeSpec],
    errors: Errors,
) -> tuple[list[_AttributePlan], list[AttributeSpec]]:
    """Validate a label's attribute changes; returns the attributes to write and to delete."""
    by_id = {attr.id: attr for attr in existing}
    kept_names = {attr.id: attr.name for attr in existing}
    plans: list[_AttributePlan] = []
    deleted: list[AttributeSpec] = []
    for attr in inputs:
        spec = None
        if attr.id is not None:
            spec = by_id.pop(attr.id, None)
            if spec is None:
                errors.add(_join(attr.path, "id"), f"This label has no attribute #{attr.id}.")
                continue
            if attr.deleted:
                deleted.append(spec)
                kept_names.pop(spec.id, None)
                continue
            for key in ("name", "mutable", "input_type"):
                given = getattr(attr, key)
                if given is not None and given != getattr(spec, key):
                    errors.add(_join(attr.path, key), f"The {key} of an attribute cannot change.")
        else:
            for key in ("name", "mutable", "input_type", "values"):
                if getattr(attr, key) is None:
                    errors.add(_join(attr.path, key), REQUIRED)
        input_type = attr.input_type or (spec.input_type if spec else None)
        values = attr.values if attr.values is not None else (spec.values if spec else None)
        if input_type is None or values is None:
            continue
        if spec is not None and attr.values is not None:
            if input_type in ("select", "radio"):
                if values[: len(spec.values)] != list(spec.values):
                    errors.add(
                        _join(attr.path, "values"),
                        "You can only append new values to an existing attribute.",
                    )
            elif values != list(spec.values):
                errors.add(
                    _join(attr.path, "values"),
                    f"The values of an existing {input_type} attribute cannot change.",
                )
        default = attr.default_value
        if default is None and spec is not None:
            default = spec.default_value
        default_value = check_values(input_type, list(values), default, attr.path, errors)
        plans.append(_AttributePlan(attr, spec, list(values), default_value))
    # Names stay unique within the label: untouched, updated and new attributes together.
    seen = {name for attr_id, name in kept_names.items() if attr_id in by_id}
    for plan in plans:
        name = plan.input.name or (plan.existing.name if plan.existing else None)
        if name is None:
            continue
        if name in seen:
            errors.add(
                _join(plan.input.path, "name"), f"Duplicate attribute with name '{name}' exists."
            )
        seen.add(name)
    return plans, deleted


# ---- colours ---------------------------------------------------------------


def _normalize_name(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower().replace("-", "_"))


def _color_from_index(index: int) -> tuple[int, int, int]:
    """Spread the bits of ``index`` over the channels, high bits first (CVAT's scheme)."""
    color = [0, 0, 0]
    for bit in range(7, -1, -1):
        for channel in range(3):
            color[channel] |= ((index >> channel) & 1) << bit
        index >>= 3
    return color[0], color[1], color[2]


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def generate_color(name: str, used: Collection[str]) -> str:
    """A deterministic colour for ``name`` that no other label of the set uses.

    As CVAT does: a colour from a 3-byte BLAKE2s hash of the normalised name,
    then tints and shades of it when taken; beyond that, further hashes.
    """
    taken = {color.lower() for color in used}
    normalized = _normalize_name(name).encode()
    digest = int.from_bytes(blake2s(normalized, digest_size=3).digest(), "big")
    base = _color_from_index(digest)
    candidates = [base]
    for target in (255, 0):
        for factor in range(1, 10):
            candidates.append(
                tuple(int(c + (target - c) * factor / 10) for c in base)  # type: ignore[arg-type]
            )
    for candidate in candidates:
        if _hex(candidate) not in taken:
            return _hex(candidate)
    salt = 1
    while True:
        salted = blake2s(normalized + b"#%d" % salt, digest_size=3).digest()
        color = "#" + salted.hex()
        if color not in taken:
            return color
        salt += 1


# ---- reading ---------------------------------------------------------------


def label_owner(db: Session, task: Task) -> LabelOwner:
    """A task inside a project uses the project's labels."""
    if task.project_id is not None:
        project = db.get(Project, task.project_id)
        if project is not None:
            return project
    return task


def _owner_condition(owner: LabelOwner):
    if isinstance(owner, Project):
        return Label.project_id == owner.id
    return Label.task_id == owner.id


def top_level_labels(db: Session, owner: LabelOwner) -> list[Label]:
    """The labels of a task or project with their attributes and sublabels loaded."""
    query = (
        select(Label)
        .where(_owner_condition(owner), Label.parent_id.is_(None))
        .options(
            selectinload(Label.attributes),
            selectinload(Label.sublabels).selectinload(Label.attributes),
        )
        .order_by(Label.id)
    )
    return list(db.scalars(query).all())


def _all_colors(db: Session, owner: LabelOwner) -> list[str]:
    return [c for c in db.scalars(select(Label.color).where(_owner_condition(owner))) if c]


# ---- planning and applying changes -------------------------------------------


@dataclass
class _LabelPlan:
    input: LabelInput
    existing: Label | None
    name: str
    type: str
    attributes: list[_AttributePlan]
    deleted_attributes: list[AttributeSpec]
    sublabels: list[_LabelPlan]
    deleted: bool = False


def _plan_label(
    label: LabelInput,
    existing: Label | None,
    errors: Errors,
    *,
    is_sublabel: bool,
) -> _LabelPlan | None:
    if existing is None and label.name is None:
        errors.add(_join(label.path, "name"), REQUIRED)
    name = label.name or (existing.name if existing else "")
    old_type = existing.type if existing else None
    new_type = label.type or old_type or "any"
    if existing is not None and old_type != new_type and "skeleton" in (old_type, new_type):
        errors.add(_join(label.path, "type"), "A label cannot change to or from a skeleton.")
    if is_sublabel and new_type == "skeleton":
        errors.add(_join(label.path, "type"), "A skeleton point cannot be a skeleton itself.")
    if new_type != "skeleton":
        if label.sublabels:
            errors.add(_join(label.path, "sublabels"), "Only skeleton labels have sublabels.")
        if label.svg:
            errors.add(_join(label.path, "svg"), "Only skeleton labels have an svg.")
    elif existing is None and not label.sublabels and not is_sublabel:
        errors.add(_join(label.path, "sublabels"), "A skeleton needs at least one sublabel.")
    attributes, deleted_attributes = _plan_attributes(
        label.path, label.attributes, list(existing.attributes) if existing else [], errors
    )
    sublabels: list[_LabelPlan] = []
    if new_type == "skeleton" and label.sublabels:
        current = {sub.id: sub for sub in existing.sublabels} if existing else {}
        names = {sub.id: sub.name for sub in current.values()}
        for sub in label.sublabels:
            found = None
            if sub.id is not None:
                found = current.get(sub.id)
                if found is None:
                    errors.add(_join(sub.path, "id"), f"This skeleton has no sublabel #{sub.id}.")
                    continue
            plan = _plan_label(sub, found, errors, is_sublabel=True)
            if plan is not None:
                sublabels.append(plan)
                if found is not None:
                    names.pop(found.id, None)
        seen = set(names.values())
        for plan in sublabels:
            if plan.name in seen:
                errors.add(
                    _join(plan.input.path, "name"),
                    f"Sublabel names must be unique within a skeleton: '{plan.name}' repeats.",
                )
            seen.add(plan.name)
    return _LabelPlan(label, existing, name, new_type, attributes, deleted_attributes, sublabels)


def _plan(
    owner_labels: list[Label], inputs: list[LabelInput], errors: Errors, *, creating: bool
) -> list[_LabelPlan]:
    by_id = {label.id: label for label in owner_labels}
    untouched = dict(by_id)
    plans: list[_LabelPlan] = []
    for label in inputs:
        existing = None
        if label.id is not None:
            if creating or label.id not in by_id:
                errors.add(
                    _join(label.path, "id"), f"Not found label with id #{label.id} to change."
                )
                continue
            if label.id not in untouched:
                errors.add(_join(label.path, "id"), f"Label #{label.id} is given twice.")
                continue
            existing = untouched.pop(label.id)
            if label.deleted:
                plans.append(_LabelPlan(label, existing, existing.name, existing.type, [], [], []))
                plans[-1].deleted = True
                continue
        plan = _plan_label(label, existing, errors, is_sublabel=False)
        if plan is not None:
            plans.append(plan)
    seen = {label.name for label in untouched.values()}
    for plan in plans:
        if plan.deleted or not plan.name:
            continue
        if plan.name in seen:
            errors.add(
                _join(plan.input.path, "name"),
                f"All label names must be unique: '{plan.name}' is used twice.",
            )
        seen.add(plan.name)
    return plans


def _write_attributes(db: Session, label: Label, plan: _LabelPlan) -> None:
    for spec in plan.deleted_attributes:
        db.delete(spec)
    for attr in plan.attributes:
        spec = attr.existing
        if spec is None:
            spec = AttributeSpec(
                label_id=label.id,
                name=attr.input.name,
                mutable=attr.input.mutable,
                input_type=attr.input.input_type,
            )
            db.add(spec)
        spec.values = attr.values
        spec.default_value = attr.default_value


def _rewrite_svg(svg: str, sublabels: Iterable[Label]) -> str:
    """Skeleton drawings refer to points by id once they exist (as in CVAT)."""
    for sub in sublabels:
        svg = svg.replace(f'data-label-name="{sub.name}"', f'data-label-id="{sub.id}"')
    return svg


def _write_label(
    db: Session, owner: LabelOwner, plan: _LabelPlan, used: list[str], parent: Label | None
) -> Label:
    label = plan.existing
    if label is None:
        label = Label(
            name=plan.name,
            type=plan.type,
            svg="",
            parent_id=parent.id if parent else None,
            project_id=owner.id if isinstance(owner, Project) else None,
            task_id=owner.id if isinstance(owner, Task) else None,
        )
        label.color = plan.input.color or generate_color(plan.name, used)
        used.append(label.color)
        db.add(label)
        db.flush()
    else:
        label.name = plan.name
        label.type = plan.type
        if plan.input.color:
            label.color = plan.input.color
            used.append(label.color)
    _write_attributes(db, label, plan)
    for sub in plan.sublabels:
        _write_label(db, owner, sub, used, label)
    if plan.type == "skeleton" and (plan.input.svg is not None or plan.sublabels):
        db.flush()
        children = db.scalars(select(Label).where(Label.parent_id == label.id)).all()
        svg = plan.input.svg if plan.input.svg is not None else label.svg
        label.svg = _rewrite_svg(svg, children)
    return label


def apply_labels(
    db: Session, owner: LabelOwner, raw: Any, *, path: str = "labels", creating: bool = False
) -> None:
    """Create or change the labels of a task or project from a client's ``labels`` list.

    Items with an ``id`` change that label (``deleted: true`` removes it with its
    annotations); items without one are new labels. Nothing is written unless
    the whole list is valid.
    """
    errors = Errors()
    inputs = parse_labels(raw, path, errors)
    errors.raise_if_any()
    existing = [] if creating else top_level_labels(db, owner)
    plans = _plan(existing, inputs, errors, creating=creating)
    errors.raise_if_any()
    for plan in plans:
        if plan.deleted and plan.existing is not None:
            db.delete(plan.existing)
    db.flush()
    used = _all_colors(db, owner)
    for plan in plans:
        if not plan.deleted:
            _write_label(db, owner, plan, used, None)
    if not creating:
        _touch(owner)
    db.flush()
    db.expire_all()


def _touch(owner: LabelOwner) -> None:
    owner.updated_date = utcnow()


def update_single_label(db: Session, label: Label, raw: Any) -> Label:
    """``PATCH /api/labels/{id}``: the body is one label, changed as in a labels list."""
    if label.parent_id is not None:
        raise ValidationFailed(
            "Sublabels cannot be changed this way: send a PATCH with the updated parent label."
        )
    if isinstance(raw, dict):
        if raw.get("id") is not None and raw["id"] != label.id:
            raise ValidationFailed({"id": "The id in the body differs from the label's id."})
        if raw.get("deleted"):
            raise ValidationFailed({"deleted": "Delete a label with DELETE /api/labels/{id}."})
        raw = {**raw, "id": label.id}
    errors = Errors()
    parsed = parse_label(raw, "", errors)
    errors.raise_if_any()
    assert parsed is not None
    owner = _owner_of(db, label)
    plans = _plan(top_level_labels(db, owner), [parsed], errors, creating=False)
    errors.raise_if_any()
    _write_label(db, owner, plans[0], _all_colors(db, owner), None)
    _touch(owner)
    db.flush()
    db.expire_all()
    return db.get(Label, label.id)  # type: ignore[return-value]


def _owner_of(db: Session, label: Label) -> LabelOwner:
    owner = db.get(Project, label.project_id) if label.project_id else db.get(Task, label.task_id)
    assert owner is not None
    return owner


def delete_label(db: Session, label: Label) -> None:
    """Remove a top-level label with its sublabels, attributes and annotations."""
    if label.parent_id is not None:
        raise ValidationFailed(
            "Sublabels cannot be deleted this way: send a PATCH with the updated parent label."
        )
    _touch(_owner_of(db, label))
    db.delete(label)
    db.flush()


# ---- moving a task between label sets -----------------------------------------


def _label_maps(
    source: list[Label], target: list[Label], errors: Errors, field_name: str
) -> tuple[dict[int, int], dict[int, int]]:
    """Map source label and attribute ids to the target's by name.

    Every label (and skeleton point) must exist in the target, as in CVAT;
    attributes without a namesake lose their values.
    """
    label_map: dict[int, int] = {}
    attr_map: dict[int, int] = {}
    by_name = {label.name: label for label in target}
    for label in source:
        match = by_name.get(label.name)
        if match is None:
            errors.add(field_name, f"The target project has no label named '{label.name}'.")
            continue
        label_map[label.id] = match.id
        attrs = {attr.name: attr.id for attr in match.attributes}
        for attr in label.attributes:
            if attr.name in attrs:
                attr_map[attr.id] = attrs[attr.name]
        sub_label_map, sub_attr_map = _label_maps(
            list(label.sublabels), list(match.sublabels), errors, field_name
        )
        label_map.update(sub_label_map)
        attr_map.update(sub_attr_map)
    return label_map, attr_map


def _remap_attributes(values: list[dict], attr_map: dict[int, int]) -> list[dict]:
    remapped = []
    for value in values or []:
        spec_id = value.get("spec_id") if isinstance(value, dict) else None
        if spec_id in attr_map:
            remapped.append({**value, "spec_id": attr_map[spec_id]})
    return remapped


def move_task_labels(db: Session, task: Task, project: Project) -> None:
    """Point a task's annotations at ``project``'s labels before it joins the project.

    Raises ValidationFailed (on ``project_id``) when a label has no namesake in
    the project; the task's own labels are removed afterwards.
    """
    source = top_level_labels(db, label_owner(db, task))
    target = top_level_labels(db, project)
    errors = Errors()
    label_map, attr_map = _label_maps(source, target, errors, "project_id")
    errors.raise_if_any()
    jobs = select(Job.id).where(Job.task_id == task.id)
    for model in (LabeledImage, LabeledShape, LabeledTrack):
        for old, new in label_map.items():
            if old != new:
                db.execute(
                    update(model)
                    .where(model.job_id.in_(jobs), model.label_id == old)
                    .values(label_id=new)
                )
        rows = db.scalars(select(model).where(model.job_id.in_(jobs))).all()
        for row in rows:
            if row.attributes:
                row.attributes = _remap_attributes(row.attributes, attr_map)
    tracks = select(LabeledTrack.id).where(LabeledTrack.job_id.in_(jobs))
    for shape in db.scalars(select(TrackedShape).where(TrackedShape.track_id.in_(tracks))):
        if shape.attributes:
            shape.attributes = _remap_attributes(shape.attributes, attr_map)
    db.flush()
    for label in top_level_labels(db, task):
        db.delete(label)
    db.flush()


# ---- finding labels ----------------------------------------------------------


def get_label(db: Session, user: User, label_id: int) -> Label:
    """A label (or skeleton point) the user may see; 404 otherwise."""
    label = db.get(Label, label_id) if 0 < label_id <= MAX_ID else None
    if label is None or not db.scalar(
        select(exists().where(Label.id == label.id, permissions.visible_labels(user)))
    ):
        raise NotFound()
    return label


def label_owner_for_change(db: Session, user: User, label: Label) -> LabelOwner:
    """The task or project whose label set changes; 403 when the user may not change it."""
    if label.project_id is not None:
        project = db.get(Project, label.project_id)
        return permissions.require_project_change(db, user, project)
    task = db.get(Task, label.task_id)
    return permissions.require_task_change(db, user, task)


def list_labels(db: Session, user: User, params: Mapping[str, str]) -> Select:
    """CVAT's ``GET /api/labels``: the labels of one task, job or project, or all visible ones.

    Only top-level labels are listed; skeleton points come nested in ``sublabels``.
    A task or job inside a project lists the project's labels.
    """
    # Imported here: the task rules import this module for label validation.
    from annotask.domain import jobs, projects, tasks

    scopes = {key: params.get(key) for key in ("job_id", "task_id", "project_id")}
    given = {key: value for key, value in scopes.items() if value not in (None, "")}
    if len(given) > 1:
        raise ValidationFailed("job_id, task_id and project_id cannot be used together.")
    query = select(Label)
    owner: LabelOwner | None = None
    if "job_id" in given:
        job = jobs.get_job(db, user, tasks.parse_id(given["job_id"], "job_id") or 0)
        owner = label_owner(db, db.get(Task, job.task_id))
    elif "task_id" in given:
        owner = label_owner(
            db, tasks.get_task(db, user, tasks.parse_id(given["task_id"], "task_id") or 0)
        )
    elif "project_id" in given:
        project_id = tasks.parse_id(given["project_id"], "project_id") or 0
        owner = projects.get_project(db, user, project_id)
    if owner is not None:
        query = query.where(_owner_condition(owner))
    else:
        query = query.where(permissions.visible_labels(user))
    if not params.get("parent") and not params.get("parent_id"):
        query = query.where(Label.parent_id.is_(None))
    query = query.options(
        selectinload(Label.attributes),
        selectinload(Label.sublabels).selectinload(Label.attributes),
    )
    return tasks.apply_listing(query, params, _label_list_spec(), Label.id)


def _label_list_spec():
    from annotask.domain.tasks import ListSpec, Lookup

    parent_label = aliased(Label)
    parent = select(parent_label.name).where(parent_label.id == Label.parent_id).scalar_subquery()
    return ListSpec(
        lookups={
            "id": Lookup(Label.id, "int"),
            "name": Lookup(Label.name),
            "parent": Lookup(parent),
            "parent_id": Lookup(Label.parent_id, "int"),
            "type": Lookup(Label.type),
            "color": Lookup(Label.color),
        },
        simple=("name", "parent", "parent_id", "type", "color"),
        search=("name", "parent"),
        default_sort="id",
    )
