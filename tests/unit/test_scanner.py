"""Wedge detection and alert episodes against in-memory fakes (the real store and Slack are tested elsewhere)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.decisions import Limits
from core.domain import RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.scanner import Scanner
from core.wedged import WedgeFinder
from tests.fakes import FakeEngine, InMemoryAlerts, InMemoryStore, RecordingNotifier, at


class World:
    def __init__(self) -> None:
        self.now = at(30)
        self.store, self.engine = InMemoryStore(), FakeEngine()
        self.alerts, self.slack = InMemoryAlerts(), RecordingNotifier()
        self.finder = WedgeFinder(self.store, self.engine, Limits(), describe_budget=3)

    def scanner(self, holder: str = "replica-1") -> Scanner:
        return Scanner(self.store, self.alerts, self.slack, self.finder, holder=holder, clock=lambda: self.now)

    async def tenant(self, tenant_id: str, *, stuck: bool = True, known: bool = True) -> Tenant:
        handle = provisioning_handle(tenant_id, 1)
        progress = at(10) if stuck else at(29)
        tenant = Tenant(tenant_id, TenantState.PROVISIONING, at(0), handle=handle, attempt=1, last_progress_at=progress)
        await self.store.add(tenant, [])
        if known:
            self.engine.set(handle, RunObservation(RunStatus.RUNNING, "seed_data", 1, progress, timedelta(seconds=60)))
        return tenant

    def described(self) -> int:
        return len([c for c in self.engine.calls if c[0] == "describe"])


@pytest.fixture
def world() -> World:
    return World()


class TestWedgeFinder:
    async def test_only_suspicious_runs_are_described(self, world: World) -> None:
        await world.tenant("busy", stuck=False)
        await world.tenant("stuck")
        sweep = await world.finder.sweep(world.now)
        assert list(sweep.wedged) == ["stuck"]
        assert world.described() == 1
        assert [c for c in world.engine.calls if c[0] == "list_running"] == [("list_running", "*")]

    async def test_a_mass_wedge_costs_one_listing_and_a_bounded_number_of_describes(self, world: World) -> None:
        for i in range(40):
            await world.tenant(f"t{i}", known=False)
        sweep = await world.finder.sweep(world.now)
        assert len(sweep.wedged) == 40
        assert world.described() == 3

    async def test_a_freshly_started_run_missing_from_the_listing_is_not_flagged(self, world: World) -> None:
        await world.tenant("fresh", stuck=False, known=False)
        world.finder.describe_budget, world.now = 0, at(29, 10)
        assert (await world.finder.sweep(world.now)).wedged == {}


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
        assert [kind for kind, _ in world.slack.sent] == ["digest"]

    async def test_a_changed_situation_updates_the_alert_in_place(self, world: World) -> None:
        tenant = await world.tenant("stuck")
        await world.scanner().tick()
        world.engine.set(tenant.handle, RunObservation(RunStatus.TERMINATED))
        await world.scanner().tick()
        assert world.slack.sent == [("post", "stuck"), ("update", "stuck")]

    async def test_an_alert_is_resolved_with_what_moved_the_tenant(self, world: World) -> None:
        tenant = await world.tenant("stuck")
        await world.scanner().tick()
        world.now += timedelta(minutes=1)
        from core.domain import AuditEvent

        await world.store.save(
            tenant.updated(version=1, state=TenantState.PENDING, handle=None),
            [AuditEvent("stuck", "tenant.provisioning.reset_completed", "U123", world.now)],
        )
        report = await world.scanner().tick()
        assert report.resolved == 1
        assert world.slack.sent[-2:] == [("update", "stuck"), ("reply", "stuck: Resolved: reset_completed by U123.")]
        assert world.store.audit[-1].actor == "U123"
        assert await world.alerts.open_alerts() == []

    async def test_a_snoozed_alert_reminds_once_the_snooze_runs_out(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        [alert] = await world.alerts.open_alerts()
        assert alert.id is not None
        await world.scanner().snooze(alert.id, world.now + timedelta(minutes=5), "U9")
        await world.scanner().tick()
        world.now += timedelta(minutes=6)
        await world.scanner().tick()
        kinds = [kind for kind, _ in world.slack.sent]
        assert kinds == ["post", "update", "reply"]
        assert "alert_snoozed" in world.store.types("stuck")
