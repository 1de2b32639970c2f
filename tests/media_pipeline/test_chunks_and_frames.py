"""Chunks and frames of image tasks: membership, sizes, qualities, formats (issue 1, 4, 7)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from annotask.media import estimate_quality

from .conftest import encode, images, jpeg, pixels
from .helpers import chunk_zip, create, create_ok, data, job_ids, meta

TEN = images(10)


@pytest.mark.parametrize("use_cache", [False, True])
def test_chunk_membership_sizes_and_original_bytes(client, use_cache):
    task_id = create_ok(client, TEN, chunk_size=4, use_cache=use_cache, image_quality=10)
    frames = meta(client, task_id)["frames"]
    assert meta(client, task_id)["chunk_size"] == 4
    sources = list(TEN.values())
    for number, expected in [(0, range(0, 4)), (1, range(4, 8)), (2, range(8, 10))]:
        compressed = chunk_zip(client, task_id, number)
        original = chunk_zip(client, task_id, number, "original")
        assert [m.filename for m in compressed.infolist()] == [
            f"{i:06d}.jpeg" for i in range(len(expected))
        ]
        assert all(m.compress_type == zipfile.ZIP_STORED for m in compressed.infolist())
        for position, frame in enumerate(expected):
            small = compressed.read(f"{position:06d}.jpeg")
            source = original.read(f"{position:06d}.jpg")
            assert source == sources[frame]  # original quality: the file itself
            image = Image.open(io.BytesIO(small))
            assert image.size == (frames[frame]["width"], frames[frame]["height"])
            assert estimate_quality(image.quantization) == 10
            assert len(small) < len(source)  # low quality: smaller than the original
    assert data(client, task_id, "chunk", 3).status_code == 400
    assert data(client, task_id, "chunk", -1).status_code == 400


def test_a_jpeg_at_or_below_the_quality_passes_through_unchanged(client):
    files = {"low.jpg": jpeg(64, 48, quality=50), "high.jpg": jpeg(64, 48, seed=2, quality=95)}
    task_id = create_ok(client, files, image_quality=70, sorting_method="predefined")
    chunk = chunk_zip(client, task_id, 0)
    assert chunk.read("000000.jpeg") == files["low.jpg"]
    assert chunk.read("000001.jpeg") != files["high.jpg"]
    assert estimate_quality(Image.open(io.BytesIO(chunk.read("000001.jpeg"))).quantization) == 70


def test_frames_by_quality(client):
    task_id = create_ok(client, TEN, image_quality=30)
    original = data(client, task_id, "frame", 3, "original")
    assert original.content == TEN["img03.jpg"]
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["x-content-type-options"] == "nosniff"
    compressed = data(client, task_id, "frame", 3)  # the default quality is compressed
    assert compressed.headers["content-type"] == "image/jpeg"
    assert estimate_quality(Image.open(io.BytesIO(compressed.content)).quantization) == 30
    assert data(client, task_id, "frame", 10).status_code == 400
    assert data(client, task_id, "frame", 0, "best").status_code == 400
    assert data(client, task_id, "nonsense", 0).status_code == 400


def test_exif_orientation_is_applied_like_cvat(client):
    files = {"rot6.jpg": jpeg(60, 40, orientation=6), "rot3.jpg": jpeg(60, 40, orientation=3)}
    task_id = create_ok(client, files)
    sizes = {f["name"]: (f["width"], f["height"]) for f in meta(client, task_id)["frames"]}
    assert sizes == {"rot6.jpg": (40, 60), "rot3.jpg": (60, 40)}
    original = chunk_zip(client, task_id, 0, "original")
    compressed = chunk_zip(client, task_id, 0)
    upright = Image.open(io.BytesIO(original.read("000001.jpg")))  # rot6.jpg, re-encoded
    assert upright.size == (40, 60) and upright.getexif().get(0x0112, 1) == 1
    assert Image.open(io.BytesIO(compressed.read("000001.jpeg"))).size == (40, 60)
    # The pixels really turned: compare with Pillow's own transpose of the source.
    expected = np.asarray(
        Image.open(io.BytesIO(files["rot6.jpg"])).transpose(Image.Transpose.ROTATE_270)
    )
    assert np.abs(np.asarray(upright).astype(int) - expected).mean() < 4


def test_sixteen_bit_and_other_formats(client):
    gray16 = (np.add.outer(np.arange(30), np.arange(40)) * 50 + 10_000).astype(np.uint16)
    rgb = Image.fromarray(pixels(40, 30, 3))
    gif = [Image.fromarray(pixels(40, 30, s)).convert("P") for s in (4, 5)]
    buffer = io.BytesIO()
    gif[0].save(buffer, "GIF", save_all=True, append_images=gif[1:])
    files = {
        "a16.png": encode(Image.fromarray(gray16), "PNG"),
        "b.png": encode(rgb, "PNG"),
        "c.bmp": encode(rgb, "BMP"),
        "d.tif": encode(rgb, "TIFF"),
        "e.webp": encode(rgb, "WEBP", quality=90),
        "f.gif": buffer.getvalue(),
        "g.jpg": encode(rgb.convert("L"), "JPEG", quality=90),
    }
    task_id = create_ok(client, files)
    assert [(f["width"], f["height"]) for f in meta(client, task_id)["frames"]] == [(40, 30)] * 7
    compressed = chunk_zip(client, task_id, 0)
    decoded = [Image.open(io.BytesIO(compressed.read(m))) for m in compressed.namelist()]
    assert all(image.format == "JPEG" and image.size == (40, 30) for image in decoded)
    stretched = np.asarray(decoded[0])
    assert stretched.min() < 20 and stretched.max() > 235  # 16-bit made visible, not black
    original = chunk_zip(client, task_id, 0, "original")
    names = original.namelist()
    assert names[0] == "000000.png" and original.read(names[0]) == files["a16.png"]
    assert Image.open(io.BytesIO(original.read(names[0]))).mode.startswith("I;16")
    assert names[3] == "000003.png"  # TIFF is not browser-displayable: lossless PNG
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(original.read(names[3])))), np.asarray(rgb)
    )
    first_gif_frame = data(client, task_id, "frame", 5, "original")
    assert Image.open(io.BytesIO(first_gif_frame.content)).size == (40, 30)


def test_images_inside_an_archive(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("set/b.jpg", jpeg(41, 31, 1))
        archive.writestr("set/a.jpg", jpeg(40, 30, 0))
        archive.writestr("__MACOSX/set/._a.jpg", b"litter")
    task_id = create_ok(client, {"data.zip": buffer.getvalue()})
    body = meta(client, task_id)
    assert [(f["name"], f["width"]) for f in body["frames"]] == [
        ("set/a.jpg", 40),
        ("set/b.jpg", 41),
    ]


def test_context_images_in_cvats_related_images_layout(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scene/a.jpg", jpeg(40, 30, 0))
        archive.writestr("scene/b.jpg", jpeg(41, 31, 1))
        archive.writestr(
            "scene/related_images/a_jpg/left.png", encode(Image.fromarray(pixels(20, 10, 7)), "PNG")
        )
        archive.writestr("scene/related_images/a_jpg/right.jpg", jpeg(22, 12, 8))
    task_id = create_ok(client, {"scene.zip": buffer.getvalue()}, use_cache=True)
    frames = meta(client, task_id)["frames"]
    assert [f["name"] for f in frames] == ["scene/a.jpg", "scene/b.jpg"]
    assert [(f["related_files"], f["has_related_context"]) for f in frames] == [
        (2, True),
        (0, False),
    ]
    response = data(client, task_id, "context_image", 0)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    context = zipfile.ZipFile(io.BytesIO(response.content))
    assert context.namelist() == ["left.jpg", "right.jpg"]
    assert Image.open(io.BytesIO(context.read("left.jpg"))).size == (20, 10)
    assert data(client, task_id, "context_image", 1).status_code == 404
    job = job_ids(client, task_id)[0]["id"]
    assert data(client, task_id, "context_image", 0, job=job).content == response.content


def test_pdf_pages_become_frames(client):
    pages = [Image.fromarray(pixels(120, 90, s)) for s in range(3)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    task_id = create_ok(client, {"doc.pdf": buffer.getvalue()})
    frames = meta(client, task_id)["frames"]
    assert [f["name"] for f in frames] == [f"doc{i:09d}.jpeg" for i in range(3)]
    assert len(chunk_zip(client, task_id, 0).namelist()) == 3


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"a.jpg": jpeg(10, 10), "clip.mp4": b"x"}, "Only one video"),
        ({"notes.txt": b"hello"}, "No media data found"),
        ({"bad.jpg": b"not a jpeg at all"}, "bad.jpg"),
    ],
)
def test_media_that_cannot_make_a_task(client, files, reason):
    _task_id, result = create(client, files)
    assert result["status"] == "failed" and reason in result["message"], result


def test_job_endpoints_cover_the_job(client):
    task_id = create_ok(client, TEN, task={"segment_size": 4, "overlap": 1}, chunk_size=3)
    second = job_ids(client, task_id)[1]  # frames 3..6
    job_meta = client.get(f"/api/jobs/{second['id']}/data/meta").json()
    assert [f["name"] for f in job_meta["frames"]] == [f"img0{i}.jpg" for i in range(3, 7)]
    assert (job_meta["size"], job_meta["start_frame"], job_meta["stop_frame"]) == (4, 3, 6)
    first_chunk = chunk_zip(client, task_id, 0, "original", job=second["id"])
    assert [first_chunk.read(n) for n in first_chunk.namelist()] == [
        TEN[f"img0{i}.jpg"] for i in (3, 4, 5)
    ]
    assert len(chunk_zip(client, task_id, 1, job=second["id"]).namelist()) == 1
    assert data(client, task_id, "chunk", 2, job=second["id"]).status_code == 400
    frame = data(client, task_id, "frame", 6, "original", job=second["id"])
    assert frame.content == TEN["img06.jpg"]
    assert data(client, task_id, "frame", 7, job=second["id"]).status_code == 400
    for path in (f"/api/jobs/{second['id']}/preview", f"/api/tasks/{task_id}/preview"):
        preview = client.get(path)
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(preview.content)).size) <= 256
