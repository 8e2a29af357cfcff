"""Keeping the alert channel true: digests re-rendered as a whole, snoozes that stick, edits and replies
retried until Slack takes them, reasons refreshed, and the console scan as a dry run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.alerts import Alert
from core.domain import RunObservation, RunStatus
from core.ports import NotifyError
from core.scanner import Scanner
from core.snoozes import SnoozeOutcome
from tenantbot.console_notifier import ConsoleNotifier
from tests.unit.scan_world import World


async def wedge(world: World, count: int) -> None:
    for i in range(count):
        await world.tenant(f"t{i:03d}")


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

    async def test_a_snoozed_digest_member_is_shown_on_the_digest(self, world: World) -> None:
        await wedge(world, 6)
        await world.scanner().tick()
        member = (await world.alerts.open_alerts())[0]
        assert member.id is not None
        result = await world.scanner().snooze(member.id, "t000", world.now + timedelta(hours=1), "U8", allowed=True)
        assert result.outcome is SnoozeOutcome.SNOOZED
        assert world.slack.sent[-1] == ("update_digest", "6/6")


class TestSnoozes:
    async def test_a_snoozed_alert_reminds_and_updates_its_message_once_the_snooze_runs_out(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        until = world.now + timedelta(minutes=5)
        await world.scanner().snooze(await world.only_alert(), "stuck", until, "U9", allowed=True)
        await world.scanner().tick()
        world.now += timedelta(minutes=6)
        await world.scanner().tick()
        await world.scanner().tick()
        assert world.slack.kinds() == ["post", "update", "update", "reply"]
        assert (await world.alerts.alert(await world.only_alert())).snoozed_until is None  # type: ignore[union-attr]
        assert "alert_snoozed" in world.store.types("stuck")

    async def test_a_snooze_made_while_a_tick_posts_is_kept(self, world: World) -> None:
        first = await world.tenant("first")
        await world.scanner().tick()
        alert_id = await world.only_alert()
        world.engine.set(first.handle, RunObservation(RunStatus.TERMINATED))  # its alert will be revised
        await world.tenant("second")
        scanner, post = world.scanner(), world.slack.post_alert

        async def snoozing_meanwhile(alert):  # type: ignore[no-untyped-def]
            await scanner.snooze(alert_id, "first", world.now + timedelta(hours=1), "U8", allowed=True)
            return await post(alert)

        world.slack.post_alert = snoozing_meanwhile  # type: ignore[method-assign]
        await scanner.tick()
        after = await world.alerts.alert(alert_id)
        assert after is not None and after.snoozed_by == "U8" and after.situation == "wedged_engine_closed"

    async def test_a_snooze_on_a_stale_copy_never_reopens_a_resolved_alert(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        alert_id = await world.only_alert()
        await world.move("stuck")
        await world.scanner().tick()
        result = await world.scanner().snooze(alert_id, "stuck", world.now + timedelta(hours=1), "U8", allowed=True)
        assert result.outcome is SnoozeOutcome.ALREADY_RESOLVED
        assert result.alert is not None and result.alert.resolution == "reset_completed by U123"
        assert await world.alerts.open_alerts() == [] and "alert_snoozed" not in world.store.types("stuck")

    async def test_a_snooze_naming_another_tenant_or_by_someone_without_reset_changes_nothing(
        self, world: World
    ) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        alert_id, until = await world.only_alert(), world.now + timedelta(hours=1)
        other = await world.scanner().snooze(alert_id, "other", until, "U8", allowed=True)
        refused = await world.scanner().snooze(alert_id, "stuck", until, "U8", allowed=False)
        assert (other.outcome, refused.outcome) == (SnoozeOutcome.NOT_FOUND, SnoozeOutcome.REFUSED)
        alert = await world.alerts.alert(alert_id)
        assert alert is not None and alert.snoozed_until is None
        assert world.store.types("stuck")[-1] == "action_refused"


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
    return Scanner(
        world.store, world.alerts, ConsoleNotifier(printed.append), world.finder, holder="cli", clock=world.clock
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


async def test_a_snooze_pressed_while_the_scan_delivers_the_same_alert_sends_its_reply_once(world: World) -> None:
    await world.tenant("stuck")
    scanner = world.scanner()
    await scanner.tick()
    alert_id = await world.only_alert()
    await scanner.snooze(alert_id, "stuck", world.now + timedelta(minutes=5), "U9", allowed=True)
    world.now += timedelta(minutes=6)  # the snooze ran out: the tick edits the alert and replies in its thread
    update, pressed = world.slack.update_alert, list[int]()

    async def snooze_meanwhile(alert: Alert) -> None:  # this process answers a Snooze press in the middle
        await update(alert)
        if not pressed:
            pressed.append(alert_id)
            await scanner.snooze(alert_id, "stuck", world.now + timedelta(hours=1), "U8", allowed=True)

    world.slack.update_alert = snooze_meanwhile  # type: ignore[method-assign]
    await scanner.tick()
    assert world.slack.kinds().count("reply") == 1
