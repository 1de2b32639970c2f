"""The job page (/jobs/{id}): draw, select, move, delete and relabel rectangles,
frame navigation, saving with the version in If-Match (412 when stale), stored XSS, axe-core,
and CVAT's job URL with ``?frame=N``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_user
from tests.media_pipeline.test_point_cloud_tasks import scenes
from tests.support.media import write_images
from tests.support.resources import unique, user_id
from tests.support.server import ADMIN
from tests.ui.conftest import login_context
from tests.ui.helpers import add_share_data, jobs_of, labels_of
from tests.ui.test_security_a11y import serious_violations

pytestmark = pytest.mark.xdist_group("ui")

XSS = "<img src=x onerror=window.__xss=1>"
CAR_ATTRIBUTES = [
    {
        "name": "color",
        "mutable": False,
        "input_type": "select",
        "default_value": "blue",
        "values": ["red", "blue"],
    },
    {
        "name": "parked",
        "mutable": True,
        "input_type": "checkbox",
        "default_value": "false",
        "values": ["false"],
    },
]


def make_job(api, share_dir, labels: list[dict]) -> dict:
    """A task with 3 generated images (320x240, 321x241, 322x242): its one job,
    with ``labels`` as ``{name: label}``."""
    write_images(share_dir, [f"f{i}.jpg" for i in range(3)], (320, 240))
    answer = api.post("/api/tasks", json={"name": unique("ui-annot"), "labels": labels})
    assert answer.status_code == 201, answer.text
    task = answer.json()
    add_share_data(api, task["id"], [f"{share_dir.name}/"])
    job = jobs_of(api, task["id"])[0]
    job["labels"] = {label["name"]: label for label in labels_of(api, task_id=task["id"])}
    return job


@pytest.fixture
def job(api, share_dir) -> dict:
    return make_job(
        api, share_dir, [{"name": "car", "attributes": CAR_ATTRIBUTES}, {"name": "person"}]
    )


def rectangle(frame: int, label_id: int, points: list[float]) -> dict:
    return {
        "type": "rectangle",
        "frame": frame,
        "label_id": label_id,
        "points": points,
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0,
        "attributes": [],
        "group": 0,
        "source": "manual",
    }


def put_shapes(api, job_id: int, shapes: list[dict]) -> dict:
    answer = api.put(
        f"/api/jobs/{job_id}/annotations", json={"tags": [], "shapes": shapes, "tracks": []}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def saved(api, job_id: int) -> dict:
    answer = api.get(f"/api/jobs/{job_id}/annotations")
    answer.raise_for_status()
    return answer.json()


def open_job(page: Page, job_id: int) -> None:
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    wait_image(page)


def wait_image(page: Page) -> None:
    page.wait_for_function(
        "() => { const i = document.getElementById('frame-image');"
        " return i.complete && i.naturalWidth > 0; }"
    )


def to_screen(page: Page, x: float, y: float) -> tuple[float, float]:
    """Image coordinates to page coordinates, from the image's box and natural size."""
    box = page.locator("#frame-image").bounding_box()
    assert box is not None
    width, height = page.evaluate(
        "() => { const i = document.getElementById('frame-image');"
        " return [i.naturalWidth, i.naturalHeight]; }"
    )
    return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*to_screen(page, *start))
    page.mouse.down()
    page.mouse.move(*to_screen(page, *end), steps=6)
    page.mouse.up()


def draw(page: Page, points: list[float], *, key: bool = True) -> None:
    if key:
        page.keyboard.press("n")
    else:
        page.get_by_role("button", name="Rectangle", exact=True).click()
    expect(page.get_by_role("button", name="Rectangle", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    drag(page, (points[0], points[1]), (points[2], points[3]))


def objects(page: Page):
    return page.locator("#objects .annot-object")


def assert_close(actual: list[float], expected: list[float], tolerance: float = 1.5) -> None:
    assert len(actual) == len(expected), actual
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        actual,
        expected,
    )


def save(page: Page) -> None:
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_contain_text("Saved")
    expect(page.locator("#modified")).to_be_hidden()


def test_draw_a_rectangle_and_save(page, api, job):
    car = job["labels"]["car"]
    open_job(page, job["id"])
    expect(page.locator("#frame-number")).to_have_value("0")
    expect(page.locator("#label-select")).to_have_value(str(car["id"]))
    draw(page, [40, 30, 200, 150], key=False)
    expect(objects(page)).to_have_count(1)
    expect(objects(page).first).to_contain_text("car")
    expect(page.locator("#modified")).to_be_visible()
    save(page)

    shapes = saved(api, job["id"])["shapes"]
    assert len(shapes) == 1
    shape = shapes[0]
    assert (shape["type"], shape["frame"], shape["label_id"]) == ("rectangle", 0, car["id"])
    assert_close(shape["points"], [40, 30, 200, 150])
    # Every attribute of the label with its default, mutable or not, as CVAT's UI sends.
    specs = {spec["name"]: spec["id"] for spec in car["attributes"]}
    assert sorted((a["spec_id"], a["value"]) for a in shape["attributes"]) == sorted(
        [(specs["color"], "blue"), (specs["parked"], "false")]
    )
    # A click (no drag) in draw mode starts a two-click rectangle; a second click at the
    # same place draws nothing. Clamped to the image when dragged out.
    draw(page, [100, 100, 100.5, 100.5])
    expect(page.locator("#status")).to_contain_text("opposite corner")
    page.mouse.click(*to_screen(page, 100.5, 100.5))
    expect(page.locator("#status")).to_contain_text("too small")
    draw(page, [250, 180, 400, 400])
    save(page)
    points = sorted(s["points"] for s in saved(api, job["id"])["shapes"])
    assert_close(points[1], [250, 180, 320, 240])


def test_frames_navigation_and_reload(page, api, job):
    person = job["labels"]["person"]
    open_job(page, job["id"])
    frame = page.locator("#frame-number")
    prev, nxt = (page.get_by_role("button", name=n) for n in ("Previous frame", "Next frame"))
    expect(prev).to_be_disabled()
    page.keyboard.press("f")
    expect(frame).to_have_value("1")
    expect(page.locator("#frame-name")).to_have_text(re.compile(r"f1\.jpg$"))
    page.keyboard.press("ArrowRight")
    expect(frame).to_have_value("2")
    expect(nxt).to_be_disabled()
    page.keyboard.press("d")
    expect(frame).to_have_value("1")
    wait_image(page)
    page.locator("#label-select").select_option(str(person["id"]))
    page.locator("#frame-name").click()  # leave the select: keys are not for it
    draw(page, [10, 20, 110, 120])
    expect(objects(page)).to_have_count(1)
    prev.click()
    expect(frame).to_have_value("0")
    expect(objects(page)).to_have_count(0)
    page.keyboard.press("ArrowLeft")  # nothing before the first frame
    expect(frame).to_have_value("0")
    wait_image(page)
    draw(page, [50, 60, 150, 160])
    page.keyboard.press("Control+s")
    expect(page.locator("#status")).to_contain_text("Saved")

    page.reload()
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    expect(objects(page)).to_have_count(1)
    expect(objects(page).first).to_contain_text("person")
    nxt.click()
    expect(frame).to_have_value("1")
    expect(objects(page)).to_have_count(1)
    frame.fill("2")
    frame.press("Enter")
    expect(page.locator("#frame-name")).to_have_text(re.compile(r"f2\.jpg$"))
    expect(objects(page)).to_have_count(0)

    shapes = sorted(saved(api, job["id"])["shapes"], key=lambda s: s["frame"])
    assert [(s["frame"], s["label_id"]) for s in shapes] == [(0, person["id"]), (1, person["id"])]
    assert_close(shapes[0]["points"], [50, 60, 150, 160])
    assert_close(shapes[1]["points"], [10, 20, 110, 120])


def test_select_delete_move_and_relabel(page, api, job):
    car, person = job["labels"]["car"], job["labels"]["person"]
    put_shapes(
        api,
        job["id"],
        [rectangle(0, car["id"], [20, 20, 100, 80]), rectangle(0, car["id"], [150, 100, 250, 200])],
    )
    open_job(page, job["id"])
    expect(objects(page)).to_have_count(2)
    page.mouse.click(*to_screen(page, 60, 50))  # the first box, on the image
    selected = page.locator("#objects .annot-object[aria-pressed='true']")
    expect(selected).to_have_count(1)
    page.keyboard.press("Delete")
    expect(objects(page)).to_have_count(1)

    objects(page).first.click()  # select from the list
    expect(selected).to_have_count(1)
    page.locator("#label-select").select_option(str(person["id"]))
    expect(objects(page).first).to_contain_text("person")
    drag(page, (200, 150), (220, 160))  # move it by (20, 10)
    save(page)

    shapes = saved(api, job["id"])["shapes"]
    assert len(shapes) == 1
    assert shapes[0]["label_id"] == person["id"]
    assert shapes[0]["attributes"] == []
    assert_close(shapes[0]["points"], [170, 110, 270, 210])


def test_a_save_after_someone_elses_merges_both(page, api, job):
    car = job["labels"]["car"]
    open_job(page, job["id"])
    draw(page, [10, 10, 90, 90])
    expect(objects(page)).to_have_count(1)
    # Someone else saves meanwhile: the version the page loaded is stale.
    theirs = put_shapes(api, job["id"], [rectangle(0, car["id"], [200, 150, 300, 220])])

    save(page)
    stored = saved(api, job["id"])
    assert stored["version"] > theirs["version"]
    assert sorted(s["points"] for s in stored["shapes"]) == [
        [10.0, 10.0, 90.0, 90.0],
        [200.0, 150.0, 300.0, 220.0],
    ]
    expect(objects(page)).to_have_count(2)  # theirs is shown too


def test_label_names_render_as_text(page, api, share_dir):
    job = make_job(api, share_dir, [{"name": XSS}])
    label = job["labels"][XSS]
    put_shapes(api, job["id"], [rectangle(0, label["id"], [20, 20, 100, 80])])
    open_job(page, job["id"])
    expect(page.locator("#label-select option")).to_have_text([XSS])
    expect(page.locator("#objects .annot-object-label")).to_have_text([XSS])
    draw(page, [120, 120, 200, 200])
    expect(page.locator("#objects .annot-object-label")).to_have_text([XSS, XSS])
    assert page.locator("#main img[src='x']").count() == 0
    assert page.evaluate("() => window.__xss") is None


def test_task_page_links_to_the_jobs(page, job):
    page.goto(f"/tasks/{job['task_id']}")
    page.get_by_role("link", name=f"Open job #{job['id']}").click()
    page.wait_for_url(f"**/jobs/{job['id']}")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    expect(page.locator("#job-title")).to_contain_text(f"Job #{job['id']}")
    expect(page.locator("#back-link")).to_have_attribute("href", f"/tasks/{job['task_id']}")


def test_axe_on_the_job_page(browser, ui_server, api, job, axe_script):
    put_shapes(api, job["id"], [rectangle(0, job["labels"]["car"]["id"], [20, 20, 100, 80])])
    # The pages' CSP forbids the injected (inline) axe script: this context bypasses it.
    context = browser.new_context(
        base_url=ui_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(15_000)
    try:
        login = context.request.post(
            "/api/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]}
        )
        assert login.ok, login.text()
        page = context.new_page()
        open_job(page, job["id"])
        objects(page).first.click()
        expect(page.locator("#objects .annot-object[aria-pressed='true']")).to_have_count(1)
        assert serious_violations(page, axe_script) == []
    finally:
        context.close()


def test_a_point_cloud_job_is_not_opened_in_the_2d_view(page, api, share_dir):
    """3D frames are point clouds: the task page offers no 2D view or frame viewer
    for them, and the job page says so instead of showing a broken image."""
    for name, payload in scenes(2).items():
        (share_dir / name).write_bytes(payload)
    answer = api.post("/api/tasks", json={"name": unique("ui-3d"), "labels": [{"name": "car"}]})
    assert answer.status_code == 201, answer.text
    task = answer.json()
    add_share_data(api, task["id"], [f"{share_dir.name}/"])
    assert api.get(f"/api/tasks/{task['id']}").json()["dimension"] == "3d"
    job = jobs_of(api, task["id"])[0]

    page.goto(f"/tasks/{task['id']}")
    expect(page.locator(".jobs-table tbody tr")).to_have_count(1)
    expect(page.locator(".jobs-table .job-open")).to_have_count(0)
    expect(page.locator("#frames-empty")).to_contain_text("no 3D viewer")
    expect(page.locator("#frame-viewer")).to_be_hidden()

    page.goto(f"/jobs/{job['id']}")
    expect(page.locator("#notice")).to_contain_text("3D (point cloud) job")
    expect(page.locator("#job-body")).to_be_hidden()


def test_cvat_job_url_opens_the_job_at_the_requested_frame(browser, ui_server, api, job):
    """``/tasks/{tid}/jobs/{jid}?frame=N`` (FiftyOne sends annotators there) is the job
    view at frame N. Access is the job's: its assignee (a plain user) gets in, whatever
    task id the path names."""

    name, password = make_user(ui_server)
    assignee = api.patch(f"/api/jobs/{job['id']}", json={"assignee": user_id(api, name)})
    assert assignee.status_code == 200, assignee.text
    context = login_context(browser, ui_server, (name, password))
    try:
        page = context.new_page()
        page.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}?frame=2")
        expect(page.locator("#main[data-ready='1']")).to_be_attached()
        expect(page.locator("#job-title")).to_contain_text(f"Job #{job['id']}")
        expect(page.locator("#frame-number")).to_have_value("2")
        expect(page.locator("#frame-name")).to_contain_text("f2.jpg")
        # A frame outside the job opens its first frame; the path's task id is not used.
        page.goto(f"/tasks/999999/jobs/{job['id']}?frame=99")
        expect(page.locator("#main[data-ready='1']")).to_be_attached()
        expect(page.locator("#frame-number")).to_have_value("0")
    finally:
        context.close()
