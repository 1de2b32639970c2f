"""The dataset repository in the browser: attach one on the create page (a bare
repository in tmp, by its file:// URL), see its status on the task page, press
Synchronize and see "Synchronized"; a repository that cannot be cloned keeps the
task and says why. What reached the repository is checked with git."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotask.domain.dataset_repo.parsing import parse_repository
from annotask.domain.errors import ValidationFailed
from tests.annotations_api.helpers import make_task, wait_request
from tests.dataset_repo.gitutil import bare_repository, branches, files_at, message
from tests.support.media import write_images
from tests.support.resources import unique
from tests.support.server import ADMIN
from tests.ui.helpers import (
    CREATION_TIMEOUT_MS,
    labels_of,
    open_create_page,
    start_label,
    submit_and_wait,
    task_by_name,
)
from tests.ui.test_security_a11y import serious_violations

pytestmark = pytest.mark.xdist_group("ui")


def fill_basics(page, tmp_path, name: str) -> None:
    images = write_images(tmp_path / "images", ["a.jpg", "b.jpg", "c.jpg"])
    open_create_page(page)
    page.get_by_label("Name").fill(name)
    form = start_label(page, "car")
    form.get_by_role("button", name="Done").click()
    expect(page.locator(".labels-editor .label-item")).to_have_count(1)
    page.locator("#file-input").set_input_files([str(p) for p in images])
    expect(page.locator("#file-list .file-item")).to_have_count(3)
    page.get_by_text("Advanced configuration").click()


def test_attach_on_create_then_synchronize_on_the_task_page(page, api, tmp_path):
    remote = bare_repository(tmp_path / "ui-remote.git")
    name = unique("ui repo")
    fill_basics(page, tmp_path, name)
    fmt = page.get_by_label("Format in the repository")
    expect(fmt).to_have_value("CVAT for video 1.1")  # CVAT's default
    fmt.select_option("CVAT for images 1.1")
    page.get_by_label("Use LFS (Large File Support)").check()
    page.get_by_label("Dataset repository").fill(f"file://{remote}")
    task_id = submit_and_wait(page)

    sanitised = name.replace(" ", "_")
    block = page.locator("#repository-block")
    expect(block.locator(".repo-url")).to_have_text(f"file://{remote}")
    expect(block).to_contain_text(f"annotation/{sanitised}.zip")
    expect(block.get_by_label("Repository format")).to_have_value("CVAT for images 1.1")
    expect(block.get_by_label("Use LFS")).to_be_checked()
    synchronize = block.get_by_role("button", name="Synchronize")
    expect(synchronize).to_be_visible()
    assert branches(remote) == ["master"]  # the clone made master in the empty repository

    task = task_by_name(api, name)
    car = labels_of(api, task_id=task_id)[0]["id"]
    shape = {"type": "rectangle", "frame": 1, "label_id": car, "points": [1, 1, 9, 9]}
    api.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": [shape]}).raise_for_status()

    synchronize.click()
    expect(block.locator(".repo-tag")).to_have_text("Synchronized", timeout=CREATION_TIMEOUT_MS)
    expect(block.locator("#repo-message")).to_have_text(
        "The annotations were pushed to the repository."
    )
    branch = f"cvat_{task_id}_{sanitised}"
    assert branches(remote) == [branch, "master"]
    stored = files_at(remote, branch)
    assert stored == [".gitattributes", "README.md", f"annotation/{sanitised}.zip"]
    assert message(remote, branch).startswith(f"CVAT Annotation updated by {ADMIN[0]}.")

    page.reload()
    expect(page.locator("#repository-block .repo-tag")).to_have_text("Synchronized")
    expect(block).not_to_contain_text("null")
    # A change to the annotations shows "Synchronize" again.
    shape["frame"] = 2
    api.patch(
        f"/api/tasks/{task_id}/annotations",
        params={"action": "create"},
        json={"shapes": [shape], "tags": [], "tracks": []},
    ).raise_for_status()
    page.reload()
    block = page.locator("#repository-block")
    expect(block.get_by_role("button", name="Synchronize")).to_be_visible()


def test_a_repository_that_cannot_be_cloned_keeps_the_task(page, api, tmp_path):
    missing = tmp_path / "missing.git"
    name = unique("ui norepo")
    fill_basics(page, tmp_path, name)
    page.get_by_label("Dataset repository").fill(f"{missing} [out/labels.xml]")
    page.get_by_role("button", name="Submit").click()

    status = page.locator("#creation-status")
    expect(status.locator("#status-title")).to_have_text(
        "The repository could not be attached", timeout=CREATION_TIMEOUT_MS
    )
    reason = status.locator("#status-message")
    expect(reason).to_contain_text(f"repository '{missing}' does not exist")
    task = task_by_name(api, name)
    assert task["size"] == 3  # the task and its data stay
    page.get_by_role("link", name=f"Open task #{task['id']}").click()

    block = page.locator("#repository-block")
    expect(block).to_contain_text("out/labels.xml")
    detail = block.locator(".repo-detail")
    expect(detail).to_contain_text("The last attempt failed: Could not clone")
    # The URL had a typo: fix it on the task page (a bad value is refused there too).
    fixed = bare_repository(tmp_path / "fixed.git")
    block.get_by_role("button", name="Edit dataset repository").click()
    editor = block.get_by_label("dataset repository")
    editor.fill("ftp://example.com/owner/repos")
    block.get_by_role("button", name="Save").click()
    expect(block.locator(".inline-edit .field-error")).to_contain_text("not valid")
    editor.fill(str(fixed))  # without [PATH]: the file stays out/labels.xml
    block.get_by_role("button", name="Save").click()
    expect(block.locator(".repo-url")).to_have_text(str(fixed))
    expect(block).to_contain_text("out/labels.xml")
    expect(block.locator(".repo-detail")).to_have_count(0)
    block.get_by_role("button", name="Synchronize").click()
    expect(block.locator(".repo-tag")).to_have_text("Synchronized", timeout=CREATION_TIMEOUT_MS)
    branch = f"cvat_{task['id']}_{name.replace(' ', '_')}"
    assert files_at(fixed, branch) == ["README.md", "out/labels.xml"]


def test_bad_values_are_caught_before_anything_is_created(page, api, tmp_path):
    before = api.get("/api/tasks").json()["count"]
    fill_basics(page, tmp_path, unique("ui badrepo"))
    page.get_by_label("Dataset repository").fill("file:///srv/mirror.git [../up.zip]")
    page.get_by_role("button", name="Submit").click()
    error = page.locator("[data-field~='dataset_repository'] > .field-error")
    expect(error).to_contain_text("square brackets and name a .zip or .xml file")
    page.get_by_label("Dataset repository").fill("ftp://example.com/owner/repos")
    page.get_by_role("button", name="Submit").click()
    expect(error).to_contain_text("Dataset repository URL is not valid")
    assert api.get("/api/tasks").json()["count"] == before


def test_the_repository_block_has_no_serious_axe_violations(
    browser, ui_server, api, tmp_path, axe_script
):
    remote = bare_repository(tmp_path / "axe.git")
    task = make_task(api, 1, name=unique("axe repo"))
    created = api.post(f"/api/git/repository/create/{task['id']}", json={"path": str(remote)})
    assert created.status_code == 200, created.text
    assert wait_request(api, created.json()["rq_id"])["status"] == "finished"
    # The pages' CSP forbids the injected (inline) axe script: this context bypasses it.
    context = browser.new_context(
        base_url=ui_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        login = context.request.post(
            "/api/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]}
        )
        assert login.ok, login.text()
        page = context.new_page()
        page.goto(f"/tasks/{task['id']}")
        block = page.locator("#repository-block")
        expect(block.get_by_role("button", name="Synchronize")).to_be_visible()
        assert serious_violations(page, axe_script) == []
    finally:
        context.close()


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://git.example.com/repo", True),
        ("git.example.com/team/repo", True),
        ("ssh://git.example.com/srv/repo.git", True),
        ("git@github.com:team/repo.git", True),
        # The default path the server makes of a task named "v1.2 (copy)", or "Über".
        ("https://github.com/a/b [annotation/v1.2_(copy).zip]", True),
        ("https://github.com/a/b [annotation/Über.xml]", True),
        ("git.example.com/repo", False),
        ("ftp://git.example.com/a/b", False),
        ("https://github.com/a/b [../escape.zip]", False),
        ("https://github.com/a/b [.git/config.zip]", False),
        ("https://github.com/a/b [a/b.json]", False),
    ],
)
def test_the_pages_accept_what_the_server_accepts(page, value, accepted):
    """The browser's check must not refuse a URL or path the server takes (the task
    page edits what the server stored), and refuses what it would refuse anyway."""
    page.goto("/tasks")
    error = page.evaluate(
        "async (value) => (await import('/static/js/validate.js')).checkRepository(value)", value
    )
    assert (error == "") is accepted, error
    try:  # and the server's own rule says the same
        parse_repository(value, "v1.2 (copy)")
        server_accepts = True
    except ValidationFailed:
        server_accepts = False
    assert server_accepts is accepted
