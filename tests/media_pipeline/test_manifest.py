"""manifest.jsonl: generated for every task; an uploaded one is validated and used (issue 6)."""

from __future__ import annotations

import json

from .conftest import images, jpeg
from .helpers import create, create_ok, data, generated_dir, meta


def manifest(entries: list[tuple[str, int, int]]) -> bytes:
    lines = [{"version": "1.1"}, {"type": "images"}] + [
        {
            "name": name.rsplit(".", 1)[0],
            "extension": "." + name.rsplit(".", 1)[1],
            "width": w,
            "height": h,
        }
        for name, w, h in entries
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_generated_images_manifest(client, sqlite_server):
    task_id = create_ok(client, images(3), use_cache=True)
    path = generated_dir(sqlite_server.data_dir, task_id) / "manifest.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[:2] == [{"version": "1.1"}, {"type": "images"}]
    assert lines[2:] == [
        {"name": f"img0{i}", "extension": ".jpg", "width": 48 + i, "height": 32 + i}
        for i in range(3)
    ]


def test_uploaded_manifest_means_only_the_first_image_is_opened(client):
    """Every image but the first is garbage; the manifest says what they would be.
    Creation (on the fly) succeeds because it opens nothing but the first image, for
    the preview; the garbage is reported, by name, when its chunk is first built."""
    sizes = [(60 + i, 40 + i) for i in range(6)]
    files = {"img00.jpg": jpeg(*sizes[0])}
    files.update({f"img0{i}.jpg": b"garbage %d" % i for i in range(1, 6)})
    files["manifest.jsonl"] = manifest([(f"img0{i}.jpg", *sizes[i]) for i in range(6)])
    task_id = create_ok(client, files, use_cache=True, chunk_size=2)
    body = meta(client, task_id)
    assert [(f["name"], f["width"], f["height"]) for f in body["frames"]] == [
        (f"img0{i}.jpg", *sizes[i]) for i in range(6)
    ]
    assert data(client, task_id, "frame", 0, "original").content == files["img00.jpg"]
    failed = data(client, task_id, "chunk", 0)
    assert failed.status_code == 400
    assert "img01.jpg" in failed.json()["detail"]
    assert "/" not in failed.json()["detail"].split("img01.jpg")[0][-5:]  # no server path
    assert data(client, task_id, "chunk", 2, "original").status_code == 400


def test_uploaded_manifest_in_static_mode_fails_at_creation_naming_the_file(client):
    files = {"img00.jpg": jpeg(20, 20), "img01.jpg": b"garbage"}
    files["manifest.jsonl"] = manifest([("img00.jpg", 20, 20), ("img01.jpg", 20, 20)])
    _task_id, result = create(client, files)
    assert result["status"] == "failed" and "img01.jpg" in result["message"]


def test_uploaded_manifest_gives_the_predefined_order(client):
    files = images(3)
    files["manifest.jsonl"] = manifest(
        [("img02.jpg", 50, 34), ("img00.jpg", 48, 32), ("img01.jpg", 49, 33)]
    )
    task_id = create_ok(client, files, sorting_method="predefined", use_cache=True)
    assert [f["name"] for f in meta(client, task_id)["frames"]] == [
        "img02.jpg",
        "img00.jpg",
        "img01.jpg",
    ]


def test_broken_or_mismatching_manifests_are_refused(client):
    broken = images(2)
    broken["manifest.jsonl"] = b'{"version":"1.1"}\n{"type":"images"}\n{"name": 3}\n'
    _task_id, result = create(client, broken, use_cache=True)
    assert result["status"] == "failed" and "Invalid manifest" in result["message"]
    other = images(2)
    other["manifest.jsonl"] = manifest([("img00.jpg", 48, 32), ("zzz.jpg", 1, 1)])
    _task_id, result = create(client, other, use_cache=True)
    assert result["status"] == "failed" and "manifest" in result["message"]
    twice = images(2)
    twice["a.jsonl"] = twice["b.jsonl"] = manifest([])
    _task_id, result = create(client, twice, use_cache=True)
    assert result["status"] == "failed" and "Only one manifest" in result["message"]
