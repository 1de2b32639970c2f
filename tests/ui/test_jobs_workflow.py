"""An annotator's day: find the job on the Jobs page, annotate, save, Finish; the Jobs
page's filters, search and pages; and the annotation view reopening at the last frame.

Users are made with the domain function (annotask has no sign-up API); assignments and
everything checked afterwards go through the REST API.
"""

from __future__ import annotations

import re
from contextlib import closing

import pytest
from playwright.sync_api import Page, expect

from tests.support.media import write_images
from tests.support.resources import add_jobs, create_task, new_user, unique, user_id
from tests.support.server import ADMIN
from tests.ui.conftest import login_context
from tests.ui.helpers import add_share_data, jobs_of, watch
from tests.ui.test_annotation_view import draw, open_job, save, wait_image

pytestmark = pytest.mark.xdist_group("ui")


def wait_list(page: Page) -> None:
    expect(page.locator("#main[data-ready='1']")).to_be_attached()


@pytest.fixture
def annotated_task(api, share_dir, ui_server):
    """4 frames in two jobs of the admin's task (the first goes to a new annotator), and
    another task's job assigned to someone else."""
    write_images(share_dir, [f"f{i}.jpg" for i in range(4)], (160, 120))
    name = unique("ui-finish")
    task = api.post(
        "/api/tasks", json={"name": name, "labels": [{"name": "car"}], "segment_size": 2}
    ).json()
    add_share_data(api, task["id"], [f"{share_dir.name}/"])
    first, second = jobs_of(api, task["id"])
    annotator = new_user(ui_server)
    someone = new_user(ui_server)
    answer = api.patch(f"/api/jobs/{first['id']}", json={"assignee": user_id(api, annotator[0])})
    assert answer.status_code == 200, answer.text
    other_task = create_task(api, name=unique("ui-other"))
    (foreign,) = add_jobs(ui_server, other_task["id"], [(0, 0)])
    answer = api.patch(f"/api/jobs/{foreign}", json={"assignee": user_id(api, someone[0])})
    assert answer.status_code == 200, answer.text
    return {
        "name": name,
        "job": first,
        "other": second,
        "foreign": foreign,
        "user": annotator,
    }


def finish(page: Page) -> None:
    page.get_by_role("button", name="Finish the job").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Unsaved changes are saved first")
    dialog.get_by_role("button", name="Finish the job").click()
    expect(page.locator("#status")).to_contain_text("finished")


def test_an_annotator_finds_annotates_saves_and_finishes_their_job(
    browser, ui_server, api, annotated_task
):
    job = annotated_task["job"]
    context = login_context(browser, ui_server, auth=annotated_task["user"])
    page = context.new_page()
    problems = watch(page)
    try:
        page.goto("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
        page.wait_for_url("**/jobs")
        wait_list(page)
        rows = page.locator("#job-list tbody tr")
        expect(rows).to_have_count(1)  # theirs only: not the task's other job, nor others'
        row = rows.first
        expect(row).to_have_attribute("data-job-id", str(job["id"]))
        expect(row).to_have_class(re.compile(r"\bmine\b"))
        expect(row.locator(".job-assignee .tag.you")).to_have_text("you")
        expect(row.locator(".job-state")).to_have_text("New")
        row.get_by_role("link", name=f"Open job #{job['id']}").click()
        page.wait_for_url(f"**/jobs/{job['id']}")
        wait_list(page)
        wait_image(page)
        expect(page.locator("#job-progress")).to_have_text("Annotation · New")

        draw(page, [20, 15, 120, 95])
        save(page)
        finish(page)
        expect(page.locator("#job-progress")).to_have_text("Annotation · Completed")
        finished = page.get_by_role("button", name="The job is finished")
        expect(finished).to_be_disabled()
        expect(finished).to_have_text("Finished")

        # The server agrees: completed, and the stage stays (an assignee who does not run
        # the task may set the state only, as in CVAT), with the rectangle saved.
        read = api.get(f"/api/jobs/{job['id']}").json()
        assert (read["state"], read["stage"]) == ("completed", "annotation")
        shapes = api.get(f"/api/jobs/{job['id']}/annotations").json()["shapes"]
        assert [(s["type"], s["frame"]) for s in shapes] == [("rectangle", 0)]

        # Back on the Jobs page the row says so; the other jobs stay out of reach.
        page.locator("#status").get_by_role("link", name="Back to the jobs").click()
        page.wait_for_url("**/jobs")
        wait_list(page)
        expect(page.locator(f"tr[data-job-id='{job['id']}'] .job-state")).to_have_text("Completed")
        own = context.request.get("/api/jobs")
        assert [j["id"] for j in own.json()["results"]] == [job["id"]]
        for hidden in (annotated_task["other"]["id"], annotated_task["foreign"]):
            assert context.request.get(f"/api/jobs/{hidden}").status == 404
        page.goto(f"/jobs/{annotated_task['foreign']}")
        expect(page.locator("#notice")).to_contain_text("was not found")
        assert not problems, problems
    finally:
        context.close()


def test_task_staff_finish_moves_the_job_to_acceptance_saving_first(page, api, annotated_task):
    """The admin runs the task: Finish saves the unsaved rectangle, then sets
    ``stage: acceptance`` and ``state: completed``, as CVAT does for task staff."""
    other = annotated_task["other"]
    open_job(page, other["id"])
    draw(page, [10, 10, 60, 60])
    expect(page.locator("#modified")).to_be_visible()
    page.get_by_role("button", name="Finish the job").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("moves to the acceptance stage")
    dialog.get_by_role("button", name="Cancel").click()  # a cancel changes nothing
    assert api.get(f"/api/jobs/{other['id']}").json()["state"] == "new"
    finish(page)
    expect(page.locator("#modified")).to_be_hidden()
    expect(page.locator("#job-progress")).to_have_text("Acceptance · Completed")
    read = api.get(f"/api/jobs/{other['id']}").json()
    assert (read["stage"], read["state"], read["status"]) == (
        "acceptance",
        "completed",
        "completed",
    )
    shapes = api.get(f"/api/jobs/{other['id']}/annotations").json()["shapes"]
    assert len(shapes) == 1
    # Reopened, it shows as finished.
    open_job(page, other["id"])
    expect(page.get_by_role("button", name="The job is finished")).to_be_disabled()


@pytest.fixture
def many_jobs(ui_server):
    """A task owner (not an admin) with "alpha" (22 one-frame jobs, the oldest assigned
    to the owner, one completed) and "bravo" (2 jobs: one assigned to a helper, one in
    validation)."""
    owner = new_user(ui_server)
    helper = new_user(ui_server)
    with closing(ui_server.client(owner)) as client:
        alpha = create_task(client, name=unique("alpha"))
        bravo = create_task(client, name=unique("bravo"))
        alpha_jobs = add_jobs(ui_server, alpha["id"], [(i, i) for i in range(22)])
        bravo_jobs = add_jobs(ui_server, bravo["id"], [(0, 0), (1, 1)])
        for job_id, who in ((alpha_jobs[0], owner), (bravo_jobs[0], helper)):
            answer = client.patch(f"/api/jobs/{job_id}", json={"assignee": user_id(client, who[0])})
            assert answer.status_code == 200, answer.text
        for job_id, body in (
            (alpha_jobs[5], {"state": "completed"}),
            (bravo_jobs[1], {"stage": "validation"}),
        ):
            assert client.patch(f"/api/jobs/{job_id}", json=body).status_code == 200
    return {
        "owner": owner,
        "helper": helper,
        "alpha": alpha,
        "bravo": bravo,
        "alpha_jobs": alpha_jobs,
        "bravo_jobs": bravo_jobs,
    }


def row_ids(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#job-list tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.jobId)"
        )
    ]


def test_jobs_page_filters_search_and_pages(browser, ui_server, many_jobs):
    alpha_jobs, bravo_jobs = many_jobs["alpha_jobs"], many_jobs["bravo_jobs"]
    context = login_context(browser, ui_server, auth=many_jobs["owner"])
    page = context.new_page()
    problems = watch(page)
    count = page.locator("#job-count")
    try:
        page.goto("/jobs")
        wait_list(page)
        # Page 1: the owner's own (oldest) job first, then newest first; 20 a page.
        expect(count).to_have_text("24 jobs")
        newest_first = sorted(alpha_jobs[1:] + bravo_jobs, reverse=True)
        assert row_ids(page) == [alpha_jobs[0], *newest_first[:19]]
        expect(page.locator("#job-list tbody tr").first.locator(".tag.you")).to_be_visible()
        expect(page.locator("#pager .page-info")).to_have_text("Page 1 of 2")
        page.get_by_role("button", name="Next ›").click()
        expect(page.locator("#pager .page-info")).to_have_text("Page 2 of 2")
        assert row_ids(page) == newest_first[19:]
        assert page.url.endswith("/jobs?page=2")

        # Stage and state; a filter goes back to page 1 and into the address.
        page.get_by_label("Stage", exact=True).select_option("validation")
        expect(count).to_have_text("1 job")
        assert row_ids(page) == [bravo_jobs[1]]
        assert "stage=validation" in page.url and "page=" not in page.url
        page.get_by_role("button", name="Clear filters").first.click()
        expect(count).to_have_text("24 jobs")
        page.get_by_label("State", exact=True).select_option("completed")
        expect(count).to_have_text("1 job")
        assert row_ids(page) == [alpha_jobs[5]]
        page.get_by_label("State", exact=True).select_option("")
        expect(count).to_have_text("24 jobs")  # the next filter also finds "1 job"

        # Assignee: me, nobody, someone.
        assignee = page.get_by_label("Assignee", exact=True)
        assignee.select_option(label="Assigned to me")
        expect(count).to_have_text("1 job")
        assert row_ids(page) == [alpha_jobs[0]]
        assignee.select_option(label="Nobody")
        expect(count).to_have_text("22 jobs")
        assignee.select_option(label=many_jobs["helper"][0])
        expect(count).to_have_text("1 job")
        assert row_ids(page) == [bravo_jobs[0]]
        assert f"assignee={many_jobs['helper'][0]}" in page.url
        assignee.select_option("")
        expect(count).to_have_text("24 jobs")

        # Task: by name, by #id, and by a click on a row's task name.
        task_box = page.get_by_label("Task (#id or part of its name)")
        task_box.fill(many_jobs["bravo"]["name"].split("-")[1])
        expect(count).to_have_text("2 jobs")
        assert row_ids(page) == sorted(bravo_jobs, reverse=True)
        task_box.fill(f"#{many_jobs['alpha']['id']}")
        expect(count).to_have_text("22 jobs")
        task_box.fill("")
        expect(count).to_have_text("24 jobs")
        page.locator(f"tr[data-job-id='{bravo_jobs[0]}'] .job-task button").click()
        expect(task_box).to_have_value(f"#{many_jobs['bravo']['id']}")
        expect(count).to_have_text("2 jobs")

        # Search (task, project, assignee, stage, state), combined with the task filter;
        # the address keeps it all over a reload.
        page.get_by_label("Search by task, project, assignee, stage or state").fill("validation")
        expect(count).to_have_text("1 job")
        page.reload()
        wait_list(page)
        expect(count).to_have_text("1 job")
        expect(task_box).to_have_value(f"#{many_jobs['bravo']['id']}")
        assert row_ids(page) == [bravo_jobs[1]]
        page.get_by_label("Search by task, project, assignee, stage or state").fill(
            "nothing-like-it"
        )
        expect(page.locator("#job-list .empty-state")).to_contain_text("No jobs match")
        page.locator("#job-list").get_by_role("button", name="Clear filters").click()
        expect(count).to_have_text("24 jobs")
        assert page.url.endswith("/jobs")
        assert not problems, problems
    finally:
        context.close()


def test_the_view_reopens_at_the_users_last_frame(browser, ui_server, api, share_dir):
    write_images(share_dir, [f"f{i}.jpg" for i in range(4)], (160, 120))
    task = api.post("/api/tasks", json={"name": unique("ui-last"), "labels": [{"name": "car"}]})
    add_share_data(api, task.json()["id"], [f"{share_dir.name}/"])
    (job,) = jobs_of(api, task.json()["id"])
    context = login_context(browser, ui_server, auth=ADMIN)
    page = context.new_page()
    problems = watch(page)
    try:
        open_job(page, job["id"])
        frame = page.locator("#frame-number")
        expect(frame).to_have_value("0")
        page.locator("#stage").focus()
        page.keyboard.press("f")
        page.keyboard.press("f")
        expect(frame).to_have_value("2")
        open_job(page, job["id"])  # a new visit: the last frame
        expect(frame).to_have_value("2")
        expect(page.locator("#frame-name")).to_contain_text("f2.jpg")
        # ?frame=N wins, and what is shown becomes the last frame.
        page.goto(f"/jobs/{job['id']}?frame=1")
        wait_list(page)
        expect(frame).to_have_value("1")
        page.locator("#stage").focus()
        page.keyboard.press("f")
        expect(frame).to_have_value("2")
        page.keyboard.press("f")
        expect(frame).to_have_value("3")
        open_job(page, job["id"])
        expect(frame).to_have_value("3")

        # Another user in the same browser has their own place in the job.
        other = new_user(ui_server, admin=True)
        assert context.request.post(
            "/api/auth/login", data={"username": other[0], "password": other[1]}
        ).ok
        open_job(page, job["id"])
        expect(frame).to_have_value("0")
        wait_image(page)

        # A remembered frame that was deleted since opens the first frame.
        assert context.request.post(
            "/api/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]}
        ).ok
        answer = api.patch(f"/api/jobs/{job['id']}/data/meta", json={"deleted_frames": [3]})
        assert answer.status_code == 200, answer.text
        open_job(page, job["id"])
        expect(frame).to_have_value("0")
        assert not problems, problems
    finally:
        context.close()
