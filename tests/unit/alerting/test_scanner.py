"""Alert episodes of the scan tick (the world they run in: tests/unit/scan_world.py; finding the wedged
tenants is tests/unit/test_wedged.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.decisions import Situation
from core.domain import Action, ActionClaim, RunObservation, RunStatus
from tests.fakes import at
from tests.unit.scan_world import World


async def alerted_then_pressed(world: World, pressed_at: datetime) -> None:
    """A stuck tenant, alerted; then Reset is pressed on it and not finished yet (its claim is on the row)."""
    await world.tenant("stuck")
    await world.scanner().tick()
    tenant = world.store.tenants["stuck"]
    world.store.tenants["stuck"] = tenant.updated(claim=ActionClaim(Action.RESET, "U123", pressed_at))


class TestAlertEpisodes:
    async def test_a_wedged_tenant_is_alerted_once_across_ticks(self, world: World) -> None:
        await world.tenant("stuck")
        for _ in range(3):
            await world.scanner().tick()
        assert world.slack.sent == [("post", "stuck")]
        assert world.store.types("stuck") == ["alert_opened"]

    async def test_a_replica_that_cannot_take_the_lease_does_not_scan(self, world: World) -> None:
        await world.tenant("stuck")
        assert await world.leases.try_lock("scan", "replica-2", now=world.now, ttl=timedelta(minutes=1))
        report = await world.scanner("replica-1").tick()
        assert not report.ran and world.slack.sent == []

    async def test_a_tick_that_loses_its_lease_stops_before_its_next_slack_call(self, world: World) -> None:
        for i in range(3):
            await world.tenant(f"t{i}")
        leases, post = world.leases, world.slack.post_alert

        async def taken_over(alert):  # type: ignore[no-untyped-def]
            await leases.unlock("scan", "replica-1")  # the lease expired and another replica took it
            await leases.try_lock("scan", "replica-2", now=world.now, ttl=timedelta(minutes=5))
            return await post(alert)

        world.slack.post_alert = taken_over  # type: ignore[method-assign]
        report = await world.scanner().tick()
        assert report.lease_lost and world.slack.kinds() == ["post"]

    async def test_an_alert_that_could_not_be_posted_is_posted_on_a_later_tick(self, world: World) -> None:
        await world.tenant("stuck")
        world.slack.fail_next = 1
        first = await world.scanner().tick()
        second = await world.scanner().tick()
        assert (first.unposted, second.posted) == (1, 1)
        assert world.slack.sent == [("post", "stuck")]

    async def test_many_new_episodes_in_one_tick_become_one_digest(self, world: World) -> None:
        for i in range(6):
            await world.tenant(f"t{i}")
        await world.scanner().tick()
        assert world.slack.sent == [("digest", "t0,t1,t2,t3,t4,t5")]

    async def test_a_changed_situation_updates_the_alert_in_place(self, world: World) -> None:
        tenant = await world.tenant("stuck")
        await world.scanner().tick()
        world.engine.set(tenant.handle, RunObservation(RunStatus.TERMINATED))
        await world.scanner().tick()
        assert world.slack.sent == [("post", "stuck"), ("update", "stuck")]

    async def test_an_alert_is_resolved_with_what_moved_the_tenant(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        world.now += timedelta(minutes=1)
        await world.move("stuck")
        report = await world.scanner().tick()
        assert report.resolved == 1
        assert world.slack.sent[-2:] == [("update", "stuck"), ("reply", "stuck: Resolved: reset_completed by U123.")]
        assert world.store.audit[-1].actor == "U123"
        assert await world.alerts.open_alerts() == []

    async def test_an_alert_stays_open_while_an_action_on_its_tenant_is_unfinished_and_says_so(
        self, world: World
    ) -> None:
        await alerted_then_pressed(world, at(31, 5))
        for minute in (32, 40):  # also once the claim has outlived ACTION_LEASE: a crash left it, recovery settles it
            world.now = at(minute)
            report = await world.scanner().tick()
            assert report.resolved == 0
            [alert] = await world.alerts.open_alerts()
            assert (alert.situation, alert.reason) == (
                Situation.ACTION_RUNNING,
                "Reset under way (by U123 since 12:31 UTC)",
            )
        assert world.slack.sent == [("post", "stuck"), ("update", "stuck")]  # edited once, not every tick

    async def test_an_alert_kept_open_by_an_action_is_resolved_once_the_action_ends_and_the_tenant_moved(
        self, world: World
    ) -> None:
        await alerted_then_pressed(world, at(31))
        world.now = at(31, 1)
        await world.scanner().tick()
        await world.move("stuck")  # the Reset's outcome: claim released, pending, reset_completed
        world.store.tenants["stuck"] = world.store.tenants["stuck"].updated(claim=None)
        report = await world.scanner().tick()
        assert report.resolved == 1 and await world.alerts.open_alerts() == []
        assert world.slack.sent[-1] == ("reply", "stuck: Resolved: reset_completed by U123.")

    async def test_an_alert_kept_open_by_an_action_that_failed_reads_wedged_again(self, world: World) -> None:
        await alerted_then_pressed(world, at(31))
        world.now = at(31, 1)
        await world.scanner().tick()
        world.store.tenants["stuck"] = world.store.tenants["stuck"].updated(claim=None)  # reset_failed: row as it was
        await world.scanner().tick()
        [alert] = await world.alerts.open_alerts()
        assert alert.situation is Situation.WEDGED_NO_PROGRESS
