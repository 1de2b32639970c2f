"""Projects, labels and attribute specifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotask.db.base import SQLITE_AUTOINCREMENT, Base, UTCDateTime, utcnow


class Storage(Base):
    """Where a task or project imports from / exports to (CVAT's ``Storage``)."""

    __tablename__ = "storages"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location: Mapped[str] = mapped_column(String(16), default="local")
    cloud_storage_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    bug_tracker: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(16), default="annotation")
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assignee_updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source_storage_id: Mapped[int | None] = mapped_column(
        ForeignKey("storages.id", ondelete="SET NULL"), nullable=True
    )
    target_storage_id: Mapped[int | None] = mapped_column(
        ForeignKey("storages.id", ondelete="SET NULL"), nullable=True
    )

    labels: Mapped[list[Label]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        primaryjoin="and_(Label.project_id == Project.id, Label.parent_id.is_(None))",
        order_by="Label.id",
        overlaps="sublabels",
    )


class Label(Base):
    """A label of a project or of a task, never both; skeleton points are child labels."""

    __tablename__ = "labels"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (task_id IS NULL)", name="project_xor_task"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(8), default="")
    type: Mapped[str] = mapped_column(String(16), default="any")
    svg: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), nullable=True, index=True
    )

    project: Mapped[Project | None] = relationship(
        back_populates="labels", foreign_keys=[project_id], overlaps="sublabels"
    )
    attributes: Mapped[list[AttributeSpec]] = relationship(
        back_populates="label", cascade="all, delete-orphan", order_by="AttributeSpec.id"
    )
    sublabels: Mapped[list[Label]] = relationship(
        cascade="all, delete-orphan", order_by="Label.id", overlaps="labels,project"
    )


class AttributeSpec(Base):
    __tablename__ = "attribute_specs"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    mutable: Mapped[bool] = mapped_column(Boolean, default=False)
    input_type: Mapped[str] = mapped_column(String(16))
    default_value: Mapped[str] = mapped_column(String(128), default="")
    values: Mapped[list[str]] = mapped_column(JSON, default=list)

    label: Mapped[Label] = relationship(back_populates="attributes")
