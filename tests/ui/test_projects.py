"""Projects: create with labels and an issue tracker, create a task inside, delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.media import write_images
from tests.support.resources import unique
from tests.ui.helpers import (
    add_attribute,
    labels_of,
    open_create_page,
    start_label,
    submit_and_wait,
    task_by_name,
)

pytestmark = pytest.mark.xdist_group("ui")


def test_create_a_project_then_a_task_in_it(page, api, tmp_path):
    name = unique("ui-project")
    page.goto("/projects")
    page.locator("#create-project").click()
    page.wait_for_url("**/projects/create")
    expect(page.locator("#create-project[data-ready='1']")).to_be_attached()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Issue tracker").fill("ftp://nope")
    form = start_label(page, "road")
    add_attribute(form, "lanes", "number", "1;8;1")
    form.get_by_role("button", name="Done").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-field='bug_tracker'] > .field-error")).to_have_text(
        "Issue tracker is expected to be URL"
    )
    page.get_by_label("Issue tracker").fill("https://issues.example.com/p/1")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    project_id = int(page.url.rsplit("/", 1)[1])
    project = api.get(f"/api/projects/{project_id}").json()
    assert (project["name"], project["bug_tracker"]) == (name, "https://issues.example.com/p/1")
    (road,) = labels_of(api, project_id=project_id)
    assert road["attributes"][0]["values"] == ["1", "8", "1"]
    expect(page.get_by_role("link", name="Open the issue")).to_have_attribute(
        "rel", "noopener noreferrer"
    )

    # "Create new task" on the project page preselects it and hides the label editor.
    page.get_by_role("link", name="Create new task").click()
    page.wait_for_url(f"**/projects/{project_id}/tasks/create")
    expect(page.locator("#create-task[data-ready='1']")).to_be_attached()
    expect(page.get_by_label("Project")).to_have_value(str(project_id))
    expect(page.locator("#labels-field")).to_be_hidden()
    expect(page.locator("#project-labels .label-item")).to_have_text(["road"])
    task_name = unique("ui-in-project")
    page.get_by_label("Name").fill(task_name)
    images = write_images(tmp_path, ["p0.jpg", "p1.jpg"])
    page.locator("#file-input").set_input_files([str(p) for p in images])
    submit_and_wait(page)
    task = task_by_name(api, task_name)
    assert task["project_id"] == project_id and task["size"] == 2
    assert [label["name"] for label in labels_of(api, task_id=task["id"])] == ["road"]

    # The project page lists the task; the task page says whose labels it uses.
    page.goto(f"/projects/{project_id}")
    expect(page.locator(f".task-row[data-task-id='{task['id']}']")).to_be_visible()
    page.goto(f"/tasks/{task['id']}")
    expect(page.locator("#labels")).to_contain_text("uses the labels of project")
    expect(page.locator("#labels .labels-editor")).to_have_count(0)

    # Delete the project from its page, after confirming.
    page.goto(f"/projects/{project_id}")
    page.get_by_role("button", name="Delete project").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/projects")
    assert api.get(f"/api/projects/{project_id}").status_code == 404
    assert api.get(f"/api/tasks/{task['id']}").status_code == 404


def test_choosing_a_project_on_the_create_page_swaps_the_labels(page, api):
    project = api.post(
        "/api/projects",
        json={
            "name": unique("ui-swap"),
            "labels": [{"name": "tree", "color": "#00aa00"}],
        },
    ).json()
    open_create_page(page)
    expect(page.locator("#labels-field")).to_be_visible()
    page.get_by_label("Project").select_option(str(project["id"]))
    expect(page.locator("#labels-field")).to_be_hidden()
    expect(page.locator("#project-labels .label-item")).to_have_text(["tree"])
    page.get_by_label("Project").select_option("")
    expect(page.locator("#labels-field")).to_be_visible()


def test_projects_page_search_and_delete(page, api):
    keep = api.post("/api/projects", json={"name": unique("ui-plist"), "labels": []}).json()
    drop = api.post("/api/projects", json={"name": keep["name"] + "-drop", "labels": []}).json()
    page.goto("/projects")
    page.get_by_placeholder("Search by name").fill(keep["name"])
    expect(page.locator(".project-row")).to_have_count(2)
    row = page.locator(f".project-row[data-project-id='{drop['id']}']")
    expect(row).to_contain_text("0 tasks")
    row.get_by_role("button", name=f"Delete project #{drop['id']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".project-row")).to_have_count(1)
    assert api.get(f"/api/projects/{drop['id']}").status_code == 404


@pytest.mark.parametrize("path,row", [("/projects", ".project-row"), ("/tasks", ".task-row")])
def test_search_typed_while_the_page_boots_is_kept(page, api, path, row):
    """A fast typist (or a test) fills the box before the page's script has
    asked who is logged in; the script must not wipe that text afterwards."""
    name = unique("ui-early")
    for each in (name, unique("ui-other")):  # the other one must be filtered out
        if path == "/projects":
            api.post("/api/projects", json={"name": each, "labels": []})
        else:
            api.post("/api/tasks", json={"name": each, "labels": [{"name": "car"}]})
    held = []
    page.route("**/api/users/self", lambda route: held.append(route))
    page.goto(path)
    for _ in range(250):  # the script is now waiting on the held request
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the page never asked who is logged in"
    page.get_by_placeholder("Search by name").fill(name)
    for route in held:
        route.continue_()
    expect(page.locator(row)).to_have_count(1)
    expect(page.locator(row)).to_contain_text(name)
