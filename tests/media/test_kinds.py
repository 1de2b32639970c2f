import pytest

from annotask.media import MediaError, MediaKind, classify_media, media_kind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("a.jpg", MediaKind.IMAGE),
        ("dir/B.JPEG", MediaKind.IMAGE),
        ("x.jfif", MediaKind.IMAGE),
        ("x.tif", MediaKind.IMAGE),
        ("x.webp", MediaKind.IMAGE),
        ("x.gif", MediaKind.IMAGE),
        ("clip.MP4", MediaKind.VIDEO),
        ("clip.mts", MediaKind.VIDEO),
        ("clip.webm", MediaKind.VIDEO),
        ("clip.3gp", MediaKind.VIDEO),
        ("data.zip", MediaKind.ARCHIVE),
        ("data.tar.gz", MediaKind.ARCHIVE),
        ("data.tgz", MediaKind.ARCHIVE),
        ("data.tar.xz", MediaKind.ARCHIVE),
        ("data.7z", MediaKind.ARCHIVE),
        ("data.rar", MediaKind.ARCHIVE),
        ("doc.pdf", MediaKind.PDF),
        ("scan.pcd", MediaKind.POINT_CLOUD),
        ("velodyne/0001.bin", MediaKind.POINT_CLOUD),
        ("manifest.jsonl", MediaKind.MANIFEST),
        ("vector.svg", MediaKind.UNKNOWN),
        ("readme.txt", MediaKind.UNKNOWN),
        ("noextension", MediaKind.UNKNOWN),
    ],
)
def test_media_kind_by_extension(path: str, kind: MediaKind) -> None:
    assert media_kind(path) == kind


def test_many_images_keep_input_order_and_skip_unknown_files() -> None:
    selection = classify_media(["b.png", "a.jpg", "notes.txt", "__MACOSX/._a.jpg"])
    assert selection.kind == MediaKind.IMAGE
    assert selection.files == ("b.png", "a.jpg")
    assert selection.skipped == ("notes.txt",)
    assert selection.manifest is None


def test_one_video_with_manifest() -> None:
    selection = classify_media(["clip.mp4", "manifest.jsonl"])
    assert (selection.kind, selection.files, selection.manifest) == (
        MediaKind.VIDEO,
        ("clip.mp4",),
        "manifest.jsonl",
    )


@pytest.mark.parametrize(
    "paths",
    [
        ["a.mp4", "b.mp4"],
        ["a.mp4", "x.jpg"],
        ["a.zip", "x.jpg"],
        ["a.pdf", "b.zip"],
    ],
)
def test_unique_kinds_cannot_be_combined(paths: list[str]) -> None:
    with pytest.raises(MediaError, match="can be used simultaneously, but .* found"):
        classify_media(paths)


def test_no_media_and_two_manifests_are_refused() -> None:
    with pytest.raises(MediaError, match="No media data found"):
        classify_media(["readme.txt"])
    with pytest.raises(MediaError, match="Only one manifest"):
        classify_media(["a.jpg", "m1.jsonl", "m2.jsonl"])


def test_manifest_with_pdf_is_refused() -> None:
    with pytest.raises(MediaError, match="only be uploaded with video/images/archives"):
        classify_media(["doc.pdf", "manifest.jsonl"])


def test_point_clouds_and_loose_images_are_refused() -> None:
    with pytest.raises(MediaError, match="Combined media types are not supported"):
        classify_media(["a.pcd", "b.jpg"])


def test_related_images_are_context_not_frames() -> None:
    selection = classify_media(
        [
            "data/00001.png",
            "data/00002.jpg",
            "data/related_images/00001_png/right.jpg",
            "data/related_images/00001_png/left.jpg",
            "data/related_images/00009_png/orphan.jpg",
            "top.jpg",
            "related_images/top_jpg/ctx.png",
        ]
    )
    assert selection.files == ("data/00001.png", "data/00002.jpg", "top.jpg")
    assert selection.related_images == {
        "data/00001.png": (
            "data/related_images/00001_png/left.jpg",
            "data/related_images/00001_png/right.jpg",
        ),
        "top.jpg": ("related_images/top_jpg/ctx.png",),
    }
    assert selection.skipped == ("data/related_images/00009_png/orphan.jpg",)


def test_point_cloud_context_images_in_related_images() -> None:
    selection = classify_media(["pc/scene.pcd", "pc/related_images/scene_pcd/cam0.png"])
    assert selection.kind == MediaKind.POINT_CLOUD
    assert selection.related_images == {"pc/scene.pcd": ("pc/related_images/scene_pcd/cam0.png",)}
