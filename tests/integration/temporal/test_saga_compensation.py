"""Cancel and compensation on the real dev server: a step the cancel interrupts cannot allocate after
the fact, compensation releases what every attempt allocated, and a cancel sent from outside the bot
still closes the row first. Steps last a second and heartbeat once, at their start (as a step that
calls a slow API does), so a test can press Cancel in the middle of one and the step, which does not
learn of the cancel before its next heartbeat, goes on to record its allocation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from core.adapters.temporal_engine import TemporalEngine
from core.decisions import Situation
from core.domain import Action, TenantState, provisioning_handle
from core.results import Outcome, utcnow
from core.run_writes import RunReporter
from core.saga import ProvisionInput, RunRef, StepInput
from core.saga.activities import ProvisioningActivities
from core.saga.workflows import ProvisionTenant
from tenantbot.bootstrap import Runtime, runtime
from tests.integration.temporal.conftest import provision, reach, wedged, world_settings

pytestmark = pytest.mark.temporal
STEP_TIME = timedelta(seconds=1)
HEARTBEAT_TIMEOUT = timedelta(seconds=4)  # the worker beats every timeout / 4: once per step


@pytest.fixture
async def slow_steps(temporal_address: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = world_settings(
        tmp_path, temporal_address, step_time=STEP_TIME, activity_heartbeat_timeout=HEARTBEAT_TIMEOUT
    )
    async with runtime(settings, worker=True) as rt:
        yield rt


async def during(rt: Runtime, tenant_id: str, step: str, attempt: int = 1, within: float = 20) -> None:
    """Wait until `attempt` of the tenant is working on `step`."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        tenant = await rt.database.tenants.get(tenant_id)
        if tenant and tenant.attempt == attempt and tenant.current_step == step and tenant.handle:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{tenant_id} never worked on {step} in attempt {attempt}")


async def types(rt: Runtime, tenant_id: str) -> list[str]:
    return [
        e.type.removeprefix("tenant.provisioning.") for e in reversed(await rt.database.tenants.events(tenant_id, 200))
    ]


async def cancelled_for_good(rt: Runtime, tenant_id: str) -> list[str]:
    """Cancel ended; let the interrupted step's own time run out, then return the audit feed."""
    await reach(rt, tenant_id, Situation.CANCELLED)
    await asyncio.sleep(STEP_TIME.total_seconds() * 1.5)
    tenant = await rt.database.tenants.get(tenant_id)
    assert tenant is not None and tenant.state is TenantState.CANCELLED
    assert await rt.database.tenants.allocations(tenant_id) == []
    feed = await types(rt, tenant_id)
    after = feed[feed.index("cancel_completed") + 1 :]
    assert set(after) <= {"write_rejected"}, f"written after the cancel completed: {after}"
    return feed


async def test_a_cancel_during_a_step_that_allocates_leaves_nothing_allocated(slow_steps: Runtime, tid: str) -> None:
    await provision(slow_steps, tid)
    await during(slow_steps, tid, "configure_network")

    result = await slow_steps.service.act(Action.CANCEL, tid, "U1")

    assert result.outcome is Outcome.DONE, result.message
    feed = await cancelled_for_good(slow_steps, tid)
    assert feed.count("allocated") == 2 and feed.count("released") == 2
    assert feed.index("cancel_started") < feed.index("released")


async def test_cancelling_the_attempt_after_a_reset_releases_what_the_first_attempt_allocated(
    slow_steps: Runtime, tid: str
) -> None:
    await wedged(slow_steps, tid, "hang@3")
    assert (await slow_steps.service.act(Action.RESET, tid, "U1")).outcome is Outcome.DONE
    assert (await slow_steps.service.act(Action.RETRY, tid, "U1")).outcome is Outcome.DONE
    await during(slow_steps, tid, "reserve_storage", attempt=2)

    assert (await slow_steps.service.act(Action.CANCEL, tid, "U1")).outcome is Outcome.DONE

    feed = await cancelled_for_good(slow_steps, tid)
    assert feed.count("released") == 2  # identity and storage, both from attempt 1


async def test_a_failing_attempt_after_a_reset_releases_what_the_first_attempt_allocated(
    world: Runtime, tid: str
) -> None:
    await wedged(world, tid, "hang@3")
    assert (await world.service.act(Action.RESET, tid, "U1")).outcome is Outcome.DONE
    # Retry as the service does it, but with a fault in attempt 2's input (a FaultPlan only reaches attempt 1).
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None
    second = provisioning_handle(tid, 2)
    await world.database.tenants.save(tenant.updated(handle=second, attempt=2, last_progress_at=utcnow()), [])
    engine = world.engine
    assert isinstance(engine, TemporalEngine)
    await engine.client.start_workflow(
        ProvisionTenant.run,
        ProvisionInput(RunRef(tid, second.workflow_id, 2), "fail@1", engine.heartbeat_timeout.total_seconds()),
        id=second.workflow_id,
        task_queue=engine.task_queue,
    )

    await reach(world, tid, Situation.FAILED_CLEANLY)

    assert await world.database.tenants.allocations(tid) == []
    released = [
        e.details["kind"] for e in reversed(await world.database.tenants.events(tid, 50)) if e.type.endswith("released")
    ]
    assert released == ["identity", "storage"]  # reverse step order


async def test_a_cancel_sent_from_outside_the_bot_closes_the_row_before_compensating(
    slow_steps: Runtime, tid: str
) -> None:
    await provision(slow_steps, tid)
    await during(slow_steps, tid, "create_identity")
    tenant = await slow_steps.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None

    await slow_steps.engine.cancel(tenant.handle)  # as the Temporal UI would: the row is still provisioning

    feed = await cancelled_for_good(slow_steps, tid)
    started = [e for e in await slow_steps.database.tenants.events(tid, 200) if e.type.endswith("cancel_started")]
    assert len(started) == 1 and started[0].details == {"by": "engine"}
    assert feed.index("cancel_started") < feed.index("released")


async def test_a_step_of_the_cancelled_run_that_wakes_up_later_cannot_allocate(world: Runtime, tid: str) -> None:
    await wedged(world, tid, "hang@3")
    assert (await world.service.act(Action.CANCEL, tid, "U1")).outcome is Outcome.DONE
    await reach(world, tid, Situation.CANCELLED)
    before = await world.database.tenants.get(tid)
    # The hung attempt of step 3 finally gets its answer and carries on, as the same run.
    reporter = RunReporter(world.database.tenants, clock=utcnow)
    activities = ProvisioningActivities(reporter, step_time=timedelta(0), heartbeat_every=timedelta(seconds=1))
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activities.run_step, StepInput(RunRef(tid, f"provision-{tid}-1", 1), 3))

    assert refused.value.type == "Closed"
    assert await world.database.tenants.get(tid) == before
    assert await world.database.tenants.allocations(tid) == []
    rejected = (await world.database.tenants.events(tid, 1))[0]
    assert rejected.type.endswith("write_rejected") and rejected.details["state"] == "cancelled"
