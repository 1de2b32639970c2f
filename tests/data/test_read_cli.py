"""Spec 5.3 L3/L4: cvat-cli task frames writes the frames in the source format and size."""

from __future__ import annotations

from PIL import Image

from tests.data.test_create_cli import create
from tests.support.cvat import run_cli
from tests.support.media import write_image


def test_l3_l4_task_frames(server, tmp_path):
    sources = [
        write_image(tmp_path / "in" / "p0.png", 30, 20),
        write_image(tmp_path / "in" / "p1.png", 31, 21),
        write_image(tmp_path / "in" / "p2.png", 32, 22),
    ]
    task_id = create(
        server, tmp_path, "frames", "local", *map(str, sources), "--labels", '[{"name":"a"}]'
    )
    out = tmp_path / "d"
    run_cli(
        server, tmp_path, "task", "frames", str(task_id), "0", "2", "--outdir", str(out)
    ).assert_clean()
    first = Image.open(out / f"task_{task_id}_frame_000000.png")
    last = Image.open(out / f"task_{task_id}_frame_000002.png")
    assert first.size == (30, 20) and last.size == (32, 22)
    compressed = tmp_path / "d2"
    run_cli(
        server,
        tmp_path,
        "task",
        "frames",
        str(task_id),
        "0",
        "--outdir",
        str(compressed),
        "--quality",
        "compressed",
    ).assert_clean()
    frame = Image.open(compressed / f"task_{task_id}_frame_000000.jpg")
    assert frame.format == "JPEG" and frame.size == (30, 20)
