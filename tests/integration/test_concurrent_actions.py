"""Concurrent presses on one tenant from several threads, each with its own loop and connection pool:
exactly one action runs, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.bounded import bounded_ports
from core.domain import Action, RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.persistence import SqlTenantStore, open_database
from core.results import ActionResult, Outcome, Timeouts
from core.run_writes import Fenced, RunReporter
from core.service import TenantService
from tests.fakes import FakeEngine

THREADS = 6
HANDLE = provisioning_handle("acme", 1)


def now() -> datetime:
    return datetime.now(UTC)


async def wedged_tenant(store: SqlTenantStore, engine: FakeEngine, state: TenantState) -> None:
    stale = now() - timedelta(hours=1)
    await store.add(
        Tenant(
            "acme",
            state,
            stale,
            handle=HANDLE,
            attempt=1,
            last_progress_at=stale,
            error="boom" if state is TenantState.FAILED else None,
            failed_activity="seed_data" if state is TenantState.FAILED else None,
        ),
        [],
    )
    status = RunStatus.FAILED if state is TenantState.FAILED else RunStatus.RUNNING
    engine.set(HANDLE, RunObservation(status, "seed_data", 1, stale, timedelta(seconds=60)))


def press_at_once(database_url: str, engine: FakeEngine, action: Action) -> list[ActionResult]:
    """Each thread opens its own store and presses `action` when all are ready."""
    barrier, results = threading.Barrier(THREADS), []

    async def press(user: str) -> ActionResult:
        database = await open_database(database_url, migrate_schema=False)
        try:
            store, bounded_engine = bounded_ports(database.tenants, engine, Timeouts(read=timedelta(seconds=15)))
            service = TenantService(store, bounded_engine)
            await asyncio.to_thread(barrier.wait)
            return await service.act(action, "acme", user)
        finally:
            await database.close()

    threads = [threading.Thread(target=lambda u=f"U{i}": results.append(asyncio.run(press(u)))) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == THREADS
    return results


async def test_concurrent_resets_run_exactly_once(store: SqlTenantStore, database_url: str) -> None:
    engine = FakeEngine()
    await wedged_tenant(store, engine, TenantState.PROVISIONING)
    results = await asyncio.to_thread(press_at_once, database_url, engine, Action.RESET)
    assert [r.outcome for r in results].count(Outcome.DONE) == 1
    assert all(r.outcome is Outcome.REFUSED for r in results if r.outcome is not Outcome.DONE)
    assert [c for c in engine.calls if c[0] == "terminate"] == [("terminate", HANDLE.workflow_id)]
    types = [e.type.removeprefix("tenant.provisioning.") for e in await store.events("acme", 100)]
    assert types.count("reset_started") == 1 and types.count("reset_completed") == 1
    tenant = await store.get("acme")
    assert tenant is not None and tenant.state is TenantState.PENDING and tenant.handle is None


async def test_concurrent_retries_start_exactly_one_new_attempt(store: SqlTenantStore, database_url: str) -> None:
    engine = FakeEngine()
    await wedged_tenant(store, engine, TenantState.FAILED)
    results = await asyncio.to_thread(press_at_once, database_url, engine, Action.RETRY)
    assert [r.outcome for r in results].count(Outcome.DONE) == 1
    assert [c for c in engine.calls if c[0] == "start"] == [("start", "provision-acme-2")]
    tenant = await store.get("acme")
    assert tenant is not None and tenant.attempt == 2


@pytest.mark.parametrize("concurrent_writers", [4])
async def test_an_orphaned_run_is_fenced_out_while_the_current_run_writes(
    store: SqlTenantStore, concurrent_writers: int
) -> None:
    current = provisioning_handle("acme", 2)
    await store.add(Tenant("acme", TenantState.PROVISIONING, now(), handle=current, attempt=2), [])
    reporter = RunReporter(store, clock=now, heartbeat_every=timedelta(0))
    writes = [reporter.heartbeat("acme", current, "seed_data") for _ in range(concurrent_writers)]
    await asyncio.gather(*writes, reporter.allocated("acme", current, "storage", "vol-2"))
    with pytest.raises(Fenced):
        await reporter.allocated("acme", HANDLE, "network", "net-1")
    assert [a.kind for a in await store.allocations("acme")] == ["storage"]
    rejected = [e for e in await store.events("acme", 50) if e.type.endswith("write_rejected")]
    assert len(rejected) == 1 and rejected[0].details["run"] == HANDLE.workflow_id
