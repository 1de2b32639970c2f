"""My computer: folders dropped or picked keep their relative paths, every file
shows its own progress to "Done", and Submit opens the new task's page.

Playwright cannot drag OS folders, so the drop test dispatches a `drop` whose
items hand out objects with the FileSystemEntry interface (`isFile`,
`isDirectory`, `fullPath`, `file()`, `createReader().readEntries()` in batches)
built from real File objects: the page walks them with the same code as real
entries. The folder picker is driven with a real directory.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.media import write_images
from tests.support.resources import unique
from tests.ui.helpers import (
    CREATION_TIMEOUT_MS,
    jobs_of,
    meta_of,
    open_create_page,
    start_label,
    submit_and_wait,
    task_by_name,
    wait_creation,
)

pytestmark = pytest.mark.xdist_group("ui")

# Builds a tree of FileSystemEntry look-alikes from {path, b64} and drops it.
# Directories list their children in reverse order and in batches of two, so
# the page has to sort them and to call readEntries until it answers [].
DROP_TREE = """({files, top}) => {
  const later = (fn) => setTimeout(fn, 0);
  const makeFile = (path, b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const name = path.split('/').pop();
    const file = new File([bytes], name, {type: name.endsWith('.jpg') ? 'image/jpeg' : ''});
    return {isFile: true, isDirectory: false, name, fullPath: `/${path}`,
            file: (ok) => later(() => ok(file))};
  };
  const makeDir = (path) => {
    const children = [];
    return {isFile: false, isDirectory: true, name: path.split('/').pop(), fullPath: `/${path}`,
            children,
            createReader() {
              const order = [...children].reverse();
              let at = 0;
              return {readEntries: (ok) => later(() => {
                const batch = order.slice(at, at + 2);
                at += batch.length;
                ok(batch);
              })};
            }};
  };
  const dirs = new Map();
  const dirOf = (path) => {
    if (!dirs.has(path)) {
      const dir = makeDir(path);
      dirs.set(path, dir);
      const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : null;
      if (parent) dirOf(parent).children.push(dir);
    }
    return dirs.get(path);
  };
  const roots = [];
  for (const {path, b64} of files) {
    const entry = makeFile(path, b64);
    if (path.includes('/')) dirOf(path.slice(0, path.lastIndexOf('/'))).children.push(entry);
    else roots.push(entry);
  }
  const entries = [...top.map((name) => dirs.get(name)), ...roots];
  const items = entries.map((entry) => ({kind: 'file', webkitGetAsEntry: () => entry,
                                         getAsFile: () => null}));
  const zone = document.getElementById('dropzone');
  const event = new Event('drop', {bubbles: true, cancelable: true});
  Object.defineProperty(event, 'dataTransfer', {value: {items, files: []}});
  zone.dispatchEvent(event);
}"""

# Records, in sessionStorage (it survives the move to the task page), every
# state each row of the file list went through and every status message.
RECORD = """() => {
  const rows = {};
  const messages = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const row = record.target;
      const name = row.querySelector('.file-name').textContent;
      const seen = (rows[name] ||= []);
      if (seen.at(-1) !== row.dataset.state) seen.push(row.dataset.state);
    }
    sessionStorage.setItem('test.rows', JSON.stringify(rows));
  }).observe(document.getElementById('file-list'),
             {subtree: true, attributes: true, attributeFilter: ['data-state']});
  new MutationObserver(() => {
    const text = document.getElementById('status-message').textContent;
    if (messages.at(-1) !== text) messages.push(text);
    sessionStorage.setItem('test.status', JSON.stringify(messages));
  }).observe(document.getElementById('creation-status'),
             {subtree: true, childList: true, characterData: true});
}"""


def recorded(page: Page) -> tuple[dict, list[str]]:
    rows = page.evaluate("sessionStorage.getItem('test.rows')")
    status = page.evaluate("sessionStorage.getItem('test.status')")
    return json.loads(rows or "{}"), json.loads(status or "[]")


def encoded(root: Path, paths: list[Path]) -> list[dict]:
    return [
        {"path": p.relative_to(root).as_posix(), "b64": base64.b64encode(p.read_bytes()).decode()}
        for p in paths
    ]


def spy_multipart_names(page: Page) -> None:
    """Note the file names the page gives its multipart parts (the browser does not
    expose bodies made of files to Playwright), in sessionStorage."""
    page.evaluate(
        """() => {
            const append = FormData.prototype.append;
            FormData.prototype.append = function (key, value, name) {
                if (value instanceof Blob) {
                    const names = JSON.parse(sessionStorage.getItem('test.parts') || '[]');
                    sessionStorage.setItem('test.parts', JSON.stringify([...names, name]));
                }
                return append.apply(this, arguments);
            };
        }"""
    )


def multipart_names(page: Page) -> list[str]:
    return json.loads(page.evaluate("sessionStorage.getItem('test.parts')") or "[]")


def fill_basics(page: Page, name: str) -> None:
    page.get_by_label("Name").fill(name)
    start_label(page, "car").get_by_role("button", name="Done").click()


def test_dropped_folders_keep_relative_names_and_every_file_shows_progress(page, api, tmp_path):
    root = tmp_path / "drop"
    images = write_images(
        root,
        ["shots/a.jpg", "shots/day1/b.jpg", "shots/day1/night/c.jpg", "shots/day2/d.jpg", "e.jpg"],
    )
    hidden = root / "shots" / ".DS_Store"
    hidden.write_bytes(b"\0\0\0\1Bud1")
    name = unique("ui-drop-folder")
    open_create_page(page)
    fill_basics(page, name)
    page.evaluate(DROP_TREE, {"files": encoded(root, [*images, hidden]), "top": ["shots"]})

    expected = [
        "shots/a.jpg",
        "shots/day1/b.jpg",
        "shots/day1/night/c.jpg",
        "shots/day2/d.jpg",
        "e.jpg",
    ]
    expect(page.locator("#file-list .file-name")).to_have_text(expected)  # no .DS_Store
    expect(page.locator("#file-count")).to_contain_text("5 files")
    spy_multipart_names(page)
    page.evaluate(RECORD)
    task_id = submit_and_wait(page)

    # The task page, with the flash, the jobs and no creation in progress.
    expect(page.locator("#flash")).to_contain_text(name)
    expect(page.locator("#task-title")).to_contain_text(name)
    expect(page.locator(".jobs-table tbody tr")).to_have_count(1)
    expect(page.locator("#creation-status")).to_be_hidden()

    rows, status = recorded(page)
    assert sorted(rows) == sorted(expected)
    assert all(states[-1] == "done" and "failed" not in states for states in rows.values()), rows
    assert any(message.endswith("5 of 5 files uploaded") for message in status), status
    assert sorted(multipart_names(page)) == sorted(expected)  # relative paths go to the server

    task = task_by_name(api, name)
    assert task["id"] == task_id and task["size"] == 5
    frames = [frame["name"] for frame in meta_of(api, task_id)["frames"]]
    assert sorted(frames) == sorted(expected)  # the server keeps the folders


def test_the_folder_picker_lists_relative_paths_and_is_keyboard_reachable(page, tmp_path):
    folder = tmp_path / "survey"
    write_images(folder, ["north/n1.jpg", "north/n2.jpg", "south/s1.jpg", "top.jpg"])
    write_images(folder / ".cache", ["skip.jpg"])
    open_create_page(page)
    page.evaluate(
        """() => document.getElementById('folder-input')
            .addEventListener('click', () => { window.folderPicked = true; })"""
    )
    page.locator("#file-input").focus()  # the drop zone's file picker, then Tab
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Select a folder…")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_function("window.folderPicked === true")  # Enter opens the folder picker
    page.locator("#folder-input").set_input_files(str(folder))  # what the user picks
    expect(page.locator("#file-list .file-name")).to_have_text(
        ["survey/north/n1.jpg", "survey/north/n2.jpg", "survey/south/s1.jpg", "survey/top.jpg"]
    )
    # The same name again replaces the row instead of adding one.
    page.locator("#folder-input").set_input_files(str(folder))
    expect(page.locator("#file-list .file-item")).to_have_count(4)
    page.get_by_role("button", name="Remove survey/top.jpg").click()
    expect(page.locator("#file-count")).to_contain_text("3 files")


def test_frames_of_an_uploaded_folder_carry_the_relative_names(page, api, tmp_path):
    folder = tmp_path / "pack"
    write_images(folder, ["day1/x.jpg", "day2/x.jpg", "y.jpg"])
    name = unique("ui-folder-names")
    open_create_page(page)
    fill_basics(page, name)
    page.locator("#folder-input").set_input_files(str(folder))
    expect(page.locator("#file-list .file-item")).to_have_count(3)
    task_id = submit_and_wait(page)
    frames = [frame["name"] for frame in meta_of(api, task_id)["frames"]]
    assert frames == ["pack/day1/x.jpg", "pack/day2/x.jpg", "pack/y.jpg"]


def test_hundreds_of_files_each_reach_done_in_a_scrolling_list(page, api, tmp_path):
    count = 300
    images = write_images(tmp_path / "many", [f"m{i:03d}.jpg" for i in range(count)], (8, 6))
    name = unique("ui-many")
    open_create_page(page)
    fill_basics(page, name)
    page.locator("#file-input").set_input_files([str(p) for p in images])
    rows = page.locator("#file-list .file-item")
    expect(rows).to_have_count(count)
    box = page.locator("#file-list")
    assert box.evaluate("el => el.scrollHeight > el.clientHeight")  # scrolls, page stays short
    expect(box).to_have_attribute("tabindex", "0")  # and the keyboard can scroll it
    page.get_by_text("Advanced configuration").click()
    page.get_by_label("Segment size").fill("100")
    page.evaluate(RECORD)
    task_id = submit_and_wait(page)
    expect(page.locator(".jobs-table tbody tr")).to_have_count(3)
    states, status = recorded(page)
    assert len(states) == count
    assert all(seen[-1] == "done" for seen in states.values())
    assert any(message.endswith(f"{count} of {count} files uploaded") for message in status)
    assert len(jobs_of(api, task_id)) == 3


def test_a_refused_file_is_marked_failed_and_the_form_stays_filled(page, api, tmp_path):
    root = tmp_path / "bad"
    (good,) = write_images(root, ["set/ok.jpg"])
    name = unique("ui-refused")
    open_create_page(page)
    fill_basics(page, name)
    files = encoded(root, [good])
    too_long = "set/" + "x" * 300 + ".jpg"  # a name no file system stores: the server refuses it
    files.append({"path": too_long, "b64": files[0]["b64"]})
    page.evaluate(DROP_TREE, {"files": files, "top": ["set"]})
    expect(page.locator("#file-list .file-item")).to_have_count(2)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status-title")).to_have_text(
        "Creation failed", timeout=CREATION_TIMEOUT_MS
    )
    failed = page.locator("#file-list .file-item[data-state='failed']")
    expect(failed).to_have_count(2)  # they travelled in the same request
    expect(failed.first.locator(".file-status")).to_have_text("Failed")
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.get_by_role("button", name="Retry upload")).to_be_visible()
    remove = page.get_by_role("button", name=f"Remove {too_long}")
    expect(remove).to_be_visible()  # the selection can change again

    # Without the bad file the retry goes through and opens the task.
    remove.click()
    task_id = submit_and_wait(page, "Retry upload")
    assert task_id == task_by_name(api, name)["id"]
    expect(page.locator(".jobs-table tbody tr")).to_have_count(1)


def test_the_upload_module_reports_each_file_through_bulk_and_tus(page, api, tmp_path):
    """Small limits: two multipart groups and a file by TUS, each followed to done."""
    task = api.post("/api/tasks", json={"name": unique("ui-per-file"), "labels": [{"name": "a"}]})
    task = task.json()
    images = [
        *write_images(tmp_path, ["p0.jpg", "p1.jpg"], base=(120, 90)),
        *write_images(tmp_path / "big", ["p2.jpg"], base=(400, 300)),
    ]
    sizes = [p.stat().st_size for p in images]
    metadata: list[str] = []
    page.on(
        "request",
        lambda request: (
            metadata.append(request.headers["upload-metadata"])
            if "upload-metadata" in request.headers
            else None
        ),
    )
    page.goto("/tasks")
    payload = [{"name": f"dir/{p.name}", "bytes": list(p.read_bytes())} for p in images]
    events = page.evaluate(
        """async ({taskId, files, bulkLimit}) => {
            const {uploadTaskData} = await import('/static/js/upload.js');
            const items = files.map((f) => ({
                file: new File([new Uint8Array(f.bytes)], f.name.split('/').pop()), name: f.name}));
            const events = [];
            const rqId = await uploadTaskData(taskId, items, {image_quality: 70}, {
                bulkLimit, chunkSize: 1024,
                onFileProgress: (index, sent, state) => events.push([index, sent, state]),
            });
            return {rqId, events};
        }""",
        {"taskId": task["id"], "files": payload, "bulkLimit": max(sizes[0], sizes[1])},
    )
    assert events["rqId"]
    by_file: dict[int, list] = {}
    for index, sent, state in events["events"]:
        by_file.setdefault(index, []).append((sent, state))
    assert sorted(by_file) == [0, 1, 2]
    for index, seen in by_file.items():
        assert seen[-1] == (sizes[index], "done"), seen
        assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)  # never backwards
    # p2 is over the bulk limit: it went by TUS, in 1 KiB chunks, under its relative name.
    assert sizes[2] > max(sizes[0], sizes[1])
    assert len(by_file[2]) > 2
    assert metadata == [f"filename {base64.b64encode(b'dir/p2.jpg').decode()}"]
    done = wait_creation(api, task["id"])
    assert done["creation_request"]["status"] == "finished" and done["size"] == 3
