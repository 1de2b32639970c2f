"""Changing label sets: planning a change in full, then writing it.

A client's ``labels`` list is checked completely before anything is written
(task-semantics 1a), so a rejected request leaves the label set as it was and
names every mistake at once. Moving a task into a project re-points its
annotations at the project's labels, matched by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

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
)
from annotask.domain.annotations.rows import ObjectModel, drop_attribute_values
from annotask.domain.errors import Errors, ValidationFailed
from annotask.domain.labels.colors import generate_color
from annotask.domain.labels.parsing import (
    MAX_LABELS,
    REQUIRED,
    LabelInput,
    field_path,
    parse_label,
    parse_labels,
)
from annotask.domain.labels.queries import (
    LabelOwner,
    label_owner,
    owner_condition,
    top_level_labels,
)
from annotask.domain.labels.rules import AttributePlan, plan_attributes

# ---- planning ----------------------------------------------------------------


@dataclass
class _LabelPlan:
    input: LabelInput
    existing: Label | None
    name: str
    type: str
    attributes: list[AttributePlan]
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
        errors.add(field_path(label.path, "name"), REQUIRED)
    name = label.name or (existing.name if existing else "")
    old_type = existing.type if existing else None
    new_type = label.type or old_type or "any"
    if existing is not None and old_type != new_type and "skeleton" in (old_type, new_type):
        errors.add(field_path(label.path, "type"), "A label cannot change to or from a skeleton.")
    if is_sublabel and new_type == "skeleton":
        errors.add(field_path(label.path, "type"), "A skeleton point cannot be a skeleton itself.")
    if new_type != "skeleton":
        if label.sublabels:
            errors.add(field_path(label.path, "sublabels"), "Only skeleton labels have sublabels.")
        if label.svg:
            errors.add(field_path(label.path, "svg"), "Only skeleton labels have an svg.")
    elif existing is None and not label.sublabels and not is_sublabel:
        errors.add(field_path(label.path, "sublabels"), "A skeleton needs at least one sublabel.")
    attributes, deleted_attributes = plan_attributes(
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
                    errors.add(
                        field_path(sub.path, "id"), f"This skeleton has no sublabel #{sub.id}."
                    )
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
                    field_path(plan.input.path, "name"),
                    f"Sublabel names must be unique within a skeleton: '{plan.name}' repeats.",
                )
            seen.add(plan.name)
    return _LabelPlan(label, existing, name, new_type, attributes, deleted_attributes, sublabels)


def _label_count(plans: list[_LabelPlan], untouched: Iterable[Label]) -> int:
    """Labels (skeleton points included) the set would have after the change."""
    total = sum(1 + len(label.sublabels) for label in untouched)
    for plan in plans:
        if plan.deleted:
            continue
        total += 1
        if plan.existing is None:
            total += len(plan.sublabels)
        else:
            total += len(plan.existing.sublabels)
            total += sum(1 for sub in plan.sublabels if sub.existing is None)
    return total


def _plan(
    owner_labels: list[Label],
    inputs: list[LabelInput],
    errors: Errors,
    *,
    creating: bool,
    path: str = "labels",
) -> list[_LabelPlan]:
    by_id = {label.id: label for label in owner_labels}
    untouched = dict(by_id)
    plans: list[_LabelPlan] = []
    for label in inputs:
        existing = None
        if label.id is not None:
            if creating or label.id not in by_id:
                errors.add(
                    field_path(label.path, "id"), f"Not found label with id #{label.id} to change."
                )
                continue
            if label.id not in untouched:
                errors.add(field_path(label.path, "id"), f"Label #{label.id} is given twice.")
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
                field_path(plan.input.path, "name"),
                f"All label names must be unique: '{plan.name}' is used twice.",
            )
        seen.add(plan.name)
    if _label_count(plans, untouched.values()) > MAX_LABELS:
        errors.add(
            path, f"A task or project has at most {MAX_LABELS} labels (skeleton points included)."
        )
    return plans


def check_new_labels(raw: Any, errors: Errors, path: str = "labels") -> None:
    """Validate the label list of a new task or project without writing anything."""
    found = Errors()
    inputs = parse_labels(raw, path, found)
    if not found.items:
        _plan([], inputs, found, creating=True, path=path)
    for key, messages in found.items.items():
        for message in messages:
            errors.add(key, message)


# ---- writing ----------------------------------------------------------------


def _all_colors(db: Session, owner: LabelOwner) -> set[str]:
    return {c.lower() for c in db.scalars(select(Label.color).where(owner_condition(owner))) if c}


def _write_attributes(db: Session, label: Label, plan: _LabelPlan) -> None:
    drop_attribute_values(db, label.id, {spec.id for spec in plan.deleted_attributes})
    for deleted in plan.deleted_attributes:
        db.delete(deleted)
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


def _write_level(
    db: Session, owner: LabelOwner, items: list[tuple[_LabelPlan, Label | None]], used: set[str]
) -> None:
    """Write one level of labels (top-level ones, then all their sublabels) in batches.

    Every new label of the level goes in one bulk INSERT (multi-row batches),
    attributes with the next flush: a set of 5,000 labels
    costs a handful of statements, not one round trip per label, so the write
    transaction (SQLite's database lock) is held briefly.
    """
    rows: list[dict[str, Any]] = []
    for plan, parent in items:
        label = plan.existing
        if label is None:
            color = plan.input.color or generate_color(plan.name, used)
            used.add(color)
            rows.append(
                {
                    "name": plan.name,
                    "type": plan.type,
                    "svg": "",
                    "color": color,
                    "parent_id": parent.id if parent else None,
                    "project_id": owner.id if isinstance(owner, Project) else None,
                    "task_id": owner.id if isinstance(owner, Task) else None,
                }
            )
        else:
            label.name = plan.name
            label.type = plan.type
            if plan.input.color:
                label.color = plan.input.color
                used.add(label.color)
    db.flush()
    # An ORM flush inserts rows of a self-referential table (sublabels point at labels)
    # one by one; a bulk INSERT ... RETURNING sends them as multi-row batches. Their
    # order is not promised, but (parent, name) is unique (the plan checked it).
    created = {
        (label.parent_id, label.name): label
        for label in (db.scalars(insert(Label).returning(Label), rows).all() if rows else [])
    }
    labels = [
        plan.existing or created[(parent.id if parent else None, plan.name)]
        for plan, parent in items
    ]
    children: list[tuple[_LabelPlan, Label | None]] = []
    for (plan, _), label in zip(items, labels, strict=True):
        _write_attributes(db, label, plan)
        children.extend((sub, label) for sub in plan.sublabels)
    if children:
        _write_level(db, owner, children, used)
    for (plan, _), label in zip(items, labels, strict=True):
        if plan.type == "skeleton" and (plan.input.svg is not None or plan.sublabels):
            points = db.scalars(select(Label).where(Label.parent_id == label.id)).all()
            svg = plan.input.svg if plan.input.svg is not None else label.svg
            label.svg = _rewrite_svg(svg, points)


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
    plans = _plan(existing, inputs, errors, creating=creating, path=path)
    errors.raise_if_any()
    for plan in plans:
        if plan.deleted and plan.existing is not None:
            db.delete(plan.existing)
    db.flush()
    _write_level(
        db, owner, [(plan, None) for plan in plans if not plan.deleted], _all_colors(db, owner)
    )
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
    plans = _plan(top_level_labels(db, owner), [parsed], errors, creating=False, path="sublabels")
    errors.raise_if_any()
    _write_level(db, owner, [(plans[0], None)], _all_colors(db, owner))
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

    def move(model: type[ObjectModel]) -> None:
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

    move(LabeledImage)
    move(LabeledShape)
    move(LabeledTrack)
    tracks = select(LabeledTrack.id).where(LabeledTrack.job_id.in_(jobs))
    for shape in db.scalars(select(TrackedShape).where(TrackedShape.track_id.in_(tracks))):
        if shape.attributes:
            shape.attributes = _remap_attributes(shape.attributes, attr_map)
    db.flush()
    for label in top_level_labels(db, task):
        db.delete(label)
    db.flush()
