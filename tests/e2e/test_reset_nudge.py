"""The reset nudge as Slack sees it: a Reset pressed on an alert over signed HTTP that nobody follows with
Retry or Decommission gets one reminder in the alert's thread RESET_NUDGE_AFTER later (the scan's clock
injected), never a second one — not on later ticks, not from another replica or after a restart; with no
alert it goes to the resetter directly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.blocks.alert import ALERT_BLOCK
from core import events as ev
from core.alerting.nudges import ResetNudges
from core.alerting.scanner import Scanner
from core.decisions import Situation
from core.domain import Action
from tests.e2e.conftest import Bot, now
from tests.e2e.situations import make

AFTER = timedelta(minutes=30)


def replica(bot: Bot, clock: Callable[[], datetime], holder: str = "e2e") -> Scanner:
    """A scanning replica with the reset nudge on, sharing the bot's database and Slack; `clock` is its time."""
    s = bot.scanner
    return Scanner(
        s.store,
        s.alerts,
        s.notifier,
        s.finder,
        leases=s.leases,
        holder=holder,
        clock=clock,
        reset_nudge_after=AFTER,
        freezes=s.delivery.freezes,
    )


def posts(bot: Bot) -> list[dict[str, str]]:
    """What the bot posted, apart from the one-line announcements of the actions themselves."""
    return [m for m in bot.slack.sent("/api/chat.postMessage") if not m["text"].startswith(":arrow_forward:")]


async def nudged(bot: Bot, tenant_id: str) -> list[str]:
    return [e.type for e in await bot.store.events(tenant_id, 50) if e.type == ev.RESET_NUDGED]


async def test_a_reset_nobody_followed_is_nudged_once_in_the_alerts_thread(bot: Bot) -> None:
    start = now()
    clock = [start]
    scanner = replica(bot, lambda: clock[0])
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    assert alert.id is not None
    await bot.act("alert_reset", block=ALERT_BLOCK.format(alert.id, "acme-42"), user="U4")  # through its preview
    assert "done — reset" in str((await bot.slack.wait_for("/response/r1"))[0]["blocks"])

    clock[0] = start + timedelta(minutes=29)
    assert (await scanner.tick()).nudged == 0  # resolved, with its thread reply; too early for the nudge
    assert len(posts(bot)) == 2

    clock[0] = start + AFTER + timedelta(minutes=1)
    assert (await scanner.tick()).nudged == 1
    nudge = posts(bot)[-1]
    posted = await bot.scanner.alerts.alert(alert.id)
    assert posted is not None and f"{nudge['channel']}/{nudge['thread_ts']}" == posted.message_ref
    assert (
        nudge["text"].startswith("<@U4> you reset `acme-42` at ")
        and "Pending and still holds its allocations" in (nudge["text"])
    )

    clock[0] = start + timedelta(hours=2)
    assert (await scanner.tick()).nudged == 0  # later ticks
    assert (await replica(bot, lambda: clock[0], holder="e2e-2").tick()).nudged == 0  # a replica, a restart
    assert len(posts(bot)) == 3 and await nudged(bot, "acme-42") == [ev.RESET_NUDGED]


async def test_a_reset_with_no_alert_is_nudged_directly_and_a_retried_one_not_at_all(bot: Bot) -> None:
    for tenant_id in ("quiet-1", "retried-1"):
        await make(bot.store, bot.engine, tenant_id, Situation.WEDGED_ORPHANED)
        assert (await bot.service.act(Action.RESET, tenant_id, "U5")).outcome == "done"
    assert (await bot.service.act(Action.RETRY, "retried-1", "U5")).outcome == "done"
    scanner = replica(bot, lambda: now() + AFTER + timedelta(seconds=5))
    assert (await scanner.tick()).nudged == 1
    [dm] = [m for m in posts(bot) if m["channel"] != "C9"]  # (the retry's run alerts)
    assert dm["channel"] == "U5" and "thread_ts" not in dm and "`quiet-1`" in dm["text"]
    assert await nudged(bot, "quiet-1") == [ev.RESET_NUDGED] and await nudged(bot, "retried-1") == []


async def test_a_nudge_slack_refuses_is_recorded_as_failed_and_not_sent_again(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-7", Situation.WEDGED_ORPHANED)
    await bot.service.act(Action.RESET, "acme-7", "U5")
    await bot.slack.wait_for("/api/chat.postMessage")  # the Reset's announcement, before Slack starts failing
    bot.slack.fail("chat.postMessage", (500, {}))
    later = now() + AFTER + timedelta(seconds=5)
    assert (await replica(bot, lambda: later).tick()).nudged == 0
    kinds = [e.type for e in await bot.store.events("acme-7", 10)]
    assert kinds[:2] == [ev.RESET_NUDGE_FAILED, ev.RESET_NUDGED]
    assert (await replica(bot, lambda: later + timedelta(minutes=5)).tick()).nudged == 0
    assert posts(bot) == []


async def test_nobody_is_nudged_while_tenantbot_is_frozen_and_the_nudge_follows_the_unfreeze(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-9", Situation.WEDGED_ORPHANED)
    await bot.service.act(Action.RESET, "acme-9", "U5")
    await bot.service.switch.freeze("U1", "database failover")
    scanner = replica(bot, lambda: now() + AFTER + timedelta(seconds=5))
    assert (await scanner.tick()).nudged == 0 and await nudged(bot, "acme-9") == []  # Retry would be refused
    await bot.service.switch.unfreeze("U1")
    assert (await scanner.tick()).nudged == 1
    [dm] = posts(bot)
    assert dm["channel"] == "U5" and "`acme-9`" in dm["text"]


async def test_two_replicas_whose_leases_overlapped_send_one_nudge(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-3", Situation.WEDGED_ORPHANED)
    await bot.service.act(Action.RESET, "acme-3", "U5")
    tenant = await bot.store.get("acme-3")
    assert tenant is not None
    later = now() + AFTER + timedelta(seconds=5)
    s = bot.scanner
    replicas = [ResetNudges(s.store, s.alerts, s.notifier, after=AFTER, clock=lambda: later) for _ in range(2)]

    async def still_ours() -> None:
        return None  # both believe they hold the scan's lease

    sent = await asyncio.gather(*(r.run({"acme-3": tenant.version}, later, still_ours) for r in replicas))
    assert sorted(sent) == [0, 1] and len(posts(bot)) == 1
    assert await nudged(bot, "acme-3") == [ev.RESET_NUDGED]
