"""Big label sets: LVIS-sized sets work, larger ones are refused, and writing is batched."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from annotask.db.engine import make_engine
from annotask.db.migrate import upgrade
from annotask.db.models import Label, Task
from annotask.domain import labels as rules
from annotask.domain.errors import ValidationFailed
from annotask.domain.labels.parsing import MAX_ATTRIBUTES, MAX_LABELS, MAX_VALUES

LVIS = 1203


def _labels(count: int, prefix: str = "class") -> list[dict]:
    return [{"name": f"{prefix}{index}"} for index in range(count)]


def test_task_with_lvis_labels_is_created(server, admin):
    response = admin.post("/api/tasks", json={"name": "lvis", "labels": _labels(LVIS)})
    assert response.status_code == 201, response.text[:500]
    task_id = response.json()["id"]
    listed = admin.get("/api/labels", params={"task_id": task_id, "page_size": 10})
    assert listed.json()["count"] == LVIS


def test_more_than_the_label_cap_is_a_400(server, admin):
    response = admin.post("/api/tasks", json={"name": "too many", "labels": _labels(5001)})
    assert response.status_code == 400, response.text[:500]
    assert "5000" in str(response.json()["labels"])
    project = admin.post("/api/projects", json={"name": "too many", "labels": _labels(5001)})
    assert project.status_code == 400, project.text[:500]


def test_attribute_caps_are_a_400(server, admin):
    values = [str(n) for n in range(MAX_VALUES + 1)]
    body = {
        "name": "values",
        "labels": [
            {
                "name": "a",
                "attributes": [{"name": "v", "input_type": "select", "values": values}],
            }
        ],
    }
    response = admin.post("/api/tasks", json=body)
    assert response.status_code == 400, response.text[:500]
    many = [
        {"name": f"x{n}", "input_type": "text", "values": [""]} for n in range(MAX_ATTRIBUTES + 1)
    ]
    body = {"name": "attrs", "labels": [{"name": "a", "attributes": many}]}
    assert admin.post("/api/tasks", json=body).status_code == 400


# ---- on the domain layer: the cap counts what the set would hold, writing is batched ----


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('labels') / 'limits.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    with Session(engine) as session, session.begin():
        yield session
        session.rollback()


def _task(db: Session) -> Task:
    task = Task(name="t", owner_id=None)
    db.add(task)
    db.flush()
    return task


def test_writing_a_big_label_set_takes_few_statements(engine, db):
    """One statement per label would hold SQLite's write lock for thousands of round trips."""
    task = _task(db)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        skeleton = {
            "name": "person",
            "type": "skeleton",
            "sublabels": [{"name": f"p{n}", "type": "points"} for n in range(17)],
            "svg": "",
        }
        attributed = {
            "name": "car",
            "attributes": [
                {"name": "colour", "input_type": "select", "mutable": False, "values": ["r", "g"]}
            ],
        }
        rules.apply_labels(db, task, [*_labels(LVIS), skeleton, attributed], creating=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    total = db.scalar(select(func.count()).select_from(Label).where(Label.task_id == task.id))
    assert total == LVIS + 2 + 17
    assert len(statements) < 40, f"{len(statements)} statements"


def test_the_cap_counts_existing_labels_and_skeleton_points(db):
    task = _task(db)
    rules.apply_labels(db, task, _labels(MAX_LABELS - 20), creating=True)
    # 19 more labels fit, a skeleton with two points after them does not (22 > 20).
    skeleton = {"name": "s", "type": "skeleton", "sublabels": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(ValidationFailed) as refused:
        rules.apply_labels(db, task, [*_labels(19, "more"), skeleton])
    assert "labels" in refused.value.errors
    rules.apply_labels(db, task, _labels(20, "more"))
    total = db.scalar(select(func.count()).select_from(Label).where(Label.task_id == task.id))
    assert total == MAX_LABELS
