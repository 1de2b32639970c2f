"""Annotations, stored per job (CVAT's model); task views are computed by the merge.

Attribute values and points are JSON columns: they are always read and written
with their object, so separate rows would only add joins.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotask.db.base import SQLITE_AUTOINCREMENT, Base


class LabeledImage(Base):
    """A tag on a frame."""

    __tablename__ = "labeled_images"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    frame: Mapped[int] = mapped_column(Integer)
    group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    attributes: Mapped[list[dict]] = mapped_column(JSON, default=list)


class LabeledShape(Base):
    __tablename__ = "labeled_shapes"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    # Skeleton elements point at their skeleton shape.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("labeled_shapes.id", ondelete="CASCADE"), nullable=True, index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    frame: Mapped[int] = mapped_column(Integer)
    group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    occluded: Mapped[bool] = mapped_column(Boolean, default=False)
    outside: Mapped[bool] = mapped_column(Boolean, default=False)
    z_order: Mapped[int] = mapped_column(Integer, default=0)
    rotation: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float] = mapped_column(Float, default=1.0)
    points: Mapped[list[float]] = mapped_column(JSON, default=list)
    attributes: Mapped[list[dict]] = mapped_column(JSON, default=list)


class LabeledTrack(Base):
    __tablename__ = "labeled_tracks"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("labeled_tracks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    frame: Mapped[int] = mapped_column(Integer)
    group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    # Immutable attributes; mutable ones live on each keyframe.
    attributes: Mapped[list[dict]] = mapped_column(JSON, default=list)

    shapes: Mapped[list[TrackedShape]] = relationship(
        cascade="all, delete-orphan", order_by="TrackedShape.frame"
    )


class TrackedShape(Base):
    """One keyframe of a track."""

    __tablename__ = "tracked_shapes"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(
        ForeignKey("labeled_tracks.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    frame: Mapped[int] = mapped_column(Integer)
    occluded: Mapped[bool] = mapped_column(Boolean, default=False)
    outside: Mapped[bool] = mapped_column(Boolean, default=False)
    z_order: Mapped[int] = mapped_column(Integer, default=0)
    rotation: Mapped[float] = mapped_column(Float, default=0.0)
    points: Mapped[list[float]] = mapped_column(JSON, default=list)
    attributes: Mapped[list[dict]] = mapped_column(JSON, default=list)
