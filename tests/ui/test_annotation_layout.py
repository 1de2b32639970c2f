"""Layout of the annotation view: each toolbar is one row at 1280x900 and 1920x1080
with every control reachable by Tab, and the objects list of a frame with hundreds of
objects is windowed yet complete (scrolling and Tab reach every row); the frames next
after the one shown are ready before they are asked for."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.test_annotation_view import (
    job,  # noqa: F401 - the fixture
    objects,
    open_job,
    put_shapes,
    rectangle,
    to_screen,
)

pytestmark = pytest.mark.xdist_group("ui")

ROWS = """() => [...document.querySelectorAll('.annot-toolbar')].map((bar) => {
  const shown = [...bar.children].filter((child) => child.getClientRects().length);
  const middles = shown.map((child) => {
    const box = child.getBoundingClientRect();
    return (box.top + box.bottom) / 2;
  });
  return {
    name: bar.getAttribute('aria-label'),
    height: bar.getBoundingClientRect().height,
    controlHeight: Math.max(...shown.map((child) => child.getBoundingClientRect().height)),
    spread: Math.max(...middles) - Math.min(...middles),
    overflow: bar.scrollWidth - bar.clientWidth,
  };
})"""


@pytest.mark.parametrize("size", [(1280, 900), (1920, 1080)])
def test_each_toolbar_is_one_row(page: Page, job, size):  # noqa: F811
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_job(page, job["id"])
    bars = page.evaluate(ROWS)
    assert [bar["name"] for bar in bars] == ["Frames and view", "Drawing"]
    for bar in bars:
        # One row: every control on one middle line, the bar one control high, nothing cut.
        assert bar["spread"] < 4, bar
        assert bar["height"] <= bar["controlHeight"] + 2, bar
        assert bar["overflow"] <= 0, bar


def test_every_toolbar_control_is_reachable_by_tab(page: Page, job):  # noqa: F811
    open_job(page, job["id"])
    page.locator("#frame-prev").evaluate("(button) => { button.disabled = false; }")
    page.locator("#frame-prev").focus()
    reached = []
    for _ in range(30):
        reached.append(
            page.evaluate("() => document.activeElement.id || document.activeElement.tagName")
        )
        if reached[-1] == "stage":
            break
        page.keyboard.press("Tab")
    expected = [
        "frame-prev", "frame-number", "frame-next", "play", "speed", "frame-slider",
        "zoom-out", "zoom-in", "zoom-fit", "SUMMARY", "help-open", "label-select",
        "tool-rectangle", "tool-polygon", "tool-polyline", "tool-points", "tool-ellipse",
        "track-mode", "stage",
    ]  # fmt: skip
    assert reached == expected
    # The Image menu opens from the keyboard, and its settings follow its summary.
    page.locator("#image-menu > summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#image-menu")).to_have_attribute("open", "")
    inside = []
    for _ in range(3):
        page.keyboard.press("Tab")
        inside.append(page.evaluate("() => document.activeElement.id"))
    assert inside == ["quality", "brightness", "contrast"]
    page.keyboard.press("Escape")
    expect(page.locator("#image-menu")).not_to_have_attribute("open", "")


def test_hundreds_of_objects_are_listed_windowed(page: Page, api, job):  # noqa: F811
    car = job["labels"]["car"]
    count = 400
    small = [
        rectangle(0, car["id"], [i % 140, i % 90, i % 140 + 10, i % 90 + 10])
        for i in range(count - 1)
    ]
    put_shapes(api, job["id"], [*small, rectangle(0, car["id"], [200, 130, 300, 220])])
    open_job(page, job["id"])
    rows = page.locator("#objects > li:not(.annot-objects-spacer)")
    expect(rows.first).to_have_attribute("aria-setsize", str(count))
    drawn = rows.count()
    assert 10 <= drawn < 100, drawn  # the rows in view and a margin, not 400
    # Scrolled to the end, the last object's row is there and selects it.
    page.locator("#objects").evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
    last = page.locator("#objects > li[aria-posinset='400'] .annot-object")
    expect(last).to_be_visible()
    last.click()
    expect(page.locator("#objects .annot-object[aria-pressed='true']")).to_have_count(1)
    expect(page.locator("[data-handle]")).not_to_have_count(0)
    # So many shapes are drawn as outlines, and a click inside one still selects it;
    # its row, the last, scrolls into view.
    page.locator("#objects").evaluate("(list) => { list.scrollTop = 0; }")
    expect(page.locator("#objects > li[aria-posinset='1']")).to_be_attached()
    expect(page.locator(".annot-shapes.dense")).to_be_attached()
    page.keyboard.press("Escape")
    page.mouse.click(*to_screen(page, 250, 175))
    expect(last).to_have_attribute("aria-pressed", "true")
    expect(last).to_be_visible()
    # Tab walks down the list past the rows first drawn, keeping the focus in it.
    page.locator("#objects").evaluate("(list) => { list.scrollTop = 0; }")
    expect(page.locator("#objects > li[aria-posinset='1']")).to_be_attached()
    objects(page).first.focus()
    for _ in range(drawn + 20):
        page.keyboard.press("Tab")
    position = page.evaluate(
        "() => document.activeElement.closest('#objects > li')?.getAttribute('aria-posinset')"
    )
    assert position == str(drawn + 21)


def test_the_next_frames_are_ready_before_they_are_asked_for(page: Page, job):  # noqa: F811
    """The player fetches and decodes ahead of the frame shown, paused too: an image
    job's compressed chunks (zips of JPEGs) come without a key press, and F then shows
    frame 1 from memory, asking the server for nothing more."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_job(page, job["id"])
    chunk = "/data?type=chunk&number=0&"
    for _ in range(100):
        if any(chunk in url for url in requested):
            break
        page.wait_for_timeout(100)
    assert any(chunk in url for url in requested), requested
    page.wait_for_load_state("networkidle")
    before = len(requested)
    page.locator("#stage").focus()
    page.keyboard.press("f")
    expect(page.locator("#frame-number")).to_have_value("1")
    expect(page.locator("#frame-image")).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_timeout(300)
    assert not [url for url in requested[before:] if "/data?" in url], requested[before:]
