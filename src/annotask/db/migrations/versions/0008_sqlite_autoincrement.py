"""ids are never reused: SQLite tables with AUTOINCREMENT

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:50:00.000000

SQLite hands the largest id out again after its row is deleted unless the table
is declared AUTOINCREMENT, which only a rebuild of the table can add (batch
mode copies every row). ``env.py`` turns foreign keys off while migrating, so
dropping the old copy of a table cascades nothing. PostgreSQL's sequences never
go back: nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Parents before children is not needed (foreign keys are off), but kept for readability.
TABLES = (
    "users",
    "sessions",
    "auth_tokens",
    "access_tokens",
    "login_failures",
    "functions",
    "storages",
    "projects",
    "labels",
    "attribute_specs",
    "data",
    "videos",
    "frames",
    "tasks",
    "segments",
    "jobs",
    "dataset_repositories",
    "labeled_images",
    "labeled_shapes",
    "labeled_tracks",
    "tracked_shapes",
    "pending_creations",
    "known_login_addresses",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
