"""The product description, end to end, in one flow on a fresh server.

Sign in; see validation messages; create a task with two labels built in the
Constructor (one attribute of each type, one mutable), switch to Raw and back,
copy the labels, upload images from My computer with every advanced option;
then tasks from the share tab, the remote tab and, from a folder with
per-file progress, inside a project. Submit opens each new task's page. What the
pages did is checked through the REST API, and the pages are saved as the
screenshots the README shows: in a temporary directory (or ``$SCREENSHOTS_DIR``),
never in the work tree; ``scripts/screenshots`` runs this test and copies them
into ``docs/screenshots/``.

The server is a fresh one (ids start at 1), the browser runs in UTC with
``en-US`` and shown dates are pinned, so the screenshots are the same run after
run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import start_server
from tests.support.media import write_images
from tests.support.server import ADMIN, LiveServer
from tests.support.static_http import serve_directory
from tests.ui.conftest import TIMEOUT_MS
from tests.ui.helpers import (
    add_attribute,
    jobs_of,
    labels_of,
    meta_of,
    open_create_page,
    snap,
    start_label,
    submit_and_wait,
    task_by_name,
    wait_task_page,
    watch,
)
from tests.ui.test_annotation_view import draw, save, wait_image
from tests.ui.test_jobs_workflow import finish

pytestmark = pytest.mark.xdist_group("ui")

VIEWPORT = {"width": 1280, "height": 900}

# Every date the pages format shows as this one, whatever the day of the run.
PIN_DATES = """(() => {
  const pinned = new Date('2026-01-15T09:30:00Z');
  const descriptor = Object.getOwnPropertyDescriptor(Intl.DateTimeFormat.prototype, 'format');
  Object.defineProperty(Intl.DateTimeFormat.prototype, 'format', {
    configurable: true,
    get() { const format = descriptor.get.call(this); return () => format(pinned); },
  });
})();"""


def attribute(name: str, input_type: str, values: list[str], *, mutable: bool = False) -> dict:
    """An attribute as the Raw tab shows it; the first value is the default."""
    return {
        "name": name,
        "mutable": mutable,
        "input_type": input_type,
        "values": values,
        "default_value": values[0],
    }


COLOR = attribute("color", "select", ["red", "white", "black"])
BODY = attribute("body", "radio", ["sedan", "van", "truck"])
PARKED = attribute("parked", "checkbox", ["false"])
NOTE = attribute("note", "text", ["none"])
AGE = attribute("age", "number", ["0", "100", "1"], mutable=True)
LABELS = [
    {"name": "car", "color": "#e53935", "type": "any", "attributes": [COLOR, BODY, PARKED]},
    {"name": "person", "color": "#1e88e5", "type": "any", "attributes": [NOTE, AGE]},
]


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(tmp_path_factory.mktemp("walkthrough"), "sqlite")


@pytest.fixture
def fresh_api(fresh_server):
    client = fresh_server.client()
    yield client
    client.close()


@pytest.fixture
def anonymous_page(browser, fresh_server) -> Iterator[Page]:
    """A page with no session, clipboard access, UTC, en-US and pinned dates."""
    context = browser.new_context(
        base_url=fresh_server.url,
        viewport=VIEWPORT,
        device_scale_factor=1,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="light",
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=fresh_server.url)
    context.add_init_script(PIN_DATES)
    page = context.new_page()
    problems = watch(page)
    yield page
    context.close()
    assert not problems, problems


def field_error(page: Page, field: str):
    return page.locator(f"[data-field~='{field}'] > .field-error")


def test_the_product_description_end_to_end(
    anonymous_page, fresh_server, fresh_api, tmp_path, screenshots
):
    page, api = anonymous_page, fresh_api

    # Sign in.
    page.goto("/tasks")
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Username or email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tasks")
    expect(page.locator("#username")).to_have_text(ADMIN[0])

    # Bad values get messages next to their fields, and nothing is created.
    expect(page.locator(".empty-state")).to_be_visible()
    page.locator("#create-task").click()
    page.wait_for_url("**/tasks/create")
    expect(page.locator("#create-task[data-ready='1']")).to_be_attached()
    page.get_by_role("button", name="Submit").click()
    expect(field_error(page, "name")).to_have_text("A task needs a name.")
    expect(field_error(page, "labels")).to_contain_text("at least one label")
    expect(field_error(page, "files")).to_have_text("Select at least one file.")
    page.get_by_text("Advanced configuration").click()
    page.get_by_label("Segment size").fill("3")
    page.get_by_label("Overlap size").fill("3")
    page.get_by_label("Image quality").fill("101")
    page.get_by_label("Start frame").fill("5")
    page.get_by_label("Stop frame").fill("2")
    page.get_by_label("Issue tracker").fill("not a url")
    page.get_by_role("button", name="Submit").click()
    expect(field_error(page, "overlap")).to_have_text("Segment size must be more than overlap size")
    expect(field_error(page, "image_quality")).to_contain_text("from 5 to 100")
    expect(field_error(page, "stop_frame")).to_have_text(
        "Stop frame must be more or equal start frame"
    )
    expect(field_error(page, "bug_tracker")).to_have_text("Issue tracker is expected to be URL")
    assert api.get("/api/tasks").json()["count"] == 0

    # Two labels in the Constructor: one attribute of each of the five types, one mutable.
    open_create_page(page)
    name = "Street scenes"
    page.get_by_label("Name").fill(name)
    form = start_label(page, "car", LABELS[0]["color"])
    add_attribute(form, "color", "select", COLOR["values"])
    add_attribute(form, "body", "radio", BODY["values"])
    add_attribute(form, "parked", "checkbox", "false")
    form.get_by_role("button", name="Continue").click()
    form = page.locator(".label-form")
    expect(form.get_by_label("Label name")).to_have_value("")
    form.get_by_label("Label name").fill("person")
    form.get_by_label("Label color").fill(LABELS[1]["color"])
    add_attribute(form, "note", "text", "none")
    add_attribute(form, "age", "number", "0;100;1", mutable=True)
    snap(page, screenshots, "create-task-constructor")
    form.get_by_role("button", name="Done").click()
    items = page.locator(".labels-editor .label-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("3 attributes")
    expect(items.nth(1)).to_contain_text("2 attributes")

    # Raw shows the same labels as JSON; Copy puts them on the clipboard; back to Constructor.
    page.get_by_role("tab", name="Raw").click()
    raw = page.get_by_label("Labels as JSON")
    assert json.loads(raw.input_value()) == LABELS
    snap(page, screenshots, "create-task-raw")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".toast").last).to_have_text("Labels copied to the clipboard")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == LABELS
    page.get_by_role("tab", name="Constructor").click()
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("car")
    expect(items.nth(1)).to_contain_text("person")

    # Ten images from My computer; every advanced option.
    images = write_images(
        tmp_path / "street", [f"street_{i:02d}.jpg" for i in range(10)], (160, 120)
    )
    page.locator("#file-input").set_input_files([str(p) for p in images])
    expect(page.locator("#file-list .file-item")).to_have_count(10)
    page.get_by_text("Advanced configuration").click()
    expect(page.locator("#advanced")).to_have_attribute("open", "")
    page.get_by_label("Image quality").fill("60")
    page.get_by_label("Overlap size").fill("1")
    page.get_by_label("Segment size").fill("2")
    page.get_by_label("Start frame").fill("1")
    page.get_by_label("Stop frame").fill("8")
    page.get_by_label("Frame step").fill("2")
    page.get_by_label("Chunk size").fill("3")
    page.evaluate(  # the section's title just below the sticky header
        """() => window.scrollTo(0, Math.round(document.getElementById('advanced')
            .getBoundingClientRect().top + window.scrollY - 72))"""
    )
    snap(page, screenshots, "create-task-advanced")
    task_id = submit_and_wait(page)  # Submit opens the new task's page
    expect(page.locator("#flash")).to_contain_text(name)
    expect(page.locator("#task-title")).to_contain_text(name)
    expect(page.locator(".jobs-table tbody tr")).to_have_count(3)

    # The API has exactly those labels, frames 1, 3, 5, 7 and three jobs of two frames.
    task = task_by_name(api, name)
    assert task["id"] == task_id and task["size"] == 4
    assert (task["segment_size"], task["overlap"], task["image_quality"]) == (2, 1, 60)
    assert task["data_chunk_size"] == 3
    meta = meta_of(api, task["id"])
    assert (meta["start_frame"], meta["stop_frame"], meta["frame_filter"]) == (1, 7, "step=2")
    assert [f["name"] for f in meta["frames"]] == [images[i].name for i in (1, 3, 5, 7)]
    jobs = jobs_of(api, task["id"])
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 1), (1, 2), (2, 3)]
    saved = labels_of(api, task_id=task["id"])
    assert [(label["name"], label["color"]) for label in saved] == [
        (label["name"], label["color"]) for label in LABELS
    ]
    for label, expected in zip(saved, LABELS, strict=True):
        attributes = [
            {key: a[key] for key in ("name", "mutable", "input_type", "values", "default_value")}
            for a in label["attributes"]
        ]
        assert attributes == expected["attributes"]

    # From the connected share, and from a remote source.
    write_images(fresh_server.share_root / "parking", ["lot_a.jpg", "lot_b.jpg", "lot_c.jpg"])
    open_create_page(page)
    page.get_by_label("Name").fill("Parking lots (share)")
    start_label(page, "car", "#43a047").get_by_role("button", name="Done").click()
    page.get_by_role("tab", name="Connected file share").click()
    page.get_by_label("Select parking/").check()
    submit_and_wait(page)
    share_task = task_by_name(api, "Parking lots (share)")
    assert share_task["size"] == 3

    remote = write_images(tmp_path / "remote", ["cam_0.jpg", "cam_1.jpg"], (160, 120))
    with serve_directory(remote[0].parent) as base:
        open_create_page(page)
        page.get_by_label("Name").fill("Traffic cameras (remote)")
        start_label(page, "bus", "#fb8c00").get_by_role("button", name="Done").click()
        page.get_by_role("tab", name="Remote source").click()
        page.get_by_label("URLs, one per line").fill(f"{base}/cam_0.jpg\n{base}/cam_1.jpg")
        submit_and_wait(page)
    remote_task = task_by_name(api, "Traffic cameras (remote)")
    assert [f["name"] for f in meta_of(api, remote_task["id"])["frames"]] == [
        "cam_0.jpg",
        "cam_1.jpg",
    ]

    # Inside a project: the project's labels, no label editor.
    project = api.post(
        "/api/projects", json={"name": "Roads", "labels": [{"name": "road", "color": "#8e24aa"}]}
    ).json()
    open_create_page(page, f"/projects/{project['id']}/tasks/create")
    expect(page.get_by_label("Project")).to_have_value(str(project["id"]))
    expect(page.locator("#labels-field")).to_be_hidden()
    page.get_by_label("Name").fill("Highway (project)")
    # A whole folder: its files keep their paths, and each shows its upload to the end.
    highway = tmp_path / "highway"
    write_images(highway / "north", ["km_010.jpg", "km_011.jpg", "km_012.jpg"], (160, 120))
    write_images(highway / "south", ["km_020.jpg", "km_021.jpg"], (160, 120))
    page.locator("#folder-input").set_input_files(str(highway))
    expect(page.locator("#file-list .file-name")).to_have_text(
        [f"highway/north/km_01{i}.jpg" for i in range(3)]
        + [f"highway/south/km_02{i}.jpg" for i in range(2)]
    )
    held = []  # Upload-Finish waits until the screenshot shows every file done
    page.route(
        "**/api/tasks/*/data/",
        lambda route: (
            held.append(route) if "upload-finish" in route.request.headers else route.continue_()
        ),
    )
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#file-list .file-item[data-state='done']")).to_have_count(5)
    expect(page.locator("#status-message")).to_contain_text("5 of 5 files uploaded")
    for _ in range(100):  # the held request reaches the route handler while we wait
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    page.evaluate(  # the files section just below the sticky header
        """() => window.scrollTo(0, Math.round(document.querySelector('[data-field~="files"]')
            .getBoundingClientRect().top + window.scrollY - 72))"""
    )
    snap(page, screenshots, "create-task-files")
    held[0].continue_()
    page.unroute("**/api/tasks/*/data/")
    wait_task_page(page)
    expect(page.locator("#flash")).to_contain_text("Highway (project)")  # shown once
    project_task = task_by_name(api, "Highway (project)")
    assert (project_task["project_id"], project_task["size"]) == (project["id"], 5)
    assert [label["name"] for label in labels_of(api, task_id=project_task["id"])] == ["road"]

    # The tasks page lists them all, with previews and job counts.
    page.goto("/tasks")
    expect(page.locator("#flash")).to_be_empty()
    rows = page.locator(".task-row")
    expect(rows).to_have_count(4)
    row = page.locator(f".task-row[data-task-id='{task['id']}']")
    expect(row.locator(".row-title")).to_have_text(f"#{task['id']}: {name}")
    expect(row.locator(".jobs-text")).to_have_text("0 of 3 jobs")
    expect(page.locator(".task-row .thumb:not(.empty) img")).to_have_count(4)
    snap(page, screenshots, "tasks")

    # The task page shows the parameters and the jobs.
    page.goto(f"/tasks/{task['id']}")
    expect(page.locator("#task-title")).to_contain_text(name)
    params = page.locator("#params")
    expect(params).to_contain_text("Size4 frames")
    expect(params).to_contain_text("Segment size2")
    expect(params).to_contain_text("Frame range1–7, step 2")
    job_rows = page.locator(".jobs-table tbody tr")
    expect(job_rows).to_have_count(3)
    expect(job_rows.locator(".job-frames")).to_have_text(["0–1 (2)", "1–2 (2)", "2–3 (2)"])
    expect(page.locator("#preview-box .preview-large:not(.empty) img")).to_be_visible()
    expect(page.locator(".label-item")).to_have_count(2)
    snap(page, screenshots, "task", full_page=True)

    # The annotation view: the first job's frame, a car drawn on it and saved.
    first_job = jobs_of(api, task["id"])[0]
    page.get_by_role("link", name=f"Open job #{first_job['id']}").click()
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    wait_image(page)
    page.get_by_label("Label").select_option(label="car")
    draw(page, [20, 15, 120, 95])
    save(page)
    shapes = api.get(f"/api/jobs/{first_job['id']}/annotations").json()["shapes"]
    assert [(s["type"], s["frame"]) for s in shapes] == [("rectangle", 0)]
    page.locator("#objects .annot-object").first.click()  # selected, as users see it
    snap(page, screenshots, "job", photo=True)

    # Finish: the admin runs the task, so the job is completed and moves to acceptance.
    finish(page)
    finished = api.get(f"/api/jobs/{first_job['id']}").json()
    assert (finished["stage"], finished["state"]) == ("acceptance", "completed")

    # The Jobs page: the admin's own jobs first, then the others newest first.
    added = fresh_server.run_cli("users", "add", "maria", "--password", "pw-maria-annotates")
    assert added.returncode == 0, added.stderr
    people = {u["username"]: u["id"] for u in api.get("/api/users").json()["results"]}
    jobs = jobs_of(api, task["id"])
    assignments = [
        (first_job["id"], ADMIN[0]),
        (jobs[1]["id"], "maria"),
        (jobs_of(api, share_task["id"])[0]["id"], ADMIN[0]),
        (jobs_of(api, project_task["id"])[0]["id"], "maria"),
    ]
    for job_id, who in assignments:
        answer = api.patch(f"/api/jobs/{job_id}", json={"assignee": people[who]})
        assert answer.status_code == 200, answer.text
    page.goto("/jobs")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    rows = page.locator("#job-list tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.locator(".tag.you")).to_have_count(2)
    expect(rows.first.locator(".job-state")).to_have_text("New")  # the newer of the two
    expect(rows.nth(1).locator(".job-stage")).to_have_text("Acceptance")
    snap(page, screenshots, "jobs")
