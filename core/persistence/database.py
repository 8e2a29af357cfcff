"""Engine set-up for SQLite and PostgreSQL, and the translation of driver errors into StoreError.

Users give plain URLs (`sqlite:///file.db`, `postgresql://user@host/db`); the app is one asyncio
loop, so they are mapped to the async drivers (aiosqlite, psycopg 3). SQLite is made safe for several
writers: WAL, a busy timeout, and `BEGIN IMMEDIATE` so a writing transaction takes the write lock up
front instead of failing with "database is locked" when it upgrades from reading to writing. Sessions
that only read (`read_only(engine)`) begin a plain deferred transaction instead: under WAL they read a
snapshot without the write lock, so many readers never queue behind each other or behind a writer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.ports import StoreError

log = logging.getLogger(__name__)

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
SQLITE_BUSY_MS = 10_000
PG_CONNECT_TIMEOUT_S = 3
READ_ONLY = "tenantbot_read_only"  # execution option of the sessions that only read


def async_url(url: str) -> URL:
    """The async-driver form of a user's database URL; StoreError for anything else."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(f"not a database URL: {url!r} (use sqlite:///path or postgresql://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://user@host/db")
    return parsed.set(drivername=ASYNC_DRIVERS[parsed.drivername.split("+")[0]])


def create_engine(url: str, **options: Any) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the database directory: {e}") from None
        engine = create_async_engine(parsed, **options)
        _make_sqlite_safe_for_writers(engine)
        return engine
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    return create_async_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **options)


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for sessions that never write (SQLite then begins them deferred)."""
    return engine.execution_options(**{READ_ONLY: True})


def _make_sqlite_safe_for_writers(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except Exception as e:  # the driver's OperationalError, whichever adapter wraps it
            # Switching a new database to WAL needs the write lock and does not wait for it (busy_timeout
            # does not apply): when another process holds it, keep the rollback journal for this
            # connection; WAL is a property of the file, so a later connection switches it.
            if "locked" not in str(e):
                raise
            log.info("SQLite stays in rollback-journal mode for now: %s", e)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def describe(error: SQLAlchemyError) -> str:
    """One short line an operator can act on, without SQL or stack traces."""
    original = error.orig if isinstance(error, DBAPIError) else error
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return first[:200]


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn any driver or connection error inside the block into StoreError."""
    try:
        yield
    except (SQLAlchemyError, OSError) as e:
        raise StoreError(describe(e) if isinstance(e, SQLAlchemyError) else str(e)) from e
