"""Alembic environment: migrations run on the connection Loft hands over (see ``loft.db.engine``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from loft.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    # `alembic revision --autogenerate` during development: a throwaway SQLite file.
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///.alembic-dev.db"
    with create_engine(url).connect() as fresh:
        context.configure(connection=fresh, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
