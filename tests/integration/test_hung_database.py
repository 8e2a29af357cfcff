"""A database that stops answering. PostgreSQL behind a real silent socket: the service answers within
READ_TIMEOUT whatever the driver does afterwards, and the store recovers once the server answers.
SQLite: a write cut short by its timeout gives its connection back before the store closes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from core.bounded import bounded, bounded_ports
from core.domain import Tenant, TenantState
from core.persistence import Database, open_database
from core.persistence.database import CLEANUP_LIMIT, connections_returned
from core.ports import StoreError
from core.results import Timeouts
from core.service import TenantService
from tests.conftest import SilentPostgres
from tests.fakes import FakeEngine

READ_TIMEOUT = timedelta(seconds=1)
MARGIN = 0.5  # seconds: scheduling on a loaded machine, not driver clean-up


async def timed_failure(service: TenantService, tenant_id: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(StoreError) as failed:
        await service.view(tenant_id)
    return str(failed.value), time.monotonic() - started


@pytest.fixture
async def proxied(silent_postgres: SilentPostgres) -> AsyncIterator[tuple[Database, TenantService]]:
    """The database through the proxy, and a service on it with one tenant, `acme`."""
    database = await open_database(silent_postgres.url)
    try:
        service = TenantService(*bounded_ports(database.tenants, FakeEngine(), Timeouts(read=READ_TIMEOUT)))
        await service.create("acme", "U1")
        yield database, service
    finally:
        await silent_postgres.proxy.stop()  # lets a clean-up still waiting on the proxy fail fast
        await database.close()


@pytest.mark.postgres
@pytest.mark.parametrize("connection", ["open", "new"])
async def test_a_view_answers_within_read_timeout_when_the_server_goes_silent(
    silent_postgres: SilentPostgres, proxied: tuple[Database, TenantService], connection: str
) -> None:
    """An open connection whose server goes silent mid-session, or a new one accepted and never answered."""
    database, service = proxied
    if connection == "open":
        await service.view("acme")  # the pool now holds an established connection
    else:
        await database.engine.dispose()  # the next read opens a new connection
    silent_postgres.proxy.silent = True
    message, elapsed = await timed_failure(service, "acme")
    assert message == "database: no answer within 1 s"
    assert elapsed < READ_TIMEOUT.total_seconds() + MARGIN


@pytest.mark.postgres
async def test_the_store_answers_again_once_the_server_does_and_drops_the_cut_short_connection(
    silent_postgres: SilentPostgres, proxied: tuple[Database, TenantService]
) -> None:
    database, service = proxied
    await service.view("acme")
    silent_postgres.proxy.silent = True
    await timed_failure(service, "acme")
    silent_postgres.proxy.silent = False
    assert (await service.view("acme")).tenant.id == "acme"  # at once, on a new connection
    assert await connections_returned(database.engine, CLEANUP_LIMIT)  # the cut-short read has ended its clean-up
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    for _ in range(pool.size() + 2):  # every pooled connection answers
        assert (await service.view("acme")).problems == ()
    assert pool.checkedout() == 0


async def test_closing_a_sqlite_store_waits_for_a_write_cut_short_to_give_its_connection_back(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    database, other_replica = await open_database(url), await open_database(url, migrate_schema=False)
    store = database.tenants
    acme = await store.add(Tenant("acme", TenantState.PROVISIONING, datetime.now(UTC)), [])
    running = asyncio.all_tasks()
    try:
        async with other_replica.engine.begin() as writing:  # holds the write lock
            await writing.exec_driver_sql("UPDATE tenants SET current_step = 'other' WHERE id = 'acme'")
            with pytest.raises(StoreError, match=r"no answer within 0\.3 s"):
                saving = store.save(acme.updated(current_step="mine"), [])
                await bounded(saving, "database", StoreError, timedelta(seconds=0.3))
            # aiosqlite cannot interrupt a statement waiting for the lock: the save gives its connection back
            # only once the lock is free, and closing must wait for that, or the event loop's shutdown cancels
            # the hand-back again and waits for it forever.
            closing = asyncio.create_task(database.close())
            await asyncio.sleep(0.3)
            assert not closing.done()
        await asyncio.wait_for(closing, CLEANUP_LIMIT.total_seconds())
        assert asyncio.all_tasks() - running - {asyncio.current_task()} == set()
    finally:
        await database.close()
        await other_replica.close()
