"""Recovery and the wedge scan, on APScheduler's asyncio scheduler (the same loop as Bolt and the Temporal
client): only the schedule; the recovery and the scanner it runs are built by the composition root
(tenantbot/bootstrap.py).

Each tick first settles the actions a crash left unfinished (core/recovery.py), then scans (when alerts
are on), so that an alert is never resolved or re-raised over an action still to be settled. Recovery
runs with or without ALERT_CHANNEL. `max_instances=1` and `coalesce=True` keep one tick at a time in this
process; the database lease in `Scanner.tick` keeps one scan at a time across replicas (recovery needs
none: its writes are guarded). `ScanSchedule.stop` cancels a running tick and waits for it to release
its lease and claims, so shutting down never leaves the lease held by a process that is gone (the
runtime closes the database right after).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.alerting.ports import NotifyError
from core.alerting.scanner import Scanner, TickReport
from core.ports import EngineError, StoreError
from core.recovery import Recovery

log = logging.getLogger(__name__)
STOP_WITHIN = 10.0  # seconds a cancelled tick gets to release its lease before shutdown goes on


async def recover_once(recovery: Recovery) -> int:
    """Settle the actions a crash left unfinished; failures are logged and retried at the next tick."""
    try:
        return await recovery.run()
    except (StoreError, EngineError) as e:
        log.warning("recovery of unfinished actions skipped: %s", e)
        return 0


async def scan_once(scanner: Scanner) -> TickReport | None:
    """One tick; failures are logged and retried at the next tick, never fatal to the app."""
    try:
        report = await scanner.tick()
    except (StoreError, EngineError, NotifyError) as e:
        log.warning("wedge scan skipped: %s", e)
        return None
    if report.ran and (report.opened or report.resolved or report.unposted or report.lease_lost):
        log.info("wedge scan: %s", report)
    return report


class ScanSchedule:
    """Runs `recover_once` and `scan_once` every `every` and knows the running tick, so `stop` can end it
    cleanly."""

    def __init__(self, scanner: Scanner | None, every: timedelta, recovery: Recovery | None = None) -> None:
        self.scanner, self.every, self.recovery = scanner, every, recovery
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: asyncio.Task[TickReport | None] | None = None

    def start(self) -> ScanSchedule:
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.every.total_seconds(),
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now().astimezone(),
        )
        self.scheduler.start()
        return self

    async def _tick(self) -> TickReport | None:
        self._running = task = asyncio.ensure_future(self._recover_then_scan())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return None  # the tick was cancelled by `stop`, or the scheduler gave up on the job

    async def _recover_then_scan(self) -> TickReport | None:
        if self.recovery is not None:
            await recover_once(self.recovery)
        return await scan_once(self.scanner) if self.scanner is not None else None

    @property
    def busy(self) -> bool:
        """A tick is under way."""
        return self._running is not None and not self._running.done()

    async def stop(self) -> None:
        """No new ticks; cancel the running one and wait (bounded) until it has released its lease."""
        self.scheduler.shutdown(wait=False)
        task = self._running
        if task is None or not self.busy:
            return
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=STOP_WITHIN)
        if not done:
            log.warning("the wedge scan did not stop within %.0f s; its lease expires by itself", STOP_WITHIN)
        else:
            log.info("wedge scan interrupted by shutdown; the next start redoes its work")


def start_scheduler(scanner: Scanner | None, every: timedelta, recovery: Recovery | None = None) -> ScanSchedule:
    return ScanSchedule(scanner, every, recovery).start()
