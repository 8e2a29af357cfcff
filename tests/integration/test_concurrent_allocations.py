"""Two attempts of one step recording the same allocation at once (a heartbeat-timed-out attempt still
running beside its retry), each through its own connection pool: one row, one event, one answer, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from core.domain import Allocation, Tenant, TenantState, provisioning_handle
from core.persistence import SqlTenantStore, open_database
from core.run_writes import RunReporter

HANDLE = provisioning_handle("acme", 1)


def now() -> datetime:
    return datetime.now(UTC)


class DecidingTogether:
    """A store whose first `allocations()` read waits for the other writer's: both decide before either writes."""

    def __init__(self, store: SqlTenantStore, barrier: asyncio.Barrier) -> None:
        self.store, self.barrier, self.first = store, barrier, True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def allocations(self, tenant_id: str) -> list[Allocation]:
        held = await self.store.allocations(tenant_id)
        if self.first:
            self.first = False
            await asyncio.wait_for(self.barrier.wait(), 5)
        return held


async def test_two_attempts_allocating_the_same_kind_at_once_record_one_allocation_and_get_it_back(
    store: SqlTenantStore, database_url: str
) -> None:
    await store.add(Tenant("acme", TenantState.PROVISIONING, now(), handle=HANDLE, attempt=1), [])
    other = await open_database(database_url)
    try:
        barrier = asyncio.Barrier(2)
        reporters = [
            RunReporter(DecidingTogether(s, barrier), clock=now, heartbeat_every=timedelta(0))
            for s in (store, other.tenants)
        ]
        got = await asyncio.gather(
            reporters[0].allocated("acme", HANDLE, "network", "net-timed-out-attempt"),
            reporters[1].allocated("acme", HANDLE, "network", "net-retry"),
        )
    finally:
        await other.close()
    held = await store.allocations("acme")
    assert len(held) == 1 and got[0] == got[1] == held[0]
    allocated = [e for e in await store.events("acme", 50) if e.type.endswith(".allocated")]
    assert len(allocated) == 1 and allocated[0].details["resource_id"] == held[0].resource_id
