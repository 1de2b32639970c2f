"""Sign-in, the tasks page, the task page and what the pages must never do."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.media import write_images
from tests.support.resources import new_user, unique
from tests.ui.conftest import login_context
from tests.ui.helpers import add_share_data, jobs_of

pytestmark = pytest.mark.xdist_group("ui")

CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'"


@pytest.fixture
def task_with_data(api, share_dir):
    """A task with 5 frames from the share, segment size 2 → jobs 0-1, 2-3, 4."""
    write_images(share_dir, [f"f{i}.jpg" for i in range(5)])
    task = api.post(
        "/api/tasks",
        json={
            "name": unique("ui-page"),
            "labels": [{"name": "car"}],
            "segment_size": 2,
            "bug_tracker": "https://tracker.example.com/issues/9",
        },
    ).json()
    return add_share_data(api, task["id"], [f"{share_dir.name}/"])


def test_login_and_logout(browser, ui_server):
    name, password = new_user(ui_server)
    context = login_context(browser, ui_server, auth=None)
    page = context.new_page()
    try:
        page.goto("/tasks?search=x")
        page.wait_for_url("**/login?next=*")
        page.get_by_label("Username or email").fill(name)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#form-errors")).to_have_text(
            "Unable to log in with provided credentials."
        )
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/tasks?search=x")
        expect(page.locator("#username")).to_have_text(name)
        page.get_by_role("button", name=name).click()
        page.get_by_role("menuitem", name="Logout").click()
        page.wait_for_url("**/login")
        page.goto("/projects")
        page.wait_for_url("**/login?next=%2Fprojects")
    finally:
        context.close()


def test_root_redirect_headers_and_open_redirects(ui_server, api):
    anonymous = httpx.Client(base_url=ui_server.url)
    root = anonymous.get("/")
    assert (root.status_code, root.headers["location"]) == (302, "/tasks")
    page = anonymous.get("/login")
    assert page.headers["content-security-policy"].startswith(CSP)
    assert page.headers["x-content-type-options"] == "nosniff"
    assert anonymous.get("/tasks").headers["location"] == "/login?next=%2Ftasks"
    assert anonymous.get("/static/js/api.js").status_code == 200
    assert anonymous.get("/static/logo.svg").status_code == 200
    # Signed in, /login sends you on, but only to a path of this site.
    cookies = dict(api.cookies)
    for target, expected in [
        ("/projects", "/projects"),
        ("//evil.example", "/tasks"),
        ("https://evil.example", "/tasks"),
    ]:
        answer = httpx.get(f"{ui_server.url}/login", params={"next": target}, cookies=cookies)
        assert answer.headers["location"] == expected
    assert httpx.get(f"{ui_server.url}/tasks/", cookies=cookies).headers["location"] == "/tasks"


def test_tasks_page_shows_thumbnail_progress_and_filters(page, api, task_with_data):
    task = task_with_data
    prefix = task["name"].split("-")[-1]
    other = api.post("/api/tasks", json={"name": f"zz-{prefix}-other", "labels": []}).json()
    page.goto("/tasks")
    row = page.locator(f".task-row[data-task-id='{task['id']}']")
    expect(row.locator(".row-title")).to_have_text(f"#{task['id']}: {task['name']}")
    expect(row.locator(".jobs-text")).to_have_text("0 of 3 jobs")
    expect(row.locator(".status-label")).to_have_text("Pending")
    expect(row.locator(".job-count")).to_contain_text("3 jobs")
    thumb = row.locator(".thumb:not(.empty) img")  # "empty" goes once the image loaded
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")

    page.get_by_placeholder("Search by name").fill(task["name"])
    expect(page.locator(".task-row")).to_have_count(1)
    expect(page).to_have_url(f"{page.url.split('?')[0]}?search={task['name']}")
    page.get_by_placeholder("Search by name").fill(prefix)
    expect(page.locator(".task-row")).to_have_count(2)
    page.get_by_label("Status").select_option("completed")
    expect(page.locator(".empty-state")).to_contain_text("No tasks match")
    page.get_by_label("Status").select_option("")
    expect(page.locator(".task-row")).to_have_count(2)

    # Delete asks first; Cancel keeps the task.
    other_row = page.locator(f".task-row[data-task-id='{other['id']}']")
    other_row.get_by_role("button", name=f"Delete task #{other['id']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert api.get(f"/api/tasks/{other['id']}").status_code == 200
    other_row.get_by_role("button", name=f"Delete task #{other['id']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".task-row")).to_have_count(1)
    assert api.get(f"/api/tasks/{other['id']}").status_code == 404


def test_tasks_page_paginates(page, api):
    prefix = unique("ui-many")
    for index in range(12):
        api.post("/api/tasks", json={"name": f"{prefix}-{index:02d}", "labels": []})
    page.goto(f"/tasks?search={prefix}")
    expect(page.locator(".task-row")).to_have_count(10)
    expect(page.locator(".page-info")).to_have_text("Page 1 of 2")
    page.get_by_role("button", name="Next ›").click()
    expect(page.locator(".task-row")).to_have_count(2)
    expect(page).to_have_url(f"{page.url.split('?')[0]}?search={prefix}&page=2")
    expect(page.locator(".task-row .row-title").first).to_contain_text(f"{prefix}-01")


def test_task_page_shows_details_jobs_and_issue_tracker(page, api, task_with_data):
    task = task_with_data
    page.goto(f"/tasks/{task['id']}")
    expect(page.locator("#task-title")).to_contain_text(task["name"])
    params = page.locator("#params")
    expect(params).to_contain_text("Segment size2")
    expect(params).to_contain_text("Size5 frames")
    expect(params).to_contain_text("Frame range0–4, step 1")
    expect(page.locator("#preview-box .preview-large:not(.empty) img")).to_be_visible()

    link = page.get_by_role("link", name="Open the issue")
    expect(link).to_have_attribute("href", "https://tracker.example.com/issues/9")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")

    rows = page.locator(".jobs-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator(".job-frames")).to_have_text(["0–1 (2)", "2–3 (2)", "4–4 (1)"])
    first = jobs_of(api, task["id"])[0]
    page.get_by_label(f"Stage of job #{first['id']}").select_option("validation")
    expect(page.locator(".toast").last).to_contain_text("stage is now validation")
    assert jobs_of(api, task["id"])[0]["stage"] == "validation"
    page.get_by_label(f"State of job #{first['id']}").select_option("in progress")
    expect(page.locator(".toast").last).to_contain_text("state is now in progress")
    assert jobs_of(api, task["id"])[0]["state"] == "in progress"

    # The issue tracker: bad value refused in the page, empty value clears it.
    page.get_by_role("button", name="Edit issue tracker").click()
    editor = page.get_by_label("issue tracker")
    editor.fill("javascript:alert(1)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#issue-tracker .field-error")).to_have_text(
        "Issue tracker is expected to be URL"
    )
    editor.fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#issue-tracker")).to_contain_text("Not specified")
    assert api.get(f"/api/tasks/{task['id']}").json()["bug_tracker"] == ""

    # The name is editable in place.
    page.get_by_role("button", name="Edit task name").click()
    page.get_by_label("task name").fill(task["name"] + " renamed")
    page.get_by_label("task name").press("Enter")
    expect(page.locator("#task-title")).to_contain_text("renamed")
    assert api.get(f"/api/tasks/{task['id']}").json()["name"].endswith(" renamed")
    expect(page.locator("#repository")).to_have_text("Not configured")


def test_user_data_is_never_markup(page, api):
    name = '<img src=x onerror="window.__xss=1"><b>bold</b>'
    task = api.post("/api/tasks", json={"name": name, "labels": [{"name": "<i>x</i>"}]}).json()
    page.goto(f"/tasks?search={task['name'][:12]}")
    row = page.locator(f".task-row[data-task-id='{task['id']}']")
    expect(row.locator(".row-title")).to_contain_text("<img src=x")
    page.goto(f"/tasks/{task['id']}")
    expect(page.locator("#task-title")).to_contain_text("<b>bold</b>")
    expect(page.locator(".label-item")).to_contain_text("<i>x</i>")
    assert page.locator("#main img[src='x'], #main b, #main i").count() == 0
    assert page.evaluate("window.__xss") is None


def test_a_missing_task_says_so(page):
    page.goto("/tasks/999999")
    expect(page.locator("#notice")).to_have_text("Task #999999 was not found.")
