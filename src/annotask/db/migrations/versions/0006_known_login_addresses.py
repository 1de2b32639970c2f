"""known login addresses (exempt from the per-account login cap)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import annotask.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_login_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("last_success_at", annotask.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_known_login_addresses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_login_addresses")),
    )
    with op.batch_alter_table("known_login_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_known_login_addresses_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("known_login_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_login_addresses_user_id"))
    op.drop_table("known_login_addresses")
