"""Persistence on SQLAlchemy 2: `open_database(url)` migrates the database and returns its stores.

A `Database` is one engine and one sessionmaker, with the stores of the core's ports as attributes
(the way a unit of work exposes its repositories): `tenants` (TenantStore), `alerts` (AlertStore) and
`leases` (Leases). Each store implements one port; the composition root hands each part the store it
needs.

Migrations are applied at every start (and by `tenantbot db upgrade`) inside the running event loop,
through the async connection's `run_sync`, under a lock (PostgreSQL advisory lock, SQLite's
`BEGIN IMMEDIATE`) so several replicas starting at once migrate once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core.persistence.alert_store import SqlAlertStore
from core.persistence.database import create_engine, translated
from core.persistence.leases import SqlLeases
from core.persistence.store import SqlTenantStore

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_240_001  # any constant; names the advisory lock

__all__ = ["Database", "SqlAlertStore", "SqlLeases", "SqlTenantStore", "migrate", "open_database"]


class Database:
    """The stores of one database, sharing its engine (and connection pool) and one sessionmaker."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        session = async_sessionmaker(engine, expire_on_commit=False)
        self.tenants = SqlTenantStore(engine, session)
        self.alerts = SqlAlertStore(session)
        self.leases = SqlLeases(session)

    async def close(self) -> None:
        await self.engine.dispose()


async def open_database(url: str, *, migrate_schema: bool = True) -> Database:
    engine = create_engine(url)
    try:
        if migrate_schema:
            await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine)


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
