"""`serve`'s schedule runs retention daily under the scan's lease, and stopping it mid-run gives the lease back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.alerting.scanner import SCAN_LOCK
from core.persistence import Database
from core.retention import Pruned
from tenantbot.scheduler import PRUNE_EVERY, ScanSchedule, start_scheduler
from tests.integration.test_retention import WANTED, an_old_database, retention


async def test_the_schedule_prunes_a_scan_interval_after_start_and_then_daily(database: Database) -> None:
    await an_old_database(database)
    run = retention(database)
    schedule = start_scheduler(None, timedelta(seconds=0.3), None, run)
    try:
        [_, daily] = schedule.scheduler.get_jobs()
        assert daily.trigger.interval == PRUNE_EVERY == timedelta(days=1)
        assert (await run.count()).counts == WANTED  # not at once: the first scan goes first
        for _ in range(50):
            if (await run.count()).total == 0:
                break
            await asyncio.sleep(0.1)
        assert (await run.count()).total == 0
    finally:
        await schedule.stop()


async def test_stopping_in_the_middle_of_a_prune_gives_the_scan_lease_back(database: Database) -> None:
    await an_old_database(database)
    run = retention(database, batch=7, hold_for=timedelta(0))  # one batch a slice, 0.3 s between slices
    schedule = ScanSchedule(None, timedelta(seconds=0.3), retention=run, prune_every=timedelta(seconds=0.05)).start()
    try:
        for _ in range(50):
            left = await run.count()
            if 0 < left.counts[Pruned.AUDIT_EVENTS] < WANTED[Pruned.AUDIT_EVENTS]:
                break
            await asyncio.sleep(0.05)
    finally:
        await schedule.stop()
    assert (await run.count()).total > 0  # stopped half-way
    assert await database.leases.try_lock(SCAN_LOCK, "another-replica", now=datetime.now(UTC), ttl=timedelta(minutes=1))
