"""The composition root: builds every part of the app from `Settings`, once, for every entry point.

Nothing here runs on import. `runtime()` opens the database (applying migrations; one `Database` whose
stores share one engine), starts or connects to the workflow engine (the embedded Temporal dev server
unless TEMPORAL_ADDRESS is set), and yields every part the entry points use: the `TenantService`, the
wedge finder (shared by the scan, `/tenant stuck` and `tenants --wedged`), the button presses
(authorized with the given user directory), and, given a notifier, the scanner with the alert channel's
controls beside it. The notifier and the directory are the entry point's (Slack for `serve`, the
console for `scan` and the demo): they are the only parts that differ between commands.

The process's liveness lease (core/liveness.py) is renewed in the background while the runtime is open
and given back when it closes, so another replica can tell this process's unfinished actions from a
dead one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from core.adapters.unreachable_engine import UnreachableEngine
from core.alerting.controls import AlertControls
from core.alerting.ports import Notifier
from core.alerting.scanner import Scanner
from core.authz import Authorizer, Directory, NoDirectory
from core.bounded import BoundedLeases, bounded_ports
from core.liveness import ProcessLease
from core.ports import EngineError, WorkflowEngine
from core.presses import Presses
from core.recovery import Recovery
from core.results import utcnow
from core.saga import FaultPlan
from core.service import TenantService
from core.wedged import WedgeFinder
from tenantbot.crash import crashing
from tenantbot.settings import Settings

if TYPE_CHECKING:  # the database's modules (SQLAlchemy, Alembic) load when a runtime opens, not at import
    from core.persistence import Database


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    engine: WorkflowEngine
    service: TenantService
    finder: WedgeFinder
    presses: Presses
    faults: FaultPlan  # what this process injects into the first attempts it starts (demo, provision --fault)
    scanner: Scanner | None = None  # the wedge scan, when the runtime was given a notifier
    controls: AlertControls | None = None  # Snooze and the digest menus, beside the scanner (its delivery)

    @property
    def recovery(self) -> Recovery:
        return self.service.recovery


def assemble(
    settings: Settings,
    database: Database,
    engine: WorkflowEngine,
    faults: FaultPlan,
    notifier: Notifier | None,
    directory: Directory,
) -> Runtime:
    """Every part, each built once and handed the parts it needs: the ports wrapped once with their time
    limits (core/bounded.py) for the service, its recovery, the liveness lease and the wedge finder. The
    scan's own writes and the saga's worker (tenantbot/engine.py) use the database unbounded, as before."""
    crash_store, crash_engine = crashing(database.tenants, engine)  # only when a test asks (TENANTBOT_TEST_CRASH)
    store, bounded_engine = bounded_ports(crash_store, crash_engine, settings.timeouts)
    leases = BoundedLeases(database.leases, settings.read_timeout)
    lease = ProcessLease(leases, ttl=settings.process_lease, clock=utcnow)
    service = TenantService(store, bounded_engine, limits=settings.limits, lease=lease)
    finder = WedgeFinder(store, bounded_engine, settings.limits)
    authorizer = Authorizer(settings.policy, directory)
    runtime = Runtime(settings, database, engine, service, finder, Presses(service, authorizer), faults)
    if notifier is None:
        return runtime
    scanner = Scanner(
        database.tenants,
        database.alerts,
        notifier,
        finder,
        leases=database.leases,
        holder=service.lease.id or f"{socket.gethostname()}:{os.getpid()}",
        clock=utcnow,
        lease=max(settings.scan_interval * 2, timedelta(seconds=30)),
    )
    controls = AlertControls(database.tenants, database.alerts, scanner.delivery, authorizer, clock=utcnow)
    return dataclasses.replace(runtime, scanner=scanner, controls=controls)


@asynccontextmanager
async def kept(lease: ProcessLease) -> AsyncIterator[None]:
    """Renew the lease in the background; give it back at the end (a killed process cannot: it runs out)."""
    keeper = asyncio.create_task(lease.keep())
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await lease.release()


@asynccontextmanager
async def runtime(
    settings: Settings,
    *,
    worker: bool = True,
    engine_required: bool = True,
    notifier: Notifier | None = None,
    directory: Directory | None = None,
) -> AsyncIterator[Runtime]:
    """Everything the app needs, torn down in reverse order on exit.

    With `engine_required=False` (read-only commands) an engine that cannot be reached does not stop
    the command: the views say what could not be read instead. Without a `notifier` there is no scanner
    (and no alert controls); without a `directory` no user group can be read, so an allow-list's group
    entries grant nothing (only `serve` takes presses, with Slack's).
    """
    from core.persistence import open_database
    from tenantbot.engine import engine_runtime

    database = await open_database(settings.db_url)
    try:
        async with AsyncExitStack() as stack:
            engine: WorkflowEngine
            faults = FaultPlan()
            try:
                engine = await stack.enter_async_context(
                    engine_runtime(settings, database.tenants, faults, worker=worker)
                )
            except EngineError as e:
                if engine_required:
                    raise
                engine = UnreachableEngine(f"engine unreachable: {e}")
            built = assemble(settings, database, engine, faults, notifier, directory or NoDirectory())
            await stack.enter_async_context(kept(built.service.lease))
            yield built
    finally:
        await database.close()
