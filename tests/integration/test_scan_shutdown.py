"""Shutting down while a tick is under way releases the scan lease before the database closes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.alerting.model import Alert
from core.alerting.scanner import Scanner
from core.decisions import Limits
from core.domain import Tenant, TenantState, provisioning_handle
from core.persistence import open_database
from core.wedged import WedgeFinder
from tenantbot.scheduler import start_scheduler
from tests.alert_fakes import RecordingNotifier
from tests.fakes import FakeEngine


def now() -> datetime:
    return datetime.now(UTC)


class HangingSlack(RecordingNotifier):
    async def post_alert(self, alert: Alert) -> str:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_stopping_mid_tick_releases_the_lease_and_the_posting_claim(database_url: str) -> None:
    database = await open_database(database_url)
    store = database.tenants
    stale = now() - timedelta(hours=1)
    handle = provisioning_handle("t0", 1)
    await store.add(Tenant("t0", TenantState.PROVISIONING, stale, handle=handle, attempt=1, last_progress_at=stale), [])
    finder = WedgeFinder(store, FakeEngine(), Limits())
    scanner = Scanner(
        store,
        database.alerts,
        HangingSlack(),
        finder,
        leases=database.leases,
        holder="A",
        clock=now,
        lease=timedelta(minutes=2),
    )
    schedule = start_scheduler(scanner, timedelta(seconds=60))
    for _ in range(100):  # until the tick hangs in its Slack call
        if (await database.alerts.open_alerts()) and schedule.busy:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    await schedule.stop()  # what `serve` does before its runtime closes the database
    await database.close()

    reopened = await open_database(database_url, migrate_schema=False)
    try:
        assert await reopened.leases.try_lock("scan", "B", now=now(), ttl=timedelta(minutes=2))
        [alert] = await reopened.alerts.open_alerts()
        assert alert.id is not None
        assert await reopened.alerts.claim("alert", alert.id, "B", now=now(), ttl=timedelta(minutes=5), unposted=True)
    finally:
        await reopened.close()
