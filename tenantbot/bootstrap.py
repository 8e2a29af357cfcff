"""The composition root: builds the real adapters from `Settings`, once, for every entry point.

Nothing here runs on import. `runtime()` opens the database (applying migrations), starts or
connects to the workflow engine (the embedded Temporal dev server unless TEMPORAL_ADDRESS is set),
and hands out one `TenantService` that the CLI, the Slack app and the scheduler share. The process's
liveness lease (core/liveness.py) is renewed in the background while the runtime is open and given
back when it closes, so another replica can tell this process's unfinished actions from a dead one's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from core.adapters.unreachable_engine import UnreachableEngine
from core.alerting.ports import AlertStore
from core.liveness import ProcessLease
from core.ports import EngineError, Leases, TenantStore, WorkflowEngine
from core.recovery import Recovery
from core.results import utcnow
from core.retention import RetentionStore
from core.run_links import RunLinks
from core.saga import FaultPlan
from core.service import TenantService
from tenantbot.crash import crashing
from tenantbot.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: TenantStore
    alerts: AlertStore
    engine: WorkflowEngine
    service: TenantService
    faults: FaultPlan  # what this process injects into the first attempts it starts (demo, provision --fault)
    retention: RetentionStore  # old rows, for the daily retention run
    links: RunLinks  # to each tenant's run in Temporal's Web UI

    @property
    def recovery(self) -> Recovery:
        return self.service.recovery


def build_service(settings: Settings, store: TenantStore, engine: WorkflowEngine, leases: Leases) -> TenantService:
    lease = ProcessLease(leases, ttl=settings.process_lease, clock=utcnow, read_timeout=settings.read_timeout)
    store, engine = crashing(store, engine)  # only when a test asks for it (TENANTBOT_TEST_CRASH)
    return TenantService(store, engine, limits=settings.limits, timeouts=settings.timeouts, lease=lease)


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
async def runtime(settings: Settings, *, worker: bool = True, engine_required: bool = True) -> AsyncIterator[Runtime]:
    """Everything the app needs, torn down in reverse order on exit.

    With `engine_required=False` (read-only commands) an engine that cannot be reached does not stop
    the command: the views say what could not be read instead.
    """
    from core.persistence import open_store
    from tenantbot.engine import engine_runtime, web_ui_url

    store = await open_store(settings.db_url)
    try:
        async with AsyncExitStack() as stack:
            engine: WorkflowEngine
            faults = FaultPlan()
            try:
                engine = await stack.enter_async_context(engine_runtime(settings, store, faults, worker=worker))
            except EngineError as e:
                if engine_required:
                    raise
                engine = UnreachableEngine(f"engine unreachable: {e}")
            service = build_service(settings, store, engine, store)
            await stack.enter_async_context(kept(service.lease))
            links = RunLinks(web_ui_url(settings), settings.temporal_namespace)
            yield Runtime(settings, store, store, engine, service, faults, store.retention, links)
    finally:
        await store.close()
