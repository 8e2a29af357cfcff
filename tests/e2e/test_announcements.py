"""Actions are seen, over signed HTTP with the Slack stand-in and the real scanner: an action pressed on a
private card is announced in the open alert's thread, one on a tenant with no open alert in the actions
channel, one run elsewhere (the command line: the feed only) by the serving process's scan, each once; a
reason the action carried is shown, data escaped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from core import events as ev
from core.alerting.announcements import Announcer
from core.decisions import Situation
from core.domain import Action, AuditEvent
from core.service import TenantService
from tenantbot.scheduler import ScanSchedule
from tests.e2e.conftest import ACTIONS_CHANNEL, Bot, now
from tests.e2e.situations import make

CARD = "tenant_actions:acme-42"


def announcements(bot: Bot) -> list[dict[str, Any]]:
    """What the bot posted that is an announcement (alerts and resolutions are other messages)."""
    return [m for m in bot.slack.sent("/api/chat.postMessage") if " ran *" in str(m.get("text"))]


async def test_a_reset_pressed_on_a_private_card_is_announced_once_in_the_alert_thread(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    assert alert.message_ref is not None
    channel, _, ts = alert.message_ref.partition("/")
    status, _ = await bot.post(bot.press_body("tenant_reset", "acme-42", CARD, user="U4", ephemeral=True))
    assert status == 200
    await bot.slack.wait_for("/response/r1")
    await _until(lambda: len(announcements(bot)) == 1)
    [line] = announcements(bot)
    assert (line["channel"], line["thread_ts"]) == (channel, ts)
    assert line["text"].startswith(":arrow_forward: <@U4> ran *Reset* on `acme-42` at ")
    for _ in range(2):  # the scan resolves the alert and runs the announcer again: nothing twice
        await bot.scanner.tick()
        await bot.announcer.run()
    assert len(announcements(bot)) == 1
    replies = [m["text"] for m in bot.slack.sent("/api/chat.postMessage") if m.get("thread_ts") == ts]
    assert len(replies) == 2 and "Resolved: reset_completed by U4" in replies[1]


async def test_an_action_on_a_tenant_with_no_open_alert_is_announced_in_the_actions_channel(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    await bot.post(bot.press_body("tenant_retry", "acme-42", CARD, user="U5"))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "done — retried" in str(answer["blocks"])
    await _until(lambda: len(announcements(bot)) == 1)
    [line] = announcements(bot)
    assert line["channel"] == ACTIONS_CHANNEL and "thread_ts" not in line
    assert "<@U5> ran *Retry* on `acme-42`" in line["text"]


async def test_a_refused_press_is_not_announced(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.MAKING_PROGRESS)
    await bot.post(bot.press_body("tenant_reset", "acme-42", CARD))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "refused" in str(answer["blocks"])
    await bot.announcer.run()
    assert announcements(bot) == []


async def test_an_action_run_from_the_command_line_is_announced_once_by_the_serving_process(bot: Bot) -> None:
    """The command line writes the database only (a service of its own, no Slack): the serving process's
    scan ticks, and a second replica's, post the line once."""
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    assert alert.message_ref is not None
    cli = TenantService(bot.database.tenants, bot.engine, limits=bot.service.limits, clock=now)
    result = await cli.act(Action.RESET, "acme-42", "cli:alice")
    assert result.message == "reset"
    assert announcements(bot) == []  # nothing reaches Slack from the command line
    replica = Announcer(bot.database.announcements, bot.database.alerts, bot.scanner.notifier, holder="r2", clock=now)
    schedule = ScanSchedule(bot.scanner, timedelta(seconds=0.2), announcer=bot.announcer).start()
    try:
        await asyncio.gather(replica.run(), replica.run())
        await _until(lambda: len(announcements(bot)) == 1)
        await asyncio.sleep(0.6)  # a few more ticks
    finally:
        await schedule.stop()
    [line] = announcements(bot)
    assert line["thread_ts"] == alert.message_ref.partition("/")[2]
    assert "`cli:alice` ran *Reset* on `acme-42`" in line["text"]


async def test_the_reason_an_action_carries_is_announced_escaped(bot: Bot) -> None:
    """An action with a reason (a modal's, the command line's `--reason`) records it on `<action>_started`."""
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    reason = "quota fixed <!channel> & retried"
    await bot.store.append([AuditEvent("acme-42", ev.started(Action.RETRY), "U6", now(), {"reason": reason})])
    assert await bot.announcer.run() == 1
    [line] = announcements(bot)
    assert line["text"].endswith("— reason: quota fixed &lt;!channel&gt; &amp; retried")


async def test_an_announcement_slack_refuses_is_posted_on_a_later_run_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
    await bot.store.append([AuditEvent("acme-42", ev.started(Action.RETRY), "U6", now())])
    bot.slack.fail("chat.postMessage", (500, {}))
    assert await bot.announcer.run() == 0
    assert announcements(bot) == []
    assert await bot.announcer.run() == 1
    assert await bot.announcer.run() == 0
    assert len(announcements(bot)) == 1


async def _until(condition: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert condition()
