"""Alembic environment: migrations run against the URL given by annotask."""

from __future__ import annotations

from alembic import context

from annotask.db import models  # noqa: F401  (registers every table)
from annotask.db.base import Base
from annotask.db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set: annotask sets it before migrating")
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table by copying it and dropping the old one;
            # with foreign keys on, that DROP would cascade-delete the rows that point
            # at it. The pragma only works outside a transaction: set it first.
            driver = connection.connection.driver_connection
            assert driver is not None  # set while the connection is checked out
            driver.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"The migration broke foreign keys: {broken[:5]}")
    engine.dispose()


run_migrations_online()
