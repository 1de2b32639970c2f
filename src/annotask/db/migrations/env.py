"""Alembic environment: migrations run against the URL given by annotask."""

from __future__ import annotations

from alembic import context

from annotask.db import models  # noqa: F401  (registers every table)
from annotask.db.base import Base
from annotask.db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
