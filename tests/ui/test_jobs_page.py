"""The jobs page (/jobs): an annotator assigned one job finds it there and opens it.

A job's assignee does not see the task (CVAT's rules), so neither the tasks page
nor the task page lead them to their work: the header's Jobs link does, and the
annotation view's back link returns there.
"""

from __future__ import annotations

import re
from contextlib import closing

import pytest
from playwright.sync_api import expect

from tests.support.media import write_images
from tests.support.resources import new_user, unique, user_id
from tests.ui.conftest import login_context
from tests.ui.helpers import add_share_data, jobs_of
from tests.ui.test_security_a11y import serious_violations

pytestmark = pytest.mark.xdist_group("ui")


@pytest.fixture
def assigned(api, share_dir, ui_server):
    """A task of the admin with 4 frames in two jobs; the first job goes to a new user."""
    write_images(share_dir, [f"f{i}.jpg" for i in range(4)], (160, 120))
    name = unique("ui-jobs")
    task = api.post(
        "/api/tasks", json={"name": name, "labels": [{"name": "car"}], "segment_size": 2}
    ).json()
    add_share_data(api, task["id"], [f"{share_dir.name}/"])
    first, second = jobs_of(api, task["id"])
    annotator = new_user(ui_server)
    answer = api.patch(f"/api/jobs/{first['id']}", json={"assignee": user_id(api, annotator[0])})
    assert answer.status_code == 200, answer.text
    return {"task": task, "name": name, "job": first, "other": second, "user": annotator}


def test_a_job_assignee_finds_and_opens_their_job(browser, ui_server, assigned):
    job = assigned["job"]
    context = login_context(browser, ui_server, auth=assigned["user"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/tasks")
        expect(page.locator(f"[data-task-id='{assigned['task']['id']}']")).to_have_count(0)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
        page.wait_for_url("**/jobs")
        expect(page.locator("#main[data-ready='1']")).to_be_attached()
        expect(page.locator(".mainnav a[aria-current='page']")).to_have_text("Jobs")
        rows = page.locator("#job-list tbody tr")
        expect(rows).to_have_count(1)  # their job, not the other job of the task
        row = page.locator(f"tr[data-job-id='{job['id']}']")
        expect(row.locator(".job-task")).to_contain_text(assigned["name"])
        expect(row.locator(".job-frames")).to_have_text("0–1 (2)")
        expect(row.locator(".job-stage")).to_have_text("Annotation")
        expect(row.locator(".job-state")).to_have_text("New")
        expect(row.locator(".job-assignee")).to_have_text(f"{assigned['user'][0]}you")

        row.get_by_role("link", name=f"Open job #{job['id']}").click()
        page.wait_for_url(f"**/jobs/{job['id']}")
        expect(page.locator("#main[data-ready='1']")).to_be_attached()
        expect(page.locator("#job-title")).to_contain_text(assigned["name"])
        # The frame comes through the job's own data route, and loads.
        expect(page.locator("#frame-image")).to_have_attribute(
            "src", re.compile(rf"/api/jobs/{job['id']}/data\?type=frame&number=0")
        )
        page.wait_for_function("() => document.getElementById('frame-image').naturalWidth === 160")
        # The task is not theirs to open: the way back is the jobs page.
        back = page.locator("#back-link")
        expect(back).to_have_attribute("href", "/jobs")
        back.click()
        page.wait_for_url("**/jobs")
        expect(page.locator(f"tr[data-job-id='{job['id']}']")).to_be_visible()
        assert not errors, errors
    finally:
        context.close()


def test_the_task_staff_see_every_job_and_go_back_to_the_task(page, assigned):
    page.goto("/jobs")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    for job in (assigned["job"], assigned["other"]):
        expect(page.locator(f"tr[data-job-id='{job['id']}']")).to_be_visible()
    page.locator(f"tr[data-job-id='{assigned['other']['id']}']").get_by_role(
        "link", name=f"Open job #{assigned['other']['id']}"
    ).click()
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    task_id = assigned["task"]["id"]
    expect(page.locator("#back-link")).to_have_attribute("href", f"/tasks/{task_id}")


def test_someone_without_jobs_sees_an_empty_list(browser, ui_server):
    context = login_context(browser, ui_server, auth=new_user(ui_server))
    try:
        with closing(context.new_page()) as page:
            page.goto("/jobs")
            expect(page.locator("#main[data-ready='1']")).to_be_attached()
            expect(page.locator("#job-list .empty-state")).to_contain_text("No jobs")
    finally:
        context.close()


def test_axe_on_the_jobs_page(browser, ui_server, assigned, axe_script):
    # The pages' CSP forbids the injected (inline) axe script: this context bypasses it.
    context = browser.new_context(
        base_url=ui_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(15_000)
    try:
        name, password = assigned["user"]
        login = context.request.post(
            "/api/auth/login", data={"username": name, "password": password}
        )
        assert login.ok, login.text()
        page = context.new_page()
        page.goto("/jobs")
        expect(page.locator("#main[data-ready='1']")).to_be_attached()
        assert serious_violations(page, axe_script) == []
    finally:
        context.close()
