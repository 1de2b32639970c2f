"""interactive function calls and job-limited runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotation_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_annotation_requests_job_id"), ["job_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_annotation_requests_job_id_jobs"),
            "jobs",
            ["job_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("annotation_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_annotation_requests_job_id_jobs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_annotation_requests_job_id"))
        batch_op.drop_column("result")
        batch_op.drop_column("job_id")
