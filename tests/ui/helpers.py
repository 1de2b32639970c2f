"""Steps shared by the UI tests: filling the labels constructor, submitting, API reads."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

CREATION_TIMEOUT_MS = 60_000


def watch(page: Page) -> list[str]:
    """Uncaught errors and CSP violations of ``page``, to assert none at the end."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return problems


def open_create_page(page: Page, path: str = "/tasks/create") -> None:
    page.goto(path)
    expect(page.locator("#create-task[data-ready='1']")).to_be_attached()


def add_attribute(form: Locator, name: str, input_type: str, values, *, mutable: bool = False):
    """Add an attribute row to the open label form; ``values`` is a list (chips) or text."""
    form.get_by_role("button", name="Add an attribute").click()
    row = form.locator(".attribute-row").last
    row.get_by_label("Attribute name").fill(name)
    row.get_by_label("Attribute type").select_option(input_type)
    field = row.get_by_label("Attribute values")
    if input_type in ("select", "radio"):
        for value in values:
            field.fill(value)
            field.press("Enter")
    elif input_type == "checkbox":
        field.select_option(values)
    else:
        field.fill(values)
    if mutable:
        row.get_by_label("Mutable").check()
    return row


def label_form(page: Page) -> Locator:
    return page.locator(".label-form")


def start_label(page: Page, name: str, color: str | None = None) -> Locator:
    page.get_by_role("button", name="Add label").click()
    form = label_form(page)
    form.get_by_label("Label name").fill(name)
    if color:
        form.get_by_label("Label color").fill(color)
    return form


TASK_PAGE = re.compile(r"/tasks/(\d+)$")


def wait_task_page(page: Page) -> int:
    """Wait for the task page the create form opens when the task is ready; its id."""
    page.wait_for_url(TASK_PAGE, timeout=CREATION_TIMEOUT_MS)
    match = TASK_PAGE.search(page.url)
    assert match, page.url
    return int(match.group(1))


def submit_and_wait(page: Page, button: str = "Submit") -> int:
    """Submit the create form and wait for the new task's page; returns the task id."""
    page.get_by_role("button", name=button).click()
    return wait_task_page(page)


def task_by_name(api: httpx.Client, name: str) -> dict:
    response = api.get("/api/tasks", params={"name": name})
    response.raise_for_status()
    results = response.json()["results"]
    assert len(results) == 1, results
    return results[0]


def labels_of(api: httpx.Client, **params) -> list[dict]:
    response = api.get("/api/labels", params={**params, "page_size": 100})
    response.raise_for_status()
    return sorted(response.json()["results"], key=lambda label: label["id"])


def jobs_of(api: httpx.Client, task_id: int) -> list[dict]:
    response = api.get("/api/jobs", params={"task_id": task_id, "page_size": 100})
    response.raise_for_status()
    return sorted(response.json()["results"], key=lambda job: job["start_frame"])


def meta_of(api: httpx.Client, task_id: int) -> dict:
    response = api.get(f"/api/tasks/{task_id}/data/meta")
    response.raise_for_status()
    return response.json()


def wait_creation(api: httpx.Client, task_id: int, timeout: float = 60) -> dict:
    """Wait until the task's data creation finished or failed; returns the task."""
    deadline = time.monotonic() + timeout
    while True:
        task = api.get(f"/api/tasks/{task_id}").json()
        request = task.get("creation_request") or {}
        if request.get("status") in ("finished", "failed"):
            return task
        assert time.monotonic() < deadline, f"task #{task_id} still creating: {request}"
        time.sleep(0.2)


def add_share_data(api: httpx.Client, task_id: int, paths: list[str]) -> dict:
    """Give a task data from the share through the API (fast setup for page tests)."""
    response = api.post(f"/api/tasks/{task_id}/data/", json={"server_files": paths})
    assert response.status_code == 202, response.text
    return wait_creation(api, task_id)


def snap(
    page: Page, directory: Path, name: str, *, full_page: bool = False, photo: bool = False
) -> None:
    """Save the 1280x900 viewport (or the whole page, 1280 wide) as
    <directory>/<name>.png, without toasts, focus or caret; ``photo`` pages
    (mostly a camera frame) are saved as <name>.jpg, which keeps them small."""
    page.evaluate(
        """() => {
            document.getElementById('toasts')?.replaceChildren();
            document.activeElement?.blur();
            const root = document.documentElement;  // one fresh layout and paint
            const top = window.scrollY;
            root.style.display = 'none';
            void root.offsetHeight;
            root.style.display = '';
            window.scrollTo(0, top);
        }"""
    )
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # let focus rings fade out
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.{'jpg' if photo else 'png'}"
    options = {"type": "jpeg", "quality": 85} if photo else {}
    page.screenshot(
        path=str(path), full_page=full_page, animations="disabled", caret="hide", **options
    )
    assert path.stat().st_size < 300_000, f"{path} is too big to commit"
