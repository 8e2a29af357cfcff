"""The wedge scan, on APScheduler's asyncio scheduler (the same loop as Bolt and the Temporal client).

`max_instances=1` and `coalesce=True` keep one tick at a time in this process; the database lease in
`Scanner.tick` keeps one tick at a time across replicas.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.ports import EngineError, Notifier, NotifyError, StoreError
from core.results import utcnow
from core.scanner import Scanner, TickReport
from core.wedged import WedgeFinder
from tenantbot.bootstrap import Runtime
from tenantbot.settings import Settings

log = logging.getLogger(__name__)


def build_scanner(settings: Settings, rt: Runtime, notifier: Notifier, finder: WedgeFinder | None = None) -> Scanner:
    finder = finder or WedgeFinder(rt.store, rt.engine, settings.limits)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    lease = max(settings.scan_interval * 2, timedelta(seconds=30))
    return Scanner(rt.store, rt.alerts, notifier, finder, holder=holder, clock=utcnow, lease=lease)


async def scan_once(scanner: Scanner) -> TickReport | None:
    """One tick; failures are logged and retried at the next tick, never fatal to the app."""
    try:
        report = await scanner.tick()
    except (StoreError, EngineError, NotifyError) as e:
        log.warning("wedge scan skipped: %s", e)
        return None
    except asyncio.CancelledError:  # shutdown while a tick ran: its work is redone by the next start's tick
        log.info("wedge scan interrupted by shutdown")
        return None
    if report.ran and (report.opened or report.resolved or report.unposted):
        log.info("wedge scan: %s", report)
    return report


def start_scheduler(scanner: Scanner, every: timedelta) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        scan_once,
        "interval",
        args=[scanner],
        seconds=every.total_seconds(),
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now().astimezone(),
    )
    scheduler.start()
    return scheduler
