"""The task page's actions (export, backup, import, move, delete), its frame viewer
and the tasks page's "Create from backup"."""

from __future__ import annotations

import re
import time
import zipfile

import pytest
from playwright.sync_api import expect

from tests.support.media import write_images
from tests.support.resources import create_project, unique
from tests.ui.helpers import add_share_data

pytestmark = pytest.mark.xdist_group("ui")

ONE_BOX = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <image id="0" name="f0.jpg" width="40" height="30">
    <box label="car" source="manual" occluded="0"
         xtl="2.0" ytl="3.0" xbr="20.0" ybr="15.0" z_order="0">
    </box>
  </image>
</annotations>
"""


@pytest.fixture
def task_with_frames(api, share_dir):
    write_images(share_dir, [f"f{i}.jpg" for i in range(3)])
    task = api.post(
        "/api/tasks", json={"name": unique("ui-actions"), "labels": [{"name": "car"}]}
    ).json()
    return add_share_data(api, task["id"], [f"{share_dir.name}/"])


def open_task(page, task_id: int) -> None:
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#task-title .task-name")).to_be_visible()
    expect(page.locator("#export-format option").first).to_be_attached()


def wait_api(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_export_dataset_and_backup_download(page, api, task_with_frames, tmp_path):
    open_task(page, task_with_frames["id"])
    page.get_by_label("Export format").select_option("CVAT for images 1.1")
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Export dataset").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert zipfile.is_zipfile(path)
    assert "annotations.xml" in zipfile.ZipFile(path).namelist()
    expect(page.locator("#action-status")).to_have_text("Export: done")

    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Backup").click()
    backup = tmp_path / "backup.zip"
    info.value.save_as(backup)
    assert zipfile.is_zipfile(backup)
    expect(page.locator("#action-status")).to_have_text("Backup: done")


def test_import_annotations(page, api, task_with_frames, tmp_path):
    task_id = task_with_frames["id"]
    xml = tmp_path / "annotations.xml"
    xml.write_text(ONE_BOX)
    open_task(page, task_id)
    page.get_by_label("Annotations file").set_input_files(str(xml))
    page.get_by_label("Import format").select_option("CVAT 1.1")
    page.get_by_role("button", name="Import annotations").click()
    expect(page.locator("#action-status")).to_have_text("Import: done", timeout=60_000)
    shapes = api.get(f"/api/tasks/{task_id}/annotations/").json()["shapes"]
    assert len(shapes) == 1
    assert shapes[0]["type"] == "rectangle" and shapes[0]["frame"] == 0


def test_import_error_is_shown(page, task_with_frames, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<annotations><image id='0' name='nope.jpg'")
    open_task(page, task_with_frames["id"])
    page.get_by_label("Annotations file").set_input_files(str(bad))
    page.get_by_role("button", name="Import annotations").click()
    expect(page.locator("#action-status.error")).to_be_visible(timeout=60_000)


def test_move_to_project(page, api, task_with_frames):
    project = create_project(api, labels=[{"name": "car"}])
    task_id = task_with_frames["id"]
    open_task(page, task_id)
    page.locator("#move-project").select_option(str(project["id"]))
    page.get_by_role("button", name="Move to project").click()
    expect(page.locator("#action-status")).to_contain_text(f"Moved to project {project['name']}")
    assert api.get(f"/api/tasks/{task_id}").json()["project_id"] == project["id"]
    expect(page.locator("#people")).to_contain_text(project["name"])


def test_delete_with_confirmation(page, api, task_with_frames):
    task_id = task_with_frames["id"]
    open_task(page, task_id)
    page.get_by_role("button", name="Delete task").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/tasks")
    assert api.get(f"/api/tasks/{task_id}").status_code == 404


def test_frame_viewer_steps(page, task_with_frames):
    open_task(page, task_with_frames["id"])
    name = page.locator("#frame-name")
    number = page.get_by_label("Frame", exact=True)
    expect(name).to_have_text(re.compile(r"/f0\.jpg$"))
    src = f"/api/tasks/{task_with_frames['id']}/data/?type=frame&number=0&quality=compressed"
    expect(page.locator("#frame-image")).to_have_attribute("src", src)
    wait_for_image(page)
    expect(page.get_by_role("button", name="Previous frame")).to_be_disabled()
    page.get_by_role("button", name="Next frame").click()
    expect(name).to_have_text(re.compile(r"/f1\.jpg$"))
    expect(number).to_have_value("1")
    page.locator("#frame-box").focus()
    page.keyboard.press("ArrowRight")
    expect(name).to_have_text(re.compile(r"/f2\.jpg$"))
    expect(page.get_by_role("button", name="Next frame")).to_be_disabled()
    page.keyboard.press("ArrowRight")
    expect(name).to_have_text(re.compile(r"/f2\.jpg$"))
    page.keyboard.press("ArrowLeft")
    expect(name).to_have_text(re.compile(r"/f1\.jpg$"))
    number.fill("0")
    number.press("Enter")
    expect(name).to_have_text(re.compile(r"/f0\.jpg$"))
    wait_for_image(page)


def wait_for_image(page):
    page.wait_for_function(
        "() => { const i = document.getElementById('frame-image');"
        " return i.complete && i.naturalWidth > 0; }"
    )


def test_create_from_backup(page, api, task_with_frames, tmp_path):
    task_id = task_with_frames["id"]
    answer = api.post(f"/api/tasks/{task_id}/backup/export")
    assert answer.status_code == 202, answer.text
    rq_id = answer.json()["rq_id"]
    result = {}

    def finished():
        result.update(api.get(f"/api/requests/{rq_id}").json())
        assert result["status"] != "failed", result
        return result["status"] == "finished"

    wait_api(finished)
    archive = tmp_path / "backup.zip"
    download = api.get(result["result_url"])
    assert download.status_code == 200
    archive.write_bytes(download.content)

    page.goto("/tasks")
    # The page's module must have booted (it lists the tasks) before the file is
    # chosen, or its change listener is not there yet on a slow machine.
    expect(page.locator(".task-row").first).to_be_visible()
    page.locator("#backup-file").set_input_files(str(archive))
    page.wait_for_url(re.compile(r"/tasks/\d+$"), timeout=60_000)
    new_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert new_id != task_id
    expect(page.locator("#task-title .task-name")).to_have_text(task_with_frames["name"])
    assert api.get(f"/api/tasks/{new_id}").json()["size"] == 3
