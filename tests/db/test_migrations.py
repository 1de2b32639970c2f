"""The models and the Alembic migrations describe the same schema, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from annotask.db import models  # noqa: F401
from annotask.db.base import Base
from annotask.db.migrate import upgrade
from tests.support.services import create_pg_database, drop_pg_database, postgres_available


def _diff(url: str) -> list:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_sqlite_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert _diff(url) == []
    # Applying again is a no-op.
    upgrade(url)
    engine = create_engine(url)
    assert "tasks" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 5432")
def test_postgres_migrations_match_models():
    url = create_pg_database()
    try:
        assert _diff(url) == []
    finally:
        drop_pg_database(url)


def test_drift_is_detected(tmp_path):
    """The check above can fail: a column added to the models but not migrated shows up."""
    from sqlalchemy import Column, Integer, MetaData, Table

    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("tasks", metadata, Column("brand_new", Integer), extend_existing=True)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert any(d[0] == "add_column" and d[3].name == "brand_new" for d in diff)
