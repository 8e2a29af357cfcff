"""The composition root: builds the real adapters from `Settings`, once, for every entry point.

Nothing here runs on import. `runtime()` opens the database (applying migrations), starts or
connects to the workflow engine (the embedded Temporal dev server unless TEMPORAL_ADDRESS is set),
and hands out one `TenantService` that the CLI, the Slack app and the scheduler share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.ports import AlertStore, TenantStore, WorkflowEngine
from core.service import TenantService
from tenantbot.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: TenantStore
    alerts: AlertStore
    engine: WorkflowEngine
    service: TenantService


def build_service(settings: Settings, store: TenantStore, engine: WorkflowEngine) -> TenantService:
    return TenantService(store, engine, limits=settings.limits, timeouts=settings.timeouts)


@asynccontextmanager
async def runtime(settings: Settings, *, worker: bool = True) -> AsyncIterator[Runtime]:
    """Everything the app needs, torn down in reverse order on exit."""
    from core.persistence import open_store
    from tenantbot.engine import engine_runtime

    store = await open_store(settings.db_url)
    try:
        async with engine_runtime(settings, store, worker=worker) as engine:
            yield Runtime(settings, store, store, engine, build_service(settings, store, engine))
    finally:
        await store.close()
