"""The wedge scan against real runs: alerts only for the wedged, once, and resolved by a Reset; closed runs
found by the next sweep, deleted ones at the reconcile."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

from bot.blocks.digest import digest_blocks
from core.alerting.scanner import Scanner
from core.decisions import Situation
from core.domain import Action, RunHandle, RunStatus
from core.results import utcnow
from core.wedged import WedgeFinder
from tenantbot.bootstrap import Runtime
from tests.alert_fakes import RecordingNotifier
from tests.integration.temporal.conftest import provision, reach

pytestmark = pytest.mark.temporal


def scanner_for(world: Runtime, notifier: RecordingNotifier, **finding: Any) -> Scanner:
    database = world.database
    finder = WedgeFinder(database.tenants, world.engine, world.settings.limits, **finding)
    return Scanner(
        database.tenants, database.alerts, notifier, finder, leases=database.leases, holder="test", clock=utcnow
    )


async def test_a_run_that_stops_heartbeating_is_alerted_once_and_a_slow_one_never(world: Runtime, tid: str) -> None:
    slack = RecordingNotifier()
    scanner = scanner_for(world, slack)
    hung, slow = await provision(world, f"{tid}-hung", "hang@2"), await provision(world, f"{tid}-slow", "slow@2")
    await asyncio.sleep(1)
    await scanner.tick()
    assert slack.sent == []  # not past the stuck threshold yet
    await reach(world, hung, Situation.WEDGED_NO_PROGRESS)
    await reach(world, slow, Situation.SLOW_BUT_ALIVE)
    for _ in range(3):
        await scanner.tick()
    assert slack.sent == [("post", hung)]

    assert (await world.service.act(Action.RESET, hung, "U1")).message == "reset"
    report = await scanner.tick()
    assert report.resolved == 1
    assert slack.sent[1:] == [("update", hung), ("reply", f"{hung}: Resolved: reset_completed by U1.")]


async def test_runs_gone_from_the_engine_and_runs_closed_behind_the_bots_back_are_told_apart(
    world: Runtime, tid: str
) -> None:
    orphan, closed = (
        await provision(world, f"{tid}-orphan", "orphan@2"),
        await provision(world, f"{tid}-closed", "hang@2"),
    )
    tenant = await world.database.tenants.get(closed)
    assert tenant is not None and tenant.handle is not None
    await world.engine.terminate(tenant.handle, reason="test: terminated in the Temporal UI")
    await reach(world, orphan, Situation.WEDGED_ORPHANED)
    await reach(world, closed, Situation.WEDGED_ENGINE_CLOSED)
    finder = WedgeFinder(
        world.database.tenants, world.engine, world.settings.limits, describe_budget=0, visibility_grace=timedelta(0)
    )
    for _ in range(20):  # visibility catches up with the terminate within a second or so
        wedged = (await finder.sweep(utcnow())).wedged
        if closed in wedged and wedged[closed].situation is Situation.WEDGED_ENGINE_CLOSED:
            break
        await asyncio.sleep(0.25)
    assert wedged[orphan].situation is Situation.WEDGED_ORPHANED
    assert wedged[closed].situation is Situation.WEDGED_ENGINE_CLOSED and "terminated" in wedged[closed].reason


async def test_run_statuses_lists_open_and_closed_runs_in_one_call_and_omits_unknown_ones(
    world: Runtime, tid: str
) -> None:
    live = await provision(world, f"{tid}-live", "slow@2")
    tenant = await world.database.tenants.get(live)
    assert tenant is not None and tenant.handle is not None
    unknown = RunHandle(f"provision-{tid}-never-1", 1)
    for _ in range(20):
        statuses = await world.engine.run_statuses([tenant.handle, unknown])
        if statuses:
            break
        await asyncio.sleep(0.25)
    assert statuses == {tenant.handle.workflow_id: RunStatus.RUNNING}


async def test_closed_since_lists_only_runs_closed_after_the_time_and_count_running_counts_the_running(
    world: Runtime, tid: str
) -> None:
    live, closed = await provision(world, f"{tid}-live", "slow@2"), await provision(world, f"{tid}-closed", "slow@2")
    handles = {t: (await handle_of(world, t)) for t in (live, closed)}
    before = utcnow()
    await world.engine.terminate(handles[closed], reason="test")
    unknown = RunHandle(f"provision-{tid}-never-1", 1)
    for _ in range(60):  # visibility catches up within a second or so (more on a loaded machine)
        found = {run.workflow_id: run for run in await world.engine.closed_since(before - timedelta(seconds=1))}
        if handles[closed].workflow_id in found:
            break
        await asyncio.sleep(0.25)
    run = found[handles[closed].workflow_id]
    assert (run.run_id, run.status) == (handles[closed].run_id, RunStatus.TERMINATED)
    assert handles[live].workflow_id not in found
    assert await world.engine.closed_since(utcnow() + timedelta(minutes=1)) == []
    assert await world.engine.count_running([handles[live], handles[closed], unknown]) == 1


class Recording:
    """The engine, noting the name of every call made to it."""

    def __init__(self, engine: object) -> None:
        self.engine, self.calls = engine, Counter[str]()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.engine, name)

        async def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return recorded


def healthy_looking(world: Runtime, engine: Recording, **options: Any) -> WedgeFinder:
    """A finder for which a row that stepped within ten minutes looks healthy (the world's own STUCK_AFTER
    is 3 s, so that the other tests reach their situations quickly)."""
    limits = replace(world.settings.limits, stuck_after=timedelta(minutes=10))
    return WedgeFinder(world.database.tenants, engine, limits, **options)  # type: ignore[arg-type]


async def handle_of(world: Runtime, tenant_id: str) -> RunHandle:
    tenant = await world.database.tenants.get(tenant_id)
    assert tenant is not None and tenant.handle is not None
    return tenant.handle


async def test_a_run_terminated_behind_the_bots_back_under_a_healthy_row_is_found_by_the_next_sweep(
    world: Runtime, tid: str
) -> None:
    healthy = await provision(world, f"{tid}-healthy", "slow@2")
    engine = Recording(world.engine)
    finder = healthy_looking(world, engine)
    assert healthy not in (await finder.sweep(utcnow())).wedged  # the first sweep reconciles
    await world.engine.terminate(await handle_of(world, healthy), reason="test: terminated in the Temporal UI")
    engine.calls.clear()
    for _ in range(60):  # visibility catches up with the terminate within a second or so (more under load)
        sweep = await finder.sweep(utcnow())
        if healthy in sweep.wedged:
            break
        await asyncio.sleep(0.25)
    assert healthy in sweep.wedged, (await world.service.view(healthy)).assessment
    assert sweep.wedged[healthy].situation is Situation.WEDGED_ENGINE_CLOSED
    assert "terminated" in sweep.wedged[healthy].reason
    assert set(engine.calls) == {"closed_since"}, engine.calls  # no census, no reconcile, no describe
    assert not sweep.reconciled


async def test_a_run_deleted_under_a_healthy_row_is_found_at_the_reconcile(world: Runtime, tid: str) -> None:
    healthy = await provision(world, f"{tid}-gone", "slow@2")
    every = timedelta(seconds=3)
    finder = healthy_looking(world, Recording(world.engine), reconcile_every=every, visibility_grace=timedelta(0))
    await finder.sweep(utcnow())
    handle = await handle_of(world, healthy)
    client = world.engine.client  # type: ignore[attr-defined]
    await client.workflow_service.delete_workflow_execution(  # as a cluster reset or a clean-up would
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.workflow_id, run_id=handle.run_id or ""),
        )
    )
    between = await finder.sweep(utcnow())
    assert not between.reconciled and healthy not in between.wedged  # a deleted run never shows as closed
    await asyncio.sleep(every.total_seconds())
    for _ in range(30):  # the deletion reaches visibility within a second or so (more under load)
        sweep = await finder.sweep(utcnow())
        if healthy in sweep.wedged:
            break
        await asyncio.sleep(0.5)
    assert healthy in sweep.wedged, (await world.service.view(healthy)).assessment
    assert sweep.wedged[healthy].situation is Situation.WEDGED_ORPHANED and sweep.reconciled


async def test_a_digest_of_real_wedged_runs_groups_them_by_cause(world: Runtime, tid: str) -> None:
    slack = RecordingNotifier()
    scanner = scanner_for(world, slack, visibility_grace=timedelta(0))  # the runs were just started, and lost
    lost = [await provision(world, f"{tid}-net{i}", "hang@3") for i in range(5)]
    lost.append(await provision(world, f"{tid}-gone", "orphan"))
    for tenant_id in lost[:5]:
        await reach(world, tenant_id, Situation.WEDGED_NO_PROGRESS)
    await reach(world, lost[5], Situation.WEDGED_ORPHANED)
    await scanner.tick()
    alerts = await world.database.alerts.open_alerts()
    assert [kind for kind, _ in slack.sent] == ["digest"] and {a.tenant_id for a in alerts} == set(lost)
    digest_id = alerts[0].digest_id
    assert digest_id is not None
    digest = await world.database.alerts.digest(digest_id)
    assert digest is not None
    shown = json.dumps(
        [b.to_dict() for b in digest_blocks(digest, await world.database.alerts.digest_members(digest_id))]
    )
    assert "*By cause:* 5 hung at `configure_network`; 1 orphaned" in shown
