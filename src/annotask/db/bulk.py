"""Inserting many plain rows without the ORM's per-row work.

A 10,000-image task writes 10,000 frame rows in its final transaction. Through
a Core ``insert()`` SQLAlchemy compiles and type-processes every row (~20 us
each, a third of an on-the-fly creation); handing the driver tuples through
``executemany`` costs a few microseconds a row. Callers give values the driver
takes as they are: numbers and strings, JSON already serialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

# The drivers we run on: sqlite3 (qmark) and psycopg (format / pyformat).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
BATCH = 5000


def insert_rows(
    db: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``INSERT INTO table (columns) VALUES ...`` for every tuple in ``rows``."""
    if not rows:
        return
    connection = db.connection()
    placeholder = _PLACEHOLDERS.get(connection.dialect.paramstyle)
    if placeholder is None:  # another driver: let SQLAlchemy adapt the values
        dicts = [dict(zip(columns, row, strict=True)) for row in rows]
        for start in range(0, len(dicts), BATCH):
            db.execute(table.insert(), dicts[start : start + BATCH])
        return
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    values = ", ".join([placeholder] * len(columns))
    statement = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({values})"
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(statement, list(rows[start : start + BATCH]))
