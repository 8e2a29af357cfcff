"""Alembic environment. tenantbot runs migrations itself (`core.persistence.migrate`), handing in
a live connection; developers may also run `alembic -x url=sqlite:///dev.db revision --autogenerate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from core.persistence.orm import Base

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url or "sqlite:///:memory:").connect() as sync_connection:
        context.configure(connection=sync_connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
