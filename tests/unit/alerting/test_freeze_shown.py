"""The alert channel while tenantbot is frozen (core/freeze.py): the scan keeps alerting, every message it
posts or edits carries the freeze (so it shows a banner and no Reset), flipping the switch has the open
messages edited on the next tick, and Snooze (not an action) still works."""

from __future__ import annotations

from datetime import timedelta

from core.alerting.controls import SnoozeOutcome
from core.freeze import Freeze
from tests.unit.scan_world import World, wedge


async def test_the_scan_keeps_alerting_while_frozen_and_shows_the_freeze_on_what_it_posts(world: World) -> None:
    frozen = Freeze("U1", world.now, "database failover")
    await world.freezes.freeze(frozen)
    await world.tenant("stuck")
    report = await world.scanner(freezes=world.freezes).tick()
    assert (report.opened, report.posted) == (1, 1)
    [shown] = world.slack.shown
    assert shown.frozen == frozen


async def test_freezing_and_unfreezing_edit_the_open_alerts_and_digests_on_the_next_tick(world: World) -> None:
    await world.tenant("alone")
    await world.scanner(freezes=world.freezes).tick()
    await wedge(world, 5)
    await world.scanner(freezes=world.freezes).tick()  # a digest of five
    assert [m.frozen for m in world.slack.shown] == [None, None]
    frozen = Freeze("U1", world.now, "look first")
    await world.freezes.freeze(frozen)
    await world.scanner(freezes=world.freezes).tick()
    assert world.slack.kinds()[2:] == ["update_digest", "update"]
    assert [m.frozen for m in world.slack.shown[2:]] == [frozen, frozen]
    await world.freezes.unfreeze("U1", world.now)
    await world.scanner(freezes=world.freezes).tick()
    assert [m.frozen for m in world.slack.shown[4:]] == [None, None]


async def test_a_digest_member_opened_from_its_menu_shows_the_freeze(world: World) -> None:
    await wedge(world, 5)
    scanner = world.scanner(freezes=world.freezes)
    await scanner.tick()
    await world.freezes.freeze(Freeze("U1", world.now, "look first"))
    member = (await world.alerts.open_alerts())[0]
    assert member.id is not None
    shown = await world.controls(scanner).alert_of(member.id, member.tenant_id)
    assert shown is not None and shown.frozen == Freeze("U1", world.now, "look first")


async def test_snooze_is_not_an_action_and_still_works_while_frozen(world: World) -> None:
    await world.tenant("stuck")
    scanner = world.scanner(freezes=world.freezes)
    await scanner.tick()
    await world.freezes.freeze(Freeze("U1", world.now, "look first"))
    until = world.now + timedelta(hours=1)
    result = await world.controls(scanner).snooze(await world.only_alert(), "stuck", until, "U8")
    assert result.outcome is SnoozeOutcome.SNOOZED
    assert world.slack.shown[-1].frozen is not None  # its message, edited at once, still shows the freeze
