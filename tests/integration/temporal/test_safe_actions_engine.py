"""Safe actions on real runs of the dev server: a press that carries what its card showed is refused once the
tenant moved on to another attempt (which keeps running), and the reason an operator gives reaches both the
audit feed and Temporal's own history (the terminate reason of a Reset, the cancel request's cause)."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from core.decisions import Situation
from core.domain import Action, RunHandle, RunStatus, TenantState
from core.results import Outcome
from core.seen import Seen
from tenantbot.bootstrap import Runtime
from tests.integration.temporal.conftest import provision, reach, wedged

pytestmark = pytest.mark.temporal


async def shown(rt: Runtime, tenant_id: str) -> Seen:
    """What a card drawn now shows."""
    view = await rt.service.view(tenant_id)
    return Seen.of(view.tenant, view.assessment.situation, view.at)


async def history_event(address: str, handle: RunHandle, kind: EventType.ValueType) -> object:
    client = await Client.connect(address)
    async for event in client.get_workflow_handle(handle.workflow_id, run_id=handle.run_id).fetch_history_events():
        if event.event_type == kind:
            return event
    raise AssertionError(f"no {EventType.Name(kind)} in the history of {handle.workflow_id}")


async def test_a_stale_cancel_after_reset_and_retry_is_refused_and_attempt_2_keeps_running(
    world: Runtime, tid: str
) -> None:
    await wedged(world, tid)
    old = await shown(world, tid)  # a card of attempt 1, wedged
    reset = await world.service.act(Action.RESET, tid, "U9", seen=await shown(world, tid), reason="hung at step 3")
    retry = await world.service.act(Action.RETRY, tid, "U9", seen=await shown(world, tid))
    assert (reset.outcome, retry.outcome) == (Outcome.DONE, Outcome.DONE), (reset.message, retry.message)
    stale = await world.service.act(Action.CANCEL, tid, "U1", seen=old, reason="abort it")
    assert stale.outcome is Outcome.REFUSED and stale.stale is not None
    assert stale.message.startswith("this card is out of date: since") and "U9 reset and retried" in stale.message
    assert "attempt 2 is" in stale.message
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.attempt == 2 and tenant.handle is not None
    assert tenant.state in (TenantState.PENDING, TenantState.PROVISIONING)
    assert (await world.engine.describe(tenant.handle)).status is RunStatus.RUNNING  # attempt 2 was not cancelled
    refused = (await world.database.tenants.events(tid, 1))[0]
    assert (
        refused.type.endswith("action_refused") and refused.actor == "U1" and "out of date" in refused.details["reason"]
    )


async def test_the_reason_of_a_reset_is_in_the_audit_feed_and_is_temporals_terminate_reason(
    world: Runtime, tid: str, temporal_address: str
) -> None:
    await wedged(world, tid)
    handle = (await world.database.tenants.get(tid)).handle  # type: ignore[union-attr]
    assert handle is not None and handle.run_id is not None
    reason = "hung at step 3 since the storage failover"
    result = await world.service.act(Action.RESET, tid, "U9", seen=await shown(world, tid), reason=reason)
    assert result.outcome is Outcome.DONE, result.message
    started = next(e for e in await world.database.tenants.events(tid, 10) if e.type.endswith("reset_started"))
    assert started.details["reason"] == reason
    event = await history_event(temporal_address, handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
    terminated = event.workflow_execution_terminated_event_attributes  # type: ignore[attr-defined]
    assert terminated.reason == f"tenantbot reset by U9: {reason}"


async def test_the_reason_of_a_cancel_is_the_cause_temporal_records_with_the_cancel_request(
    world: Runtime, tid: str, temporal_address: str
) -> None:
    await provision(world, tid, "slow@3")
    await reach(world, tid, Situation.MAKING_PROGRESS)
    handle = (await world.database.tenants.get(tid)).handle  # type: ignore[union-attr]
    assert handle is not None
    result = await world.service.act(Action.CANCEL, tid, "U3", seen=await shown(world, tid), reason="wrong region")
    assert result.outcome is Outcome.DONE, result.message
    event = await history_event(temporal_address, handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    requested = event.workflow_execution_cancel_requested_event_attributes  # type: ignore[attr-defined]
    assert requested.cause == "tenantbot cancel by U3: wrong region"
