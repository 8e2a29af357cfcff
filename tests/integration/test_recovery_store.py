"""Recovery on SQLite and PostgreSQL: a dead process's claim is settled once however many replicas settle
it at once, a live process's claim is left alone until its process's lease runs out, and a process's
first actions taking its lease at once all get it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.actions import claim_for, claimed
from core.bounded import bounded_ports
from core.decisions import Limits
from core.domain import Action, RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.liveness import ProcessLease
from core.persistence import SqlLeases, SqlTenantStore, open_database
from core.recovery import Recovery
from core.results import Timeouts
from tests.fakes import FakeEngine

HANDLE = provisioning_handle("acme", 1)
TTL = timedelta(seconds=30)


def now() -> datetime:
    return datetime.now(UTC)


async def a_reset_left_by(store: SqlTenantStore, owner: str, engine: FakeEngine, status: RunStatus) -> None:
    stale = now() - timedelta(hours=1)
    tenant = Tenant("acme", TenantState.PROVISIONING, stale, handle=HANDLE, attempt=1, last_progress_at=stale)
    await store.add(claimed(tenant, claim_for(Action.RESET, tenant, "U1", now(), owner)), [])
    engine.set(HANDLE, RunObservation(status))


def recovery(
    store: SqlTenantStore, leases: SqlLeases, engine: FakeEngine, lease: ProcessLease | None = None
) -> Recovery:
    lease = lease or ProcessLease(leases, ttl=TTL, clock=now)
    bounded_store, bounded_engine = bounded_ports(store, engine, Timeouts(read=timedelta(seconds=15)))
    return Recovery(bounded_store, bounded_engine, lease, limits=Limits(), clock=now)


async def feed(store: SqlTenantStore) -> list[str]:
    return [e.type.removeprefix("tenant.provisioning.") for e in reversed(await store.events("acme", 50))]


async def test_replicas_settling_a_dead_process_claim_at_once_write_one_outcome(
    store: SqlTenantStore, database_url: str
) -> None:
    engine = FakeEngine()
    await a_reset_left_by(store, "host:1:dead", engine, RunStatus.TERMINATED)
    replicas = [await open_database(database_url, migrate_schema=False) for _ in range(4)]
    try:
        settled = await asyncio.gather(*(recovery(r.tenants, r.leases, engine).run() for r in replicas))
    finally:
        for replica in replicas:
            await replica.close()
    assert sum(settled) == 1
    assert await feed(store) == ["reset_completed"]  # the claim was written by hand: no reset_started here
    tenant = await store.get("acme")
    assert tenant is not None and (tenant.state, tenant.handle, tenant.claim) == (TenantState.PENDING, None, None)


async def test_a_live_process_claim_waits_until_its_process_lease_is_gone(
    store: SqlTenantStore, leases: SqlLeases
) -> None:
    engine = FakeEngine()
    alive = ProcessLease(leases, ttl=TTL, clock=now)
    await alive.hold()
    assert alive.id is not None
    await a_reset_left_by(store, alive.id, engine, RunStatus.RUNNING)
    other = recovery(store, leases, engine)
    assert await other.run() == 0
    await alive.release()  # the process stopped (or its lease ran out)
    assert await other.run() == 1
    assert await feed(store) == ["reset_failed"]
    tenant = await store.get("acme")
    assert tenant is not None and (tenant.state, tenant.handle, tenant.claim) == (
        TenantState.PROVISIONING,
        HANDLE,
        None,
    )


async def test_a_process_taking_its_lease_for_many_first_actions_at_once_gets_it_for_each(
    leases: SqlLeases,
) -> None:
    lease = ProcessLease(leases, ttl=TTL, clock=now)
    taken = await asyncio.gather(*(lease.hold() for _ in range(20)), return_exceptions=True)
    assert [t for t in taken if t is not None] == []  # none told "held by another process"
    assert await lease.live() == {lease.id}
