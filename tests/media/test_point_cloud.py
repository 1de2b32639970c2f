"""Point clouds: PCD headers, KITTI ``.bin`` conversion and 3D context-image layouts."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotask.media import (
    MediaError,
    MediaKind,
    classify_media,
    convert_kitti_bin,
    pcd_name_for_bin,
    point_cloud_preview,
    probe_point_cloud,
    read_pcd_header,
    write_point_cloud_chunk,
)
from annotask.media.point_cloud import kitti_pcd_header


def kitti_points(count: int, seed: int = 0) -> np.ndarray:
    """``count`` x 4 float32 (x, y, z, intensity), like a Velodyne sweep."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0, 20, size=(count, 4)).astype("<f4")
    points[:, 3] = rng.random(count, dtype=np.float32)
    return points


def pcd_bytes(
    points: np.ndarray,
    *,
    data: str = "binary",
    version: str = "0.7",
    width: int | None = None,
    height: int = 1,
    comment: bool = True,
) -> bytes:
    """A PCD of ``points`` (N x 4 float32) with a header as PCL writes it."""
    width = len(points) // height if width is None else width
    lines = ["# .PCD v0.7 - Point Cloud Data file format"] if comment else []
    lines += [
        f"VERSION {version}",
        "FIELDS x y z intensity",
        "SIZE 4 4 4 4",
        "TYPE F F F F",
        "COUNT 1 1 1 1",
        f"WIDTH {width}",
        f"HEIGHT {height}",
        "VIEWPOINT 0 0 0 1 0 0 0",
        f"POINTS {len(points)}",
        f"DATA {data}",
    ]
    header = ("\n".join(lines) + "\n").encode()
    if data == "ascii":
        return header + "".join(" ".join(f"{v:.6f}" for v in p) + "\n" for p in points).encode()
    if data == "binary_compressed":
        raw = points.astype("<f4").T.tobytes()  # field-major, as PCL; stored uncompressed here
        return header + struct.pack("<II", len(raw), len(raw)) + raw
    return header + points.astype("<f4").tobytes()


# ---------------------------------------------------------------- header parser


@pytest.mark.parametrize("version", ["0.1", "0.5", "0.7", ".7", ".3"])
def test_every_version_from_0_1_to_0_7_is_read(version: str) -> None:
    header = read_pcd_header(pcd_bytes(kitti_points(12), version=version))
    assert (header.version, header.width, header.height, header.points) == (version, 12, 1, 12)
    assert header.fields == ("x", "y", "z", "intensity") and header.point_bytes == 16


@pytest.mark.parametrize("data", ["ascii", "binary", "binary_compressed"])
def test_data_kinds_and_organised_clouds(tmp_path: Path, data: str) -> None:
    path = tmp_path / "cloud.pcd"
    path.write_bytes(pcd_bytes(kitti_points(24), data=data, height=4))
    header = read_pcd_header(path)
    assert (header.data, header.width, header.height, header.points) == (data, 6, 4, 24)
    assert probe_point_cloud(path) == (6, 4)
    assert path.read_bytes()[: header.data_offset].endswith(f"DATA {data}\n".encode())


def test_keys_are_case_insensitive_and_blank_lines_and_comments_are_skipped() -> None:
    source = b"# comment\n\nversion 0.7\nfields x y z\nsize 4 4 4\ntype f f f\ncount 1 1 1\n"
    source += b"width 2\nheight 1\npoints 2\ndata ascii\n1 2 3\n4 5 6\n"
    header = read_pcd_header(source)
    assert (header.width, header.height, header.data, header.point_bytes) == (2, 1, "ascii", 12)


def test_a_header_without_size_lines_is_enough() -> None:
    header = read_pcd_header(b"VERSION .5\nWIDTH 3\nHEIGHT 1\nDATA ascii\n0 0 0\n1 1 1\n2 2 2\n")
    assert (header.width, header.points, header.point_bytes) == (3, 3, None)


def _reason(source: bytes | Path) -> str:
    with pytest.raises(MediaError) as caught:
        read_pcd_header(source)
    return caught.value.message


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (b"", "without a DATA line"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "is not text"),
        (b"VERSION 0.7\nWIDTH 2\nHEIGHT 1\n", "without a DATA line"),
        (b"VERSION 0.8\nWIDTH 1\nHEIGHT 1\nDATA ascii\n", "unsupported PCD version '0.8'"),
        (b"WIDTH 1\nHEIGHT 1\nDATA ascii\n", "no VERSION line"),
        (b"VERSION 0.7\nHEIGHT 1\nDATA ascii\n", "no WIDTH line"),
        (b"VERSION 0.7\nWIDTH many\nHEIGHT 1\nDATA ascii\n", "WIDTH is not a whole number"),
        (b"VERSION 0.7\nWIDTH -4\nHEIGHT 1\nDATA ascii\n", "WIDTH is negative"),
        (b"VERSION 0.7\nWIDTH 2\nHEIGHT 2\nPOINTS 3\nDATA ascii\n", "POINTS 3 is not WIDTH x"),
        (b"VERSION 0.7\nWIDTH 1\nHEIGHT 1\nDATA lzf\n", "DATA must be ascii, binary or"),
        (b"VERSION 0.7\nWIDTH\nHEIGHT 1\nDATA ascii\n", "line 2 is not 'KEY value'"),
        (
            b"VERSION 0.7\nFIELDS x y\nSIZE 4\nWIDTH 1\nHEIGHT 1\nDATA ascii\n",
            "SIZE lists 1 values for 2 FIELDS",
        ),
        (
            b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE Q\nWIDTH 1\nHEIGHT 1\nDATA ascii\n",
            "TYPE must list F, I or U",
        ),
        (b"VERSION 0.7\n" + b"# padding\n" * 7000, "no DATA line in the first 64 KiB"),
    ],
)
def test_malformed_headers_are_refused_naming_the_problem(source: bytes, problem: str) -> None:
    message = _reason(source)
    assert message.startswith("Could not read pcd file '<data>': "), message
    assert problem in message, message


def test_truncated_point_data_is_refused_naming_the_file(tmp_path: Path) -> None:
    whole = pcd_bytes(kitti_points(100))
    path = tmp_path / "scans" / "frame_007.pcd"
    path.parent.mkdir()
    path.write_bytes(whole[:-17])
    message = _reason(path)
    assert message == (
        "Could not read pcd file 'frame_007.pcd': the point data is truncated "
        "(1600 bytes expected, 1583 found)"
    )
    assert str(tmp_path) not in message  # never the server path
    compressed = pcd_bytes(kitti_points(10), data="binary_compressed")
    assert "compressed point data is truncated" in _reason(compressed[:-1])
    sizes_at = compressed.index(b"DATA") + len(b"DATA binary_compressed\n")
    assert "compressed point data is truncated" in _reason(compressed[: sizes_at + 4])


def test_a_missing_file_is_a_media_error(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.pcd").startswith("Could not read pcd file 'gone.pcd': ")


# ---------------------------------------------------------------- KITTI .bin


def test_bin_to_pcd_writes_cvats_header_and_the_same_values(tmp_path: Path) -> None:
    points = kitti_points(1000, seed=4)
    source = tmp_path / "0000000007.bin"
    source.write_bytes(points.tobytes())
    out = tmp_path / pcd_name_for_bin("0000000007.bin")
    assert out.name == "0000000007.pcd"
    assert convert_kitti_bin(source, out) == 1000
    data = out.read_bytes()
    expected_header = (
        b"VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
        b"WIDTH 1000\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 1000\nDATA binary\n"
    )
    assert data.startswith(expected_header) and kitti_pcd_header(1000) == expected_header
    values = np.frombuffer(data[len(expected_header) :], dtype="<f4").reshape(-1, 4)
    np.testing.assert_array_equal(values, points)
    header = read_pcd_header(out)
    assert (header.width, header.height, header.points, header.data) == (1000, 1, 1000, "binary")
    assert header.data_offset == len(expected_header)


def test_bin_conversion_streams_files_bigger_than_its_buffer(tmp_path: Path) -> None:
    points = kitti_points(200_000, seed=9)  # 3.2 MB: several 1 MiB blocks
    source = tmp_path / "big.bin"
    source.write_bytes(points.tobytes())
    buffer = io.BytesIO()
    assert convert_kitti_bin(source, buffer) == 200_000
    body = buffer.getvalue()[len(kitti_pcd_header(200_000)) :]
    assert body == points.tobytes()


@pytest.mark.parametrize(
    ("size", "problem"),
    [(33, "its size (33 bytes) is not a multiple of 16"), (0, "the .bin file is empty")],
)
def test_a_bin_that_is_not_whole_records_is_refused_naming_it(
    tmp_path: Path, size: int, problem: str
) -> None:
    source = tmp_path / "velodyne" / "0000000003.bin"
    source.parent.mkdir()
    source.write_bytes(b"\0" * size)
    out = tmp_path / "0000000003.pcd"
    with pytest.raises(MediaError) as caught:
        convert_kitti_bin(source, out)
    assert caught.value.message.startswith(f"Could not read pcd file '0000000003.bin': {problem}")
    assert not out.exists() and list(tmp_path.iterdir()) == [source.parent]  # no partial file


# ---------------------------------------------------------------- chunks and preview


def test_point_cloud_chunk_holds_the_files_unchanged(tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"scene{index}.pcd"
        path.write_bytes(pcd_bytes(kitti_points(5 + index, seed=index)))
        paths.append(path)
    buffer = io.BytesIO()
    assert write_point_cloud_chunk(paths, buffer) == 3
    archive = zipfile.ZipFile(buffer)
    assert archive.namelist() == ["000000.pcd", "000001.pcd", "000002.pcd"]
    assert [archive.read(n) for n in archive.namelist()] == [p.read_bytes() for p in paths]


def test_the_stock_preview_is_a_small_jpeg() -> None:
    data = point_cloud_preview()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (256, 256)
    assert point_cloud_preview() is data  # made once per process


# ---------------------------------------------------------------- context-image layouts


def test_kitti_raw_layout() -> None:
    selection = classify_media(
        [
            "drive/velodyne_points/data/0000000000.bin",
            "drive/velodyne_points/data/0000000001.bin",
            "drive/velodyne_points/timestamps.txt",
            "drive/IMAGE_00/data/0000000000.png",
            "drive/image_01/data/0000000000.png",
            "drive/image_01/data/0000000001.png",
            "drive/Image_02/data/0000000001.jpg",
            "drive/image_01/timestamps.txt",
        ]
    )
    assert selection.kind == MediaKind.POINT_CLOUD
    assert selection.files == (
        "drive/velodyne_points/data/0000000000.bin",
        "drive/velodyne_points/data/0000000001.bin",
    )
    assert selection.related_images == {
        "drive/velodyne_points/data/0000000000.bin": (
            "drive/IMAGE_00/data/0000000000.png",
            "drive/image_01/data/0000000000.png",
        ),
        "drive/velodyne_points/data/0000000001.bin": (
            "drive/Image_02/data/0000000001.jpg",
            "drive/image_01/data/0000000001.png",
        ),
    }
    assert set(selection.skipped) == {
        "drive/velodyne_points/timestamps.txt",
        "drive/image_01/timestamps.txt",
    }


def test_supervisely_layout() -> None:
    selection = classify_media(
        [
            "ds0/pointcloud/frame1.pcd",
            "ds0/pointcloud/frame2.pcd",
            "ds0/related_images/frame1_pcd/cam_front.png",
            "ds0/related_images/frame1_pcd/cam_front.png.json",
            "ds0/related_images/frame1_pcd/cam_back.jpg",
            "ds0/related_images/frame2_pcd/cam_front.png",
        ]
    )
    assert selection.files == ("ds0/pointcloud/frame1.pcd", "ds0/pointcloud/frame2.pcd")
    assert selection.related_images == {
        "ds0/pointcloud/frame1.pcd": (
            "ds0/related_images/frame1_pcd/cam_back.jpg",
            "ds0/related_images/frame1_pcd/cam_front.png",
        ),
        "ds0/pointcloud/frame2.pcd": ("ds0/related_images/frame2_pcd/cam_front.png",),
    }
    assert selection.skipped == ("ds0/related_images/frame1_pcd/cam_front.png.json",)


def test_custom_layout_1_same_name_next_to_the_scene() -> None:
    selection = classify_media(["data/a.pcd", "data/a.png", "data/a.jpg", "data/b.pcd", "c.pcd"])
    assert selection.files == ("data/a.pcd", "data/b.pcd", "c.pcd")
    assert selection.related_images == {"data/a.pcd": ("data/a.jpg", "data/a.png")}


def test_custom_layout_2_a_directory_per_scene() -> None:
    selection = classify_media(
        [
            "data/scene_1/scene_1.pcd",
            "data/scene_1/left.png",
            "data/scene_1/right.jpg",
            "data/scene_2/scene_2.pcd",
        ]
    )
    assert selection.files == ("data/scene_1/scene_1.pcd", "data/scene_2/scene_2.pcd")
    assert selection.related_images == {
        "data/scene_1/scene_1.pcd": ("data/scene_1/left.png", "data/scene_1/right.jpg")
    }


def test_images_that_belong_to_no_scene_make_a_forbidden_mix() -> None:
    with pytest.raises(MediaError) as caught:
        classify_media(["scenes/a.pcd", "scenes/b.pcd", "photos/street.jpg", "x.png"])
    assert caught.value.message == (
        "Combined media types are not supported, found: images, 3d point clouds. "
        "Scenes: scenes/a.pcd, scenes/b.pcd. Unknown files: photos/street.jpg, x.png"
    )
    with pytest.raises(MediaError, match="Combined media types"):  # wrong camera dir name
        classify_media(["d/velodyne_points/data/1.bin", "d/camera/data/1.png"])


def test_a_bin_and_a_pcd_of_one_name_are_refused() -> None:
    with pytest.raises(MediaError, match="'d/a.bin' and 'd/a.pcd' have the same name"):
        classify_media(["d/a.bin", "d/a.pcd"])


def test_point_clouds_cannot_join_a_video() -> None:
    with pytest.raises(MediaError, match="Only one video"):
        classify_media(["a.pcd", "b.mp4"])
