"""Marking frames deleted (``PATCH .../data/meta``): they stay in the task, numbered
as before, but exports and the annotation views leave them out (CVAT's rule)."""

from __future__ import annotations

from typing import Any

from annotask.db.base import utcnow
from annotask.db.models import Task
from annotask.domain.errors import ValidationFailed


def set_deleted_frames(task: Task, raw: Any, first: int = 0, last: int | None = None) -> None:
    """Replace the deleted frames within ``[first, last]`` (a job's range, or the task)."""
    data = task.data
    if data is None:
        raise ValidationFailed("The task has no data yet.")
    last = data.size - 1 if last is None else last
    if not isinstance(raw, dict) or set(raw) - {"deleted_frames"}:
        raise ValidationFailed('Send {"deleted_frames": [frame numbers]}.')
    frames = raw.get("deleted_frames", [])
    if not isinstance(frames, list) or not all(
        isinstance(f, int) and not isinstance(f, bool) for f in frames
    ):
        raise ValidationFailed({"deleted_frames": "Send a list of frame numbers."})
    if len(set(frames)) != len(frames):
        raise ValidationFailed({"deleted_frames": "Deleted frames cannot repeat."})
    outside = [f for f in frames if not first <= f <= last]
    if outside:
        raise ValidationFailed(
            {"deleted_frames": f"Frames {outside} are outside the range {first}-{last}."}
        )
    kept = [f for f in data.deleted_frames or [] if not first <= f <= last]
    data.deleted_frames = sorted(kept + frames)
    task.updated_date = utcnow()
