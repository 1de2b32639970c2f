"""``DataMetaRead`` (spec 4.6) for a task or a job's frame range: a query of the domain,
read by the data meta routes and after a change of the deleted frames."""

from __future__ import annotations

from sqlalchemy import select

from annotask import media
from annotask.db.models import Frame, Task
from annotask.domain.errors import ValidationFailed


def data_meta(db, task: Task, start: int | None = None, stop: int | None = None) -> dict:
    """``DataMetaRead`` (spec 4.6) for the task, or for a job's frame range."""
    data = task.data
    if data is None:
        raise ValidationFailed("The task has no data yet.")
    first = 0 if start is None else start
    last = data.size - 1 if stop is None else stop
    step = media.parse_frame_filter(data.frame_filter)
    if data.video is not None:
        frame_list = [
            {
                "name": data.video.path.rsplit("/", 1)[-1],
                "width": data.video.width,
                "height": data.video.height,
                "related_files": 0,
                "has_related_context": False,
            }
        ]
    else:
        wanted = [data.start_frame + i * step for i in range(first, last + 1)]
        rows = {
            f.frame: f
            for f in db.scalars(
                select(Frame).where(
                    Frame.data_id == data.id,
                    Frame.frame.between(min(wanted, default=0), max(wanted, default=0)),
                )
            )
        }
        frame_list = [
            {
                "name": rows[i].path,
                "width": rows[i].width,
                "height": rows[i].height,
                "related_files": len(rows[i].related_files),
                "has_related_context": bool(rows[i].related_files),
            }
            for i in wanted
            if i in rows
        ]
    return {
        "chunks_updated_date": data.chunks_updated_date.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "chunk_size": data.chunk_size,
        "size": data.size if start is None else last - first + 1,
        "image_quality": data.image_quality,
        "start_frame": data.start_frame + first * step,
        "stop_frame": data.start_frame + last * step,
        "frame_filter": data.frame_filter,
        "deleted_frames": [f for f in data.deleted_frames if first <= f <= last],
        "included_frames": None,
        "chapters": None,
        "storage": data.storage,
        "cloud_storage_id": None,
        "frames": frame_list,
    }
