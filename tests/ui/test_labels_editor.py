"""The labels editor: Raw JSON round trip, invalid JSON, Reset, Copy, updating a label."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support.resources import unique
from tests.ui.helpers import add_attribute, labels_of, open_create_page, start_label

pytestmark = pytest.mark.xdist_group("ui")


def raw_text(page) -> str:
    return page.get_by_label("Labels as JSON").input_value()


def test_raw_round_trip_invalid_json_reset_and_copy(page):
    open_create_page(page)
    form = start_label(page, "car", "#112233")
    add_attribute(form, "kind", "radio", ["sedan", "van"])
    form.get_by_role("button", name="Done").click()

    page.get_by_role("tab", name="Raw").click()
    labels = json.loads(raw_text(page))
    assert labels == [
        {
            "name": "car",
            "color": "#112233",
            "type": "any",
            "attributes": [
                {
                    "name": "kind",
                    "mutable": False,
                    "input_type": "radio",
                    "values": ["sedan", "van"],
                    "default_value": "sedan",
                }
            ],
        }
    ]

    page.get_by_role("button", name="Copy").click()
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == labels

    # Invalid JSON: an error, nothing applied; Reset brings back the current labels.
    raw = page.get_by_label("Labels as JSON")
    raw.fill('[{"name": "car",,}]')
    page.locator(".labels-editor").get_by_role("button", name="Done").click()
    expect(page.locator(".raw-error")).to_contain_text("Invalid JSON")
    page.get_by_role("button", name="Reset").click()
    assert json.loads(raw_text(page)) == labels
    expect(page.locator(".raw-error")).to_be_empty()

    # Rule violations are named by path.
    raw.fill(
        json.dumps(
            [
                {
                    "name": "a",
                    "attributes": [
                        {
                            "name": "n",
                            "mutable": False,
                            "input_type": "number",
                            "values": ["1", "2"],
                        }
                    ],
                }
            ]
        )
    )
    page.locator(".labels-editor").get_by_role("button", name="Done").click()
    expect(page.locator(".raw-error")).to_contain_text(
        "labels[0].attributes[0].values: A number attribute has exactly three numbers"
    )

    # A valid edit applies and shows in the constructor.
    edited = labels + [
        {
            "name": "person",
            "color": "#00ff00",
            "attributes": [
                {
                    "name": "age",
                    "mutable": True,
                    "input_type": "number",
                    "values": ["0", "120", "1"],
                }
            ],
        }
    ]
    raw.fill(json.dumps(edited))
    page.locator(".labels-editor").get_by_role("button", name="Done").click()
    expect(page.locator(".raw-error")).to_be_empty()
    page.get_by_role("tab", name="Constructor").click()
    items = page.locator(".labels-editor .label-item")
    expect(items).to_have_count(2)
    expect(items.nth(1)).to_contain_text("person")
    expect(items.nth(1)).to_contain_text("1 attribute")

    page.get_by_role("button", name="Copy").click()
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert [label["name"] for label in copied] == ["car", "person"]


def test_update_and_delete_labels_in_the_constructor_before_creation(page):
    open_create_page(page)
    start_label(page, "a").get_by_role("button", name="Done").click()
    start_label(page, "b").get_by_role("button", name="Done").click()
    item_a = page.locator(".label-item[data-name='a']")
    item_a.get_by_role("button", name="Update attributes").click()
    form = page.locator(".label-form")
    expect(form.get_by_label("Label name")).to_have_value("a")
    add_attribute(form, "flag", "checkbox", "false")
    form.get_by_label("Label name").fill("b")
    form.get_by_role("button", name="Done").click()
    expect(form.locator(".field-error").first).to_contain_text("must be unique")
    form.get_by_label("Label name").fill("a2")
    form.get_by_role("button", name="Done").click()
    expect(page.locator(".label-item[data-name='a2']")).to_contain_text("1 attribute")
    page.locator(".label-item[data-name='b']").get_by_role("button", name="Delete label").click()
    expect(page.locator(".labels-editor .label-item")).to_have_count(1)
    # Cancel leaves a new label out.
    start_label(page, "never").get_by_role("button", name="Cancel").click()
    expect(page.locator(".labels-editor .label-item")).to_have_count(1)


def test_task_page_labels_editor_saves_through_the_api(page, api):
    task = api.post(
        "/api/tasks",
        json={
            "name": unique("ui-labels"),
            "labels": [
                {
                    "name": "car",
                    "attributes": [
                        {
                            "name": "color",
                            "mutable": False,
                            "input_type": "select",
                            "values": ["red"],
                        }
                    ],
                },
                {"name": "gone"},
            ],
        },
    ).json()
    page.goto(f"/tasks/{task['id']}")
    car = page.locator(".label-item[data-name='car']")
    car.get_by_role("button", name="Update attributes").click()
    form = page.locator(".label-form")
    row = form.locator(".attribute-row").first
    expect(row.get_by_label("Attribute name")).to_be_disabled()  # existing: append only
    expect(row.get_by_role("button", name="Remove value red")).to_have_count(0)
    values = row.get_by_label("Attribute values")
    values.fill("blue")
    values.press("Enter")
    add_attribute(form, "big", "checkbox", "true")
    form.get_by_role("button", name="Done").click()
    expect(page.locator(".label-form")).to_have_count(0)
    expect(car).to_contain_text("2 attributes")

    page.locator(".label-item[data-name='gone']").get_by_role("button", name="Delete label").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".label-item[data-name='gone']")).to_have_count(0)

    labels = labels_of(api, task_id=task["id"])
    assert [label["name"] for label in labels] == ["car"]
    attrs = {a["name"]: a for a in labels[0]["attributes"]}
    assert attrs["color"]["values"] == ["red", "blue"]
    assert attrs["big"]["values"] == ["true"]

    # Raw on a persisted label set: the server's error comes back into the editor.
    page.get_by_role("tab", name="Raw").click()
    current = json.loads(raw_text(page))
    current[0]["attributes"][0]["values"] = ["blue", "red"]  # reordered: the server refuses
    page.get_by_label("Labels as JSON").fill(json.dumps(current))
    page.locator(".labels-editor").get_by_role("button", name="Done").click()
    expect(page.locator(".raw-error")).to_contain_text("append")
