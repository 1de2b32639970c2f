"""Spec 5.4 S5, S6 and S7: projects, lists and deletes, and access tokens through the SDK."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.api_client import exceptions

from tests.support.cvat import sdk_client
from tests.support.media import write_images
from tests.support.resources import unique


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    (path,) = write_images(tmp_path_factory.mktemp("sdk-img"), ["a.jpg"])
    return path


def test_s5_projects(server, image):
    name = unique("p")
    with sdk_client(server) as client:
        project = client.projects.create(
            models.ProjectWriteRequest(name=name, labels=[{"name": "tree"}])
        )
        task = client.tasks.create_from_data(
            spec={"name": "in p", "project_id": project.id}, resources=[str(image)]
        )
        assert task.project_id == project.id and task.size == 1
        assert [x.id for x in project.get_tasks()] == [task.id]
        assert [label.name for label in project.get_labels()] == ["tree"]
        assert [label.name for label in task.get_labels()] == ["tree"]
        assert client.projects.retrieve(project.id).name == name
        project.fetch()
        assert project.tasks.count == 1 and project.dimension == "2d"
        project.remove()
        with pytest.raises(exceptions.NotFoundException):
            client.tasks.retrieve(task.id)


def test_s6_lists_and_deletes(server, caplog):
    marker = unique("sdk")
    with sdk_client(server) as client:
        made = [
            client.tasks.create(models.TaskWriteRequest(name=f"{marker}-{n}", labels=[]))
            for n in range(3)
        ]
        listed = [t.id for t in client.tasks.list()]
        assert {t.id for t in made} <= set(listed) and len(listed) == len(set(listed))
        assert [t.id for t in client.tasks.list(name=f"{marker}-1")] == [made[1].id]
        with caplog.at_level(logging.INFO, logger="cvat_sdk"):
            client.tasks.remove_by_ids([made[0].id, 10**9])
        messages = [r.getMessage() for r in caplog.records if r.name.startswith("cvat_sdk")]
        assert f"Task #{made[0].id} deleted" in messages
        assert f"Task #{10**9} not found" in messages
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        made[1].remove()
        for gone in made[:2]:
            with pytest.raises(exceptions.NotFoundException):
                client.tasks.retrieve(gone.id)
        remaining = {t.id for t in client.tasks.list()}
        assert made[2].id in remaining and not {made[0].id, made[1].id} & remaining


def test_s7_personal_access_token(server):
    with sdk_client(server) as session:
        token, _ = session.api_client.auth_api.create_access_tokens(
            models.AccessTokenWriteRequest(name=unique("s7"))
        )
    with make_client("http://localhost", port=server.port, access_token=token.value) as client:
        assert client.users.retrieve_current_user().username == "admin"
        assert isinstance(client.tasks.list(), list)
        assert not client.api_client.cookies  # no session: the bearer token alone
        # bearer requests skip the CSRF check: writes work too
        task = client.tasks.create(models.TaskWriteRequest(name=unique("s7"), labels=[]))
        assert task.id in [t.id for t in client.tasks.list()]
        me, _ = client.api_client.auth_api.retrieve_access_tokens_self()
        assert me.name == token.name
        task.remove()


# ---- server bugs found while writing these tests, fixed since: they guard against regressions ----


def test_s7_token_expiry_without_a_timezone(server):
    import datetime as dt

    import httpx

    with sdk_client(server) as client:
        try:
            token, _ = client.api_client.auth_api.create_access_tokens(
                models.AccessTokenWriteRequest(
                    name=unique("naive"), expiry_date=dt.datetime(2031, 1, 1, 12)
                )
            )
        except exceptions.ApiException as error:
            pytest.fail(f"naive expiry_date refused: {error.status} {error.body}")
        assert token.expiry_date == dt.datetime(2031, 1, 1, 12, tzinfo=dt.UTC)
    admin = server.client()
    try:
        date_only = admin.post(
            "/api/auth/access_tokens", json={"name": unique("d"), "expiry_date": "2031-01-01"}
        )
    finally:
        admin.close()
    assert date_only.status_code in (201, 400), date_only.text
    if date_only.status_code == 400:
        assert "expiry_date" in date_only.json()
    assert httpx.get(f"{server.url}/api/server/about").status_code == 200


def test_s2_deleting_an_attribute_deletes_its_values(server, image):
    labels = [
        {
            "name": "car",
            "attributes": [
                {"name": "color", "mutable": False, "input_type": "select", "values": ["a", "b"]},
                {
                    "name": "speed",
                    "mutable": True,
                    "input_type": "number",
                    "values": ["0", "9", "1"],
                },
            ],
        }
    ]
    with sdk_client(server) as client:
        task = client.tasks.create_from_data(
            spec={"name": unique("attr"), "labels": labels}, resources=[str(image)]
        )
        (car,) = task.get_labels()
        color, speed = car.attributes

        def value(spec, text):
            return models.AttributeValRequest(spec_id=spec.id, value=text)

        task.set_annotations(
            models.LabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="rectangle",
                        frame=0,
                        label_id=car.id,
                        points=[1, 1, 5, 5],
                        attributes=[value(color, "a"), value(speed, "3")],
                    )
                ],
                tags=[
                    models.LabeledImageRequest(
                        frame=0, label_id=car.id, attributes=[value(color, "b")]
                    )
                ],
                tracks=[
                    models.LabeledTrackRequest(
                        frame=0,
                        label_id=car.id,
                        attributes=[value(color, "b")],
                        shapes=[
                            models.TrackedShapeRequest(
                                type="rectangle",
                                frame=0,
                                points=[1, 1, 4, 4],
                                attributes=[value(speed, "2")],
                            )
                        ],
                    )
                ],
            )
        )
        for attribute in (color, speed):
            client.api_client.labels_api.partial_update(
                car.id,
                patched_label_request=models.PatchedLabelRequest(
                    attributes=[
                        models.AttributeRequest(
                            id=attribute.id,
                            name=attribute.name,
                            mutable=attribute.mutable,
                            input_type=attribute.input_type,
                            values=attribute.values,
                            deleted=True,
                        )
                    ]
                ),
            )
        assert client.api_client.labels_api.retrieve(car.id)[0].attributes == []
        data = task.get_annotations()
        stored = [
            *(a.spec_id for s in data.shapes for a in s.attributes),
            *(a.spec_id for t in data.tags for a in t.attributes),
            *(a.spec_id for t in data.tracks for a in t.attributes),
            *(a.spec_id for t in data.tracks for s in t.shapes for a in s.attributes),
        ]
        assert stored == [], f"values of deleted attributes are still stored: {stored}"
        raw = json.loads(client.api_client.tasks_api.retrieve_annotations(task.id)[1].data)
        for kind in ("shapes", "tags", "tracks"):
            for item in raw[kind]:
                item.pop("id", None)
        task.set_annotations(models.LabeledDataRequest(**raw))  # the round trip


def test_s8_task_dataset_sees_changed_annotations(sqlite_server, tmp_path, monkeypatch):
    from cvat_sdk.datasets import TaskDataset

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    files = [str(p) for p in write_images(tmp_path / "in", ["a.jpg", "b.jpg"])]
    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec={"name": unique("ds"), "labels": [{"name": "car"}], "segment_size": 1},
            resources=files,
        )
        (car,) = task.get_labels()
        job = min(task.get_jobs(), key=lambda j: j.start_frame)

        def box(frame: int) -> models.LabeledShapeRequest:
            return models.LabeledShapeRequest(
                type="rectangle", frame=frame, label_id=car.id, points=[1, 1, 5, 5]
            )

        def shape_counts() -> list[int]:
            return [len(s.annotations.shapes) for s in TaskDataset(client, task.id).samples]

        task.set_annotations(models.LabeledDataRequest(shapes=[box(0)]))
        assert shape_counts() == [1, 0]
        stale = []
        for name, change, expected in [
            (
                "task PUT",
                lambda: task.set_annotations(models.LabeledDataRequest(shapes=[box(0), box(1)])),
                [1, 1],
            ),
            ("task DELETE", lambda: task.remove_annotations(), [0, 0]),
            (
                "job PUT",
                lambda: client.jobs.retrieve(job.id).set_annotations(
                    models.LabeledDataRequest(shapes=[box(0)])
                ),
                [1, 0],
            ),
        ]:
            before = client.tasks.retrieve(task.id).updated_date
            change()
            if client.tasks.retrieve(task.id).updated_date <= before:
                stale.append(f"{name}: the task's updated_date did not advance")
            if shape_counts() != expected:
                stale.append(f"{name}: TaskDataset shows {shape_counts()}, not {expected}")
        assert not stale, stale
