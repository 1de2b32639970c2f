"""staged creation attempts: data.files_dir and pending_creations

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import annotask.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_dir", sa.String(length=255), nullable=True))
    op.create_table(
        "pending_creations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("created_date", annotask.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_creations")),
    )
    with op.batch_alter_table("pending_creations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_creations_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_creations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_creations_request_id"))
    op.drop_table("pending_creations")
    with op.batch_alter_table("data", schema=None) as batch_op:
        batch_op.drop_column("files_dir")
