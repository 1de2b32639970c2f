"""The reads behind the lean ``/data`` path (``api/fast_data.py``): who may see a task
or a job, what serving a ready chunk of a task needs, and a frame. Each is one
short read transaction; the lean path remembers the first two for at most a second.

They decide exactly as the normal routes do (``permissions.can_see_task`` /
``can_see_job``, ``serving.get_frame``), so the lean path never widens access.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotask.db.models import Job, Task, User
from annotask.domain import permissions
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data import serving
from annotask.domain.task_data.layout import TaskLayout, data_layout
from annotask.domain.task_data.payload import Payload
from annotask.services import Services


@dataclass(frozen=True)
class Allowed:
    """A user may read this task's data (within a job's frames, for a job)."""

    task_id: int
    job_range: tuple[int, int] | None  # a job's (start, stop) frames, inclusive


@dataclass(frozen=True)
class ChunkLayout:
    """What serving any ready chunk of a task needs, without the database."""

    task_id: int
    size: int
    chunk_size: int
    static: bool  # chunk files on disk (``file_system``), else built into the cache
    compressed_type: str
    original_type: str
    layout: TaskLayout
    cache_prefix: str  # serving.chunk_cache_key of this data, less the range

    def chunk_type(self, quality: str) -> str:
        return self.compressed_type if quality == cb.COMPRESSED else self.original_type


def allowed(services: Services, user_id: int, kind: str, object_id: int) -> Allowed | None:
    """Whether the active user ``user_id`` may see task or job (``kind``) ``object_id``."""
    with services.read_sessions() as db, db.begin():
        user = db.get(User, user_id)
        if user is None or not user.is_active:
            return None
        if kind == "tasks":
            task = db.get(Task, object_id)
            if task is None or not permissions.can_see_task(db, user, task):
                return None
            return Allowed(task.id, None)
        job = db.get(Job, object_id)
        if job is None or not permissions.can_see_job(db, user, job):
            return None
        segment = job.segment
        return Allowed(segment.task_id, (segment.start_frame, segment.stop_frame))


def chunk_layout(services: Services, task_id: int) -> ChunkLayout | None:
    """The task's chunk layout; None while it has no data."""
    with services.read_sessions() as db, db.begin():
        task = db.get(Task, task_id)
        data = task.data if task is not None else None
        if task is None or data is None:
            return None
        return ChunkLayout(
            task_id=task.id,
            size=data.size,
            chunk_size=data.chunk_size,
            static=data.storage_method == "file_system",
            compressed_type=data.compressed_chunk_type,
            original_type=data.original_chunk_type,
            layout=data_layout(services.settings, task.id, data),
            cache_prefix=serving.chunk_cache_key(task, data, "", range(0)).rsplit(":", 2)[0],
        )


def frame(services: Services, task_id: int, quality: str, number: int) -> Payload | None:
    """Frame ``number`` of the task as the normal route serves it; None when the task
    has no data or the number is out of range (the normal route words that)."""
    with services.read_sessions() as db, db.begin():
        task = db.get(Task, task_id)
        if task is None or task.data is None or not 0 <= number < task.data.size:
            return None
        return serving.get_frame(services, db, task, quality, number)
