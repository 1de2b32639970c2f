"""Collect step: turn the sources a client named into readable local files.

Client files are already in the task's ``upload`` directory; share paths are
checked by real-path containment and either read in place or copied; remote
URLs are downloaded through the one guarded HTTP client; archives are
extracted with limits. The result names every file relative to one root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from annotask import media
from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data.layout import TaskLayout
from annotask.domain.task_data.params import DataParams
from annotask.security.archives import extract_archive, is_archive
from annotask.security.errors import UnsafeInput
from annotask.security.paths import resolve_in_root
from annotask.settings import Settings

Report = Callable[[float, str], None]

CONVERT_THREADS = 4

# Where Data.source_root points; frames store paths relative to it.
ROOT_UPLOAD = "upload"
ROOT_RAW = "raw"
ROOT_SHARE = "share"


@dataclass
class CollectedSources:
    root_kind: str  # ROOT_UPLOAD, ROOT_RAW or ROOT_SHARE
    root: Path
    files: list[str]  # relative to root, forward slashes, in the order given
    storage: str  # CVAT's Data.storage: "local" or "share"


def source_root(settings: Settings, layout: TaskLayout, root_kind: str) -> Path:
    if root_kind == ROOT_SHARE:
        if settings.share_root is None:
            raise ValidationFailed("The connected file share is not configured.")
        return Path(os.path.realpath(settings.share_root))
    return layout.upload if root_kind == ROOT_UPLOAD else layout.raw


def collect(
    settings: Settings, layout: TaskLayout, params: DataParams, report: Report
) -> CollectedSources:
    shutil.rmtree(layout.raw, ignore_errors=True)
    layout.raw.mkdir(parents=True)
    if params.remote_files:
        report(0.02, "Downloading input media")
        collected = _download(settings, layout, params.remote_files, report)
    elif params.server_files:
        report(0.02, "Data are being copied from source..")
        collected = _from_share(settings, layout, params)
    else:
        collected = CollectedSources(ROOT_UPLOAD, layout.upload, list(params.client_files), "local")
    return _extract_archives(settings, layout, collected, report)


def _walk(directory: Path) -> list[tuple[str, bool]]:
    """Files under ``directory`` (relative, forward slashes) and whether each is a symlink.

    Directory symlinks are not followed; each directory lists its files (sorted)
    before its sub-directories (sorted), like ``os.walk``. One ``scandir`` per
    directory: no ``stat`` per file, which matters for shares of 10,000 images.
    """
    found: list[tuple[str, bool]] = []

    def visit(path: str, prefix: str) -> None:
        files, dirs = [], []
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                else:
                    files.append((entry.name, entry.is_symlink()))
        files.sort()
        found.extend((prefix + name, link) for name, link in files)
        for name in sorted(dirs):
            visit(os.path.join(path, name), f"{prefix}{name}/")

    visit(str(directory), "")
    return found


def _relative_files(directory: Path) -> list[str]:
    return [name for name, _link in _walk(directory)]


def share_files(settings: Settings, server_files: list[str], exclude: list[str]) -> list[str]:
    """Expand share paths (directories recursively) into files relative to the share root,
    keeping the given order and dropping entries already covered by a listed directory."""
    if settings.share_root is None:
        raise ValidationFailed({"server_files": "The connected file share is not configured."})
    root = Path(os.path.realpath(settings.share_root))
    excluded: set[str] = set()
    for item in exclude:
        path = _resolve_share(root, item, "server_files_exclude")
        rel = path.relative_to(root).as_posix()
        excluded.update([f"{rel}/{f}" for f in _relative_files(path)] if path.is_dir() else [rel])
    files: list[str] = []
    seen: set[str] = set()
    for item in server_files:
        path = _resolve_share(root, item, "server_files")
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            prefix = f"{rel}/" if rel != "." else ""
            names = [(prefix + f, link) for f, link in _walk(path)]
        else:
            names = [(rel, False)]  # resolved (symlinks included) by resolve_in_root
        for name, link in names:
            if link and not Path(os.path.realpath(root / name)).is_relative_to(root):
                continue  # a symlink inside a listed directory that leads out of the share
            if name not in seen and name not in excluded:
                seen.add(name)
                files.append(name)
    if not files:
        raise ValidationFailed({"server_files": "No files were found at the given share paths."})
    return files


def _resolve_share(root: Path, item: str, field: str) -> Path:
    try:
        return resolve_in_root(root, item, leading_slash_is_root=True)
    except UnsafeInput as exc:
        raise ValidationFailed({field: [exc.message]}) from exc


def _from_share(settings: Settings, layout: TaskLayout, params: DataParams) -> CollectedSources:
    files = share_files(settings, params.server_files, params.server_files_exclude)
    root = Path(os.path.realpath(settings.share_root))  # type: ignore[arg-type]
    if not params.copy_data:
        return CollectedSources(ROOT_SHARE, root, files, "share")
    for name in files:
        target = layout.raw / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
    return CollectedSources(ROOT_RAW, layout.raw, files, "local")


def _download(
    settings: Settings, layout: TaskLayout, urls: list[str], report: Report
) -> CollectedSources:
    # httpx (and the CLI libraries its package imports) only where a URL is fetched.
    from annotask.security.http_client import DownloadPolicy, check_url_count, download

    policy = DownloadPolicy.from_settings(settings)
    try:
        check_url_count(urls, policy)
    except UnsafeInput as exc:
        raise ValidationFailed({"remote_files": [exc.message]}) from exc
    names = []
    for index, url in enumerate(urls):
        report(
            0.02 + 0.08 * index / len(urls), f"Downloading input media ({index + 1}/{len(urls)})"
        )
        names.append(download(url, layout.raw, policy).name)
    return CollectedSources(ROOT_RAW, layout.raw, names, "local")


def _extract_archives(
    settings: Settings, layout: TaskLayout, collected: CollectedSources, report: Report
) -> CollectedSources:
    """Archives among the files are unpacked into ``raw`` and replaced by their members."""
    archives = [name for name in collected.files if is_archive(name)]
    if not archives:
        return collected
    report(0.1, "Media files are being extracted...")
    files: list[str] = []
    for name in collected.files:
        if not is_archive(name):
            if collected.root != layout.raw:
                target = layout.raw / name
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(collected.root / name, target)
            files.append(name)
            continue
        dest = layout.raw / f"{name}.extracted" if len(archives) > 1 else layout.raw
        written = extract_archive(
            collected.root / name,
            dest,
            max_entries=settings.archive_max_entries,
            max_total_bytes=settings.archive_max_bytes,
            max_ratio=settings.archive_max_ratio_media,
            disk_reserve_bytes=settings.archive_disk_reserve_bytes,
        )
        files.extend(p.relative_to(layout.raw).as_posix() for p in written)
        if collected.root == layout.raw:
            (layout.raw / name).unlink(missing_ok=True)
    return CollectedSources(ROOT_RAW, layout.raw, files, "local")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def convert_point_clouds(
    layout: TaskLayout,
    collected: CollectedSources,
    scenes: list[str],
    related: dict[str, tuple[str, ...]],
    report: Report,
) -> tuple[CollectedSources, list[str], dict[str, tuple[str, ...]]]:
    """Turn KITTI ``.bin`` scenes into ``.pcd`` files, as CVAT does at creation.

    Converted files are written into the task's own ``raw`` directory, never next
    to their source: uploads stay untouched (a re-run starts from them) and a
    share is only ever read. Then every file the task uses (the other scenes and
    all context images) must sit under that one root too, so those are linked
    into ``raw`` (copied where a link is impossible). Sources already in ``raw``
    (extracted archives, downloads, share copies) are converted in place and the
    ``.bin`` is removed. Returns the new sources, scenes (same order) and context.
    """
    bins = {scene: media.pcd_name_for_bin(scene) for scene in scenes if _is_bin(scene)}
    if not bins:
        return collected, scenes, related
    in_place = collected.root == layout.raw
    if not in_place:
        others = [s for s in scenes if s not in bins]
        others += sorted({path for paths in related.values() for path in paths})
        for name in others:
            target = layout.raw / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(collected.root / name, target)

    def convert(scene: str) -> None:
        target = layout.raw / bins[scene]
        target.parent.mkdir(parents=True, exist_ok=True)
        media.convert_kitti_bin(collected.root / scene, target)
        if in_place:
            (collected.root / scene).unlink()

    with ThreadPoolExecutor(min(CONVERT_THREADS, len(bins))) as pool:
        for done, _ in enumerate(pool.map(convert, bins), 1):
            if done == len(bins) or done % 50 == 0:
                report(0.12, f"Converting .bin point clouds to .pcd ({done}/{len(bins)})")
    new_scenes = [bins.get(scene, scene) for scene in scenes]
    new_related = {bins.get(scene, scene): paths for scene, paths in related.items()}
    files = new_scenes + [path for paths in new_related.values() for path in paths]
    return CollectedSources(ROOT_RAW, layout.raw, files, "local"), new_scenes, new_related


def _is_bin(path: str) -> bool:
    return path.lower().endswith(".bin")
