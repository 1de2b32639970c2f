"""Tasks, their media data, frames, segments and jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotask.db.base import SQLITE_AUTOINCREMENT, Base, UTCDateTime, utcnow
from annotask.db.models.projects import Label, Project


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    bug_tracker: Mapped[str] = mapped_column(String(2000), default="")
    subset: Mapped[str] = mapped_column(String(64), default="")
    segment_size: Mapped[int] = mapped_column(Integer, default=0)
    # None until data exists and the effective value is known (CVAT's "auto").
    overlap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="annotation")
    mode: Mapped[str] = mapped_column(String(16), default="")
    dimension: Mapped[str] = mapped_column(String(2), default="2d")
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assignee_updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data_id: Mapped[int | None] = mapped_column(
        ForeignKey("data.id", ondelete="SET NULL"), nullable=True
    )
    source_storage_id: Mapped[int | None] = mapped_column(
        ForeignKey("storages.id", ondelete="SET NULL"), nullable=True
    )
    target_storage_id: Mapped[int | None] = mapped_column(
        ForeignKey("storages.id", ondelete="SET NULL"), nullable=True
    )

    project: Mapped[Project | None] = relationship(lazy="joined")
    data: Mapped[Data | None] = relationship(lazy="joined")
    own_labels: Mapped[list[Label]] = relationship(
        primaryjoin="and_(Label.task_id == Task.id, Label.parent_id.is_(None))",
        cascade="all, delete-orphan",
        order_by="Label.id",
        overlaps="sublabels",
    )
    segments: Mapped[list[Segment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="Segment.start_frame"
    )


class Data(Base):
    """How a task's media is stored and chunked; created when data is uploaded."""

    __tablename__ = "data"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    chunk_size: Mapped[int] = mapped_column(Integer, default=36)
    image_quality: Mapped[int] = mapped_column(Integer, default=70)
    start_frame: Mapped[int] = mapped_column(Integer, default=0)
    stop_frame: Mapped[int] = mapped_column(Integer, default=0)
    frame_filter: Mapped[str] = mapped_column(String(256), default="")
    compressed_chunk_type: Mapped[str] = mapped_column(String(16), default="imageset")
    original_chunk_type: Mapped[str] = mapped_column(String(16), default="imageset")
    storage_method: Mapped[str] = mapped_column(String(16), default="file_system")
    storage: Mapped[str] = mapped_column(String(16), default="local")
    sorting_method: Mapped[str] = mapped_column(String(16), default="lexicographical")
    media_type: Mapped[str] = mapped_column(String(16), default="image")
    use_zip_chunks: Mapped[bool] = mapped_column(Boolean, default=False)
    copy_data: Mapped[bool] = mapped_column(Boolean, default=False)
    cloud_storage_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted_frames: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Where the raw media lives: a directory in the task storage, or in the share.
    source_root: Mapped[str] = mapped_column(String(4096), default="")
    # The directory (relative to the task's) holding what the creation attempt that
    # committed this row generated: raw/, chunks/, manifest, preview. Naming it in the
    # fenced commit is what publishes those files; NULL means the task directory itself
    # (tasks created before attempts were staged).
    files_dir: Mapped[str | None] = mapped_column(String(255), nullable=True)
    chunks_updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    video: Mapped[Video | None] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="joined"
    )


class Video(Base):
    """The one video of an interpolation task; frames are decoded from it."""

    __tablename__ = "videos"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_id: Mapped[int] = mapped_column(ForeignKey("data.id", ondelete="CASCADE"), unique=True)
    path: Mapped[str] = mapped_column(String(4096))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    frame_count: Mapped[int] = mapped_column(Integer)
    # Seekable key frames as [[decode index, pts], ...] so chunks start decoding nearby.
    keyframes: Mapped[list[list[int]]] = mapped_column(JSON, default=list)


class Frame(Base):
    """One image frame; ``frame`` is the absolute source index (CVAT's ``Image``)."""

    __tablename__ = "frames"
    __table_args__ = (
        UniqueConstraint("data_id", "frame", name="uq_frames_data_frame"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_id: Mapped[int] = mapped_column(ForeignKey("data.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(4096))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Context images (2D related_images or 3D context), paths relative to the source root.
    related_files: Mapped[list[str]] = mapped_column(JSON, default=list)


class Segment(Base):
    """A range of task frames (inclusive, relative numbering) annotated by jobs."""

    __tablename__ = "segments"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    start_frame: Mapped[int] = mapped_column(Integer)
    stop_frame: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16), default="range")
    frames: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)

    task: Mapped[Task] = relationship(back_populates="segments")
    jobs: Mapped[list[Job]] = relationship(
        back_populates="segment", cascade="all, delete-orphan", order_by="Job.id"
    )


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the segment: every permission check and list filter needs it.
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    stage: Mapped[str] = mapped_column(String(16), default="annotation")
    state: Mapped[str] = mapped_column(String(16), default="new")
    type: Mapped[str] = mapped_column(String(16), default="annotation")
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assignee_updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Bumped on every annotation save; a stale writer gets 409 instead of overwriting.
    annotations_version: Mapped[int] = mapped_column(Integer, default=0)

    segment: Mapped[Segment] = relationship(back_populates="jobs", lazy="joined")
