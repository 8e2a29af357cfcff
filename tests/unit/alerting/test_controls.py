"""What happens when Snooze is pressed (core/alerting/controls.py): the message shows it at once, the
snooze sticks through ticks and races, never reopens a resolved alert, and is refused for another
tenant's alert, without Reset's permission, or when the groups that grant it cannot be read."""

from __future__ import annotations

from datetime import timedelta

from core.alerting.controls import SnoozeOutcome
from core.alerting.model import Alert
from core.decisions import Situation
from core.domain import RunObservation, RunStatus
from tests.unit.scan_world import World, wedge


class TestSnoozes:
    async def test_a_snoozed_digest_member_is_shown_on_the_digest(self, world: World) -> None:
        await wedge(world, 6)
        await world.scanner().tick()
        member = (await world.alerts.open_alerts())[0]
        assert member.id is not None
        result = await world.controls().snooze(member.id, "t000", world.now + timedelta(hours=1), "U8")
        assert result.outcome is SnoozeOutcome.SNOOZED
        assert world.slack.sent[-1] == ("update_digest", "6/6")

    async def test_a_snoozed_alert_reminds_and_updates_its_message_once_the_snooze_runs_out(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        until = world.now + timedelta(minutes=5)
        await world.controls().snooze(await world.only_alert(), "stuck", until, "U9")
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
        controls = world.controls(scanner)

        async def snoozing_meanwhile(alert):  # type: ignore[no-untyped-def]
            await controls.snooze(alert_id, "first", world.now + timedelta(hours=1), "U8")
            return await post(alert)

        world.slack.post_alert = snoozing_meanwhile  # type: ignore[method-assign]
        await scanner.tick()
        after = await world.alerts.alert(alert_id)
        assert after is not None and after.snoozed_by == "U8" and after.situation is Situation.WEDGED_ENGINE_CLOSED

    async def test_a_snooze_on_a_stale_copy_never_reopens_a_resolved_alert(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        alert_id = await world.only_alert()
        await world.move("stuck")
        await world.scanner().tick()
        result = await world.controls().snooze(alert_id, "stuck", world.now + timedelta(hours=1), "U8")
        assert result.outcome is SnoozeOutcome.ALREADY_RESOLVED
        assert result.alert is not None and result.alert.resolution == "reset_completed by U123"
        assert await world.alerts.open_alerts() == [] and "alert_snoozed" not in world.store.types("stuck")

    async def test_a_snooze_naming_another_tenant_or_by_someone_without_reset_changes_nothing(
        self, world: World
    ) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        alert_id, until = await world.only_alert(), world.now + timedelta(hours=1)
        other = await world.controls().snooze(alert_id, "other", until, "U8")
        refused = await world.controls().snooze(alert_id, "stuck", until, "U6")  # U6 may not Reset
        assert (other.outcome, refused.outcome) == (SnoozeOutcome.NOT_FOUND, SnoozeOutcome.REFUSED)
        alert = await world.alerts.alert(alert_id)
        assert alert is not None and alert.snoozed_until is None
        assert world.store.types("stuck")[-1] == "action_refused"
        assert refused.reason is not None and "same permission as Reset" in refused.reason

    async def test_a_member_of_a_group_on_the_reset_allow_list_may_snooze(self, world: World) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        result = await world.controls().snooze(await world.only_alert(), "stuck", world.now + timedelta(hours=1), "U7")
        assert result.outcome is SnoozeOutcome.SNOOZED and world.directory.asked == [frozenset({"S0ONCALL"})]

    async def test_a_snooze_whose_groups_cannot_be_read_is_refused_with_try_again_and_changes_nothing(
        self, world: World
    ) -> None:
        await world.tenant("stuck")
        await world.scanner().tick()
        world.directory.down = True
        alert_id = await world.only_alert()
        result = await world.controls().snooze(alert_id, "stuck", world.now + timedelta(hours=1), "U7")
        assert result.outcome is SnoozeOutcome.REFUSED and "try again" in (result.reason or "")
        alert = await world.alerts.alert(alert_id)
        assert alert is not None and alert.snoozed_until is None and world.slack.kinds() == ["post"]


async def test_a_snooze_pressed_while_the_scan_delivers_the_same_alert_sends_its_reply_once(world: World) -> None:
    await world.tenant("stuck")
    scanner = world.scanner()
    controls = world.controls(scanner)
    await scanner.tick()
    alert_id = await world.only_alert()
    await controls.snooze(alert_id, "stuck", world.now + timedelta(minutes=5), "U9")
    world.now += timedelta(minutes=6)  # the snooze ran out: the tick edits the alert and replies in its thread
    update, pressed = world.slack.update_alert, list[int]()

    async def snooze_meanwhile(alert: Alert) -> None:  # this process answers a Snooze press in the middle
        await update(alert)
        if not pressed:
            pressed.append(alert_id)
            await controls.snooze(alert_id, "stuck", world.now + timedelta(hours=1), "U8")

    world.slack.update_alert = snooze_meanwhile  # type: ignore[method-assign]
    await scanner.tick()
    assert world.slack.kinds().count("reply") == 1
