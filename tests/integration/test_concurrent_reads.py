"""Many operators reading at once while the saga and other replicas write: every read answers within
READ_TIMEOUT, on SQLite (where reads must not queue on the write lock) and on PostgreSQL; so do the wedge
scan's reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.bounded import BoundedStore
from core.domain import AuditEvent, Tenant, TenantState, provisioning_handle
from core.persistence import SqlTenantStore, open_database
from core.ports import ConcurrentUpdate
from core.results import TenantView
from core.service import TenantService
from tests.fakes import FakeEngine

READERS = 64
BATCH = 200


def now() -> datetime:
    return datetime.now(UTC)


async def keep_writing(store: SqlTenantStore, tenant_id: str, stop: asyncio.Event) -> int:
    """Save the tenant and append events, over and over, as runs reporting progress and scan ticks do."""
    written = 0
    while not stop.is_set():
        tenant = await store.get(tenant_id)
        assert tenant is not None
        event = AuditEvent(tenant_id, "tenant.provisioning.heartbeat", "workflow:w", now())
        try:
            await store.save(tenant.updated(current_step=f"step {written}"), [event])
        except ConcurrentUpdate:
            continue
        await store.append([event] * BATCH)  # a scan tick records its new episodes' events in one transaction
        written += 1
    return written


async def test_64_concurrent_views_all_answer_while_writes_happen(store: SqlTenantStore, database_url: str) -> None:
    for i in range(READERS):
        await store.add(Tenant(f"t-{i}", TenantState.PROVISIONING, now(), last_progress_at=now()), [])
    other_replica = await open_database(database_url, migrate_schema=False)
    service = TenantService(store, FakeEngine())  # the default READ_TIMEOUT: 2 s
    stop = asyncio.Event()
    try:
        writers = [
            asyncio.create_task(keep_writing(s, f"t-{i}", stop))
            for i, s in enumerate((store, other_replica.tenants) * 2)
        ]
        await asyncio.sleep(0.2)  # writes under way
        views: list[TenantView | BaseException] = await asyncio.gather(
            *(service.view(f"t-{i}") for i in range(READERS)), return_exceptions=True
        )
        stop.set()
        written = await asyncio.gather(*writers)
    finally:
        stop.set()
        await other_replica.close()
    failed = [v for v in views if isinstance(v, BaseException) or v.problems]
    assert failed == []
    assert all(n > 0 for n in written)
    assert {v.tenant.id for v in views if isinstance(v, TenantView)} == {f"t-{i}" for i in range(READERS)}


async def test_a_view_does_not_wait_for_another_replicas_open_write(store: SqlTenantStore, database_url: str) -> None:
    await store.add(Tenant("acme", TenantState.PROVISIONING, now(), last_progress_at=now()), [])
    service = TenantService(store, FakeEngine())  # the default READ_TIMEOUT: 2 s
    other_replica = await open_database(database_url, migrate_schema=False)
    try:
        async with other_replica.engine.begin() as writing:  # holds the write lock until the block ends
            await writing.exec_driver_sql("UPDATE tenants SET current_step = 'writing' WHERE id = 'acme'")
            view = await service.view("acme")
    finally:
        await other_replica.close()
    assert view.tenant.current_step != "writing" and view.problems == ()


async def test_the_wedge_scans_reads_do_not_wait_for_another_replicas_open_write(
    store: SqlTenantStore, database_url: str
) -> None:
    handle = provisioning_handle("acme", 1)
    await store.add(Tenant("acme", TenantState.PROVISIONING, now(), handle=handle, last_progress_at=now()), [])
    scan_reads = BoundedStore(store, timedelta(seconds=2))  # as the composition root hands them to the finder
    other_replica = await open_database(database_url, migrate_schema=False)
    try:
        async with other_replica.engine.begin() as writing:  # holds the write lock until the block ends
            await writing.exec_driver_sql("UPDATE tenants SET current_step = 'writing' WHERE id = 'acme'")
            refs = await scan_reads.in_flight_refs(now() - timedelta(minutes=10))
            rows = await scan_reads.in_flight({"acme"})
    finally:
        await other_replica.close()
    assert [(r.tenant_id, r.handle, r.progressing) for r in refs] == [("acme", handle, True)]
    assert [(t.id, t.current_step) for t in rows] == [("acme", None)]
