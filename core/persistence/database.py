"""Engine set-up for SQLite and PostgreSQL, and the translation of driver errors into StoreError.

Users give plain URLs (`sqlite:///file.db`, `postgresql://user@host/db`); the app is one asyncio
loop, so they are mapped to the async drivers (aiosqlite, psycopg 3). SQLite is made safe for several
writers: WAL, a busy timeout, and `BEGIN IMMEDIATE` so a writing transaction takes the write lock up
front instead of failing with "database is locked" when it upgrades from reading to writing. Sessions
that only read (`read_only(engine)`) begin a plain deferred transaction instead: under WAL they read a
snapshot without the write lock, so many readers never queue behind each other or behind a writer.

A PostgreSQL server that stops answering must not hold connections forever: connecting gives up after
`PG_CONNECT_TIMEOUT_S`, and TCP keepalives plus `tcp_user_timeout` make the kernel drop a connection
whose server host is gone (no acknowledgement for `PG_TCP_USER_TIMEOUT_MS`), so the pool's next
checkout fails fast and reconnects. Cutting a request short is `core.bounded`'s job, not the driver's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from core.ports import StoreError

log = logging.getLogger(__name__)

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
SQLITE_BUSY_MS = 10_000
PG_CONNECT_TIMEOUT_S = 3
PG_TCP_USER_TIMEOUT_MS = 20_000
PG_CONNECT_ARGS = {
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "tcp_user_timeout": PG_TCP_USER_TIMEOUT_MS,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
# The longest a driver takes to finish a call cut short (psycopg: 5 s to cancel the query, 5 s for it to
# end; SQLite: the busy timeout); closing the store waits that long at most for its connections.
CLEANUP_LIMIT = timedelta(seconds=12)
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


def create_engine(url: str, *, pool_size: int | None = None, **options: Any) -> AsyncEngine:
    """The engine for `url`; with `pool_size`, its pool keeps that many connections and opens as many again
    in a burst (an in-memory SQLite database has one connection, whatever is asked)."""
    parsed = async_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    if pool_size is not None and not in_memory:
        options |= {"pool_size": pool_size, "max_overflow": pool_size}
    if parsed.get_backend_name() == "sqlite":
        if not in_memory:
            try:
                Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the database directory: {e}") from None
        engine = create_async_engine(parsed, **options)
        _make_sqlite_safe_for_writers(engine)
        return engine
    return create_async_engine(parsed, pool_pre_ping=True, connect_args=dict(PG_CONNECT_ARGS), **options)


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


async def connections_returned(engine: AsyncEngine, limit: timedelta) -> bool:
    """Wait at most `limit` until no connection of the pool is checked out; whether none is.

    A call `core.bounded` cut short is still handing its connection back in the background (psycopg
    cancelling the query, aiosqlite finishing the statement). Disposing of the pool under it, or
    cancelling that hand-back again when the event loop shuts down, can leave the driver waiting forever
    (aiosqlite's worker thread stops at the first of two close requests), so closing waits for it first.
    """
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return True
    deadline = time.monotonic() + limit.total_seconds()
    while pool.checkedout() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not pool.checkedout()


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
