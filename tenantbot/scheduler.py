"""Recovery, the wedge scan and retention, on APScheduler's asyncio scheduler (the same loop as Bolt and the
Temporal client): only the schedule; the recovery, the scanner and the retention run it runs are built by
the composition root (tenantbot/bootstrap.py).

Each tick first settles the actions a crash left unfinished (core/recovery.py), then scans (when alerts
are on), then posts the announcements (core/alerting/announcements.py: actions, also those the command
line ran, and mentions), so that an alert is never resolved or re-raised over an action still to be
settled, then runs the entry point's chores (`serve`: editing the messages of Decommission requests that
expired or finished, bot/request_updates.py), a failure logged. Recovery runs with or without ALERT_CHANNEL.
`max_instances=1` and `coalesce=True` keep one tick at a time in this process; the database lease in
`Scanner.tick` keeps one scan at a time across replicas (recovery needs none: its writes are guarded).
Retention (core/retention.py) runs daily under the same lease, in slices a scan interval apart.
Batches (core/batch_runner.py) are resumed every scan interval in a job of their own (a batch runs for
minutes; the scan must not wait for it): each running batch nobody else holds runs here until it ends.
`ScanSchedule.stop` cancels a running tick, retention run or batch and waits for it to release its lease
and claims, so shutting down never leaves the lease held by a process that is gone (the runtime closes the
database right after).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.metrics import Metrics
from core.alerting.announcements import Announcer
from core.alerting.ports import NotifyError
from core.alerting.scanner import Scanner, TickReport
from core.ports import EngineError, StoreError
from core.recovery import Recovery
from core.request_ids import request_scope
from core.retention import PruneReport, Retention

log = logging.getLogger(__name__)
STOP_WITHIN = 10.0  # seconds a cancelled tick gets to release its lease before shutdown goes on
PRUNE_EVERY = timedelta(days=1)


async def prune_once(retention: Retention, pause: Callable[[], Awaitable[None]]) -> PruneReport | None:
    """One retention run; failures are logged and the next run goes on, never fatal to the app."""
    try:
        report = await retention.prune(pause)
    except StoreError as e:
        log.warning("retention skipped: %s", e)
        return None
    said = "deleted" if report.done else "deleted (cut short: the next run goes on)"
    log.info("retention %s %s", said, report.summary())
    return report


async def recover_once(recovery: Recovery) -> int:
    """Settle the actions a crash left unfinished; failures are logged and retried at the next tick."""
    try:
        return await recovery.run()
    except (StoreError, EngineError) as e:
        log.warning("recovery of unfinished actions skipped: %s", e)
        return 0


async def scan_once(scanner: Scanner, metrics: Metrics | None = None) -> TickReport | None:
    """One tick; failures are logged and retried at the next tick, never fatal to the app. With `metrics`,
    a tick this replica ran (or that failed) is observed: its duration and the wedged tenants it found."""
    started = time.monotonic()
    try:
        report = await scanner.tick()
    except (StoreError, EngineError, NotifyError) as e:
        log.warning("wedge scan skipped: %s", e)
        if metrics is not None:
            metrics.scan_tick(time.monotonic() - started, None)
        return None
    if metrics is not None and report.ran and not report.lease_lost:
        metrics.scan_tick(time.monotonic() - started, report.situations)
    if report.ran and (report.opened or report.resolved or report.unposted or report.lease_lost):
        log.info("wedge scan: %s", report)
    return report


class Resumable(Protocol):
    """What resumes running batches: the runner (no Slack), or serve's BatchRuns with their messages."""

    async def resume_all(self) -> int: ...


async def batches_once(batches: Resumable) -> int:
    """Run the batches left running (a crash, a restart, a CLI that died); failures are retried next time."""
    try:
        return await batches.resume_all()
    except (StoreError, EngineError) as e:
        log.warning("batches not resumed: %s", e)
        return 0


async def announce_once(announcer: Announcer) -> int:
    """Record and post the pending announcements; failures are logged and retried at the next tick."""
    try:
        return await announcer.run()
    except (StoreError, NotifyError) as e:
        log.warning("announcements skipped: %s", e)
        return 0


async def chore_once(chore: Callable[[], Awaitable[object]]) -> None:
    """One chore of a tick; failures are logged and it runs again at the next tick, never fatal to the app."""
    try:
        await chore()
    except (StoreError, EngineError, NotifyError) as e:
        log.warning("a scheduled chore was skipped: %s", e)


class ScanSchedule:
    """Runs `recover_once` and `scan_once` every `every`, and with `retention` a retention run every
    `prune_every` (the first one scan interval after start); knows the running jobs, so `stop` can end
    them cleanly."""

    def __init__(
        self,
        scanner: Scanner | None,
        every: timedelta,
        recovery: Recovery | None = None,
        retention: Retention | None = None,
        prune_every: timedelta = PRUNE_EVERY,
        announcer: Announcer | None = None,
        metrics: Metrics | None = None,
        chores: Sequence[Callable[[], Awaitable[object]]] = (),
        batches: Resumable | None = None,
    ) -> None:
        self.scanner, self.every, self.recovery, self.announcer = scanner, every, recovery, announcer
        self.metrics, self.chores = metrics, tuple(chores)
        self.batches = batches
        self.retention, self.prune_every = retention, prune_every
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: asyncio.Task[TickReport | None] | None = None
        self._pruning: asyncio.Task[PruneReport | None] | None = None
        self._batching: asyncio.Task[int] | None = None

    def start(self) -> ScanSchedule:
        now = datetime.now().astimezone()
        self._every(self._tick, self.every, first=now)
        if self.retention is not None:
            self._every(self._prune, self.prune_every, first=now + self.every)
        if self.batches is not None:
            self._every(self._resume_batches, self.every, first=now)
        self.scheduler.start()
        return self

    def _every(self, job: Callable[[], Awaitable[object]], every: timedelta, *, first: datetime) -> None:
        seconds = every.total_seconds()
        self.scheduler.add_job(job, "interval", seconds=seconds, max_instances=1, coalesce=True, next_run_time=first)

    async def _tick(self) -> TickReport | None:
        self._running = task = asyncio.ensure_future(self._recover_then_scan())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return None  # the tick was cancelled by `stop`, or the scheduler gave up on the job

    async def _recover_then_scan(self) -> TickReport | None:
        with request_scope():  # one id per tick: its log lines and the audit events it writes
            return await self._tick_body()

    async def _tick_body(self) -> TickReport | None:
        if self.recovery is not None:
            await recover_once(self.recovery)
        report = await scan_once(self.scanner, self.metrics) if self.scanner is not None else None
        if self.announcer is not None:  # after the scan: a line waiting for its alert finds it posted
            await announce_once(self.announcer)
        for chore in self.chores:
            await chore_once(chore)
        return report

    async def _prune(self) -> PruneReport | None:
        assert self.retention is not None
        self._pruning = task = asyncio.ensure_future(prune_once(self.retention, self._between_slices))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return None

    async def _resume_batches(self) -> int:
        assert self.batches is not None
        self._batching = task = asyncio.ensure_future(self._batches_body(self.batches))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return 0

    @staticmethod
    async def _batches_body(batches: Resumable) -> int:
        with request_scope():
            return await batches_once(batches)

    async def _between_slices(self) -> None:
        """A scan interval between two slices of a retention run: at least one scan tick gets the lease."""
        await asyncio.sleep(self.every.total_seconds())

    @property
    def busy(self) -> bool:
        """A tick is under way."""
        return self._running is not None and not self._running.done()

    async def stop(self) -> None:
        """No new jobs; cancel the running ones and wait (bounded) until they have released the lease."""
        self.scheduler.shutdown(wait=False)
        if self.announcer is not None:
            await self.announcer.close()  # a line it was posting is posted by the next start (its claim expires)
        running = [t for t in (self._running, self._pruning, self._batching) if t is not None and not t.done()]
        if not running:
            return
        for task in running:
            task.cancel()
        done, _ = await asyncio.wait(running, timeout=STOP_WITHIN)
        if len(done) < len(running):
            log.warning("the wedge scan did not stop within %.0f s; its lease expires by itself", STOP_WITHIN)
        else:
            log.info("wedge scan interrupted by shutdown; the next start redoes its work")


def start_scheduler(
    scanner: Scanner | None,
    every: timedelta,
    recovery: Recovery | None = None,
    retention: Retention | None = None,
    announcer: Announcer | None = None,
    metrics: Metrics | None = None,
    chores: Sequence[Callable[[], Awaitable[object]]] = (),
    batches: Resumable | None = None,
) -> ScanSchedule:
    return ScanSchedule(
        scanner, every, recovery, retention, announcer=announcer, metrics=metrics, chores=chores, batches=batches
    ).start()
