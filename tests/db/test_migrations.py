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


# ---- ids are never reused (migration 0008) --------------------------------------------------


def test_one_alembic_head():
    from alembic.script import ScriptDirectory

    from annotask.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def _filler(column):
    """A value of the column's type; foreign keys point at the rows with id 1 ("1")."""
    from sqlalchemy import JSON, Boolean, Float, Integer, String, Text

    kind = column.type
    if isinstance(kind, Boolean):
        return 0
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 0.5
    if isinstance(kind, JSON):
        return "{}"
    if isinstance(kind, String | Text):
        return "1"
    return "2026-01-01 00:00:00.000000"  # the UTC datetimes


def _fill_every_table(path) -> dict[str, int]:
    """One row in every table, each referring to the others (plain sqlite3: the
    insert order does not matter); returns the row count of each table."""
    import sqlite3

    conn = sqlite3.connect(path)
    existing = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    for table in Base.metadata.sorted_tables:
        if table.name not in existing:  # added by a later migration
            continue
        columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{table.name}")')}
        values = {c.name: _filler(c) for c in table.columns if c.name in columns}
        if table.name == "labels":
            values["project_id"] = None  # a task's label (project XOR task)
        names = ", ".join(f'"{name}"' for name in values)
        marks = ", ".join("?" for _ in values)
        conn.execute(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(values.values())
        )
    conn.commit()
    counts = {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        for t in _tables()
        if t in existing
    }
    conn.close()
    return counts


def _tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables]


def _int_id_tables() -> list[str]:
    from sqlalchemy import Integer

    return [
        t.name
        for t in Base.metadata.sorted_tables
        if "id" in t.columns and t.columns["id"].primary_key and isinstance(t.c.id.type, Integer)
    ]


def test_upgrade_from_0004_keeps_every_row_and_adds_autoincrement(tmp_path):
    """Rebuilding the tables must not cascade-delete anything, and every table with an
    integer id ends up AUTOINCREMENT, as a fresh database does."""
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0004")
    before = _fill_every_table(path)
    assert set(before.values()) == {1}
    upgrade(url)
    conn = sqlite3.connect(path)
    after = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in before}
    assert after == before
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'").fetchall())
    conn.close()
    assert [t for t in _int_id_tables() if "AUTOINCREMENT" not in sql[t]] == []
    assert "tasks" in _int_id_tables() and "jobs" in _int_id_tables()
    # The schema still matches the models, indexes and constraints included.
    assert _diff(url) == []


def test_a_deleted_newest_id_is_not_given_again_on_sqlite(tmp_path):
    import sqlite3

    path = tmp_path / "fresh.db"
    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    for table in _int_id_tables():
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        assert "AUTOINCREMENT" in sql, table
    conn.execute("INSERT INTO storages (location) VALUES ('local')")
    (newest,) = conn.execute("SELECT max(id) FROM storages").fetchone()
    conn.execute("DELETE FROM storages WHERE id = ?", (newest,))
    conn.execute("INSERT INTO storages (location) VALUES ('local')")
    (again,) = conn.execute("SELECT max(id) FROM storages").fetchone()
    conn.close()
    assert again == newest + 1
