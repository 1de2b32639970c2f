import json
from pathlib import Path

import pytest

from annotask.media import (
    ImageEntry,
    Keyframe,
    ManifestType,
    MediaError,
    VideoProperties,
    check_manifest_mapping,
    image_entry_for,
    iter_image_entries,
    iter_video_keyframes,
    open_manifest,
    probe_video,
    restore_order_from_manifest,
    validate_manifest,
    write_image_manifest,
    write_video_manifest,
)

from .conftest import VideoSet


def _write(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


IMAGE_HEADER = ({"version": "1.1"}, {"type": "images"})
VIDEO_HEADER = (
    {"version": "1.0"},
    {"type": "video"},
    {"properties": {"name": "v.mp4", "resolution": [320, 240], "length": 60}},
)


def test_image_manifest_round_trip(tmp_path: Path) -> None:
    entries = [
        image_entry_for(
            "sub/dir/img_0001.jpg",
            1920,
            1080,
            related_images=(
                "sub/dir/related_images/img_0001_jpg/b.jpg",
                "sub/dir/related_images/img_0001_jpg/a.jpg",
            ),
        ),
        None,
        image_entry_for("img_0003.png", 640, 480),
        ImageEntry("cloud", ".pcd"),
    ]
    path = tmp_path / "manifest.jsonl"
    assert write_image_manifest(path, entries) == 4
    lines = path.read_text().splitlines()
    assert lines[:2] == ['{"version":"1.1"}', '{"type":"images"}']
    assert json.loads(lines[2]) == {
        "name": "sub/dir/img_0001",
        "extension": ".jpg",
        "width": 1920,
        "height": 1080,
        "meta": {
            "related_images": [
                "sub/dir/related_images/img_0001_jpg/a.jpg",
                "sub/dir/related_images/img_0001_jpg/b.jpg",
            ]
        },
    }
    assert lines[3] == "{}"
    read = list(iter_image_entries(path))
    assert read[1] is None
    assert read[0].path == "sub/dir/img_0001.jpg"
    assert read[0].related_images == tuple(sorted(entries[0].related_images))
    assert read[2:] == entries[2:]
    assert validate_manifest(path)[1] == 4


def test_video_manifest_round_trip(videos: VideoSet, tmp_path: Path) -> None:
    info = probe_video(videos.h264)
    path = tmp_path / "manifest.jsonl"
    properties = VideoProperties("clip.mp4", info.width, info.height, info.frame_count)
    write_video_manifest(path, properties, info.keyframes)
    lines = path.read_text().splitlines()
    assert json.loads(lines[2]) == {
        "properties": {"name": "clip.mp4", "resolution": [320, 240], "length": 60}
    }
    header = open_manifest(path)
    assert (header.version, header.type, header.video) == ("1.1", ManifestType.VIDEO, properties)
    assert tuple(iter_video_keyframes(path)) == info.keyframes


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ((), "version line is missing"),
        (({"version": "2.0"}, {"type": "images"}), "unsupported version"),
        (({"type": "images"}, {"version": "1.1"}), "first line"),
        (({"version": "1.1"}, {"type": "audio"}), "second line"),
        ((*IMAGE_HEADER, "{not json"), r"line 3\): not valid JSON"),
        ((*IMAGE_HEADER, "[1, 2]"), "JSON object"),
        ((*IMAGE_HEADER, {"name": "a"}), "'extension'"),
        ((*IMAGE_HEADER, {"name": 3, "extension": ".jpg"}), "'name'"),
        ((*IMAGE_HEADER, {"name": "a", "extension": ".jpg", "width": "9"}), "'width'"),
        ((*IMAGE_HEADER, {"name": "a", "extension": ".jpg", "height": True}), "'height'"),
        (
            (*IMAGE_HEADER, {"name": "a", "extension": ".jpg", "meta": {"related_images": [1]}}),
            "related_images",
        ),
        (
            (*IMAGE_HEADER, {"name": "a", "extension": ".j"}, "", {"name": "b", "extension": ".j"}),
            r"line 4\): blank lines",
        ),
        ((VIDEO_HEADER[0], VIDEO_HEADER[1]), "properties line is missing"),
        (
            (
                VIDEO_HEADER[0],
                VIDEO_HEADER[1],
                {"properties": {"name": "v", "resolution": [1], "length": 5}},
            ),
            "resolution",
        ),
        (
            (
                VIDEO_HEADER[0],
                VIDEO_HEADER[1],
                {"properties": {"name": "v", "resolution": [2, 2], "length": 0}},
            ),
            "length",
        ),
        ((*VIDEO_HEADER, {"number": 0, "pts": 0}, {"number": 0, "pts": 10}), "strictly increasing"),
        ((*VIDEO_HEADER, {"number": 5, "pts": "0"}), "'pts'"),
        ((*VIDEO_HEADER, {"number": 60, "pts": 0}), "beyond the video length"),
    ],
)
def test_invalid_manifests(tmp_path: Path, lines: tuple[object, ...], problem: str) -> None:
    path = _write(tmp_path / "bad.jsonl", *lines)
    with pytest.raises(MediaError, match=problem) as caught:
        validate_manifest(path)
    assert str(caught.value).startswith("Invalid manifest was uploaded: 'bad.jsonl'")


def test_trailing_blank_line_and_version_1_0_are_accepted(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.jsonl",
        {"version": "1.0"},
        {"type": "images"},
        {"name": "a", "extension": ".png"},
        "",
    )
    header, count = validate_manifest(path)
    assert (header.version, header.type, count) == ("1.0", ManifestType.IMAGES, 1)


def test_non_utf8_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(
        b'{"version":"1.1"}\n{"type":"images"}\n{"name":"\xff\xfe","extension":".jpg"}\n'
    )
    with pytest.raises(MediaError, match="UTF-8"):
        validate_manifest(path)


def test_reading_the_wrong_type_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.jsonl", *VIDEO_HEADER)
    with pytest.raises(MediaError, match="expected an images manifest"):
        list(iter_image_entries(path))


def test_entries_are_streamed(tmp_path: Path) -> None:
    """The reader yields good lines before it meets a bad one: nothing is read ahead."""
    path = _write(tmp_path / "m.jsonl", *IMAGE_HEADER, {"name": "a", "extension": ".png"}, "oops")
    entries = iter_image_entries(path)
    assert next(entries) == ImageEntry("a", ".png")
    with pytest.raises(MediaError, match="line 4"):
        next(entries)


def test_restore_order_from_manifest() -> None:
    uploaded = ["b.jpg", "a.jpg", "c.jpg"]
    assert restore_order_from_manifest(uploaded, ["c.jpg", "a.jpg", "b.jpg"]) == [
        "c.jpg",
        "a.jpg",
        "b.jpg",
    ]


def test_mismatching_files_message_lists_first_five() -> None:
    uploaded = [f"u{i}.jpg" for i in range(4)] + ["same.jpg"]
    manifest = ["same.jpg"] + [f"m{i}.jpg" for i in range(3)]
    with pytest.raises(MediaError) as caught:
        restore_order_from_manifest(uploaded, manifest)
    message = str(caught.value)
    assert message.startswith("Uploaded files do no match the upload manifest file contents.")
    assert "Mismatching files: m0.jpg (manifest), m1.jpg (manifest), m2.jpg (manifest), " in message
    assert "u0.jpg (upload), u1.jpg (upload) (and 2 more)." in message
    assert "same.jpg" not in message


def test_check_manifest_mapping() -> None:
    entries = [ImageEntry("dir/a", ".jpg"), None, ImageEntry("c", ".png")]
    check_manifest_mapping(["root/dir/a.jpg", "whatever.gif", "c.png"], entries)
    with pytest.raises(MediaError, match="Incorrect file mapping to manifest content"):
        check_manifest_mapping(["root/xdir/a.jpg", "b.gif", "c.png"], entries)
    with pytest.raises(MediaError, match="Incorrect file mapping"):
        check_manifest_mapping(["dir/a.jpg", "b.gif"], entries)
    with pytest.raises(MediaError, match="Incorrect file mapping"):
        check_manifest_mapping(["dir/a.jpg", "b.gif", "c.png", "d.png"], entries)
    assert Keyframe(1, 2) < Keyframe(2, 0)


@pytest.mark.parametrize(
    "entry",
    [
        ImageEntry('dir/"quoted" снимок\\1', ".jpg", 1920, 1080),
        ImageEntry("no-size", ".png"),
        ImageEntry("ctx", ".jpg", 4, 3, related_images=("b.jpg", "a.jpg")),
        ImageEntry("sum", ".jpg", 4, 3, checksum="abc"),
    ],
)
def test_fast_manifest_lines_are_the_json_lines(entry: ImageEntry) -> None:
    line = entry.to_line()
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == entry.to_json()
    assert line == json.dumps(entry.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n"
