"""Tracks and playback in the annotation view, on a video task: a track drawn in track
mode with three keyframes shows on the frames between them what the server's
interpolation exports ("CVAT for images 1.1"); outside and back, save, reload, and the
track in the "CVAT for video 1.1" export; split, merge, propagation and undo; playback
shows every frame once, in order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Page, expect

from tests.annotations_api.test_imports import export, member
from tests.support.media import write_video
from tests.support.resources import unique
from tests.ui.helpers import add_share_data, jobs_of, labels_of, wait_creation
from tests.ui.test_annotation_view import (
    CAR_ATTRIBUTES,
    drag,
    draw,
    objects,
    open_job,
    save,
    saved,
    wait_image,
)

pytestmark = pytest.mark.xdist_group("ui")


def video_job(api, share_dir, frames: int, size=(320, 240), zip_chunks: bool = False) -> dict:
    """A video task of ``frames`` generated frames with the labels car and person; its job.
    ``zip_chunks``: compressed chunks are zips of JPEGs (CVAT's ``use_zip_chunks``)."""
    write_video(share_dir / "clip.mp4", frames=frames, size=size)
    labels = [{"name": "car", "attributes": CAR_ATTRIBUTES}, {"name": "person"}]
    answer = api.post("/api/tasks", json={"name": unique("ui-tracks"), "labels": labels})
    assert answer.status_code == 201, answer.text
    task = answer.json()
    if zip_chunks:
        body = {"server_files": [f"{share_dir.name}/clip.mp4"], "use_zip_chunks": True}
        assert api.post(f"/api/tasks/{task['id']}/data/", json=body).status_code == 202
        wait_creation(api, task["id"])
    else:
        add_share_data(api, task["id"], [f"{share_dir.name}/clip.mp4"])
    job = jobs_of(api, task["id"])[0]
    job["labels"] = {label["name"]: label for label in labels_of(api, task_id=task["id"])}
    return job


def go(page: Page, frame: int) -> None:
    box = page.locator("#frame-number")
    box.fill(str(frame))
    box.press("Enter")
    expect(page.locator("#frame-number")).to_have_value(str(frame))
    wait_image(page)
    page.locator("#stage").focus()


def shown_box(page: Page) -> list[float] | None:
    """The rectangle drawn on the canvas (image coordinates), or None."""
    return page.evaluate(
        """() => { const r = document.querySelector('#canvas .annot-shapes rect');
          if (!r) return null;
          const v = (n) => Number(r.getAttribute(n));
          return [v('x'), v('y'), v('x') + v('width'), v('y') + v('height')]; }"""
    )


def close(a: list[float], b: list[float], tolerance: float) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def box_of(element: ElementTree.Element) -> list[float]:
    return [float(element.get(k, "nan")) for k in ("xtl", "ytl", "xbr", "ybr")]


@pytest.fixture
def job(api, share_dir) -> dict:
    return video_job(api, share_dir, frames=30)


def test_a_track_with_three_keyframes_matches_the_exports(page, api, job):
    open_job(page, job["id"])
    page.get_by_role("button", name="Track mode").click()
    draw(page, [20, 20, 80, 60])
    expect(objects(page)).to_have_count(1)
    expect(objects(page).first).to_contain_text("rectangle track · keyframe")

    go(page, 10)  # moving it on another frame makes a keyframe there
    expect(objects(page).first).not_to_contain_text("keyframe")
    drag(page, (50, 40), (90, 60))
    expect(objects(page).first).to_contain_text("keyframe")
    go(page, 20)
    drag(page, (90, 60), (150, 100))
    third = shown_box(page)
    assert third is not None and close(third, [120, 80, 180, 120], 2), third

    shown = {}
    for frame in (5, 13, 17):
        go(page, frame)
        shown[frame] = shown_box(page)
        assert shown[frame] is not None, frame
    save(page)

    track = saved(api, job["id"])["tracks"][0]
    assert [s["frame"] for s in track["shapes"]] == [0, 10, 20]
    xml = ElementTree.fromstring(
        member(export(api, job["task_id"], "CVAT for images 1.1"), "annotations.xml")
    )
    for frame, points in shown.items():
        exported = xml.find(f"image[@id='{frame}']/box")
        assert exported is not None, frame
        assert close(box_of(exported), points, 0.01), (frame, box_of(exported), points)

    # E / R: previous and next keyframe of the selected track.
    go(page, 13)
    objects(page).first.click()
    page.locator("#stage").focus()
    page.keyboard.press("e")
    expect(page.locator("#frame-number")).to_have_value("10")
    page.keyboard.press("r")
    expect(page.locator("#frame-number")).to_have_value("20")

    # Outside on frame 24, back on frame 27: nothing drawn in between, listed as outside.
    go(page, 24)
    page.keyboard.press("o")
    assert shown_box(page) is None
    go(page, 26)
    assert shown_box(page) is None
    expect(objects(page).first).to_contain_text("outside")
    go(page, 27)
    objects(page).first.click()
    page.locator("#stage").focus()
    page.keyboard.press("o")
    assert close(shown_box(page) or [], third, 0.01)
    save(page)

    page.reload()
    open_job(page, job["id"])
    go(page, 13)
    assert close(shown_box(page) or [], shown[13], 0.01)
    go(page, 25)
    assert shown_box(page) is None

    video = ElementTree.fromstring(
        member(export(api, job["task_id"], "CVAT for video 1.1"), "annotations.xml")
    )
    tracks = video.findall("track")
    assert len(tracks) == 1 and tracks[0].get("label") == "car"
    boxes = {int(b.get("frame", -1)): b for b in tracks[0].findall("box")}
    assert boxes[24].get("outside") == "1" and boxes[24].get("keyframe") == "1"
    assert 26 not in boxes or boxes[26].get("outside") == "1"  # hidden between 24 and 27
    assert boxes[27].get("outside") == "0" and boxes[27].get("keyframe") == "1"
    assert close(box_of(boxes[0]), [20, 20, 80, 60], 2)
    assert close(box_of(boxes[13]), shown[13], 0.01)
    assert close(box_of(boxes[27]), third, 0.01)


def test_keyframe_toggle_split_merge_propagate_and_undo(page, api, job):
    open_job(page, job["id"])
    page.get_by_role("button", name="Track mode").click()
    draw(page, [20, 20, 80, 60])
    go(page, 6)
    page.keyboard.press("k")  # a keyframe where it is, without moving it
    expect(objects(page).first).to_contain_text("keyframe")
    page.keyboard.press("k")
    expect(objects(page).first).not_to_contain_text("keyframe")
    go(page, 8)
    drag(page, (50, 40), (150, 40))

    # Alt+M splits the track on frame 4: two tracks, one undo step.
    go(page, 4)
    objects(page).first.click()
    page.locator("#stage").focus()
    page.keyboard.press("Alt+m")
    expect(objects(page)).to_have_count(2)  # the ending one (outside) and the new one
    page.keyboard.press("Control+z")
    expect(objects(page)).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(objects(page)).to_have_count(2)
    save(page)
    tracks = sorted(saved(api, job["id"])["tracks"], key=lambda t: t["frame"])
    assert [[s["frame"] for s in t["shapes"]] for t in tracks] == [[0, 4], [4, 8]]
    assert tracks[0]["shapes"][1]["outside"] is True

    # M, click both, M: merged back into one track.
    page.keyboard.press("m")
    go(page, 2)
    objects(page).first.click()
    go(page, 5)
    objects(page).filter(has_not_text="outside").click()  # the second track
    page.locator("#stage").focus()
    page.keyboard.press("m")
    expect(page.locator("#status")).to_contain_text("merged into a track")
    save(page)
    tracks = saved(api, job["id"])["tracks"]
    assert len(tracks) == 1
    assert [s["frame"] for s in tracks[0]["shapes"]] == [0, 4, 8]
    assert not any(s["outside"] for s in tracks[0]["shapes"])

    # Shape mode: Ctrl+B propagates a shape to the next 3 frames.
    page.get_by_role("button", name="Track mode").click()
    go(page, 10)
    draw(page, [200, 150, 260, 200])
    page.keyboard.press("Control+b")
    page.locator("#propagate-count").fill("3")
    page.get_by_role("button", name="Propagate", exact=True).last.click()
    save(page)
    frames = sorted(s["frame"] for s in saved(api, job["id"])["shapes"])
    assert frames == [10, 11, 12, 13]


@pytest.mark.parametrize("zip_chunks", [False, True], ids=["frames", "imageset-chunks"])
def test_playback_shows_every_frame_once_in_order(page, api, share_dir, zip_chunks):
    job = video_job(api, share_dir, frames=101, size=(160, 120), zip_chunks=zip_chunks)
    assert job["data_compressed_chunk_type"] == ("imageset" if zip_chunks else "video")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/data?" in r.url else None)
    open_job(page, job["id"])
    page.evaluate(
        """() => { window.__frames = [];
          document.addEventListener('annot:frame',
            (e) => window.__frames.push(e.detail.frame)); }"""
    )
    page.locator("#stage").focus()
    page.keyboard.press(" ")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#frame-number")).to_have_value("100", timeout=60_000)
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__frames") == list(range(1, 101))
    assert page.evaluate("document.getElementById('frame-image').src").startswith("blob:")
    chunks = [url for url in asked if "type=chunk" in url]
    frames = [url for url in asked if "type=frame" in url]
    if zip_chunks:  # a chunk at a time (72 frames of this size); the first frame alone
        assert len(chunks) == 2 and len(frames) == 1 and "number=0&" in frames[0], asked
    else:
        assert not chunks

    # The decoded images stay within the player's budget (here: three frames).
    stats = page.evaluate(
        """async ([jobId, chunked]) => {
          const { FramePlayer } = await import('/static/js/annotation/player.js');
          const url = (f) => `/api/jobs/${jobId}/data?type=frame&number=${f}&quality=compressed`;
          const chunk = () => (chunked
            ? { size: 72, first: 0, url: (i) => `/api/jobs/${jobId}/data?type=chunk&number=${i}` }
            : null);
          const frames = () => [...Array(101).keys()];
          const player = new FramePlayer({ frames, url, chunk, show: () => {},
            budget: 3 * 160 * 120 * 4 });
          let peak = 0;
          for (let f = 0; f < 30; f += 1) {
            player.setCurrent(f);
            await player.load(f);
            peak = Math.max(peak, player.stats().decodedBytes);
          }
          return { peak, ...player.stats() };
        }""",
        [job["id"], zip_chunks],
    )
    assert stats["decoded"] <= 3 and stats["peak"] <= 4 * 160 * 120 * 4, stats

    # Space pauses; V / C step 10 frames; ?frame=N opens that frame.
    page.keyboard.press("c")
    expect(page.locator("#frame-number")).to_have_value("90")
    page.keyboard.press("v")
    expect(page.locator("#frame-number")).to_have_value("100")
    page.goto(f"/jobs/{job['id']}?frame=42")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    expect(page.locator("#frame-number")).to_have_value("42")
    expect(page.locator("#frame-slider")).to_have_value("42")


def scene_video(path, frames: int = 60, size=(640, 360)):
    """A video of two boxes crossing a gradient: something for tracks to follow."""
    import av
    import numpy as np

    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    ys, xs = np.mgrid[0:height, 0:width]
    background = np.stack(
        [xs * 120 // width + 40, ys * 90 // height + 70, 150 - xs * 60 // width], -1
    )
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            pixels = background.astype(np.uint8).copy()
            x = 40 + index * 6
            pixels[200:260, x : x + 110] = (200, 50, 40)
            y = 60 + index * 2
            pixels[y : y + 120, 420 - index * 3 : 470 - index * 3] = (40, 90, 200)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_a_video_job_with_tracks_picture(page, api, share_dir, tmp_path):
    """The README's picture of a video job with tracks. Saved in ``$SCREENSHOTS_DIR``
    by ``scripts/screenshots`` (else in a temporary directory); the test checks what
    the picture shows."""
    scene_video(share_dir / "street.mp4")
    labels = [
        {"name": "car", "color": "#e53935", "attributes": CAR_ATTRIBUTES},
        {"name": "person", "color": "#1e88e5"},
    ]
    answer = api.post("/api/tasks", json={"name": unique("Street video"), "labels": labels})
    task = answer.json()
    add_share_data(api, task["id"], [f"{share_dir.name}/street.mp4"])
    job = jobs_of(api, task["id"])[0]
    named = {label["name"]: label for label in labels_of(api, task_id=task["id"])}

    def keyframe(frame, points, **extra):
        return {
            **{"type": "rectangle", "frame": frame, "points": points, "occluded": False},
            **{"outside": False, "z_order": 0, "rotation": 0, "attributes": []},
            **extra,
        }

    car = [keyframe(f, [40 + f * 6, 200, 150 + f * 6, 260]) for f in (0, 20, 40)]
    person = [keyframe(f, [420 - f * 3, 60 + f * 2, 470 - f * 3, 180 + f * 2]) for f in (0, 30)]
    person.append(keyframe(50, [270, 160, 320, 280], outside=True))
    body = {
        "tags": [],
        "shapes": [],
        "tracks": [
            {"frame": 0, "label_id": named["car"]["id"], "group": 0, "source": "manual",
             "attributes": [], "shapes": car},
            {"frame": 0, "label_id": named["person"]["id"], "group": 0, "source": "manual",
             "attributes": [], "shapes": person},
        ],
    }  # fmt: skip
    assert api.put(f"/api/jobs/{job['id']}/annotations", json=body).status_code == 200
    page.goto(f"/jobs/{job['id']}?frame=27")
    expect(page.locator("#main[data-ready='1']")).to_be_attached()
    wait_image(page)
    expect(objects(page)).to_have_count(2)
    objects(page).first.click()
    expect(page.locator("#track-info")).to_contain_text("keyframes at 0, 20, 40")
    page.locator("#stage").focus()
    page.mouse.move(0, 0)
    directory = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    path = directory / "video-tracks.jpg"
    page.screenshot(path=str(path), type="jpeg", quality=85, animations="disabled", caret="hide")
    assert 0 < path.stat().st_size < 300_000


def put_tracks(api, job_id: int, label_id: int, starts: list[float]) -> list[dict]:
    """One rectangle track per x in ``starts``: keyframes on frames 0 and 10."""

    def keyframe(frame: int, x: float) -> dict:
        return {
            **{"type": "rectangle", "frame": frame, "points": [x, 20, x + 40, 60]},
            **{"occluded": False, "outside": False, "z_order": 0, "rotation": 0},
            "attributes": [],
        }

    tracks = [
        {
            **{"frame": 0, "label_id": label_id, "group": 0, "source": "manual"},
            "attributes": [],
            "shapes": [keyframe(0, x), keyframe(10, x + 50)],
        }
        for x in starts
    ]
    body = {"tags": [], "shapes": [], "tracks": tracks}
    assert api.put(f"/api/jobs/{job_id}/annotations", json=body).status_code == 200
    return sorted(saved(api, job_id)["tracks"], key=lambda t: t["shapes"][0]["points"][0])


def test_tracks_are_saved_per_object_and_merged_with_another_annotators(page, api, job):
    car = job["labels"]["car"]
    first, second = put_tracks(api, job["id"], car["id"], [20, 200])
    open_job(page, job["id"])
    sent: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: (
            sent.append((r.url, r.post_data or ""))
            if "/annotations" in r.url and r.method == "PATCH"
            else None
        ),
    )
    go(page, 5)
    drag(page, (65, 40), (65, 80))  # the first track, moved down 40 on frame 5
    # Meanwhile another annotator adds a keyframe on frame 3 to the second track.
    version = saved(api, job["id"])["version"]
    keyframes = [*second["shapes"], {**second["shapes"][0], "frame": 3}]
    theirs = {**second, "shapes": sorted(keyframes, key=lambda s: s["frame"])}
    for shape in theirs["shapes"]:
        shape.pop("id", None)
    answer = api.patch(
        f"/api/jobs/{job['id']}/annotations",
        params={"action": "update"},
        json={"version": version, "tags": [], "shapes": [], "tracks": [theirs]},
    )
    assert answer.status_code == 200, answer.text
    save(page)
    assert all("action=update" in url for url, _ in sent)
    assert [t["id"] for t in json.loads(sent[0][1])["tracks"]] == [first["id"]]  # ours only
    stored = {t["id"]: t for t in saved(api, job["id"])["tracks"]}
    assert sorted(s["frame"] for s in stored[first["id"]]["shapes"]) == [0, 5, 10]
    assert sorted(s["frame"] for s in stored[second["id"]]["shapes"]) == [0, 3, 10]
    # Undo takes the keyframe back out; saved again, the first track is as it was.
    page.keyboard.press("Control+z")
    save(page)
    stored = {t["id"]: t for t in saved(api, job["id"])["tracks"]}
    assert sorted(s["frame"] for s in stored[first["id"]]["shapes"]) == [0, 10]
    assert sorted(s["frame"] for s in stored[second["id"]]["shapes"]) == [0, 3, 10]
