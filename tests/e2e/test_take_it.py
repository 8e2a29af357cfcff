"""Alerts are claimed, over signed HTTP with the Slack stand-in and the real scanner: Take it shows the
owner on the alert and audits it, taking over says from whom, it works while frozen (it is not an action
on a tenant); an alert nobody took for ALERT_MENTION_AFTER gets one mention in its thread (the clock
injected), never twice across replicas, and none once taken."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.blocks.alert import ALERT_BLOCK
from core import events as ev
from core.alerting.announcements import Announcer
from core.alerting.model import Alert
from core.decisions import Situation
from tests.e2e.conftest import Bot, now
from tests.e2e.situations import make

GROUP = "S0ONCALL"


async def alerted(bot: Bot, tenant_id: str = "acme-42") -> Alert:
    await make(bot.store, bot.engine, tenant_id, Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = [a for a in await bot.scanner.alerts.open_alerts() if a.tenant_id == tenant_id]
    assert alert.message_ref is not None
    return alert


async def take(bot: Bot, alert: Alert, user: str, response: str) -> dict[str, Any]:
    block = ALERT_BLOCK.format(alert.id, alert.tenant_id)
    status, _ = await bot.post(bot.press_body("alert_take", alert.tenant_id, block, user=user, response=response))
    assert status == 200
    [answer] = await bot.slack.wait_for(f"/response/{response}")
    return answer


async def test_take_it_shows_the_owner_on_the_alert_and_audits_it(bot: Bot) -> None:
    alert = await alerted(bot)
    [posted] = bot.slack.sent("/api/chat.postMessage")
    assert "alert_take" in str(posted["blocks"])
    answer = await take(bot, alert, "U5", "r1")
    assert answer["response_type"] == "ephemeral" and "is yours now" in answer["text"]
    [update] = bot.slack.sent("/api/chat.update")
    assert "taken by <@U5> at " in str(update["blocks"])
    [event] = await bot.store.events("acme-42", 1)
    assert (event.type, event.actor, event.details) == (ev.ALERT_CLAIMED, "U5", {"alert": alert.id})
    again = await take(bot, alert, "U5", "r2")
    assert "already yours" in again["text"] and len(bot.slack.sent("/api/chat.update")) == 1


async def test_taking_an_alert_someone_owns_says_from_whom_and_is_audited_as_a_take_over(bot: Bot) -> None:
    alert = await alerted(bot)
    await take(bot, alert, "U5", "r1")
    answer = await take(bot, alert, "U6", "r2")
    assert "You took over the alert for acme-42 from <@U5>" in answer["text"]
    assert "taken by <@U6>" in str(bot.slack.sent("/api/chat.update")[-1]["blocks"])
    [event] = await bot.store.events("acme-42", 1)
    assert (event.type, event.actor, event.details["previous"]) == (ev.ALERT_CLAIMED, "U6", "U5")


async def test_take_it_works_while_frozen_since_it_is_no_action_on_a_tenant(bot: Bot) -> None:
    alert = await alerted(bot)
    await bot.service.switch.freeze("U1", "database failover")
    await bot.scanner.tick()  # the alert is shown again with the banner: Take it stays, Reset goes
    shown = str(bot.slack.sent("/api/chat.update")[-1]["blocks"])
    assert "alert_take" in shown and "alert_reset" not in shown
    answer = await take(bot, alert, "U5", "r1")
    assert "is yours now" in answer["text"]
    assert "taken by <@U5>" in str(bot.slack.sent("/api/chat.update")[-1]["blocks"])


def mentions(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.sent("/api/chat.postMessage") if "nobody has taken" in str(m.get("text"))]


def at(offset: timedelta) -> Callable[[], datetime]:
    return lambda: now() + offset


def announcer(bot: Bot, clock: Callable[[], datetime], holder: str = "e2e") -> Announcer:
    lines, alerts, notifier = bot.database.announcements, bot.database.alerts, bot.scanner.notifier
    return Announcer(lines, alerts, notifier, holder=holder, clock=clock, mention=GROUP)


async def test_an_alert_nobody_took_is_mentioned_once_after_alert_mention_after(bot: Bot) -> None:
    alert = await alerted(bot)
    assert alert.message_ref is not None
    assert await announcer(bot, at(timedelta(minutes=14))).run() == 0  # not yet
    late = at(timedelta(minutes=16))
    replicas = [announcer(bot, late, "r1"), announcer(bot, late, "r2")]
    await asyncio.gather(*(r.run() for r in replicas))
    for r in (*replicas, announcer(bot, at(timedelta(hours=2)), "r3")):  # later runs, restarts: never again
        await r.run()
    [mention] = mentions(bot)
    assert mention["thread_ts"] == alert.message_ref.partition("/")[2]
    assert mention["text"].startswith(f":bell: <!subteam^{GROUP}> nobody has taken the alert for `acme-42`")


async def test_an_alert_someone_took_is_not_mentioned(bot: Bot) -> None:
    alert = await alerted(bot)
    await take(bot, alert, "U5", "r1")
    await announcer(bot, at(timedelta(minutes=16))).run()
    assert mentions(bot) == []


async def test_a_mention_recorded_before_the_alert_was_taken_is_not_posted(bot: Bot) -> None:
    alert = await alerted(bot)
    late = announcer(bot, at(timedelta(minutes=16)))
    assert await late.record() == 1
    await take(bot, alert, "U5", "r1")
    assert await late.deliver() == 0
    assert mentions(bot) == []
