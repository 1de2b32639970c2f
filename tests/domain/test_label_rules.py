"""The label rules on their own: parsing, attribute conventions, colours, updates.

The HTTP tests check the same rules end to end; these pin each rule down
cheaply, on a throwaway SQLite database with the real migrations.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotask.db.engine import make_engine
from annotask.db.migrate import upgrade
from annotask.db.models import AttributeSpec, Job, Label, LabeledShape, Project, Segment, Task, User
from annotask.domain import labels as rules
from annotask.domain.errors import ValidationFailed
from tests.support.resources import INVALID_LABELS, VALID_LABELS


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('labels') / 'rules.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    with Session(engine) as session, session.begin():
        user = User(username=f"u{id(session)}")
        session.add(user)
        session.flush()
        yield session
        session.rollback()


def _task(db: Session, labels: list | None = None) -> Task:
    task = Task(name="t", owner_id=None)
    db.add(task)
    db.flush()
    if labels:
        rules.apply_labels(db, task, labels, creating=True)
    return task


def _errors(raw: list) -> dict[str, list[str]]:
    found = rules.Errors()
    rules.check_new_labels(raw, found)
    return found.items


@pytest.mark.parametrize(("labels", "field"), INVALID_LABELS, ids=[c[1] for c in INVALID_LABELS])
def test_each_violation_names_its_field(labels, field):
    errors = _errors(labels)
    assert field in errors, errors


def test_valid_labels_pass_and_are_stored_with_defaults(db):
    assert _errors(VALID_LABELS) == {}
    task = _task(db, VALID_LABELS)
    stored = {label.name: label for label in rules.top_level_labels(db, task)}
    assert list(stored) == [label["name"] for label in VALID_LABELS]
    defaults = {a.name: a.default_value for a in stored["sel"].attributes}
    assert defaults == {"a": "red", "r": "y"}  # first value unless a valid default is given
    assert {a.name: a.default_value for a in stored["chk"].attributes} == {"a": "false", "n": "0"}
    assert {a.name: a.default_value for a in stored["txt"].attributes} == {
        "a": "",
        "t2": "",
        "t3": "hi",
    }
    assert stored["coloured"].color == "#ff0000"
    skeleton = stored["body"]
    head = next(s for s in skeleton.sublabels if s.name == "head")
    assert f'data-label-id="{head.id}"' in skeleton.svg and "data-label-name" not in skeleton.svg
    assert {s.type for s in skeleton.sublabels} == {"points", "any"}
    assert all(s.task_id == task.id and s.parent_id == skeleton.id for s in skeleton.sublabels)


def test_generated_colours_are_valid_deterministic_and_distinct(db):
    color = rules.generate_color("car", [])
    assert rules.COLOR_RE.match(color)
    assert rules.generate_color("car", []) == color
    assert rules.generate_color("Car", []) == color  # the name is normalised first
    assert rules.generate_color("car", [color]) != color
    taken = [color]
    for _ in range(30):
        taken.append(rules.generate_color("car", taken))
    assert len(set(taken)) == len(taken)
    task = _task(
        db, [{"name": "a"}, {"name": "b", "color": rules.generate_color("c", [])}, {"name": "c"}]
    )
    colors = [label.color for label in rules.top_level_labels(db, task)]
    assert len(set(colors)) == 3 and all(rules.COLOR_RE.match(c) for c in colors)


@pytest.mark.parametrize(
    ("input_type", "values", "default", "expected"),
    [
        ("select", ["a", "b"], None, "a"),
        ("select", ["a", "b"], "b", "b"),
        ("select", ["a", "b"], "", "a"),
        ("radio", ["x"], None, "x"),
        ("checkbox", ["true"], None, "true"),
        ("checkbox", ["false"], "true", "true"),
        ("number", ["-1.5", "2", "0.5"], None, "-1.5"),
        ("number", ["0", "10", "10"], "5", "5"),
        ("text", [], None, ""),
        ("text", ["hello"], None, "hello"),
        ("text", ["hello"], "bye", "bye"),
    ],
)
def test_default_values(input_type, values, default, expected):
    errors = rules.Errors()
    assert rules.check_values(input_type, values, default, "a", errors) == expected
    assert errors.items == {}


def _count(db: Session, model) -> int:
    return db.scalar(select(func.count(model.id)))


def _update(db: Session, owner, labels: list) -> None:
    rules.apply_labels(db, owner, labels)


def _by_name(db: Session, owner) -> dict[str, Label]:
    return {label.name: label for label in rules.top_level_labels(db, owner)}


SELECT = {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]}


def test_update_adds_renames_extends_and_deletes(db):
    task = _task(db, [{"name": "car", "attributes": [SELECT]}, {"name": "dog"}])
    car, dog = _by_name(db, task)["car"], _by_name(db, task)["dog"]
    spec = car.attributes[0]
    _update(
        db,
        task,
        [
            {
                "id": car.id,
                "name": "auto",
                "color": "#00ff00",
                "attributes": [
                    {"id": spec.id, "values": ["red", "blue", "green"], "default_value": "green"},
                    {
                        "name": "n",
                        "mutable": True,
                        "input_type": "number",
                        "values": ["0", "5", "1"],
                    },
                ],
            },
            {"id": dog.id, "deleted": True},
            {"name": "bus"},
        ],
    )
    labels = _by_name(db, task)
    assert set(labels) == {"auto", "bus"}
    auto = labels["auto"]
    assert auto.id == car.id and auto.color == "#00ff00"
    attrs = {a.name: a for a in auto.attributes}
    assert attrs["color"].values == ["red", "blue", "green"]
    assert attrs["color"].default_value == "green"
    assert attrs["n"].default_value == "0"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda car, spec: {"id": car.id, "attributes": [{"id": spec.id, "values": ["blue"]}]},
            "labels[0].attributes[0].values",
        ),
        (
            lambda car, spec: {"id": car.id, "attributes": [{"id": spec.id, "name": "hue"}]},
            "labels[0].attributes[0].name",
        ),
        (
            lambda car, spec: {
                "id": car.id,
                "attributes": [{"id": spec.id, "input_type": "radio"}],
            },
            "labels[0].attributes[0].input_type",
        ),
        (
            lambda car, spec: {"id": car.id, "attributes": [{"id": spec.id, "mutable": True}]},
            "labels[0].attributes[0].mutable",
        ),
        (
            lambda car, spec: {"id": car.id, "attributes": [{"id": 99999, "values": []}]},
            "labels[0].attributes[0].id",
        ),
        (
            lambda car, spec: {"id": car.id, "attributes": [dict(SELECT)]},
            "labels[0].attributes[0].name",
        ),
        (lambda car, spec: {"id": car.id, "type": "skeleton"}, "labels[0].type"),
        (lambda car, spec: {"id": car.id, "name": "dog"}, "labels[0].name"),
        (lambda car, spec: {"name": "dog"}, "labels[0].name"),
        (lambda car, spec: {"id": 99999, "name": "x"}, "labels[0].id"),
        (lambda car, spec: {"id": car.id, "deleted": "yes"}, "labels[0].deleted"),
    ],
)
def test_refused_updates_change_nothing(db, change, field):
    task = _task(db, [{"name": "car", "attributes": [SELECT]}, {"name": "dog"}])
    car = _by_name(db, task)["car"]
    before = (
        _count(db, Label),
        _count(db, AttributeSpec),
        car.name,
        list(car.attributes[0].values),
    )
    with pytest.raises(ValidationFailed) as failure:
        _update(db, task, [change(car, car.attributes[0])])
    assert field in failure.value.errors, failure.value.errors
    car = _by_name(db, task)["car"]
    assert before == (
        _count(db, Label),
        _count(db, AttributeSpec),
        car.name,
        list(car.attributes[0].values),
    )


def test_skeleton_type_is_fixed_but_points_can_be_renamed(db):
    task = _task(db, [VALID_LABELS[-1]])
    body = _by_name(db, task)["body"]
    with pytest.raises(ValidationFailed) as failure:
        _update(db, task, [{"id": body.id, "type": "any"}])
    assert "labels[0].type" in failure.value.errors
    head = next(s for s in body.sublabels if s.name == "head")
    _update(db, task, [{"id": body.id, "sublabels": [{"id": head.id, "name": "skull"}]}])
    names = {s.name for s in _by_name(db, task)["body"].sublabels}
    assert names == {"skull", "tail"}


def test_moving_requires_every_label_in_the_target(db):
    task = _task(db, [{"name": "car", "attributes": [SELECT]}, {"name": "dog"}])
    project = Project(name="p")
    db.add(project)
    db.flush()
    rules.apply_labels(db, project, [{"name": "car"}], creating=True)
    with pytest.raises(ValidationFailed) as failure:
        rules.move_task_labels(db, task, project)
    assert "dog" in failure.value.errors["project_id"][0]
    rules.apply_labels(db, project, [{"name": "dog"}])
    rules.move_task_labels(db, task, project)
    assert rules.top_level_labels(db, task) == []


def test_labels_must_be_a_list():
    assert _errors({"name": "car"}) == {"labels": ["Expected a list of labels."]}


def test_moving_points_annotations_at_the_project_labels(db):
    task = _task(db, [{"name": "car", "attributes": [SELECT]}])
    segment = Segment(task_id=task.id, start_frame=0, stop_frame=0)
    db.add(segment)
    db.flush()
    job = Job(segment_id=segment.id, task_id=task.id)
    db.add(job)
    db.flush()
    car = _by_name(db, task)["car"]
    spec = car.attributes[0]
    shape = LabeledShape(
        job_id=job.id,
        label_id=car.id,
        type="rectangle",
        frame=0,
        points=[0, 0, 1, 1],
        attributes=[{"spec_id": spec.id, "value": "blue"}],
    )
    db.add(shape)
    project = Project(name="p")
    db.add(project)
    db.flush()
    rules.apply_labels(db, project, [{"name": "car", "attributes": [SELECT]}], creating=True)
    target = _by_name(db, project)["car"]
    rules.move_task_labels(db, task, project)
    db.refresh(shape)
    assert shape.label_id == target.id
    assert shape.attributes == [{"spec_id": target.attributes[0].id, "value": "blue"}]
    assert db.get(Label, car.id) is None
