"""Alembic environment: migrations run on the connection mapekit hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("mapekit runs its migrations with a connection; use `mape server init`")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
