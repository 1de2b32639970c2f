import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotask.media import (
    MediaError,
    context_image_names,
    encode_frame_jpeg,
    original_frame_bytes,
    probe_image,
    write_compressed_image_chunk,
    write_original_image_chunk,
    write_point_cloud_chunk,
)

from .conftest import ImageSet


def _members(path: Path | io.BytesIO) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()


def _read(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_compressed_chunk_names_order_and_storage(images: ImageSet, tmp_path: Path) -> None:
    sources = [images.png_rgb, images.jpeg_q95, images.png_gray, images.gif]
    out = tmp_path / "chunk.zip"
    assert write_compressed_image_chunk(sources, out, quality=70) == 4
    members = _members(out)
    assert [m.filename for m in members] == [
        "000000.jpeg",
        "000001.jpeg",
        "000002.jpeg",
        "000003.jpeg",
    ]
    assert all(m.compress_type == zipfile.ZIP_STORED for m in members)
    sizes = [Image.open(io.BytesIO(_read(out, m.filename))).size for m in members]
    assert sizes == [(640, 480), (640, 480), (640, 480), (80, 60)]
    assert [probe_image(_read(out, m.filename)).jpeg_quality for m in members] == [70] * 4
    assert not list(tmp_path.glob(".tmp-*"))  # the temporary file was renamed away


def test_pass_through_keeps_low_quality_jpegs_byte_identical(
    images: ImageSet, tmp_path: Path
) -> None:
    sources = [images.jpeg_q50, images.jpeg_simplejpeg_q60, images.jpeg_small_q30]
    out = tmp_path / "chunk.zip"
    write_compressed_image_chunk(sources, out, quality=60)
    for index, source in enumerate(sources):
        assert _read(out, f"{index:06d}.jpeg") == source.read_bytes()


@pytest.mark.parametrize(
    "name", ["jpeg_q95", "jpeg_rotated6_q40", "jpeg_progressive_q40", "jpeg_cmyk"]
)
def test_no_pass_through_when_quality_rotation_or_coding_forbid(
    images: ImageSet, tmp_path: Path, name: str
) -> None:
    source = getattr(images, name)
    out = tmp_path / "chunk.zip"
    write_compressed_image_chunk([source], out, quality=60)
    data = _read(out, "000000.jpeg")
    assert data != source.read_bytes()
    info = probe_image(data)
    assert info.jpeg_baseline and info.jpeg_quality == 60 and not info.rotated
    expected = probe_image(source)
    assert (info.width, info.height) == (expected.width, expected.height)


def test_compressed_is_smaller_than_original_at_low_quality(
    images: ImageSet, tmp_path: Path
) -> None:
    sources = [images.png_rgb, images.jpeg_q95, images.tiff_rgb]
    compressed, original = tmp_path / "c.zip", tmp_path / "o.zip"
    write_compressed_image_chunk(sources, compressed, quality=20)
    write_original_image_chunk(sources, original)
    assert compressed.stat().st_size * 3 < original.stat().st_size


def test_original_chunk_keeps_source_bytes(images: ImageSet, tmp_path: Path) -> None:
    sources = [images.jpeg_q95, images.png_gray16, images.webp, images.gif, images.png_rgba]
    out = tmp_path / "original.zip"
    assert write_original_image_chunk(sources, out) == 5
    names = [m.filename for m in _members(out)]
    assert names == ["000000.jpg", "000001.png", "000002.webp", "000003.gif", "000004.png"]
    for name, source in zip(names, sources, strict=True):
        assert _read(out, name) == source.read_bytes()


def test_original_chunk_applies_exif_rotation(images: ImageSet, tmp_path: Path) -> None:
    out = tmp_path / "original.zip"
    write_original_image_chunk([images.jpeg_rotated6_q40], out)
    data = _read(out, "000000.jpg")
    info = probe_image(data)
    assert (info.width, info.height, info.rotated) == (300, 400, False)
    assert info.jpeg_quality == 100
    with Image.open(io.BytesIO(data)) as image:
        assert [layer[1:3] for layer in image.layer] == [(1, 1)] * 3  # no chroma subsampling


def test_original_chunk_turns_tiff_into_lossless_png(images: ImageSet, tmp_path: Path) -> None:
    out = tmp_path / "original.zip"
    write_original_image_chunk([images.tiff_rgb, images.tiff_rotated6, images.tiff_float], out)
    assert [m.filename for m in _members(out)] == ["000000.png", "000001.png", "000002.png"]
    with (
        Image.open(io.BytesIO(_read(out, "000000.png"))) as png,
        Image.open(images.tiff_rgb) as tif,
    ):
        assert png.format == "PNG"
        assert np.array_equal(np.asarray(png), np.asarray(tif))  # lossless
    with Image.open(io.BytesIO(_read(out, "000001.png"))) as png:
        assert png.size == (300, 400)


def test_chunk_into_file_object_and_failure_leaves_no_file(
    images: ImageSet, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    write_compressed_image_chunk([images.png_gray], buffer, quality=50)
    assert [m.filename for m in _members(io.BytesIO(buffer.getvalue()))] == ["000000.jpeg"]

    out = tmp_path / "broken.zip"
    with pytest.raises(MediaError, match="corrupt.jpg"):
        write_compressed_image_chunk([images.png_rgb, images.corrupt], out, quality=50)
    assert list(tmp_path.iterdir()) == []  # neither the chunk nor a temporary file


def test_chunks_are_reproducible(images: ImageSet, tmp_path: Path) -> None:
    sources = [images.png_rgb, images.jpeg_q50]
    write_compressed_image_chunk(sources, tmp_path / "a.zip", quality=70)
    write_compressed_image_chunk(sources, tmp_path / "b.zip", quality=70)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_single_frame_helpers_match_chunk_members(images: ImageSet, tmp_path: Path) -> None:
    sources = [images.jpeg_q50, images.png_rgb, images.tiff_rgb]
    compressed, original = tmp_path / "c.zip", tmp_path / "o.zip"
    write_compressed_image_chunk(sources, compressed, quality=70)
    write_original_image_chunk(sources, original)
    original_names = [m.filename for m in _members(original)]
    for index, source in enumerate(sources):
        assert encode_frame_jpeg(source, 70) == _read(compressed, f"{index:06d}.jpeg")
        data, _ = original_frame_bytes(source)
        assert data == _read(original, original_names[index])
    assert original_frame_bytes(images.jpeg_q50)[1] == "image/jpeg"
    assert original_frame_bytes(images.tiff_rgb)[1] == "image/png"
    assert original_frame_bytes(images.webp)[1] == "image/webp"


def test_point_cloud_chunk_keeps_files(tmp_path: Path) -> None:
    clouds = []
    for index in range(2):
        path = tmp_path / f"scene{index}.pcd"
        path.write_bytes(b"VERSION 0.7\nFIELDS x y z\n" + bytes([index]) * 64)
        clouds.append(path)
    out = tmp_path / "chunk.zip"
    assert write_point_cloud_chunk(clouds, out) == 2
    assert [m.filename for m in _members(out)] == ["000000.pcd", "000001.pcd"]
    assert _read(out, "000001.pcd") == clouds[1].read_bytes()


@pytest.mark.parametrize(
    ("paths", "names"),
    [
        (["s/related_images/a_png/cam1/x.png", "s/related_images/a_png/cam2/y.jpg"],
         ["cam1/x.jpg", "cam2/y.jpg"]),
        (["scene/a.png"], ["a.jpg"]),
        # Two images whose CVAT names collide keep their extensions instead.
        (["scene/a.png", "scene/a.jpg"], ["a.png.jpg", "a.jpg.jpg"]),
        ([], []),
    ],
)  # fmt: skip
def test_context_image_names_are_cvats_and_unique(paths, names):
    assert context_image_names(paths) == names
