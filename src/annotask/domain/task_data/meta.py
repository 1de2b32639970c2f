"""``DataMetaRead`` (spec 4.6) for a task or a job's frame range: a query of the domain,
read by the data meta routes and after a change of the deleted frames."""

from __future__ import annotations

from annotask import media
from annotask.db.models import Task
from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data.kinds import kind_of_data


def data_meta(db, task: Task, start: int | None = None, stop: int | None = None) -> dict:
    """``DataMetaRead`` (spec 4.6) for the task, or for a job's frame range."""
    data = task.data
    if data is None:
        raise ValidationFailed("The task has no data yet.")
    first = 0 if start is None else start
    last = data.size - 1 if stop is None else stop
    step = media.parse_frame_filter(data.frame_filter)
    wanted = [data.start_frame + i * step for i in range(first, last + 1)]
    frame_list = kind_of_data(data).meta_frames(db, data, wanted)
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
