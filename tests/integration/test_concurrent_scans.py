"""Several replicas scanning at once, each with its own connection pool: one alert per stuck episode."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from core.alerting.scanner import Scanner, TickReport
from core.decisions import Limits
from core.domain import Tenant, TenantState, provisioning_handle
from core.persistence import Database, SqlTenantStore, open_database
from core.ports import Leases
from core.wedged import WedgeFinder
from tests.alert_fakes import RecordingNotifier
from tests.fakes import FakeEngine

REPLICAS, TICKS, TENANTS = 4, 5, 12


def now() -> datetime:
    return datetime.now(UTC)


async def test_replicas_scanning_at_once_post_one_alert_per_episode(database: Database, database_url: str) -> None:
    store = database.tenants
    stale = now() - timedelta(hours=1)
    for i in range(TENANTS):
        handle = provisioning_handle(f"t{i}", 1)
        await store.add(
            Tenant(f"t{i}", TenantState.PROVISIONING, stale, handle=handle, attempt=1, last_progress_at=stale), []
        )
    engine, slack = FakeEngine(), RecordingNotifier()  # the engine knows none of the runs: all orphaned
    barrier = threading.Barrier(REPLICAS)

    async def replica(name: str) -> None:
        own = await open_database(database_url, migrate_schema=False)
        try:
            finder = WedgeFinder(own.tenants, engine, Limits())
            scanner = Scanner(
                own.tenants, own.alerts, slack, finder, leases=own.leases, holder=name, clock=now, digest_from=100
            )
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
    assert len(await database.alerts.open_alerts()) == TENANTS


async def stale_tenants(store: SqlTenantStore, count: int) -> None:
    stale = now() - timedelta(hours=1)
    for i in range(count):
        handle = provisioning_handle(f"t{i}", 1)
        await store.add(
            Tenant(f"t{i}", TenantState.PROVISIONING, stale, handle=handle, attempt=1, last_progress_at=stale), []
        )


async def test_a_tick_longer_than_its_lease_keeps_it_so_no_other_replica_posts_again(database: Database) -> None:
    store = database.tenants
    await stale_tenants(store, 4)
    slack, engine = RecordingNotifier(delay=0.3), FakeEngine()  # each Slack call takes 0.3 s (pacing, Retry-After)

    def replica(name: str) -> Scanner:
        finder = WedgeFinder(store, engine, Limits())
        lease = timedelta(seconds=0.5)
        alerts, leases = database.alerts, database.leases
        return Scanner(
            store, alerts, slack, finder, leases=leases, holder=name, clock=now, lease=lease, digest_from=100
        )

    async def later() -> TickReport:
        await asyncio.sleep(0.6)  # A's first lease (0.5 s) is over while A still posts
        return await replica("B").tick()

    a, b = await asyncio.gather(replica("A").tick(), later())
    assert a.ran and not b.ran  # A renewed its lease before each Slack call
    assert sorted(tenant for kind, tenant in slack.sent if kind == "post") == ["t0", "t1", "t2", "t3"]


class LeaseAlwaysGranted(Leases):
    """Leases whose scan lease never says no: what two replicas with skewed clocks would see."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        return True

    async def unlock(self, name: str, holder: str) -> None:
        await self.leases.unlock(name, holder)

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        return await self.leases.holders(prefix, now=now)


async def test_even_without_a_working_lease_each_episode_is_posted_once(database: Database, database_url: str) -> None:
    store = database.tenants
    await stale_tenants(store, 6)
    slack, engine = RecordingNotifier(delay=0.05), FakeEngine()
    slack.fail_next = 1  # the episodes are recorded, and all wait to be posted when the replicas start
    finder = WedgeFinder(store, engine, Limits())
    await Scanner(
        store, database.alerts, slack, finder, leases=database.leases, holder="r", clock=now, digest_from=100
    ).tick()
    others = [await open_database(database_url, migrate_schema=False) for _ in range(3)]
    try:
        replicas = [
            Scanner(
                own.tenants,
                own.alerts,
                slack,
                WedgeFinder(own.tenants, engine, Limits()),
                leases=LeaseAlwaysGranted(own.leases),
                holder=f"r{i}",
                clock=now,
                digest_from=100,
            )
            for i, own in enumerate(others)
        ]
        for _ in range(3):
            await asyncio.gather(*(r.tick() for r in replicas))
    finally:
        for own in others:
            await own.close()
    assert sorted(tenant for kind, tenant in slack.sent if kind == "post") == [f"t{i}" for i in range(6)]
