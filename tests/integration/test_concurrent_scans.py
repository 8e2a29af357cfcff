"""Several replicas scanning at once, each with its own connection pool: one alert per stuck episode."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from core.decisions import Limits
from core.domain import Tenant, TenantState, provisioning_handle
from core.persistence import SqlAlchemyStore, open_store
from core.scanner import Scanner
from core.wedged import WedgeFinder
from tests.fakes import FakeEngine, RecordingNotifier

REPLICAS, TICKS, TENANTS = 4, 5, 12


def now() -> datetime:
    return datetime.now(UTC)


async def test_replicas_scanning_at_once_post_one_alert_per_episode(store: SqlAlchemyStore, database_url: str) -> None:
    stale = now() - timedelta(hours=1)
    for i in range(TENANTS):
        handle = provisioning_handle(f"t{i}", 1)
        await store.add(
            Tenant(f"t{i}", TenantState.PROVISIONING, stale, handle=handle, attempt=1, last_progress_at=stale), []
        )
    engine, slack = FakeEngine(), RecordingNotifier()  # the engine knows none of the runs: all orphaned
    barrier = threading.Barrier(REPLICAS)

    async def replica(name: str) -> None:
        own = await open_store(database_url, migrate_schema=False)
        try:
            finder = WedgeFinder(own, engine, Limits())
            scanner = Scanner(own, own, slack, finder, holder=name, clock=now, digest_from=100)
            await asyncio.to_thread(barrier.wait)
            for _ in range(TICKS):
                await scanner.tick()
        finally:
            await own.close()

    threads = [threading.Thread(target=lambda n=f"r{i}": asyncio.run(replica(n))) for i in range(REPLICAS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    posts = sorted(tenant for kind, tenant in slack.sent if kind == "post")
    assert posts == sorted(f"t{i}" for i in range(TENANTS))
    assert len(await store.open_alerts()) == TENANTS
