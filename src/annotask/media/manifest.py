"""CVAT's ``manifest.jsonl``: writing, streaming reading and validation.

Layout (JSON Lines, one compact object per line, no blank lines)::

    {"version":"1.1"}
    {"type":"images"}
    {"name":"dir/img_0001","extension":".jpg","width":1920,"height":1080,
     "meta":{"related_images":["dir/related_images/img_0001_jpg/ctx.jpg"]}}
    ...                                    (one line per source index; {} = excluded)

    {"version":"1.1"}
    {"type":"video"}
    {"properties":{"name":"video.mp4","resolution":[1280,720],"length":778}}
    {"number":0,"pts":0}
    ...                                    (one line per seekable key frame)

Manifests can list millions of frames, so nothing here holds a whole one in memory:
readers yield entries line by line and validate each as it passes, which also
means a manifest is read once, not once to validate and again to use. Validation
is stricter than CVAT's (which checks the header and the first entry only): every
line is checked, so a broken line 90,000 fails at upload with its line number
instead of as a confusing error in the middle of chunk preparation.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeGuard

from ._io import atomic_path
from .errors import MediaError, display_name
from .video import Keyframe

MANIFEST_VERSION = "1.1"
SUPPORTED_VERSIONS = frozenset({"1.0", "1.1"})
MISMATCH_DISPLAY_COUNT = 5
MANIFEST_DOCS = "https://docs.cvat.ai/docs/manual/advanced/dataset_manifest/"


class ManifestType(enum.StrEnum):
    IMAGES = "images"
    VIDEO = "video"


@dataclass(frozen=True)
class ImageEntry:
    """One frame of an images manifest. ``path`` is ``name + extension``."""

    name: str
    extension: str
    width: int | None = None
    height: int | None = None
    related_images: tuple[str, ...] = ()
    checksum: str | None = None

    @property
    def path(self) -> str:
        return self.name + self.extension

    def to_line(self) -> str:
        """This entry as one manifest line (what ``_dump(self.to_json())`` gives).

        The plain case (no context images, no checksum) is formatted directly:
        manifests are written for every task, and a 10,000-image task would
        otherwise spend most of its creation encoding small dicts.
        """
        if self.related_images or self.checksum is not None:
            return _dump(self.to_json())
        name = _ENCODE(self.name)
        extension = _ENCODE(self.extension)
        if self.width is None or self.height is None:
            return f'{{"name":{name},"extension":{extension}}}\n'
        return (
            f'{{"name":{name},"extension":{extension},'
            f'"width":{int(self.width)},"height":{int(self.height)}}}\n'
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "extension": self.extension}
        if self.width is not None and self.height is not None:
            data["width"], data["height"] = self.width, self.height
        if self.related_images:
            data["meta"] = {"related_images": sorted(self.related_images)}
        if self.checksum is not None:
            data["checksum"] = self.checksum
        return data


@dataclass(frozen=True)
class VideoProperties:
    """The properties line of a video manifest (resolution after rotation)."""

    name: str
    width: int
    height: int
    length: int


@dataclass(frozen=True)
class ManifestHeader:
    version: str
    type: ManifestType
    video: VideoProperties | None = None


def image_entry_for(path: str, width: int | None, height: int | None, **extra: Any) -> ImageEntry:
    """Build an entry from a relative file path (forward slashes, extension split off)."""
    path = path.replace("\\", "/")
    stem, ext = os.path.splitext(path)
    return ImageEntry(name=stem, extension=ext, width=width, height=height, **extra)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ENCODE = _ENCODER.encode


def _dump(data: dict[str, Any]) -> str:
    return _ENCODE(data) + "\n"


def write_image_manifest(out: str | os.PathLike[str], entries: Iterable[ImageEntry | None]) -> int:
    """Write an images manifest atomically, streaming; ``None`` entries become ``{}``.

    Returns the number of entry lines written.
    """
    count = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fp:
        fp.write(_dump({"version": MANIFEST_VERSION}))
        fp.write(_dump({"type": ManifestType.IMAGES.value}))
        for entry in entries:
            fp.write(entry.to_line() if entry is not None else "{}\n")
            count += 1
    return count


def write_video_manifest(
    out: str | os.PathLike[str],
    properties: VideoProperties,
    keyframes: Iterable[Keyframe],
) -> int:
    """Write a video manifest atomically; returns the number of key frame lines."""
    count = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fp:
        fp.write(_dump({"version": MANIFEST_VERSION}))
        fp.write(_dump({"type": ManifestType.VIDEO.value}))
        fp.write(
            _dump(
                {
                    "properties": {
                        "name": properties.name,
                        "resolution": [properties.width, properties.height],
                        "length": properties.length,
                    }
                }
            )
        )
        for keyframe in keyframes:
            fp.write(_dump({"number": keyframe.number, "pts": keyframe.pts}))
            count += 1
    return count


# ---------------------------------------------------------------- reading


class _Lines:
    """Numbered non-blank JSON objects of a file; blank lines are errors unless trailing."""

    def __init__(self, fp: IO[str], path: str) -> None:
        self._fp = fp
        self.path = path
        self.number = 0

    def error(self, problem: str) -> MediaError:
        where = f" (line {self.number})" if self.number else ""
        return MediaError(
            f"Invalid manifest was uploaded: '{display_name(self.path)}'{where}: {problem}",
            filename=self.path,
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        blank_at = 0
        raw_lines = iter(self._fp)
        while True:
            try:
                raw = next(raw_lines)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise self.error("the file is not UTF-8 text") from exc
            self.number += 1
            if not raw.strip():
                blank_at = blank_at or self.number
                continue
            if blank_at:
                self.number = blank_at
                raise self.error("blank lines are not allowed")
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise self.error(f"not valid JSON ({exc.msg})") from exc
            if not isinstance(data, dict):
                raise self.error("each line must be a JSON object")
            yield data

    def take(self, what: str) -> dict[str, Any]:
        for data in self:
            return data
        raise self.error(f"the {what} line is missing")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_header(lines: _Lines) -> ManifestHeader:
    version = lines.take("version")
    if set(version) != {"version"}:
        raise lines.error('the first line must be {"version": ...}')
    if version["version"] not in SUPPORTED_VERSIONS:
        supported = ", ".join(sorted(SUPPORTED_VERSIONS))
        raise lines.error(f"unsupported version {version['version']!r} (supported: {supported})")
    kind = lines.take("type")
    if set(kind) != {"type"} or kind["type"] not in {t.value for t in ManifestType}:
        raise lines.error('the second line must be {"type": "images"} or {"type": "video"}')
    manifest_type = ManifestType(kind["type"])
    if manifest_type == ManifestType.IMAGES:
        return ManifestHeader(version["version"], manifest_type)
    props = lines.take("properties").get("properties")
    if not isinstance(props, dict):
        raise lines.error('the third line of a video manifest must be {"properties": {...}}')
    name, resolution, length = props.get("name"), props.get("resolution"), props.get("length")
    if not isinstance(name, str) or not name:
        raise lines.error("properties.name must be a non-empty string")
    if (
        not isinstance(resolution, list)
        or len(resolution) != 2
        or not all(_is_int(v) and v > 0 for v in resolution)
    ):
        raise lines.error("properties.resolution must be [width, height] of positive integers")
    if not _is_int(length) or length <= 0:
        raise lines.error("properties.length must be a positive integer")
    video = VideoProperties(name, resolution[0], resolution[1], length)
    return ManifestHeader(version["version"], manifest_type, video)


def _image_entry(data: dict[str, Any], lines: _Lines) -> ImageEntry | None:
    if not data:
        return None
    name, extension = data.get("name"), data.get("extension")
    if not isinstance(name, str) or not name:
        raise lines.error("'name' must be a non-empty string")
    if not isinstance(extension, str):
        raise lines.error("'extension' must be a string")
    width, height = data.get("width"), data.get("height")
    for key, value in (("width", width), ("height", height)):
        if value is not None and (not _is_int(value) or value <= 0):
            raise lines.error(f"'{key}' must be a positive integer")
    meta = data.get("meta", {})
    related = meta.get("related_images", []) if isinstance(meta, dict) else None
    if not isinstance(related, list) or not all(isinstance(p, str) for p in related):
        raise lines.error("'meta.related_images' must be a list of strings")
    checksum = data.get("checksum")
    if checksum is not None and not isinstance(checksum, str):
        raise lines.error("'checksum' must be a string")
    return ImageEntry(name, extension, width, height, tuple(related), checksum)


def _keyframe(data: dict[str, Any], lines: _Lines, previous: int) -> Keyframe:
    number, pts = data.get("number"), data.get("pts")
    if not _is_int(number) or number < 0:
        raise lines.error("'number' must be a non-negative integer")
    if not _is_int(pts):
        raise lines.error("'pts' must be an integer")
    if number <= previous:
        raise lines.error("key frame numbers must be strictly increasing")
    return Keyframe(number, pts)


def open_manifest(path: str | os.PathLike[str]) -> ManifestHeader:
    """Read and validate only the header lines (version, type, video properties)."""
    path = os.fspath(path)
    with _open_text(path) as fp:
        return _read_header(_Lines(fp, path))


def _open_text(path: str) -> IO[str]:
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115 - returned to a with block
    except OSError as exc:
        raise MediaError(
            f"Could not read manifest '{display_name(path)}': {exc.strerror}", filename=path
        ) from exc


def iter_image_entries(path: str | os.PathLike[str]) -> Iterator[ImageEntry | None]:
    """Yield validated entries of an images manifest; ``None`` for ``{}`` lines."""
    path = os.fspath(path)
    with _open_text(path) as fp:
        lines = _Lines(fp, path)
        header = _read_header(lines)
        if header.type != ManifestType.IMAGES:
            raise lines.error("expected an images manifest, found a video manifest")
        for data in lines:
            yield _image_entry(data, lines)


def iter_video_keyframes(path: str | os.PathLike[str]) -> Iterator[Keyframe]:
    """Yield validated key frames of a video manifest (numbers strictly increasing)."""
    path = os.fspath(path)
    with _open_text(path) as fp:
        lines = _Lines(fp, path)
        header = _read_header(lines)
        if header.type != ManifestType.VIDEO:
            raise lines.error("expected a video manifest, found an images manifest")
        assert header.video is not None
        previous = -1
        for data in lines:
            keyframe = _keyframe(data, lines, previous)
            if keyframe.number >= header.video.length:
                raise lines.error("key frame number is beyond the video length")
            previous = keyframe.number
            yield keyframe


def validate_manifest(path: str | os.PathLike[str]) -> tuple[ManifestHeader, int]:
    """Check a whole uploaded manifest in one streaming pass; return (header, entries).

    Raises :class:`MediaError` ("Invalid manifest was uploaded: ...") with the line
    number of the first problem. For an images manifest without entries, or a
    video manifest without key frames, the manifest is still valid (CVAT's own
    creation forces empty video manifests; readers then decode from the start).
    """
    header = open_manifest(path)
    entries: Iterator[ImageEntry | None] | Iterator[Keyframe] = (
        iter_image_entries(path)
        if header.type == ManifestType.IMAGES
        else iter_video_keyframes(path)
    )
    return header, sum(1 for _ in entries)


# ------------------------------------------------------- matching uploads


def restore_order_from_manifest(
    uploaded: Iterable[str], manifest_paths: Iterable[str]
) -> list[str]:
    """Order uploaded relative paths as the manifest lists them (``predefined`` sorting).

    The two sets must be equal; otherwise raises CVAT's message listing the first
    five mismatching files (sorted, so the message is stable).
    """
    uploaded_set = set(uploaded)
    ordered = list(manifest_paths)
    mismatching = sorted(uploaded_set.symmetric_difference(ordered))
    if mismatching:
        shown = [
            f"{name} ({'upload' if name in uploaded_set else 'manifest'})"
            for name in mismatching[:MISMATCH_DISPLAY_COUNT]
        ]
        remaining = len(mismatching) - MISMATCH_DISPLAY_COUNT
        more = f" (and {remaining} more)" if remaining > 0 else ""
        raise MediaError(
            "Uploaded files do no match the upload manifest file contents. "
            "Please check the upload manifest file contents and the list of uploaded files. "
            f"Mismatching files: {', '.join(shown)}{more}. Read more: {MANIFEST_DOCS}"
        )
    return ordered


def check_manifest_mapping(
    frame_paths: Sequence[str], entries: Iterable[ImageEntry | None]
) -> None:
    """Each frame path must end with ``name + extension`` of the entry at its index.

    Raises "Incorrect file mapping to manifest content" (CVAT's message) naming the
    first mismatch; also when the counts differ. ``{}`` entries match anything.
    """
    index = -1
    for index, entry in enumerate(entries):
        if index >= len(frame_paths):
            raise MediaError(
                "Incorrect file mapping to manifest content: the manifest lists more "
                f"files than were uploaded ({len(frame_paths)})"
            )
        path = frame_paths[index].replace("\\", "/")
        if entry is not None and path != entry.path and not path.endswith("/" + entry.path):
            raise MediaError(
                f"Incorrect file mapping to manifest content: frame {index} is "
                f"'{path}' but the manifest says '{entry.path}'"
            )
    if index + 1 != len(frame_paths):
        raise MediaError(
            "Incorrect file mapping to manifest content: the manifest lists "
            f"{index + 1} files but {len(frame_paths)} were uploaded"
        )
