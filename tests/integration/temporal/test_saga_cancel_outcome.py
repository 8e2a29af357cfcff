"""What a Cancel ends with when the run does not compensate (a known SDK race, temporalio/sdk-python#1224,
can close a workflow cancelled without the cancel reaching its code; and a cancel can lose the race
with the run completing). Stand-in workflows on a side task queue reproduce both on the real dev server
under the tenant's workflow id."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from temporalio import workflow
from temporalio.types import MethodAsyncNoParam
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.adapters.temporal_engine import TemporalEngine
from core.decisions import Situation
from core.domain import Action, Allocation, Tenant, TenantState, provisioning_handle
from core.ports import AllocationChanges
from core.results import Outcome, utcnow
from tenantbot.bootstrap import Runtime
from tests.integration.temporal.conftest import reach

pytestmark = pytest.mark.temporal


@workflow.defn
class ClosesCancelledWithoutCompensating:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)  # the cancel ends it; nothing is released


@workflow.defn
class CompletesInsteadOfCancelling:
    @workflow.run
    async def run(self) -> str:
        with contextlib.suppress(asyncio.CancelledError):
            await workflow.wait_condition(lambda: False)
        return "active"  # the last step finished just as the cancel arrived


@pytest.fixture
async def side_queue(world: Runtime) -> AsyncIterator[str]:
    assert isinstance(world.engine, TemporalEngine)
    queue = f"side-{uuid.uuid4().hex[:8]}"
    workflows = [ClosesCancelledWithoutCompensating, CompletesInsteadOfCancelling]
    runner = UnsandboxedWorkflowRunner()
    async with Worker(world.engine.client, task_queue=queue, workflows=workflows, workflow_runner=runner):
        yield queue


async def provisioning_with(world: Runtime, tid: str, queue: str, stand_in: MethodAsyncNoParam[Any, Any]) -> None:
    """A tenant in flight, holding storage, whose run is `stand_in` (instead of the saga)."""
    assert isinstance(world.engine, TemporalEngine)
    handle = provisioning_handle(tid, 1)
    started = await world.engine.client.start_workflow(stand_in, id=handle.workflow_id, task_queue=queue)
    now = utcnow()
    tenant = Tenant(tid, TenantState.PROVISIONING, now, replace(handle, run_id=started.result_run_id), 1)
    tenant = await world.database.tenants.add(tenant.updated(current_step="create_identity", last_progress_at=now), [])
    storage = Allocation(tid, "storage", "storage-1", now, handle.workflow_id)
    await world.database.tenants.save(tenant, [], allocations=AllocationChanges(add=(storage,)))
    await reach(world, tid, Situation.MAKING_PROGRESS)


async def test_a_cancel_that_closes_the_run_without_compensating_shows_as_wedged_with_reset(
    world: Runtime, tid: str, side_queue: str
) -> None:
    await provisioning_with(world, tid, side_queue, ClosesCancelledWithoutCompensating.run)

    result = await world.service.act(Action.CANCEL, tid, "U1")

    assert result.outcome is Outcome.DONE
    await reach(world, tid, Situation.WEDGED_ENGINE_CLOSED)
    view = await world.service.view(tid)
    assert view.tenant.state is TenantState.CANCELLING and view.assessment.allowed == (Action.RESET,)
    assert (await world.service.act(Action.RESET, tid, "U1")).outcome is Outcome.DONE
    await reach(world, tid, Situation.PENDING_CLEAN)
    assert [a.kind for a in await world.database.tenants.allocations(tid)] == [
        "storage"
    ]  # Decommission or Retry from here


async def test_a_cancel_the_run_completes_through_fails_with_the_reason_and_leaves_the_row_as_it_was(
    world: Runtime, tid: str, side_queue: str
) -> None:
    await provisioning_with(world, tid, side_queue, CompletesInsteadOfCancelling.run)

    result = await world.service.act(Action.CANCEL, tid, "U1")

    assert result.outcome is Outcome.FAILED and "completed; nothing was cancelled" in result.message
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and (tenant.state, tenant.claim) == (TenantState.PROVISIONING, None)
    feed = [e.type.removeprefix("tenant.provisioning.") for e in await world.database.tenants.events(tid, 2)]
    assert feed == ["cancel_failed", "cancel_started"]
