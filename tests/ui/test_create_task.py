"""The create-task page, driven like a user: every source of files, the labels
constructor, the advanced options, client validation and failed creations.
What the page did is checked through the REST API."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support.media import write_garbage, write_images
from tests.support.resources import unique
from tests.support.static_http import serve_directory
from tests.ui.helpers import (
    CREATION_TIMEOUT_MS,
    add_attribute,
    jobs_of,
    labels_of,
    meta_of,
    open_create_page,
    start_label,
    submit_and_wait,
    task_by_name,
    wait_creation,
)

pytestmark = pytest.mark.xdist_group("ui")


def test_create_from_my_computer_with_constructor_labels_and_advanced_options(page, api, tmp_path):
    images = write_images(tmp_path, [f"img{i}.jpg" for i in range(5)])
    name = unique("ui-local")
    open_create_page(page)
    page.get_by_label("Name").fill(name)

    form = start_label(page, "car", "#ff0000")
    row = add_attribute(form, "color", "select", ["red", "green", "blue", "black"])
    chips = row.locator(".chip")
    expect(chips).to_have_count(4)
    row.get_by_role("button", name="Remove value green").click()  # the x removes
    row.get_by_label("Attribute values").press("Backspace")  # Backspace removes the last
    expect(chips).to_have_count(2)
    row.get_by_label("Default value").select_option("blue")
    add_attribute(form, "speed", "number", "0;120;5", mutable=True)
    add_attribute(form, "parked", "checkbox", "true")
    form.get_by_role("button", name="Continue").click()

    form = page.locator(".label-form")  # Continue opened a fresh form
    expect(form.get_by_label("Label name")).to_have_value("")
    form.get_by_label("Label name").fill("person")
    add_attribute(form, "note", "text", "n/a")
    form.get_by_role("button", name="Done").click()
    items = page.locator(".labels-editor .label-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("car")
    expect(items.first.get_by_role("button", name="Update attributes")).to_be_visible()
    expect(items.first.get_by_role("button", name="Delete label")).to_be_visible()

    page.locator("#file-input").set_input_files([str(p) for p in images])
    expect(page.locator("#file-list .file-item")).to_have_count(5)
    page.get_by_text("Advanced configuration").click()
    page.get_by_label("Segment size").fill("2")
    page.get_by_label("Overlap size").fill("1")
    page.get_by_label("Image quality").fill("55")
    page.get_by_label("Subset").fill("Train")
    page.get_by_label("Issue tracker").fill("https://tracker.example.com/issues/7")
    task_id = submit_and_wait(page)
    expect(page.locator("#flash")).to_contain_text(name)
    expect(page.locator(".jobs-table tbody tr")).to_have_count(4)

    task = task_by_name(api, name)
    assert task["id"] == task_id
    assert (task["segment_size"], task["overlap"], task["image_quality"]) == (2, 1, 55)
    assert task["size"] == 5 and task["subset"] == "Train"
    assert task["bug_tracker"] == "https://tracker.example.com/issues/7"
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs_of(api, task["id"])] == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
    ]
    assert [f["name"] for f in meta_of(api, task["id"])["frames"]] == [p.name for p in images]
    car, person = labels_of(api, task_id=task["id"])
    assert (car["name"], car["color"], person["name"]) == ("car", "#ff0000", "person")
    attrs = {a["name"]: a for a in car["attributes"]}
    assert attrs["color"]["input_type"] == "select"
    assert attrs["color"]["values"] == ["red", "blue"]
    assert attrs["color"]["default_value"] == "blue"
    assert attrs["color"]["mutable"] is False
    assert attrs["speed"]["input_type"] == "number"
    assert attrs["speed"]["values"] == ["0", "120", "5"]
    assert attrs["speed"]["mutable"] is True
    assert (attrs["parked"]["input_type"], attrs["parked"]["values"]) == ("checkbox", ["true"])
    note = person["attributes"][0]
    assert (note["input_type"], note["values"], note["default_value"]) == ("text", ["n/a"], "n/a")


def test_create_from_the_connected_share_with_copy_data(page, api, share_dir):
    write_images(share_dir / "set", ["a.jpg", "b.jpg", "c.jpg"])
    write_images(share_dir, ["single.jpg"])
    name = unique("ui-share")
    open_create_page(page)
    page.get_by_label("Name").fill(name)
    form = start_label(page, "tree")
    form.get_by_role("button", name="Done").click()

    expect(page.locator("#copy-data-field")).to_be_hidden()
    page.get_by_role("tab", name="Connected file share").click()
    page.get_by_text("Advanced configuration").click()
    expect(page.get_by_label("Copy data")).to_be_visible()
    page.get_by_role("button", name=f"Expand {share_dir.name}").click()
    page.get_by_label(f"Select {share_dir.name}/set/").check()
    page.get_by_role("button", name="Expand set").click()
    expect(page.get_by_label(f"Select {share_dir.name}/set/a.jpg")).to_be_disabled()
    page.get_by_label("Copy data").check()
    submit_and_wait(page)

    task = task_by_name(api, name)
    meta = meta_of(api, task["id"])
    assert task["size"] == 3
    assert meta["storage"] == "local"  # copied in
    assert [f["name"] for f in meta["frames"]] == [
        f"{share_dir.name}/set/{n}" for n in ("a.jpg", "b.jpg", "c.jpg")
    ]


def test_create_from_a_remote_source(page, api, tmp_path):
    write_images(tmp_path, ["r0.jpg", "r1.jpg"])
    name = unique("ui-remote")
    with serve_directory(tmp_path) as base:
        open_create_page(page)
        page.get_by_label("Name").fill(name)
        start_label(page, "dog").get_by_role("button", name="Done").click()
        page.get_by_role("tab", name="Remote source").click()
        page.get_by_label("URLs, one per line").fill(f"{base}/r0.jpg\n\n{base}/r1.jpg\n")
        submit_and_wait(page)
    task = task_by_name(api, name)
    assert task["size"] == 2
    assert [f["name"] for f in meta_of(api, task["id"])["frames"]] == ["r0.jpg", "r1.jpg"]


def test_client_validation_blocks_bad_input_before_anything_is_created(page, api):
    before = api.get("/api/tasks").json()["count"]
    open_create_page(page)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-field='name'] > .field-error")).to_have_text("A task needs a name.")
    expect(page.locator("[data-field='labels'] > .field-error")).to_contain_text(
        "at least one label"
    )
    expect(page.locator("[data-field~='files'] > .field-error")).to_have_text(
        "Select at least one file."
    )

    page.get_by_label("Name").fill(unique("ui-invalid"))
    form = start_label(page, "car")
    row = add_attribute(form, "speed", "number", "10;5;1")
    form.get_by_role("button", name="Done").click()
    expect(row.locator(".field-error")).to_have_text("The minimum must be less than the maximum.")
    row.get_by_label("Attribute values").fill("0;10;20")
    form.get_by_role("button", name="Done").click()
    expect(row.locator(".field-error")).to_have_text(
        "The step must be positive and at most max - min."
    )
    row.get_by_label("Attribute values").fill("0;10;2")
    form.get_by_role("button", name="Done").click()
    expect(page.locator(".label-form")).to_have_count(0)

    page.get_by_text("Advanced configuration").click()
    page.get_by_label("Segment size").fill("5")
    page.get_by_label("Overlap size").fill("5")
    page.get_by_label("Issue tracker").fill("not a url")
    page.get_by_label("Image quality").fill("3")
    page.get_by_label("Dataset repository").fill("https://github.com/user/repos [a.json]")
    page.get_by_label("Start frame").fill("4")
    page.get_by_label("Stop frame").fill("2")
    page.get_by_role("tab", name="Remote source").click()
    page.get_by_label("URLs, one per line").fill("ftp://example.com/a.jpg")
    page.get_by_role("button", name="Submit").click()

    def error(field):
        return page.locator(f"[data-field~='{field}'] > .field-error")

    expect(error("overlap")).to_have_text("Segment size must be more than overlap size")
    expect(error("bug_tracker")).to_have_text("Issue tracker is expected to be URL")
    expect(error("image_quality")).to_contain_text("from 5 to 100")
    expect(error("dataset_repository")).to_contain_text(".zip or .xml")
    expect(error("stop_frame")).to_have_text("Stop frame must be more or equal start frame")
    expect(error("files")).to_contain_text("Line 1 is not an http(s) URL")
    assert api.get("/api/tasks").json()["count"] == before


def test_server_errors_are_shown_next_to_the_fields_they_name(page):
    open_create_page(page)
    page.route(
        "**/api/tasks",
        lambda route: (
            route.fulfill(
                status=400,
                content_type="application/json",
                body=json.dumps(
                    {
                        "segment_size": ["Too big for this server."],
                        "labels[0].name": ["Taken."],
                        "non_field_errors": ["Something else."],
                    }
                ),
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.get_by_label("Name").fill(unique("ui-server-errors"))
    start_label(page, "car").get_by_role("button", name="Done").click()
    page.get_by_role("tab", name="Remote source").click()
    page.get_by_label("URLs, one per line").fill("http://127.0.0.1:9/a.jpg")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-field='segment_size'] .field-error")).to_have_text(
        "Too big for this server."
    )
    expect(page.locator("#advanced")).to_have_attribute("open", "")
    expect(page.locator("[data-field='labels'] > .field-error")).to_have_text("[0].name: Taken.")
    expect(page.locator("#form-errors")).to_have_text("Something else.")


def test_failed_creation_shows_the_reason_and_offers_retry_or_delete(page, api, tmp_path):
    broken = write_garbage(tmp_path / "broken.jpg")
    good = write_images(tmp_path / "good", ["ok0.jpg", "ok1.jpg"])
    name = unique("ui-fail")
    open_create_page(page)
    page.get_by_label("Name").fill(name)
    start_label(page, "car").get_by_role("button", name="Done").click()
    page.locator("#file-input").set_input_files([str(broken)])
    page.get_by_role("button", name="Submit").click()

    status = page.locator("#creation-status")
    expect(status.locator("#status-title")).to_have_text(
        "Creation failed", timeout=CREATION_TIMEOUT_MS
    )
    reason = status.locator("#status-message").inner_text()
    assert reason and "broken.jpg" in reason
    expect(page.get_by_role("button", name="Retry upload")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    task = task_by_name(api, name)
    assert task["creation_request"]["status"] == "failed"
    assert task["creation_request"]["message"] == reason

    # The tasks page and the task page show the failure and its reason too.
    other = page.context.new_page()
    other.goto(f"/tasks?search={name}")
    expect(other.locator(".task-row .creation.failed")).to_contain_text(reason)
    other.goto(f"/tasks/{task['id']}")
    expect(other.locator("#creation-status")).to_contain_text("Data creation failed")
    expect(other.locator("#status-message")).to_have_text(reason)
    other.close()

    # Retry with good files: the same task gets its data.
    page.get_by_role("button", name="Remove all").click()
    page.locator("#file-input").set_input_files([str(p) for p in good])
    assert submit_and_wait(page, "Retry upload") == task["id"]
    expect(page.locator("#creation-status")).to_be_hidden()
    again = task_by_name(api, name)
    assert again["id"] == task["id"] and again["size"] == 2


def test_a_failed_task_can_be_deleted_from_the_form(page, api, tmp_path):
    broken = write_garbage(tmp_path / "junk.png")
    name = unique("ui-fail-del")
    open_create_page(page)
    page.get_by_label("Name").fill(name)
    start_label(page, "car").get_by_role("button", name="Done").click()
    page.locator("#file-input").set_input_files([str(broken)])
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status-title")).to_have_text(
        "Creation failed", timeout=CREATION_TIMEOUT_MS
    )
    task_id = task_by_name(api, name)["id"]
    page.get_by_role("button", name="Delete the task").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("button", name="Submit")).to_be_enabled()
    expect(page.get_by_label("Name")).to_be_enabled()
    assert api.get(f"/api/tasks/{task_id}").status_code == 404


def test_big_files_go_through_tus_and_resume_after_an_error(page, api, tmp_path):
    """The upload module with small limits: bulk groups, TUS chunks, a failed chunk resumed."""
    task = api.post("/api/tasks", json={"name": unique("ui-tus"), "labels": [{"name": "a"}]}).json()
    images = write_images(tmp_path, ["t0.jpg", "t1.jpg", "t2.jpg"], base=(120, 90))
    page.goto("/tasks")
    patches = []

    def flaky(route):
        if route.request.method != "PATCH":
            route.continue_()
            return
        patches.append(route.request.headers.get("upload-offset"))
        if len(patches) == 2:
            route.abort()  # a network error in the middle of a file
        else:
            route.continue_()

    page.route(f"**/api/tasks/{task['id']}/data/*", flaky)
    payload = [{"name": p.name, "bytes": list(p.read_bytes())} for p in images]
    sizes = [len(item["bytes"]) for item in payload]
    rq_id = page.evaluate(
        """async ({taskId, files, bulkLimit}) => {
            const {uploadTaskData} = await import('/static/js/upload.js');
            const list = files.map(
                (f) => new File([new Uint8Array(f.bytes)], f.name, {type: 'image/jpeg'}));
            return uploadTaskData(taskId, list, {image_quality: 70, sorting_method: 'predefined'},
                                  {bulkLimit, chunkSize: 1024});
        }""",
        {"taskId": task["id"], "files": payload, "bulkLimit": min(sizes)},
    )
    assert rq_id
    done = wait_creation(api, task["id"])
    assert done["creation_request"]["status"] == "finished", done["creation_request"]
    assert done["size"] == 3
    # Predefined order is the order given, although TUS files were sent last.
    assert [f["name"] for f in meta_of(api, task["id"])["frames"]] == [p.name for p in images]
    assert len(patches) > 3


def test_drag_and_drop_adds_files_and_a_manifest_needs_use_cache(page):
    open_create_page(page)
    page.evaluate(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(['x'], 'a.jpg', {type: 'image/jpeg'}));
            transfer.items.add(new File(['{}'], 'manifest.jsonl', {type: 'application/json'}));
            const zone = document.getElementById('dropzone');
            const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
            zone.dispatchEvent(new DragEvent('dragover', init));
            zone.dispatchEvent(new DragEvent('drop', init));
        }"""
    )
    expect(page.locator("#file-list .file-name")).to_have_text(["a.jpg", "manifest.jsonl"])
    expect(page.locator("#file-count")).to_have_text("2 files, 3 B")
    page.get_by_label("Name").fill(unique("ui-drop"))
    start_label(page, "car").get_by_role("button", name="Done").click()
    page.get_by_text("Advanced configuration").click()
    page.get_by_role("checkbox", name="Use cache").uncheck()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-field~='files'] > .field-error")).to_have_text(
        "A manifest file can only be attached with “Use cache” on."
    )
    page.get_by_role("button", name="Remove manifest.jsonl").click()
    expect(page.locator("#file-list .file-item")).to_have_count(1)
