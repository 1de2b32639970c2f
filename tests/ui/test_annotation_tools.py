"""The annotation view's tools, driven with real pointer and keyboard events:
focus and shortcuts, undo/redo, zoom and pan, every 2D shape drawn and edited,
attributes; what was saved is read back through the REST API."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.test_annotation_view import (
    CAR_ATTRIBUTES,
    make_job,
    objects,
    open_job,
    to_screen,
    wait_image,
)

pytestmark = pytest.mark.xdist_group("ui")


@pytest.fixture
def job(api, share_dir) -> dict:
    return make_job(
        api, share_dir, [{"name": "car", "attributes": CAR_ATTRIBUTES}, {"name": "person"}]
    )


def click_image(page: Page, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y))


def test_shortcuts_work_again_after_the_label_select_and_the_frame_box(page, job):
    person = job["labels"]["person"]
    open_job(page, job["id"])
    frame = page.locator("#frame-number")
    frame.fill("1")
    frame.press("Enter")
    expect(page.locator("#frame-name")).to_contain_text("f1.jpg")
    wait_image(page)
    click_image(page, 300, 220)  # an empty spot of the image: the canvas takes the focus
    page.keyboard.press("f")
    expect(frame).to_have_value("2")

    page.locator("#label-select").select_option(str(person["id"]))
    wait_image(page)
    click_image(page, 300, 220)
    page.keyboard.press("n")
    expect(page.get_by_role("button", name="Rectangle", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )


def test_screenshot_probe(page, api, job):
    from tests.ui.test_annotation_view import put_shapes, rectangle

    car = job["labels"]["car"]
    put_shapes(api, job["id"], [rectangle(0, car["id"], [20, 20, 100, 80])])
    open_job(page, job["id"])
    objects(page).first.click()
    page.screenshot(path="/tmp/h10-1280.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/h10-1920.png")
