"""Probe and order step: which frames a task has, in which order, at which size.

Only headers are read: JPEG markers directly (in C, a batch per call, when the
extension is built), other formats through Pillow's lazy ``open``. Files are
read in batches on many threads, because on a cold page cache (a share on a
network disk) the time is all waiting for the disk, and many reads in flight
hide it. With an uploaded manifest the sizes come from it
and no image is opened at all.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from annotask import media
from annotask.domain.task_data.params import DataParams

# JPEG headers are read in C without the GIL, so on a cold page cache (or a
# network share) 16 threads keep 16 reads in flight: 10,000 files probed cold in
# a third of the time 4 threads took. On a warm cache the extra threads cost nothing.
PROBE_THREADS = 16
PROBE_BATCH = 128


@dataclass
class ImageFrame:
    path: str  # relative to the source root
    width: int
    height: int
    related: tuple[str, ...] = ()


@dataclass
class ProbedImages:
    frames: list[ImageFrame]  # every source frame, in task order (source index = position)
    manifest_used: bool = False


@dataclass
class ProbedVideo:
    path: str
    info: media.VideoInfo
    skipped: list[str] = field(default_factory=list)


def order_files(files: list[str], params: DataParams) -> list[str]:
    """Apply ``sorting_method``; ``predefined`` honours ``upload_file_order``, whose
    names are the stored relative names (the web UI) or base names (cvat-sdk)."""
    if params.sorting_method == "predefined":
        if params.upload_file_order:
            rank = {name: i for i, name in enumerate(params.upload_file_order)}
            unknown = len(rank)
            return sorted(files, key=lambda f: rank.get(f, rank.get(os.path.basename(f), unknown)))
        return list(files)
    if params.sorting_method == "random":
        seed = params.random_seed if params.random_seed is not None else 0
        ordered = sorted(files)
        random.Random(seed).shuffle(ordered)
        return ordered
    return media.sort_files(files, params.sorting_method)


def probe_images(
    root: Path,
    selection: media.MediaSelection,
    params: DataParams,
    *,
    max_pixels: int,
    on_progress: Callable[[float], None] | None = None,
) -> ProbedImages:
    files = list(selection.files)
    if selection.manifest is not None:
        return _from_manifest(root, selection, selection.manifest, params, files)
    ordered = order_files(files, params)
    root_text = str(root)

    def probe(batch: list[str]) -> list[ImageFrame]:
        paths = [os.path.join(root_text, rel) for rel in batch]
        sizes = media.probe_sizes(paths, max_pixels=max_pixels)
        return [
            ImageFrame(rel, width, height, selection.related_images.get(rel, ()))
            for rel, (width, height) in zip(batch, sizes, strict=True)
        ]

    return ProbedImages(_in_batches(ordered, probe, on_progress))


def _from_manifest(
    root: Path,
    selection: media.MediaSelection,
    manifest_name: str,
    params: DataParams,
    files: list[str],
) -> ProbedImages:
    """Trust a validated manifest for sizes and (for ``predefined``) order."""
    if params.sorting_method == "random":
        raise media.MediaError("It isn't supported to upload manifest file and use random sorting")
    manifest = str(root / manifest_name)
    media.validate_manifest(manifest)
    entries = [e for e in media.iter_image_entries(manifest) if e is not None]
    by_path = {_match_key(e.path, files): e for e in entries}
    if params.sorting_method == "predefined":
        ordered = media.restore_order_from_manifest(
            files, [_match_key(e.path, files) for e in entries]
        )
    else:
        ordered = order_files(files, params)
    frames = []
    for rel in ordered:
        entry = by_path.get(rel)
        if entry is None or entry.width is None or entry.height is None:
            raise media.MediaError(
                f"The manifest has no size for {os.path.basename(rel)}: "
                "Incorrect file mapping to manifest content"
            )
        frames.append(
            ImageFrame(rel, entry.width, entry.height, selection.related_images.get(rel, ()))
        )
    return ProbedImages(frames, manifest_used=True)


def _match_key(manifest_path: str, files: list[str]) -> str:
    """Manifest names are relative to the dataset root; uploads may sit one level deeper."""
    if manifest_path in files:
        return manifest_path
    for rel in files:
        if rel.endswith("/" + manifest_path):
            return rel
    return manifest_path


def order_point_clouds(
    root: Path, selection: media.MediaSelection, params: DataParams
) -> list[str]:
    """The scenes of a 3D task in task order (names as collected, ``.bin`` included).

    An uploaded manifest only matters for ``predefined`` sorting, where it gives
    the order; sizes always come from the PCD headers, which are cheap to read.
    """
    files = list(selection.files)
    if selection.manifest is None or params.sorting_method != "predefined":
        return order_files(files, params)
    manifest = str(root / selection.manifest)
    media.validate_manifest(manifest)
    names = [
        _match_key(_scene_entry_path(e.path, files), files)
        for e in media.iter_image_entries(manifest)
        if e is not None
    ]
    return media.restore_order_from_manifest(files, names)


def _scene_entry_path(path: str, files: list[str]) -> str:
    """A manifest lists converted scenes as ``.pcd``; match them to an uploaded ``.bin``."""
    if path in files or not path.endswith(".pcd"):
        return path
    bin_path = path[: -len(".pcd")] + ".bin"
    return bin_path if any(f == bin_path or f.endswith("/" + bin_path) for f in files) else path


def probe_point_clouds(
    root: Path,
    files: list[str],
    related: dict[str, tuple[str, ...]],
    *,
    on_progress: Callable[[float], None] | None = None,
) -> ProbedImages:
    """Frames of a 3D task: each ``.pcd``'s WIDTH and HEIGHT, from its header."""
    root_text = str(root)

    def probe(batch: list[str]) -> list[ImageFrame]:
        found = []
        for rel in batch:
            width, height = media.probe_point_cloud(os.path.join(root_text, rel))
            found.append(ImageFrame(rel, width, height, related.get(rel, ())))
        return found

    return ProbedImages(_in_batches(files, probe, on_progress))


def _in_batches(
    files: list[str],
    probe: Callable[[list[str]], list[ImageFrame]],
    on_progress: Callable[[float], None] | None,
) -> list[ImageFrame]:
    batches = [files[i : i + PROBE_BATCH] for i in range(0, len(files), PROBE_BATCH)]
    frames: list[ImageFrame] = []
    with ThreadPoolExecutor(min(PROBE_THREADS, max(1, len(batches)))) as pool:
        for done, found in enumerate(pool.map(probe, batches), 1):
            frames.extend(found)
            if on_progress is not None:
                on_progress(done / len(batches))
    return frames


def probe_video(root: Path, selection: media.MediaSelection) -> ProbedVideo:
    rel = selection.files[0]
    return ProbedVideo(rel, media.probe_video(str(root / rel)))


def uploaded_video_manifest_problem(path: Path, info: media.VideoInfo) -> str | None:
    """Why an uploaded video manifest cannot be used, or None if it agrees with the video.

    Key frames come from demuxing either way (cheap, and certain to match the
    file); an uploaded manifest is checked against them, and a mismatch is
    reported in the request message, as CVAT does before regenerating one.
    """
    try:
        header, _count = media.validate_manifest(path)
        if header.video is None:
            return "it is not a video manifest"
        if header.video.length != info.frame_count:
            return (
                f"it lists {header.video.length} frames but the video has {info.frame_count}; "
                "a new manifest was generated"
            )
        known = {k.number: k.pts for k in info.keyframes}
        for keyframe in media.iter_video_keyframes(path):
            if known and known.get(keyframe.number) != keyframe.pts:
                return (
                    f"key frame {keyframe.number} is not a key frame of the video; "
                    "a new manifest was generated"
                )
    except media.MediaError as exc:
        return exc.message
    return None
