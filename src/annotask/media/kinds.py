"""What kind of media a file is, and whether a set of files makes one valid task.

Detection is by file-name extension only, as CVAT does (it primes Python's
``mimetypes`` with its own table and never sniffs content). Sniffing would be more
robust, but then a file CVAT accepts could be refused here or the other way round;
content problems surface later, as :class:`MediaError` from the probe step.

Files in a ``related_images/`` directory are context images (CVAT's 2D layout
``<dir>/related_images/<image name with '.' replaced by '_'>/<ctx>.jpg``), not frames.

A task with point clouds (``.pcd``, KITTI ``.bin``) is 3D, and every image in it
must be a context image of a point cloud in one of CVAT's layouts (see
:func:`match_point_cloud_context`); any other image is an error, because 2D and
3D frames cannot be mixed.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .errors import MediaError


class MediaKind(enum.StrEnum):
    """The kinds a single file can be."""

    IMAGE = "image"
    VIDEO = "video"
    ARCHIVE = "archive"
    PDF = "pdf"
    POINT_CLOUD = "point_cloud"
    MANIFEST = "manifest"
    UNKNOWN = "unknown"


# Everything Pillow can usually open plus the common camera/web formats. Files that
# are listed here but turn out unreadable (e.g. HEIC without a plugin) fail at probe
# time with a message naming the file, which is friendlier than being skipped.
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp", ".png", ".apng", ".bmp",
        ".dib", ".tif", ".tiff", ".webp", ".gif", ".ico", ".pbm", ".pgm", ".ppm",
        ".pnm", ".pcx", ".tga", ".sgi", ".rgb", ".jp2", ".j2k", ".jpx", ".jpf",
        ".heic", ".heif", ".avif", ".psd", ".dds", ".exr", ".im", ".mpo",
    }
)  # fmt: skip
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".m4v", ".mkv", ".avi", ".mov", ".qt", ".webm", ".mts", ".m2ts", ".ts",
        ".mpg", ".mpeg", ".mpe", ".m2v", ".flv", ".f4v", ".wmv", ".asf", ".3gp",
        ".3g2", ".ogv", ".vob", ".mxf",
    }
)  # fmt: skip
# Multi-part suffixes first so ".tar.gz" wins over ".gz".
ARCHIVE_EXTENSIONS = (
    ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".tbz", ".txz", ".zip", ".tar",
    ".7z", ".rar", ".cpio", ".gz", ".bz2",
)  # fmt: skip
PDF_EXTENSIONS = frozenset({".pdf"})
POINT_CLOUD_EXTENSIONS = frozenset({".pcd", ".bin"})
MANIFEST_EXTENSIONS = frozenset({".jsonl"})

RELATED_IMAGES_DIR = "related_images"
# Finder/Windows litter inside archives; CVAT ignores any path containing these.
IGNORED_PATH_PARTS = ("__MACOSX", "__MSOSX", ".DS_Store", "._.DS_Store")

# Kinds of which a task may contain exactly one file and nothing else.
_UNIQUE_KINDS = (MediaKind.VIDEO, MediaKind.ARCHIVE, MediaKind.PDF)


def media_kind(path: str) -> MediaKind:
    """Return the media kind of ``path`` judged by its extension (case-insensitive)."""
    name = path.replace("\\", "/").rpartition("/")[2].lower()
    if name.endswith(ARCHIVE_EXTENSIONS):
        return MediaKind.ARCHIVE
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    if suffix in IMAGE_EXTENSIONS:
        return MediaKind.IMAGE
    if suffix in VIDEO_EXTENSIONS:
        return MediaKind.VIDEO
    if suffix in PDF_EXTENSIONS:
        return MediaKind.PDF
    if suffix in POINT_CLOUD_EXTENSIONS:
        return MediaKind.POINT_CLOUD
    if suffix in MANIFEST_EXTENSIONS:
        return MediaKind.MANIFEST
    return MediaKind.UNKNOWN


def is_image(path: str) -> bool:
    """Whether ``path`` names an image file (by its extension)."""
    return media_kind(path) == MediaKind.IMAGE


# CVAT's share listing reports the media type, not a MIME type; zip files count
# as archives, and manifests are not media.
_SHOWN_KIND = {kind: kind.value for kind in MediaKind} | {MediaKind.MANIFEST: "unknown"}


def shown_kind(path: str) -> str:
    """The type CVAT's share listing (``GET /api/server/share``) shows for ``path``."""
    return _SHOWN_KIND[media_kind(path)]


def is_ignored(path: str) -> bool:
    """True for OS litter (``__MACOSX``, ``.DS_Store``) that never counts as media."""
    return any(part in path for part in IGNORED_PATH_PARTS)


def related_images_key(frame_path: str) -> str:
    """The ``related_images`` sub-directory name CVAT expects for a frame file.

    It is the base name with its last '.' replaced by '_' (``img.png`` -> ``img_png``).
    """
    name = PurePosixPath(frame_path).name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{ext}" if dot else name


@dataclass(frozen=True)
class MediaSelection:
    """A validated set of input files.

    ``files`` are the frame sources in input order (many images or point clouds) or
    the single video/archive/pdf. ``related_images`` maps a frame path to its context
    images (sorted). ``skipped`` lists files of unknown type and context images that
    belong to no frame; CVAT skips those with a log warning, so do we.
    """

    kind: MediaKind
    files: tuple[str, ...]
    manifest: str | None = None
    related_images: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()


def _split_related(path: str) -> tuple[str, str] | None:
    """(frame directory, sub-directory key) if ``path`` is inside a related_images dir."""
    if RELATED_IMAGES_DIR not in path:
        return None
    parts = PurePosixPath(path).parts
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] == RELATED_IMAGES_DIR:
            return "/".join(parts[:i]), parts[i + 1]
    return None


def _parent_dir(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def _describe_counts(counts: dict[MediaKind, int]) -> str:
    return ", ".join(f"{n} {kind.value.replace('_', ' ')}(s)" for kind, n in counts.items() if n)


def classify_media(paths: Iterable[str]) -> MediaSelection:
    """Classify relative file paths and apply CVAT's combination rules.

    Allowed: many images (or many point clouds with their context images), or
    exactly one video, archive or pdf, plus at most one ``.jsonl`` manifest.
    Raises :class:`MediaError` with CVAT's wording otherwise.
    """
    by_kind: dict[MediaKind, list[str]] = {kind: [] for kind in MediaKind}
    context: list[str] = []
    skipped: list[str] = []
    for path in paths:
        if is_ignored(path):
            continue
        kind = media_kind(path)
        if kind in (MediaKind.IMAGE, MediaKind.UNKNOWN) and _split_related(path) is not None:
            (context if kind == MediaKind.IMAGE else skipped).append(path)
            continue
        if kind == MediaKind.UNKNOWN:
            skipped.append(path)
        else:
            by_kind[kind].append(path)

    manifests = by_kind.pop(MediaKind.MANIFEST)
    if len(manifests) > 1:
        raise MediaError("Only one manifest file can be attached to data")
    manifest = manifests[0] if manifests else None
    by_kind.pop(MediaKind.UNKNOWN)

    counts = {kind: len(files) for kind, files in by_kind.items()}
    unique = sum(counts[k] for k in _UNIQUE_KINDS)
    multiple = counts[MediaKind.IMAGE] + counts[MediaKind.POINT_CLOUD]
    if unique > 1 or (unique == 1 and multiple > 0):
        raise MediaError(
            "Only one video, archive, pdf, zip or many image, directory can be used "
            f"simultaneously, but {_describe_counts(counts)} found."
        )
    if unique == 0 and multiple == 0:
        raise MediaError("No media data found")
    if counts[MediaKind.POINT_CLOUD]:
        files = tuple(by_kind[MediaKind.POINT_CLOUD])
        related: dict[str, tuple[str, ...]] = match_point_cloud_context(
            files, by_kind[MediaKind.IMAGE] + context
        )
        return MediaSelection(MediaKind.POINT_CLOUD, files, manifest, related, tuple(skipped))
    kind = next(k for k, n in counts.items() if n)
    if manifest is not None and kind == MediaKind.PDF:
        raise MediaError(
            "File with meta information can only be uploaded with video/images/archives"
        )

    files = tuple(by_kind[kind])
    related = {}
    if kind == MediaKind.IMAGE:
        related = _match_related_images(files, context, skipped)
    else:
        skipped.extend(context)
    return MediaSelection(kind, files, manifest, related, tuple(skipped))


def _match_related_images(
    frames: tuple[str, ...], context: list[str], skipped: list[str]
) -> dict[str, tuple[str, ...]]:
    """Attach each context image to the frame named by its directory."""
    if not context:
        return {}
    frame_by_key = {(_parent_dir(f), related_images_key(f)): f for f in frames}
    related: dict[str, list[str]] = {}
    for path in context:
        split = _split_related(path)
        assert split is not None
        frame = frame_by_key.get(split)
        if frame is None:
            skipped.append(path)
        else:
            related.setdefault(frame, []).append(path)
    return {frame: tuple(sorted(paths)) for frame, paths in related.items()}


# KITTI raw camera directories: image_00 ... image_03 originally, any number accepted.
_KITTI_CAMERA_DIR = re.compile(r"image_\d+", re.IGNORECASE)
_SHOWN_NAMES = 5


def match_point_cloud_context(
    scenes: Sequence[str], images: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Attach images to the point clouds (scenes) they belong to, as CVAT does.

    Layouts (paths relative to the task's root; ``<stem>`` is the scene's name
    without its extension):

    - Custom 1: ``d/<stem>.pcd`` next to ``d/<stem>.<img>`` (same path, other extension);
    - Custom 2: ``d/<stem>/<stem>.pcd`` with any images in ``d/<stem>/``;
    - Supervisely: ``d/pointcloud/<stem>.pcd`` + ``d/related_images/<stem>_pcd/<any>``;
    - KITTI raw: ``d/velodyne_points/data/<stem>.bin`` + ``d/image_NN/data/<stem>.<img>``
      (``image_NN`` in any case);
    - and, as for 2D images, ``d/related_images/<stem>_pcd/<any>`` next to ``d/<stem>.pcd``.

    Returns scene -> its images, sorted. An image that belongs to no scene makes
    the task a mix of 2D and 3D data, which CVAT refuses with "Combined media
    types are not supported"; so is this. Two scenes with one name (``a.bin`` and
    ``a.pcd``) would become the same frame file, so they are refused too.
    """
    by_stem: dict[str, str] = {}
    for scene in scenes:
        stem = posixpath.splitext(scene)[0]
        if stem in by_stem:
            raise MediaError(
                f"Point clouds '{by_stem[stem]}' and '{scene}' have the same name: keep one of them"
            )
        by_stem[stem] = scene
    related: dict[str, list[str]] = {}
    unknown: list[str] = []
    for image in images:
        owner = _scene_of_context_image(image, by_stem)
        if owner is None:
            unknown.append(image)
        else:
            related.setdefault(owner, []).append(image)
    if unknown:
        raise MediaError(
            "Combined media types are not supported, found: images, 3d point clouds. "
            f"Scenes: {_some(scenes)}. Unknown files: {_some(unknown)}"
        )
    return {scene: tuple(sorted(paths)) for scene, paths in related.items()}


def _scene_of_context_image(image: str, by_stem: dict[str, str]) -> str | None:
    path = PurePosixPath(image)
    stem = posixpath.splitext(image)[0]
    if stem in by_stem:  # Custom 1
        return by_stem[stem]
    parent = path.parent
    if parent.name and (found := by_stem.get(str(parent / parent.name))):  # Custom 2
        return found
    grandparent = parent.parent
    if grandparent.name == RELATED_IMAGES_DIR:  # Supervisely, or the 2D-like layout
        scene_stem = parent.name.rsplit("_", 1)[0]
        for candidate in (
            grandparent.parent / "pointcloud" / scene_stem,
            grandparent.parent / scene_stem,
        ):
            if found := by_stem.get(str(candidate)):
                return found
    if parent.name == "data" and _KITTI_CAMERA_DIR.match(grandparent.name):  # KITTI raw
        candidate = grandparent.parent / "velodyne_points" / "data" / path.stem
        return by_stem.get(str(candidate))
    return None


def _some(paths: Sequence[str]) -> str:
    shown = sorted(paths)[:_SHOWN_NAMES]
    return ", ".join(shown) + ("..." if len(paths) > _SHOWN_NAMES else "")
