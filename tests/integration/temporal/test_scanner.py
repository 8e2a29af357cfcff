"""The wedge scan against real runs: alerts only for the wedged, once, and resolved by a Reset."""

from __future__ import annotations

import asyncio

import pytest

from core.decisions import Situation
from core.domain import Action
from core.results import utcnow
from core.scanner import Scanner
from core.wedged import WedgeFinder
from tenantbot.bootstrap import Runtime
from tests.fakes import RecordingNotifier
from tests.integration.temporal.conftest import provision, reach

pytestmark = pytest.mark.temporal


def scanner_for(world: Runtime, notifier: RecordingNotifier) -> Scanner:
    finder = WedgeFinder(world.store, world.engine, world.settings.limits)
    return Scanner(world.store, world.alerts, notifier, finder, holder="test", clock=utcnow)


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
