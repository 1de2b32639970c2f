"""The annotation view's tools, driven with real pointer and keyboard events:
focus and shortcuts, undo/redo, zoom and pan, every 2D shape drawn and edited,
attributes; what was saved is read back through the REST API."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Page, expect

from tests.annotations_api.test_imports import export, member
from tests.support.server import ADMIN
from tests.ui.helpers import add_share_data, jobs_of, labels_of, snap
from tests.ui.test_annotation_view import (
    CAR_ATTRIBUTES,
    assert_close,
    drag,
    make_job,
    objects,
    open_job,
    put_shapes,
    rectangle,
    save,
    saved,
    to_screen,
    wait_image,
)
from tests.ui.test_security_a11y import serious_violations

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


def center_of(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_screen(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def image_box(page: Page) -> dict:
    box = page.locator("#frame-image").bounding_box()
    assert box is not None
    return box


def tool(page: Page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def only_shape(api, job_id: int) -> dict:
    shapes = saved(api, job_id)["shapes"]
    assert len(shapes) == 1, shapes
    return shapes[0]


def test_the_view_owns_undo_and_redo_even_in_the_frame_box(page, job):
    open_job(page, job["id"])
    page.keyboard.press("n")
    drag(page, (40, 30), (200, 150))
    expect(objects(page)).to_have_count(1)
    frame = page.locator("#frame-number")
    frame.fill("1")  # typed, not yet applied: the browser's undo would clear it
    frame.press("Control+z")
    expect(objects(page)).to_have_count(0)
    expect(frame).to_have_value("1")
    expect(page.locator("#modified")).to_be_hidden()  # back to what was loaded
    frame.press("Control+Shift+z")
    expect(objects(page)).to_have_count(1)
    expect(page.locator("#modified")).to_be_visible()
    frame.press("Control+z")
    expect(objects(page)).to_have_count(0)
    frame.press("Control+y")
    expect(objects(page)).to_have_count(1)
    expect(frame).to_have_value("1")


def test_zoom_with_the_wheel_and_buttons_pan_by_dragging_and_fit(page, job):
    open_job(page, job["id"])
    fitted = image_box(page)
    # At 1280x900 the frame gets most of the window.
    assert fitted["height"] >= 500 or fitted["width"] >= 850, fitted
    # The wheel zooms in at the pointer: the image point under it stays put.
    anchor = to_screen(page, 100, 80)
    level = page.locator("#zoom-level").inner_text()
    page.mouse.move(*anchor)
    page.mouse.wheel(0, -300)
    expect(page.locator("#zoom-level")).not_to_have_text(level)
    zoomed = image_box(page)
    assert zoomed["width"] > fitted["width"] * 1.3
    after = to_screen(page, 100, 80)
    assert abs(after[0] - anchor[0]) < 3 and abs(after[1] - anchor[1]) < 3
    # A drag on empty space pans.
    drag_screen(page, anchor, (anchor[0] + 60, anchor[1] + 40))
    panned = image_box(page)
    assert abs(panned["x"] - zoomed["x"] - 60) < 3 and abs(panned["y"] - zoomed["y"] - 40) < 3
    page.get_by_role("button", name="Zoom out").click()
    assert image_box(page)["width"] < panned["width"]
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Fit").click()
    back = image_box(page)
    assert abs(back["x"] - fitted["x"]) < 2 and abs(back["width"] - fitted["width"]) < 2
    # Brightness and contrast filter the image; the quality switch reloads it. They are
    # in the Image menu, which Escape closes.
    page.locator("#image-menu > summary").click()
    page.get_by_label("Brightness").fill("150")
    expect(page.locator("#frame-image")).to_have_css("filter", "brightness(1.5) contrast(1)")
    page.get_by_label("Quality").select_option("original")
    expect(page.locator("#frame-image")).to_have_attribute("src", re.compile("quality=original"))
    page.get_by_label("Contrast").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#image-menu")).not_to_have_attribute("open", "")
    expect(page.locator("#image-menu > summary")).to_be_focused()
    wait_image(page)


def test_a_polygon_drawn_by_clicks_edited_undone_and_saved(page, api, job):
    open_job(page, job["id"])
    tool(page, "Polygon").click()
    for x, y in [(20, 20), (120, 20), (120, 100), (20, 100)]:
        page.mouse.click(*to_screen(page, x, y))
    page.keyboard.press("n")
    expect(objects(page)).to_have_count(1)
    expect(objects(page).first).to_contain_text("polygon")
    # Drag vertex 2 to (150, 130); pull a vertex out of the middle of edge 0.
    drag_screen(page, center_of(page, '[data-handle="v2"]'), to_screen(page, 150, 130))
    drag_screen(page, center_of(page, '[data-handle="m0"]'), to_screen(page, 70, 5))
    # Alt+click removes vertex 4 (the old (20, 100)).
    page.keyboard.down("Alt")
    page.mouse.click(*center_of(page, '[data-handle="v4"]'))
    page.keyboard.up("Alt")
    expect(page.locator('[data-handle^="v"]')).to_have_count(4)
    page.keyboard.press("Control+z")  # the vertex comes back
    expect(page.locator('[data-handle^="v"]')).to_have_count(5)
    save(page)
    shape = only_shape(api, job["id"])
    assert shape["type"] == "polygon"
    assert_close(shape["points"], [20, 20, 70, 5, 120, 20, 150, 130, 20, 100])

    page.reload()
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    expect(objects(page)).to_have_count(1)
    # A double click finishes a polyline; too few points for a polygon draws nothing.
    tool(page, "Polyline").click()
    page.mouse.click(*to_screen(page, 200, 200))
    page.mouse.dblclick(*to_screen(page, 300, 220))
    expect(objects(page)).to_have_count(2)
    tool(page, "Polygon").click()
    page.mouse.click(*to_screen(page, 200, 30))
    page.keyboard.press("n")
    expect(page.locator("#status")).to_contain_text("Too few points")
    tool(page, "Points").click()
    page.mouse.click(*to_screen(page, 250, 50))
    page.mouse.click(*to_screen(page, 260, 60))
    page.keyboard.press("n")
    tool(page, "Ellipse").click()
    drag(page, (200, 120), (260, 160))
    expect(objects(page)).to_have_count(4)
    save(page)
    shapes = {s["type"]: s for s in saved(api, job["id"])["shapes"]}
    assert set(shapes) == {"polygon", "polyline", "points", "ellipse"}
    assert_close(shapes["polyline"]["points"], [200, 200, 300, 220])
    assert_close(shapes["points"]["points"], [250, 50, 260, 60])
    assert_close(shapes["ellipse"]["points"], [230, 140, 260, 120])

    # The task's CVAT XML export has them with the same coordinates.
    xml = member(export(api, job["task_id"], "CVAT for images 1.1"), "annotations.xml")
    image = ElementTree.fromstring(xml).find("image[@id='0']")
    assert image is not None
    for kind in ("polygon", "polyline", "points"):
        element = image.find(kind)
        assert element is not None, kind
        exported = [
            float(v) for pair in element.get("points", "").split(";") for v in pair.split(",")
        ]
        assert_close(exported, shapes[kind]["points"], 0.01)
    ellipse = image.find("ellipse")
    assert ellipse is not None
    cx, cy, x, y = shapes["ellipse"]["points"]
    assert_close(
        [float(ellipse.get(k, "nan")) for k in ("cx", "cy", "rx", "ry")],
        [cx, cy, x - cx, cy - y],
        0.01,
    )


def test_a_rectangle_by_two_clicks_resized_rotated_and_moved(page, api, job):
    open_job(page, job["id"])
    page.keyboard.press("n")
    page.mouse.click(*to_screen(page, 40, 40))
    expect(page.locator("#status")).to_contain_text("opposite corner")
    page.mouse.click(*to_screen(page, 140, 100))
    expect(objects(page)).to_have_count(1)
    # Resize by the bottom-right corner, then by the left edge.
    drag_screen(page, center_of(page, '[data-handle="se"]'), to_screen(page, 180, 120))
    drag_screen(page, center_of(page, '[data-handle="w"]'), to_screen(page, 20, 80))
    save(page)
    assert_close(only_shape(api, job["id"])["points"], [20, 40, 180, 120])
    # Rotate: the handle above the top edge dragged to the right of the centre (90°).
    drag_screen(page, center_of(page, '[data-handle="rotate"]'), to_screen(page, 300, 80))
    save(page)
    shape = only_shape(api, job["id"])
    assert abs(shape["rotation"] - 90) < 2, shape["rotation"]
    assert_close(shape["points"], [20, 40, 180, 120])
    page.keyboard.press("Control+z")
    save(page)
    assert only_shape(api, job["id"])["rotation"] == 0


def test_attributes_flags_order_copy_paste_lock_and_hide(page, api, job):
    car = job["labels"]["car"]
    specs = {spec["name"]: spec["id"] for spec in car["attributes"]}
    put_shapes(
        api,
        job["id"],
        [rectangle(0, car["id"], [20, 20, 100, 80]), rectangle(0, car["id"], [60, 40, 160, 120])],
    )
    open_job(page, job["id"])
    objects(page).first.click()
    panel = page.locator("#object-panel")
    expect(panel).to_contain_text("immutable")
    panel.get_by_label("color").select_option("red")
    panel.get_by_label("parked").check()
    page.locator("#stage").focus()
    page.keyboard.press("q")
    page.keyboard.press("=")
    expect(panel.get_by_role("button", name="Occluded")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(objects(page)).to_have_count(3)
    page.keyboard.press("Control+z")  # the paste
    page.keyboard.press("Control+z")  # the z-order
    page.keyboard.press("Control+Shift+z")
    expect(objects(page)).to_have_count(2)
    save(page)
    first = next(s for s in saved(api, job["id"])["shapes"] if s["points"][0] == 20)
    assert first["occluded"] is True
    assert first["z_order"] == 1
    assert sorted((a["spec_id"], a["value"]) for a in first["attributes"]) == sorted(
        [(specs["color"], "red"), (specs["parked"], "true")]
    )
    # Locked: a drag does not move it; hidden: not drawn, still listed.
    page.keyboard.press("l")
    drag(page, (40, 30), (80, 60))
    expect(page.locator("#modified")).to_be_hidden()
    page.keyboard.press("h")
    expect(page.locator(f'.annot-shapes [data-key="{first_key(page)}"]')).to_have_count(0)
    expect(objects(page)).to_have_count(2)
    expect(objects(page).first).to_contain_text("hidden")


def first_key(page: Page) -> str:
    return objects(page).first.get_attribute("data-key") or ""


ALL_WIDGETS = [
    {"name": "kind", "mutable": False, "input_type": "radio", "values": ["sedan", "van"]},
    {"name": "note", "mutable": True, "input_type": "text", "values": ["none"]},
    {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "120", "5"]},
]


def test_radio_text_and_number_attributes(page, api, share_dir):
    job = make_job(api, share_dir, [{"name": "truck", "attributes": ALL_WIDGETS}])
    truck = job["labels"]["truck"]
    specs = {spec["name"]: spec["id"] for spec in truck["attributes"]}
    open_job(page, job["id"])
    page.keyboard.press("n")
    drag(page, (40, 30), (200, 150))
    panel = page.locator("#object-panel")
    expect(panel.get_by_label("sedan")).to_be_checked()  # the first value by default
    expect(panel.get_by_label("note")).to_have_value("none")
    expect(panel.get_by_label("speed")).to_have_value("0")
    panel.get_by_label("van").check()
    panel.get_by_label("note").fill("dented door")
    panel.get_by_label("note").press("Tab")
    panel.get_by_label("speed").fill("500")  # out of bounds: refused
    panel.get_by_label("speed").press("Tab")
    expect(panel.get_by_label("speed")).to_have_value("0")
    panel.get_by_label("speed").fill("55")
    panel.get_by_label("speed").press("Tab")
    expect(objects(page).first).to_contain_text("speed: 55")
    save(page)
    values = {a["spec_id"]: a["value"] for a in only_shape(api, job["id"])["attributes"]}
    assert values == {specs["kind"]: "van", specs["note"]: "dented door", specs["speed"]: "55"}
    page.keyboard.press("Control+z")  # the speed again
    expect(panel.get_by_label("speed")).to_have_value("0")


def test_cuboids_and_masks_are_read_only_and_saved_back_unchanged(page, api, job):
    car = job["labels"]["car"]
    cuboid = {**rectangle(0, car["id"], [float(v) for v in range(10, 26)]), "type": "cuboid"}
    mask = {**rectangle(0, car["id"], [0, 4, 200, 150, 201, 151]), "type": "mask"}
    put_shapes(api, job["id"], [cuboid, mask, rectangle(0, car["id"], [20, 20, 100, 80])])
    before = {s["type"]: s for s in saved(api, job["id"])["shapes"]}
    open_job(page, job["id"])
    expect(objects(page)).to_have_count(3)
    expect(objects(page).filter(has_text="cuboid")).to_contain_text("read-only")
    objects(page).filter(has_text="mask").click()
    expect(page.locator("[data-handle]")).to_have_count(0)  # no handles to edit it
    expect(page.get_by_role("button", name="Delete shape")).to_be_disabled()
    objects(page).filter(has_text="rectangle").click()
    drag(page, (60, 50), (70, 60))
    save(page)
    after = {s["type"]: s for s in saved(api, job["id"])["shapes"]}
    for kind in ("cuboid", "mask"):
        assert after[kind]["points"] == before[kind]["points"]
    assert_close(after["rectangle"]["points"], [30, 30, 110, 90])


def test_objects_sidebar_tab_between_objects_and_the_help_dialog(page, api, job):
    car, person = job["labels"]["car"], job["labels"]["person"]
    put_shapes(
        api,
        job["id"],
        [
            rectangle(0, car["id"], [20, 20, 100, 80]),
            rectangle(0, person["id"], [150, 100, 250, 200]),
        ],
    )
    open_job(page, job["id"])
    selected = page.locator("#objects .annot-object[aria-pressed='true']")
    # Hovering a shape marks its row; the filter shows one label's objects.
    page.mouse.move(*to_screen(page, 200, 150))
    expect(page.locator("#objects .annot-object.hovered")).to_contain_text("person")
    page.get_by_label("Objects shown").select_option(str(person["id"]))
    expect(objects(page)).to_have_count(1)
    page.get_by_label("Objects shown").select_option("")
    # Tab on the image goes from object to object, then on out of the image.
    page.locator("#stage").focus()
    page.keyboard.press("Tab")
    expect(selected).to_contain_text("car")
    page.keyboard.press("Tab")
    expect(selected).to_contain_text("person")
    page.keyboard.press("Shift+Tab")
    expect(selected).to_contain_text("car")
    page.keyboard.press("Escape")
    expect(selected).to_have_count(0)
    page.keyboard.press("F1")
    help_dialog = page.get_by_role("dialog", name="Keyboard and mouse")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Ctrl+Shift+Z")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()


def test_frame_tags_added_removed_undone_and_saved(page, api, job):
    car, person = job["labels"]["car"], job["labels"]["person"]
    open_job(page, job["id"])
    tags = page.locator("#tags .annot-tag")
    names = page.locator("#tags .annot-tag-name")
    page.get_by_label("Tag to add").select_option(str(car["id"]))
    page.get_by_role("button", name="Add tag").click()
    page.get_by_label("Tag to add").select_option(str(person["id"]))
    page.get_by_role("button", name="Add tag").click()
    expect(names).to_have_text(["car", "person"])
    # The car tag's attributes are edited in place (its label's defaults first).
    car_attributes = page.get_by_role("group", name="Attributes of tag car")
    color, parked = car_attributes.get_by_label("color"), car_attributes.get_by_label("parked")
    expect(color).to_have_value("blue")
    expect(page.get_by_role("group", name="Attributes of tag person")).to_have_count(0)
    color.select_option("red")
    parked.check()
    page.keyboard.press("Control+z")  # undoes the checkbox, keeps the color
    expect(parked).not_to_be_checked()
    expect(color).to_have_value("red")
    page.get_by_role("button", name="Remove tag car").click()
    expect(tags).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(tags).to_have_count(2)
    page.keyboard.press("f")
    expect(tags).to_have_count(0)  # tags belong to their frame
    page.keyboard.press("d")
    save(page)
    stored = saved(api, job["id"])["tags"]
    assert sorted((t["frame"], t["label_id"]) for t in stored) == [
        (0, car["id"]),
        (0, person["id"]),
    ]
    car_tag = next(t for t in stored if t["label_id"] == car["id"])
    specs = {spec["name"]: spec["id"] for spec in car["attributes"]}
    assert sorted((a["spec_id"], a["value"]) for a in car_tag["attributes"]) == sorted(
        [(specs["color"], "red"), (specs["parked"], "false")]
    )
    # A saved tag's attribute changes again by an update, and survives a reload.
    open_job(page, job["id"])
    car_attributes = page.get_by_role("group", name="Attributes of tag car")
    car_attributes.get_by_label("parked").check()
    save(page)
    car_tag = next(t for t in saved(api, job["id"])["tags"] if t["label_id"] == car["id"])
    assert {a["spec_id"]: a["value"] for a in car_tag["attributes"]} == {
        specs["color"]: "red",
        specs["parked"]: "true",
    }
    open_job(page, job["id"])
    car_attributes = page.get_by_role("group", name="Attributes of tag car")
    expect(car_attributes.get_by_label("parked")).to_be_checked()


def street_scene(path: Path) -> Path:
    """A drawn 640x400 street (sky, houses, road, two cars, a walker): something for
    the README's pictures to annotate, made here, nothing downloaded."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), "#9cc3e6")
    pen = ImageDraw.Draw(image)
    for y in range(0, 170, 2):  # the sky, lighter towards the horizon
        pen.rectangle([0, y, 640, y + 2], fill=(156 + y // 3, 195 + y // 6, 230))
    for x, width, height, color in [
        (20, 150, 120, "#c9b79c"),
        (190, 120, 150, "#b5651d"),
        (330, 170, 110, "#d8d2c4"),
        (520, 110, 140, "#a0522d"),
    ]:
        pen.rectangle([x, 230 - height, x + width, 230], fill=color)
        for wx in range(x + 14, x + width - 20, 34):
            pen.rectangle([wx, 230 - height + 20, wx + 18, 230 - height + 44], fill="#4a6a8a")
    pen.rectangle([0, 230, 640, 400], fill="#6b6f75")
    pen.rectangle([0, 226, 640, 236], fill="#bdbdbd")
    for x in range(20, 640, 80):
        pen.rectangle([x, 318, x + 40, 324], fill="#f2f2f2")
    pen.polygon(
        [(60, 300), (90, 262), (190, 258), (230, 292), (236, 330), (56, 334)], fill="#c62828"
    )
    pen.polygon([(98, 268), (182, 266), (210, 292), (86, 294)], fill="#90caf9")
    pen.polygon(
        [(380, 286), (404, 252), (490, 250), (520, 284), (524, 318), (376, 320)], fill="#1565c0"
    )
    for cx, cy in [(92, 334), (200, 334), (404, 320), (494, 320)]:
        pen.ellipse([cx - 16, cy - 16, cx + 16, cy + 16], fill="#212121")
    pen.ellipse([292, 186, 310, 204], fill="#f1c27d")
    pen.rectangle([290, 204, 312, 250], fill="#2e7d32")
    pen.rectangle([292, 250, 300, 284], fill="#37474f")
    pen.rectangle([303, 250, 311, 284], fill="#37474f")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92)
    return path


def test_a_view_with_polygons_attributes_and_zoom(page, api, share_dir, screenshots):
    """The README's pictures of the view, saved by ``scripts/screenshots`` (which sets
    ``$SCREENSHOTS_DIR``; a test run saves them in a temporary directory): polygons and
    a polyline on a street with a car selected and its attributes, then zoomed in on it
    with its vertex handles. The test checks what the pictures show."""
    street_scene(share_dir / "street.jpg")
    task = api.post(
        "/api/tasks",
        json={
            "name": "Street, frame 1",
            "labels": [
                {"name": "car", "color": "#ffb300", "attributes": CAR_ATTRIBUTES},
                {"name": "person", "color": "#00e5ff"},
                {"name": "road", "color": "#76ff03"},
            ],
        },
    ).json()
    add_share_data(api, task["id"], [f"{share_dir.name}/street.jpg"])
    job = jobs_of(api, task["id"])[0]
    labels = {label["name"]: label["id"] for label in labels_of(api, task_id=task["id"])}

    def polygon(label: str, points: list[float], kind: str = "polygon") -> dict:
        return {**rectangle(0, labels[label], points), "type": kind}

    put_shapes(
        api,
        job["id"],
        [
            polygon("car", [56, 334, 60, 300, 90, 262, 190, 258, 230, 292, 236, 334]),
            polygon("car", [376, 320, 380, 286, 404, 252, 490, 250, 520, 284, 524, 320]),
            rectangle(0, labels["person"], [286, 184, 316, 286]),
            polygon("road", [0, 321, 640, 321], kind="polyline"),
        ],
    )
    open_job(page, job["id"])
    objects(page).first.click()
    expect(page.locator('[data-handle^="v"]')).to_have_count(6)
    panel = page.locator("#object-panel")
    expect(panel).to_contain_text("color")
    page.get_by_label("color").select_option("red")
    expect(objects(page).first).to_contain_text("color: red")
    snap(page, screenshots, "annotation-view")

    # Zoomed in on the selected car: the wheel zooms at the pointer.
    page.mouse.move(*to_screen(page, 150, 300))
    for _ in range(2):
        page.mouse.wheel(0, -200)
    expect(page.locator("#zoom-level")).not_to_have_text("100%")
    box = page.locator("#frame-image").bounding_box()
    assert box is not None and box["width"] > 640 * 2, box
    page.wait_for_timeout(300)  # the zoom settles: strokes and handles at screen size
    snap(page, screenshots, "annotation-view-zoom")
    for name in ("annotation-view", "annotation-view-zoom"):
        assert (screenshots / f"{name}.png").stat().st_size > 10_000


def patch_shape(api, job_id: int, shape: dict, **changes) -> dict:
    version = saved(api, job_id)["version"]
    body = {"version": version, "tags": [], "tracks": [], "shapes": [{**shape, **changes}]}
    answer = api.patch(f"/api/jobs/{job_id}/annotations", params={"action": "update"}, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_saves_send_only_changed_objects_and_merge_other_annotators_work(page, api, job):
    car = job["labels"]["car"]
    put_shapes(
        api,
        job["id"],
        [rectangle(0, car["id"], [20, 20, 100, 80]), rectangle(0, car["id"], [150, 100, 250, 200])],
    )
    first, second = sorted(saved(api, job["id"])["shapes"], key=lambda s: s["points"][0])
    open_job(page, job["id"])
    sent: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: (
            sent.append((r.method, r.url, r.post_data or ""))
            if "/annotations" in r.url and r.method != "GET"
            else None
        ),
    )
    objects(page).first.click()
    page.locator("#stage").focus()
    page.keyboard.press("q")
    save(page)
    assert len(sent) == 1 and sent[0][0] == "PATCH" and "action=update" in sent[0][1]
    assert f'"id":{first["id"]}' in sent[0][2] and f'"id":{second["id"]}' not in sent[0][2]

    # Another annotator moves the second box; this page moves the first again: both stay.
    patch_shape(api, job["id"], second, points=[160, 110, 260, 210])
    drag(page, (60, 50), (70, 60))
    save(page)
    stored = {s["id"]: s for s in saved(api, job["id"])["shapes"]}
    assert_close(stored[first["id"]]["points"], [30, 30, 110, 90])
    assert stored[first["id"]]["occluded"] is True
    assert_close(stored[second["id"]]["points"], [160, 110, 260, 210])

    # Both change the first box: the conflict dialog; "Keep mine" wins.
    patch_shape(api, job["id"], stored[first["id"]], points=[0, 0, 50, 50])
    drag(page, (70, 60), (80, 70))
    page.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Changed by someone else too")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"#{first['id']}")
    dialog.get_by_role("button", name="Keep mine").click()
    expect(page.locator("#status")).to_contain_text("Saved")
    mine = {s["id"]: s for s in saved(api, job["id"])["shapes"]}[first["id"]]
    assert_close(mine["points"], [40, 40, 120, 100])

    # Again, and this time "Take theirs": the page shows their box, the server keeps it.
    patch_shape(api, job["id"], mine, points=[5, 5, 60, 60])
    page.keyboard.press("Delete")  # the selected first box
    page.get_by_role("button", name="Save").click()
    dialog.get_by_role("button", name="Take theirs").click()
    expect(page.locator("#status")).to_contain_text("Saved")
    expect(objects(page)).to_have_count(2)
    final = {s["id"]: s for s in saved(api, job["id"])["shapes"]}
    assert_close(final[first["id"]]["points"], [5, 5, 60, 60])
    assert_close(final[second["id"]]["points"], [160, 110, 260, 210])


def test_axe_on_the_view_with_every_widget_and_the_help(
    browser, ui_server, api, share_dir, axe_script
):
    job = make_job(api, share_dir, [{"name": "car", "attributes": CAR_ATTRIBUTES + ALL_WIDGETS}])
    car = job["labels"]["car"]
    polygon = {**rectangle(0, car["id"], [30, 150, 90, 120, 150, 135, 160, 190]), "type": "polygon"}
    put_shapes(api, job["id"], [polygon])
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
        expect(page.locator("#object-panel .annot-attr")).to_have_count(5)
        assert serious_violations(page, axe_script) == []
        page.keyboard.press("F1")
        expect(page.locator("#help")).to_be_visible()
        assert serious_violations(page, axe_script) == []
    finally:
        context.close()
