"""Persistence on SQLAlchemy 2: `open_database(url)` migrates the database and returns its stores.

A `Database` is one engine and its sessionmakers, with the stores of the core's ports as attributes
(the way a unit of work exposes its repositories): `tenants` (TenantStore), `alerts` (AlertStore),
`leases` (Leases), `retention` (RetentionStore: old rows, core/retention.py), `freezes` (FreezeStore:
the read-only switch, core/freeze.py), `announcements` (AnnouncementStore: actions and mentions the
channel must see once, core/alerting/announcements.py), `approvals` (ApprovalStore: two-person
Decommission, core/approvals.py), `home` (HomeStore: the App Home's reads and the scan's last tick,
core/home.py) and `batches` (BatchStore: batches and their members, core/batches.py).
Each store implements one port; the composition root hands each
part the store it needs.

Migrations are applied at every start (and by `tenantbot db upgrade`) inside the running event loop,
through the async connection's `run_sync`, under a lock (PostgreSQL advisory lock, SQLite's
`BEGIN IMMEDIATE`) so several replicas starting at once migrate once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core.persistence.alert_store import SqlAlertStore
from core.persistence.announcement_store import SqlAnnouncements
from core.persistence.approval_store import SqlApprovalStore
from core.persistence.batch_store import SqlBatchStore
from core.persistence.database import CLEANUP_LIMIT, connections_returned, create_engine, read_only, translated
from core.persistence.freeze_store import SqlFreezeStore
from core.persistence.home_store import SqlHomeStore
from core.persistence.leases import SqlLeases
from core.persistence.retention_store import SqlRetentionStore
from core.persistence.store import SqlTenantStore

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_240_001  # any constant; names the advisory lock
POOL_SIZE = 20  # DB_POOL_SIZE's default

__all__ = ["Database", "SqlAlertStore", "SqlLeases", "SqlRetentionStore", "SqlTenantStore", "migrate", "open_database"]


class Database:
    """The stores of one database, sharing its engine (and connection pool) and its two sessionmakers:
    one for the methods that only read (on SQLite they begin deferred, without the write lock), one for
    the rest (core/persistence/database.py)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        reading = async_sessionmaker(read_only(engine), expire_on_commit=False)
        writing = async_sessionmaker(engine, expire_on_commit=False)
        self.tenants = SqlTenantStore(engine, reading, writing)
        self.alerts = SqlAlertStore(reading, writing)
        self.leases = SqlLeases(reading, writing)
        self.retention = SqlRetentionStore(reading, writing)
        self.freezes = SqlFreezeStore(reading, writing)
        self.announcements = SqlAnnouncements(reading, writing)
        self.approvals = SqlApprovalStore(reading, writing)
        self.home = SqlHomeStore(reading, writing)
        self.batches = SqlBatchStore(reading, writing)

    async def ping(self) -> None:
        """One `SELECT 1` on a pooled connection (readiness: the database answers). Raises StoreError; the
        caller bounds it (a silent server would otherwise hold it for the driver's connect timeout)."""
        async with translated(), self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        """Wait (bounded) for connections a cut-short call is still handing back, then close the pool."""
        if not await connections_returned(self.engine, CLEANUP_LIMIT):
            log.warning("closing the database with connections still in use")
        await self.engine.dispose()


async def open_database(url: str, *, migrate_schema: bool = True, pool_size: int = POOL_SIZE) -> Database:
    """The database at `url`, migrated; its pool keeps `pool_size` connections open and opens as many again in a
    burst (each closed when handed back). Sized so the cards being built (at most `CARD_WORK` in bot/) and a
    sweep, the presses, the scan and the saga's worker never wait for a connection: a wait counts against
    READ_TIMEOUT, and opening a PostgreSQL connection costs more than the read it is for."""
    engine = create_engine(url, pool_size=pool_size)
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
