"""Keeping the alert channel true: digests re-rendered as a whole, edits and replies retried until Slack
takes them, reasons refreshed, and the console scan as a dry run (snoozes: test_controls.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.alerting.ports import NotifyError
from core.alerting.scanner import Scanner
from core.domain import RunObservation, RunStatus
from tenantbot.console_notifier import ConsoleNotifier
from tests.unit.scan_world import World, wedge


class TestDigests:
    async def test_a_member_that_changes_re_renders_the_digest_never_one_alert_over_it(self, world: World) -> None:
        await wedge(world, 6)
        await world.scanner().tick()
        world.engine.set(world.store.tenants["t002"].handle, RunObservation(RunStatus.TERMINATED))
        await world.scanner().tick()
        assert world.slack.sent[1:] == [("update_digest", "6/6")]

    async def test_a_mass_resolution_is_one_digest_edit_and_one_thread_reply(self, world: World) -> None:
        await wedge(world, 200)
        await world.scanner().tick()
        for i in range(200):
            await world.move(f"t{i:03d}")
        report = await world.scanner().tick()
        assert report.resolved == 200
        assert world.slack.kinds() == ["digest", "update_digest", "reply"]
        assert world.slack.sent[1] == ("update_digest", "0/200")
        reply = world.slack.sent[2][1]
        assert reply.startswith("digest: • t000 resolved: reset_completed by U123") and "more" in reply
        assert len(reply) < 3000

    async def test_a_digest_keeps_its_resolved_count_as_members_resolve_tick_by_tick(self, world: World) -> None:
        await wedge(world, 6)
        await world.scanner().tick()
        await world.move("t001")
        await world.scanner().tick()
        await world.move("t004")
        await world.scanner().tick()
        assert [s for s in world.slack.sent if s[0] == "update_digest"] == [
            ("update_digest", "5/6"),
            ("update_digest", "4/6"),
        ]


class TestRetries:
    async def test_a_failed_edit_and_reply_are_sent_on_a_later_tick(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        await world.move("stuck")
        world.slack.fail_next = 1
        await world.scanner().tick()
        assert world.slack.kinds() == ["post"]
        await world.scanner().tick()
        await world.scanner().tick()
        assert world.slack.kinds() == ["post", "update", "reply"]

    async def test_a_reply_that_fails_after_its_edit_went_through_is_sent_alone(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        await world.move("stuck")
        update = world.slack.update_alert

        async def then_fail(alert):  # type: ignore[no-untyped-def]
            await update(alert)
            world.slack.fail_next = 1

        world.slack.update_alert = then_fail  # type: ignore[method-assign]
        await world.scanner().tick()
        await world.scanner().tick()
        assert world.slack.kinds() == ["post", "update", "reply"]

    async def test_retries_are_bounded(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        await world.move("stuck")
        world.slack.fail_next = 1000
        for _ in range(15):
            await world.scanner().tick()
        world.slack.fail_next = 0
        await world.scanner().tick()
        assert world.slack.kinds() == ["post"] and await world.alerts.undelivered() == []


class TestRefresh:
    async def test_timings_alone_refresh_the_message_only_every_so_often(self, world: World) -> None:
        await world.tenant("stuck")
        scanner = world.scanner(refresh_every=timedelta(minutes=15))
        await scanner.tick()
        for _ in range(3):
            world.now += timedelta(minutes=4)
            await scanner.tick()
        assert world.slack.kinds() == ["post"]
        world.now += timedelta(minutes=4)
        await scanner.tick()
        assert world.slack.kinds() == ["post", "update"]
        alert = await world.alerts.alert(await world.only_alert())
        assert alert is not None and "no progress for 36 min" in alert.reason

    async def test_a_reason_whose_wording_changes_is_refreshed_at_once(self, world: World) -> None:
        stuck = await world.tenant("stuck")
        await world.scanner().tick()
        await world.store.save(replace(stuck, version=1, error="disk full"), [])
        await world.scanner().tick()
        assert world.slack.kinds() == ["post", "update"]


class TestDryRun:
    async def test_the_console_scan_prints_and_leaves_posting_to_the_slack_replica(self, world: World) -> None:
        await world.tenant("stuck")
        printed: list[str] = []
        await console(world, printed).tick()
        [alert] = await world.alerts.open_alerts()
        assert printed and "ALERT stuck" in printed[0] and alert.message_ref is None
        await world.scanner().tick()
        assert world.slack.sent == [("post", "stuck")]

    async def test_a_resolution_seen_by_the_console_scan_still_reaches_slack(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        await world.move("stuck")
        printed: list[str] = []
        await console(world, printed).tick()
        assert printed == ["ALERT stuck resolved: reset_completed by U123"]
        await world.scanner().tick()
        assert world.slack.kinds() == ["post", "update", "reply"]


def console(world: World, printed: list[str]) -> Scanner:
    """`tenantbot scan` without Slack, on the same database and engine."""
    notifier = ConsoleNotifier(printed.append)
    return Scanner(
        world.store, world.alerts, notifier, world.finder, leases=world.leases, holder="cli", clock=world.clock
    )


async def test_one_alert_slack_keeps_refusing_does_not_hold_back_the_others(world: World) -> None:
    await world.tenant("first")
    await world.tenant("second")
    post = world.slack.post_alert

    async def refuse_first(alert):  # type: ignore[no-untyped-def]
        if alert.tenant_id == "first":
            raise NotifyError("Slack refused chat_postMessage: invalid_blocks")
        return await post(alert)

    world.slack.post_alert = refuse_first  # type: ignore[method-assign]
    report = await world.scanner().tick()
    assert (report.posted, report.unposted) == (1, 1) and world.slack.sent == [("post", "second")]
