"""Declarative base shared by every model, with naming conventions that keep
Alembic migrations identical on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, DateTime, MetaData, Result, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every table with an integer id: SQLite's AUTOINCREMENT never hands out an id again,
# even the largest one after its row is deleted (plain INTEGER PRIMARY KEY does).
# A client that cached task 156 must never reach another object under that id;
# PostgreSQL's sequences already never go back. Migration 0008 rebuilds old tables.
SQLITE_AUTOINCREMENT = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    ``Session.execute`` is typed as returning the general ``Result``, which has no
    ``rowcount``; a DML statement's result is always a ``CursorResult``.
    """
    if not isinstance(result, CursorResult):
        raise TypeError("rowcount() needs the result of an UPDATE or DELETE")
    return result.rowcount


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite drops the offset; the clients compare `updated_date` values and must
    never see a naive datetime next to an aware one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
