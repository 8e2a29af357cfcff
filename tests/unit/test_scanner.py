"""Wedge detection and alert episodes (the world they run in: tests/unit/scan_world.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.decisions import Limits, Situation
from core.domain import Action, ActionClaim, RunObservation, RunStatus, TenantState
from tests.fakes import at
from tests.unit.scan_world import World


class TestWedgeFinder:
    async def test_only_suspicious_runs_are_described(self, world: World) -> None:
        await world.tenant("busy", stuck=False)
        await world.tenant("stuck")
        sweep = await world.finder.sweep(world.now)
        assert list(sweep.wedged) == ["stuck"]
        assert (world.calls("describe"), world.calls("list_running")) == (1, 1)

    async def test_runs_missing_from_the_listing_are_told_apart_by_one_visibility_call(self, world: World) -> None:
        for i in range(40):
            await world.tenant(f"gone{i}", known=False)
        for i in range(10):
            closed = await world.tenant(f"closed{i}")
            world.engine.set(closed.handle, RunObservation(RunStatus.TERMINATED))
        sweep = await world.finder.sweep(world.now)
        situations = {tenant_id: a.situation for tenant_id, a in sweep.wedged.items()}
        assert [situations[f"gone{i}"] for i in range(40)] == [Situation.WEDGED_ORPHANED] * 40
        assert [situations[f"closed{i}"] for i in range(10)] == [Situation.WEDGED_ENGINE_CLOSED] * 10
        assert "terminated" in sweep.wedged["closed0"].reason
        assert (world.calls("list_running"), world.calls("run_statuses"), world.calls("describe")) == (1, 1, 0)

    async def test_a_freshly_started_run_missing_from_the_listing_is_not_flagged(self, world: World) -> None:
        await world.tenant("fresh", stuck=False, known=False)
        world.finder.describe_budget, world.now = 0, at(29, 10)
        assert (await world.finder.sweep(world.now)).wedged == {}

    async def test_a_cancel_whose_run_closed_is_found_like_any_in_flight_state(self, world: World) -> None:
        cancelling = await world.tenant("cancelling", state=TenantState.CANCELLING)
        world.engine.set(cancelling.handle, RunObservation(RunStatus.TERMINATED))
        sweep = await world.finder.sweep(world.now)
        assert sweep.wedged["cancelling"].situation is Situation.WEDGED_ENGINE_CLOSED

    async def test_a_stable_wedge_is_described_once_not_every_tick(self, world: World) -> None:
        await world.tenant("stuck")
        for minute in range(3):
            world.now = at(30, minute * 20)
            assert list((await world.finder.sweep(world.now)).wedged) == ["stuck"]
        assert world.calls("describe") == 1

    async def test_a_kept_answer_is_asked_again_when_the_row_changes_or_it_is_old(self, world: World) -> None:
        stuck = await world.tenant("stuck")
        await world.finder.sweep(world.now)
        await world.store.save(stuck.updated(version=1, error="disk full"), [])
        await world.finder.sweep(world.now)
        world.now += world.finder.describe_ttl
        await world.finder.sweep(world.now)
        assert world.calls("describe") == 3

    async def test_describes_are_bounded_per_tick_and_reach_every_suspect_in_turn(self, world: World) -> None:
        for i in range(7):
            await world.tenant(f"t{i}")
        described = []
        for _ in range(3):
            before = [c[1] for c in world.engine.calls if c[0] == "describe"]
            await world.finder.sweep(world.now)
            described.append(len([c for c in world.engine.calls if c[0] == "describe"]) - len(before))
        assert described == [3, 3, 1]

    async def test_an_error_only_the_engine_sees_is_found_once_the_row_stops_progressing(self, world: World) -> None:
        failing = await world.tenant("failing", stuck=False)
        bug = RunObservation(RunStatus.RUNNING, workflow_task_attempt=4, last_failure="RuntimeError: bug")
        world.engine.set(failing.handle, bug)
        assert (await world.finder.sweep(world.now)).wedged == {}  # steps still completing: not described
        world.now += Limits().stuck_after
        assert world.finder and (await world.finder.sweep(world.now)).wedged["failing"].situation is (
            Situation.WEDGED_ERROR
        )


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
        assert await world.alerts.try_lock("scan", "replica-2", now=world.now, ttl=timedelta(minutes=1))
        report = await world.scanner("replica-1").tick()
        assert not report.ran and world.slack.sent == []

    async def test_a_tick_that_loses_its_lease_stops_before_its_next_slack_call(self, world: World) -> None:
        for i in range(3):
            await world.tenant(f"t{i}")
        alerts, post = world.alerts, world.slack.post_alert

        async def taken_over(alert):  # type: ignore[no-untyped-def]
            await alerts.unlock("scan", "replica-1")  # the lease expired and another replica took it
            await alerts.try_lock("scan", "replica-2", now=world.now, ttl=timedelta(minutes=5))
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
            assert (alert.situation, alert.reason) == ("action_running", "Reset under way (by U123 since 12:31 UTC)")
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
        assert alert.situation == "wedged_no_progress"
