"""Point clouds (3D tasks): one ``.pcd`` file per frame (KITTI ``.bin`` converted
first), with optional context images. Chunks zip the ``.pcd`` files unchanged
in both qualities; a single frame is the file itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from annotask import media
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.kinds import frame_files
from annotask.domain.task_data.kinds.base import PlanContext
from annotask.domain.task_data.kinds.frame_files import FilesPlan
from annotask.domain.task_data.payload import Payload
from annotask.domain.task_data.probe import order_point_clouds, probe_point_clouds
from annotask.domain.task_data.sources import CollectedSources, convert_point_clouds

if TYPE_CHECKING:
    from annotask.domain.task_data.chunk_source import ChunkSource

media_type = "point_cloud"  # CVAT's list filter value
dimension = "3d"
mode = "annotation"

# A single point-cloud frame is the .pcd file itself; no browser renders it.
POINT_CLOUD_MIME = "application/octet-stream"


@dataclass
class PointCloudPlan(FilesPlan):
    """The kept ``.pcd`` frames (sized by their headers), with their context images."""


def plan(
    ctx: PlanContext, collected: CollectedSources, selection: media.MediaSelection
) -> PointCloudPlan:
    scenes = order_point_clouds(collected.root, selection, ctx.params)
    collected, scenes, related = convert_point_clouds(
        ctx.layout, collected, scenes, selection.related_images, ctx.report
    )
    ctx.report(0.15, "Reading point cloud headers")
    frames = probe_point_clouds(
        collected.root,
        scenes,
        related,
        on_progress=lambda done: ctx.report(
            0.15 + 0.13 * done, f"Reading point cloud headers ({round(100 * done)}%)"
        ),
    ).frames
    # spec 4: no width/height for pcd entries in the manifest
    return frame_files.plan_files(PointCloudPlan, ctx, collected, frames, sized=False)


chunk_types = frame_files.chunk_types
planned_media = frame_files.planned_media
stored_media = frame_files.stored_media
frame_rows = frame_files.frame_rows
frame_infos = frame_files.frame_infos
meta_frames = frame_files.meta_frames
source_files = frame_files.source_files
export_media = frame_files.export_media


def chunk_spec(source: ChunkSource, quality: str, out: Path, indices: list[int]) -> cb.ChunkSpec:
    return frame_files.chunk_spec(source, quality, out, indices, point_clouds=True)


def frame(source: ChunkSource, quality: str, index: int) -> Payload:
    """The .pcd file itself, in both qualities (as in chunks)."""
    (path,) = frame_files.frame_files(source, [index])
    return Payload(POINT_CLOUD_MIME, path=Path(path))


def preview(source: ChunkSource, index: int) -> bytes:
    """A stock image, as CVAT: no point cloud is rendered."""
    return media.point_cloud_preview()
