"""Auto-recovery on the real dev server: with AUTO_RECOVER=wedged_orphaned, the scan tick of a runtime built
by the composition root starts one Reset and Retry batch for the orphaned tenants (their runs deleted, as a
cluster reset does) within AUTO_RECOVER_MAX, announces it once, and the batch resets and retries each member
once; the next ticks start nothing more (the cap and the day's members hold)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core import events as ev
from core.auto_recovery import ACTOR
from core.batches import BatchStatus, Kind, MemberStatus
from core.decisions import Situation
from core.domain import Action
from core.wedged import WedgeFinder
from tenantbot.bootstrap import Runtime, runtime, unlinked
from tenantbot.scheduler import ScanSchedule
from tests.alert_fakes import RecordingNotifier
from tests.integration.temporal.conftest import world_settings
from tests.integration.temporal.test_batches import ONE_EACH, action_counts, orphans

pytestmark = pytest.mark.temporal
CAP = 3
ZERO = timedelta(0)


@pytest.fixture
def slack() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def auto_world(temporal_address: str, tmp_path: Path, slack: RecordingNotifier) -> AsyncIterator[Runtime]:
    settings = world_settings(
        tmp_path, temporal_address, auto_recover="wedged_orphaned", auto_recover_max=CAP, alert_channel="C0ALERTS"
    )
    async with runtime(settings, worker=True, notifier=unlinked(slack)) as rt:
        assert rt.scanner is not None  # the scan serve runs, with its auto-recovery, from the composition root
        # the runs were just started, and lost: no visibility grace, or the sweep would wait minutes for them
        rt.scanner.finder = WedgeFinder(rt.database.tenants, rt.engine, rt.settings.limits, visibility_grace=ZERO)
        yield rt


async def test_a_scan_starts_one_batch_for_the_orphans_within_the_cap_and_it_recovers_them(
    auto_world: Runtime, slack: RecordingNotifier, tid: str
) -> None:
    rt = auto_world
    assert rt.scanner is not None
    ids = await orphans(rt, tid, CAP + 1)

    report = await rt.scanner.tick()

    assert report.auto_batches == 1
    [batch] = await rt.database.batches.running()
    members = [m.tenant_id for m in await rt.database.batches.members(batch.id)]
    assert (batch.kind, batch.created_by, batch.situation) == (Kind.RESET_RETRY, ACTOR, Situation.WEDGED_ORPHANED)
    assert members == sorted(ids)[:CAP]  # the cap holds: the last orphan is left for tomorrow or a human
    assert "automatic" in batch.reason and "wedged_orphaned" in batch.reason
    assert [s for s in slack.sent if s[0] == "announce_batch"] == [
        ("announce_batch", f"batch {batch.id}: {CAP} reset-retry, 0 left")
    ]
    assert (await rt.scanner.tick()).auto_batches == 0  # its members are in a running batch; the cap is used up

    ended = await rt.batches.run(batch.id)

    assert ended is not None and ended.status is BatchStatus.FINISHED and ended.count(MemberStatus.DONE) == CAP
    for t in members:
        assert await action_counts(rt, t) == ONE_EACH  # one reset pair and one new attempt each
        reset = next(e for e in await rt.database.tenants.events(t, 100) if e.type == ev.started(Action.RESET))
        assert (reset.actor, reset.details["batch"]) == (ACTOR, batch.id)
    assert (await rt.scanner.tick()).auto_batches == 0  # within the day: the cap still holds
    assert len(await rt.database.batches.recent(10)) == 1
    assert [k for k in slack.kinds() if k == "announce_batch"] == ["announce_batch"]


async def test_serves_schedule_recovers_orphans_with_nobody_pressing_anything(auto_world: Runtime, tid: str) -> None:
    rt = auto_world
    assert rt.scanner is not None
    ids = await orphans(rt, tid, 2)
    schedule = ScanSchedule(rt.scanner, timedelta(seconds=1), batches=rt.batches).start()
    try:
        for _ in range(120):  # the tick starts the batch, the batch job runs it
            batches = await rt.database.batches.recent(5)
            if batches and batches[0].status is not BatchStatus.RUNNING:
                break
            await asyncio.sleep(0.25)
    finally:
        await schedule.stop()
    [batch] = batches
    assert (batch.created_by, batch.status, batch.count(MemberStatus.DONE)) == (ACTOR, BatchStatus.FINISHED, 2)
    for t in ids:
        assert await action_counts(rt, t) == ONE_EACH
