"""The connected-share tree on the create page: a ticked entry can be unticked, and a
folder that vanished after it was ticked can be swapped for another before Retry."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.support.media import write_images
from tests.support.resources import unique
from tests.ui.helpers import (
    CREATION_TIMEOUT_MS,
    open_create_page,
    start_label,
    submit_and_wait,
    task_by_name,
)

pytestmark = pytest.mark.xdist_group("ui")


def test_a_ticked_folder_can_be_unticked_and_swapped_before_retry(page, api, share_dir):
    write_images(share_dir / "gone", ["a.jpg", "b.jpg"])
    write_images(share_dir / "kept", ["c.jpg", "d.jpg", "e.jpg"])
    name = unique("ui-tree")
    open_create_page(page)
    page.get_by_label("Name").fill(name)
    start_label(page, "tree").get_by_role("button", name="Done").click()
    page.get_by_role("tab", name="Connected file share").click()
    page.get_by_role("button", name=f"Expand {share_dir.name}").click()

    gone = page.get_by_label(f"Select {share_dir.name}/gone/", exact=True)
    kept = page.get_by_label(f"Select {share_dir.name}/kept/", exact=True)
    gone.check()
    page.get_by_role("button", name="Expand gone").click()
    child = page.get_by_label(f"Select {share_dir.name}/gone/a.jpg")
    expect(child).to_be_disabled()  # covered by its ticked folder
    expect(child).to_be_checked()
    expect(gone).to_be_enabled()  # the folder's own box stays usable
    gone.uncheck()
    expect(child).to_be_enabled()
    expect(child).not_to_be_checked()
    expect(page.locator(".share-summary")).to_have_text("Nothing selected yet.")

    # Tick the folder, let it vanish, submit: the creation fails.
    gone.check()
    shutil.rmtree(share_dir / "gone")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status-title")).to_have_text(
        "Creation failed", timeout=CREATION_TIMEOUT_MS
    )
    # Untick it, tick another folder and retry: the same task gets that folder's data.
    gone.uncheck()
    kept.check()
    expect(page.locator(".share-summary")).to_have_text(f"Selected: {share_dir.name}/kept/")
    task_id = submit_and_wait(page, "Retry upload")
    task = task_by_name(api, name)
    assert (task["id"], task["size"]) == (task_id, 3)
