"""Persistence on SQLAlchemy 2: `open_store(url)` migrates the database and returns the store.

Migrations are applied at every start (and by `tenantbot db upgrade`) inside the running event loop,
through the async connection's `run_sync`, under a lock (PostgreSQL advisory lock, SQLite's
`BEGIN IMMEDIATE`) so several replicas starting at once migrate once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.persistence.database import create_engine, translated
from core.persistence.store import SqlAlchemyStore

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_240_001  # any constant; names the advisory lock

__all__ = ["SqlAlchemyStore", "migrate", "open_store"]


async def open_store(url: str, *, migrate_schema: bool = True) -> SqlAlchemyStore:
    engine = create_engine(url)
    try:
        if migrate_schema:
            await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return SqlAlchemyStore(engine)


async def migrate(engine: AsyncEngine) -> None:
    async with translated(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
