"""Every situation of the decision table, reached by a real run on the dev server and assessed by the
real service over SQLite; then the guide's actions on those runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from core.decisions import Situation
from core.domain import Action, AuditEvent, RunStatus, TenantState
from core.ports import RunAlreadyLive
from core.results import Outcome, utcnow
from core.run_writes import RunReporter
from core.saga import RunRef, StepInput
from core.saga.activities import ProvisioningActivities
from tenantbot.bootstrap import Runtime, runtime
from tests.integration.temporal.conftest import provision, reach, wedged, world_settings

pytestmark = pytest.mark.temporal


def event_types(events: list[AuditEvent]) -> list[str]:
    return [e.type.removeprefix("tenant.provisioning.") for e in reversed(events)]


@pytest.mark.parametrize(
    ("fault", "situation"),
    [
        (None, Situation.DONE),
        ("hang@2", Situation.WEDGED_NO_PROGRESS),
        ("error@2", Situation.WEDGED_ERROR),
        ("orphan", Situation.WEDGED_ORPHANED),
        ("slow@2", Situation.SLOW_BUT_ALIVE),
        ("fail@2", Situation.FAILED_CLEANLY),
    ],
    ids=["completes", "hangs", "records-an-error", "orphaned", "slow", "fails"],
)
async def test_a_real_run_reaches_its_situation(
    world: Runtime, tid: str, fault: str | None, situation: Situation
) -> None:
    await provision(world, tid, fault)
    await reach(world, tid, situation)


async def test_a_run_in_its_first_steps_is_making_progress(world: Runtime, tid: str) -> None:
    await provision(world, tid, "slow@4")
    await reach(world, tid, Situation.MAKING_PROGRESS, within=2)


async def test_a_run_terminated_behind_the_bots_back_is_engine_closed_row_open(world: Runtime, tid: str) -> None:
    await provision(world, tid, "slow@2")
    await reach(world, tid, Situation.MAKING_PROGRESS)
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None
    await world.engine.terminate(tenant.handle, reason="someone in the Temporal UI")
    await reach(world, tid, Situation.WEDGED_ENGINE_CLOSED)


async def test_reset_then_retry_recovers_a_stuck_run_reusing_its_allocations(world: Runtime, tid: str) -> None:
    await wedged(world, tid, "hang@3")
    before = await world.database.tenants.get(tid)
    held = await world.database.tenants.allocations(tid)
    assert before is not None and before.handle is not None and [a.kind for a in held] == ["storage", "identity"]

    reset = await world.service.act(Action.RESET, tid, "U1")

    assert reset.outcome is Outcome.DONE
    assert (await world.engine.describe(before.handle)).status is RunStatus.TERMINATED
    after = await world.database.tenants.get(tid)
    assert after is not None and (after.state, after.handle, after.error) == (TenantState.PENDING, None, None)
    assert await world.database.tenants.allocations(tid) == held
    assert event_types(await world.database.tenants.events(tid, 3))[-2:] == ["reset_started", "reset_completed"]

    retry = await world.service.act(Action.RETRY, tid, "U1")
    assert retry.outcome is Outcome.DONE
    await reach(world, tid, Situation.DONE)
    final = await world.database.tenants.allocations(tid)
    assert [a for a in final if a.kind in ("storage", "identity")] == held
    assert len(final) == 4 and len({a.kind for a in final}) == 4
    allocated = [e for e in await world.database.tenants.events(tid, 100) if e.type.endswith(".allocated")]
    assert len(allocated) == 4


async def test_retry_while_the_old_run_is_live_is_refused_with_reset_first(world: Runtime, tid: str) -> None:
    await wedged(world, tid, "hang@2")
    result = await world.service.act(Action.RETRY, tid, "U1")
    assert result.outcome is Outcome.REFUSED and result.message.startswith("Reset first")
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None
    from dataclasses import replace

    with pytest.raises(RunAlreadyLive, match="Reset first"):
        await world.engine.start(tid, replace(tenant.handle, workflow_id=f"provision-{tid}-2", attempt=2))


async def test_a_retry_pressed_the_moment_a_run_fails_cleanly_starts_the_next_attempt(world: Runtime, tid: str) -> None:
    # The saga records "failed" just before its workflow closes; a Retry in that instant must not be told
    # "Reset first" (failed cleanly allows Retry only). Three tenants, to hit that instant every time.
    tenants = [await provision(world, f"{tid}-{n}", "fail@1") for n in range(3)]

    async def retry_once_failed(tenant_id: str) -> str:
        while (tenant := await world.database.tenants.get(tenant_id)) is None or tenant.state is not TenantState.FAILED:
            await asyncio.sleep(0.005)
        return (await world.service.act(Action.RETRY, tenant_id, "U1")).message

    assert await asyncio.gather(*map(retry_once_failed, tenants)) == ["retried"] * 3
    for tenant_id in tenants:
        await reach(world, tenant_id, Situation.DONE)


async def test_cancel_runs_the_compensation_chain_and_releases_everything(world: Runtime, tid: str) -> None:
    await provision(world, tid, "slow@4")
    await reach(world, tid, Situation.SLOW_BUT_ALIVE)
    assert len(await world.database.tenants.allocations(tid)) == 3
    result = await world.service.act(Action.CANCEL, tid, "U1")
    assert result.outcome is Outcome.DONE
    await reach(world, tid, Situation.CANCELLED)
    assert await world.database.tenants.allocations(tid) == []
    types = event_types(await world.database.tenants.events(tid, 100))
    assert types.count("released") == 3 and types[-1] == "cancel_completed"


async def test_decommission_leaves_no_allocation(world: Runtime, tid: str) -> None:
    await wedged(world, tid, "hang@3")
    await world.service.act(Action.RESET, tid, "U1")
    assert len(await world.database.tenants.allocations(tid)) == 2
    result = await world.service.act(Action.DECOMMISSION, tid, "U1")
    assert result.outcome is Outcome.DONE
    await reach(world, tid, Situation.DONE)
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.state is TenantState.DECOMMISSIONED
    assert await world.database.tenants.allocations(tid) == []


async def test_a_reset_run_that_resumes_cannot_write_and_is_audited(world: Runtime, tid: str) -> None:
    await wedged(world, tid, "hang@3")
    assert (await world.service.act(Action.RESET, tid, "U1")).outcome is Outcome.DONE
    before = await world.database.tenants.get(tid)
    # The old run's worker wakes up (a long GC pause, a partition healing) and runs its step again.
    reporter = RunReporter(world.database.tenants, clock=utcnow)
    activities = ProvisioningActivities(reporter, step_time=timedelta(0), heartbeat_every=timedelta(seconds=1))
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activities.run_step, StepInput(RunRef(tid, f"provision-{tid}-1", 1), 3))
    assert refused.value.type == "Fenced" and refused.value.non_retryable
    assert await world.database.tenants.get(tid) == before
    assert [a.kind for a in await world.database.tenants.allocations(tid)] == ["storage", "identity"]
    rejected = (await world.database.tenants.events(tid, 1))[0]
    assert rejected.type.endswith("write_rejected") and rejected.details["run"] == f"provision-{tid}-1"


async def test_a_cancel_whose_compensation_keeps_failing_is_wedged_and_reset_frees_it(world: Runtime, tid: str) -> None:
    await provision(world, tid, "jam@3")
    await reach(world, tid, Situation.SLOW_BUT_ALIVE)
    assert (await world.service.act(Action.CANCEL, tid, "U1")).outcome is Outcome.DONE
    await reach(world, tid, Situation.WEDGED_WINDING_DOWN)
    view = await world.service.view(tid)
    assert view.tenant.state is TenantState.CANCELLING and view.assessment.allowed == (Action.RESET,)
    assert "release_step retrying" in view.assessment.reason and "resource locked" in view.assessment.reason

    assert (await world.service.act(Action.RESET, tid, "U1")).outcome is Outcome.DONE
    await reach(world, tid, Situation.PENDING_CLEAN)
    assert sorted(a.kind for a in await world.database.tenants.allocations(tid)) == ["identity", "storage"]


async def test_a_cancel_the_engine_accepted_is_done_even_with_a_short_engine_timeout(
    temporal_address: str, tmp_path: Path, tid: str
) -> None:
    settings = world_settings(tmp_path, temporal_address, engine_timeout=timedelta(seconds=1.5))
    async with runtime(settings, worker=True) as rt:
        await provision(rt, tid, "jam@3")  # its compensation never finishes: the run stays running
        await reach(rt, tid, Situation.SLOW_BUT_ALIVE)
        result = await rt.service.act(Action.CANCEL, tid, "U1")
        assert result.outcome is Outcome.DONE, result.message
        await reach(rt, tid, Situation.WEDGED_WINDING_DOWN)
