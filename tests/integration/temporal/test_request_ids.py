"""One press followed from its request id to Temporal: the audit events, the terminate reason of the run
a Reset ended, the cancel request's reason, and the memo of the run a Retry started (a real dev server)."""

from __future__ import annotations

from typing import cast

from temporalio.api.enums.v1 import EventType

from core.adapters.temporal_engine import TemporalEngine
from core.domain import Action
from core.request_ids import request_scope
from tenantbot.bootstrap import Runtime
from tests.integration.temporal.conftest import provision, wedged


async def test_a_reset_and_a_retry_name_their_request_in_temporal_and_in_the_audit_feed(
    world: Runtime, tid: str
) -> None:
    await wedged(world, tid)
    client = cast(TemporalEngine, world.engine).client
    before = await world.database.tenants.get(tid)
    assert before is not None and before.handle is not None
    with request_scope() as reset_id:
        assert (await world.service.act(Action.RESET, tid, "U9")).outcome.value == "done"
    history = await client.get_workflow_handle(before.handle.workflow_id, run_id=before.handle.run_id).fetch_history()
    [terminated] = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]
    reason = terminated.workflow_execution_terminated_event_attributes.reason
    assert reason.endswith(f"(request {reset_id})"), reason

    with request_scope() as retry_id:
        assert (await world.service.act(Action.RETRY, tid, "U9")).outcome.value == "done"
    after = await world.database.tenants.get(tid)
    assert after is not None and after.handle is not None
    described = await client.get_workflow_handle(after.handle.workflow_id, run_id=after.handle.run_id).describe()
    assert (await described.memo())["request_id"] == retry_id

    events = {
        e.type.removeprefix("tenant.provisioning."): e.details
        for e in reversed(await world.database.tenants.events(tid, 10))  # the newest of each
    }
    assert events["reset_started"]["request_id"] == events["reset_completed"]["request_id"] == reset_id
    assert events["retry_started"]["request_id"] == events["retry_completed"]["request_id"] == retry_id


async def test_a_cancel_names_its_request_in_the_cancel_request(world: Runtime, tid: str) -> None:
    await provision(world, tid, "slow@2")
    client = cast(TemporalEngine, world.engine).client
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None
    with request_scope() as cancel_id:
        await world.service.act(Action.CANCEL, tid, "U9")
    history = await client.get_workflow_handle(tenant.handle.workflow_id, run_id=tenant.handle.run_id).fetch_history()
    requested = [
        e.workflow_execution_cancel_requested_event_attributes.cause
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    ]
    assert requested == [f"tenantbot cancel by U9 (request {cancel_id})"]  # who asked, and which request
