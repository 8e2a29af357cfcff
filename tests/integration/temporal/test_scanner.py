"""The wedge scan against real runs: alerts only for the wedged, once, and resolved by a Reset."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.alerting.scanner import Scanner
from core.decisions import Situation
from core.domain import Action, RunHandle, RunStatus
from core.results import utcnow
from core.wedged import WedgeFinder
from tenantbot.bootstrap import Runtime
from tests.alert_fakes import RecordingNotifier
from tests.integration.temporal.conftest import provision, reach

pytestmark = pytest.mark.temporal


def scanner_for(world: Runtime, notifier: RecordingNotifier) -> Scanner:
    database = world.database
    finder = WedgeFinder(database.tenants, world.engine, world.settings.limits)
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
