"""What annotation code needs to know about a task: labels, annotation jobs, frames."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.annotations.schema import AttributeSpec, LabelSet, LabelSpec
from annotask.db.models import Job, Label, Segment, Task
from annotask.domain import labels as label_rules
from annotask.domain.task_data.kinds import kind_of_data
from annotask.domain.task_data.params import stored_frame_step
from annotask.formats.common import FrameInfo

#: Jobs whose annotations make up the task's (ground-truth and consensus jobs do not).
ANNOTATION_JOB = "annotation"


@dataclass(frozen=True)
class JobRange:
    """An annotation job and the inclusive frame range of its segment."""

    id: int
    start: int
    stop: int
    version: int

    def contains(self, frame: int) -> bool:
        return self.start <= frame <= self.stop


def _attribute_spec(spec) -> AttributeSpec:
    return AttributeSpec(
        id=spec.id,
        name=spec.name,
        input_type=spec.input_type,
        mutable=spec.mutable,
        values=tuple(spec.values or ()),
        default_value=spec.default_value or "",
    )


def _label_spec(label: Label, parent_id: int | None = None) -> LabelSpec:
    return LabelSpec(
        id=label.id,
        name=label.name,
        type=label.type or "any",
        attributes=tuple(_attribute_spec(a) for a in label.attributes),
        sublabels=tuple(_label_spec(s, label.id) for s in label.sublabels),
        color=label.color or "",
        svg=label.svg or "",
        parent_id=parent_id,
    )


def label_set(db: Session, task: Task) -> LabelSet:
    """The labels annotations of ``task`` may use: its own, or its project's."""
    owner = label_rules.label_owner(db, task)
    return LabelSet.of(_label_spec(label) for label in label_rules.top_level_labels(db, owner))


def annotation_jobs(db: Session, task_id: int, *, lock: bool = False) -> list[JobRange]:
    """The task's annotation jobs in id order (the merge order), locked for writing if asked."""
    query = (
        select(Job.id, Segment.start_frame, Segment.stop_frame, Job.annotations_version)
        .join(Segment, Segment.id == Job.segment_id)
        .where(Job.task_id == task_id, Job.type == ANNOTATION_JOB)
        .order_by(Job.id)
    )
    if lock:
        query = query.with_for_update(of=Job)
    return [JobRange(*row) for row in db.execute(query)]


def job_range(db: Session, job: Job, *, lock: bool = False) -> JobRange:
    query = (
        select(Job.id, Segment.start_frame, Segment.stop_frame, Job.annotations_version)
        .join(Segment, Segment.id == Job.segment_id)
        .where(Job.id == job.id)
    )
    if lock:
        query = query.with_for_update(of=Job)
    return JobRange(*db.execute(query).one())


def frame_step(task: Task) -> int:
    return stored_frame_step(task.data.frame_filter) if task.data else 1


def task_frames(
    db: Session, task: Task, start: int = 0, stop: int | None = None
) -> list[FrameInfo]:
    """One ``FrameInfo`` per task frame in ``[start, stop]`` (deleted frames left out).

    Image frames are named by their path; video frames ``frame_%06d`` of the
    absolute source index, as CVAT names them in its formats.
    """
    data = task.data
    if data is None:
        return []
    stop = data.size - 1 if stop is None else stop
    step = frame_step(task)
    deleted = set(data.deleted_frames or ())
    numbers = [n for n in range(start, stop + 1) if n not in deleted]
    return kind_of_data(data).frame_infos(db, data, numbers, step)
