"""The composition root: builds the real adapters from `Settings`, once, for every entry point.

Nothing here runs on import. `runtime()` opens the database (applying migrations), starts or
connects to the workflow engine (the embedded Temporal dev server unless TEMPORAL_ADDRESS is set),
and hands out one `TenantService` that the CLI, the Slack app and the scheduler share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from core.adapters.unreachable_engine import UnreachableEngine
from core.ports import AlertStore, EngineError, TenantStore, WorkflowEngine
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
async def runtime(settings: Settings, *, worker: bool = True, engine_required: bool = True) -> AsyncIterator[Runtime]:
    """Everything the app needs, torn down in reverse order on exit.

    With `engine_required=False` (read-only commands) an engine that cannot be reached does not stop
    the command: the views say what could not be read instead.
    """
    from core.persistence import open_store
    from tenantbot.engine import engine_runtime

    store = await open_store(settings.db_url)
    try:
        async with AsyncExitStack() as stack:
            engine: WorkflowEngine
            try:
                engine = await stack.enter_async_context(engine_runtime(settings, store, worker=worker))
            except EngineError as e:
                if engine_required:
                    raise
                engine = UnreachableEngine(f"engine unreachable: {e}")
            yield Runtime(settings, store, store, engine, build_service(settings, store, engine))
    finally:
        await store.close()
