"""Alerts in the Slack channel: once per episode, through 429 and 500, as one digest for a mass wedge,
and the alert's own buttons over signed HTTP."""

from __future__ import annotations

import time

from bot.alert_blocks import ALERT_BLOCK
from bot.app import slack_client
from bot.notifier import SlackNotifier
from core.decisions import Situation
from core.domain import TenantState
from tests.e2e.conftest import Bot
from tests.e2e.situations import make


async def test_a_wedged_tenant_is_posted_once_with_reset_details_and_snooze(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await make(bot.store, bot.engine, "fine-1", Situation.SLOW_BUT_ALIVE)
    for _ in range(3):
        await bot.scanner.tick()
    [post] = bot.slack.sent("/api/chat.postMessage")
    assert post["channel"] == "C9" and "acme-42" in post["text"] and "fine-1" not in str(post["blocks"])
    assert all(k in str(post["blocks"]) for k in ("alert_reset", "alert_details", "alert_snooze", "Reset, then Retry"))


async def test_slack_answering_429_then_500_then_ok_gets_the_alert_exactly_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    bot.slack.fail("chat.postMessage", (429, {"Retry-After": "1"}), (500, {}))
    started = time.monotonic()
    first = await bot.scanner.tick()
    assert time.monotonic() - started >= 1  # Retry-After was honoured before the retry
    assert first.unposted == 1 and bot.slack.sent("/api/chat.postMessage") == []
    second = await bot.scanner.tick()
    assert second.posted == 1
    assert len(bot.slack.sent("/api/chat.postMessage")) == 1
    assert len(bot.slack.sent("/api/chat.postMessage", ok_only=False)) == 3
    await bot.scanner.tick()
    assert len(bot.slack.sent("/api/chat.postMessage")) == 1


async def test_five_hundred_wedged_tenants_become_one_digest(bot: Bot) -> None:
    for i in range(500):
        await make(bot.store, bot.engine, f"t-{i:03d}", Situation.WEDGED_ORPHANED)
    started = time.monotonic()
    report = await bot.scanner.tick()
    elapsed = time.monotonic() - started
    assert report.opened == 500 and report.posted == 500
    [digest] = bot.slack.sent("/api/chat.postMessage")
    assert "500 tenants wedged at once" in digest["text"] and "alert_pick" in str(digest["blocks"])
    assert elapsed < 30
    await bot.scanner.tick()
    assert len(bot.slack.sent("/api/chat.postMessage")) == 1


async def test_reset_from_the_alert_resolves_it_in_place_with_who_did_it(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    block = ALERT_BLOCK.format(alert.id, "acme-42")
    status, _ = await bot.post(bot.press_body("alert_reset", "acme-42", block, user="U4"))
    assert status == 200
    [answer] = await bot.slack.wait_for("/response/r1")
    assert answer["response_type"] == "ephemeral" and "done — reset" in str(answer["blocks"])
    tenant = await bot.store.get("acme-42")
    assert tenant is not None and tenant.state is TenantState.PENDING
    await bot.scanner.tick()
    [update] = bot.slack.sent("/api/chat.update")
    assert "resolved" in str(update["blocks"]) and "reset_completed by U4" in str(update["blocks"])
    [reply] = [m for m in bot.slack.sent("/api/chat.postMessage") if m.get("thread_ts")]
    assert "Resolved: reset_completed by U4" in reply["text"]
    assert await bot.scanner.alerts.open_alerts() == []


async def test_snooze_from_the_alert_is_recorded_and_shown(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    block = ALERT_BLOCK.format(alert.id, "acme-42")
    extra = {
        "type": "static_select",
        "selected_option": {"value": "3600", "text": {"type": "plain_text", "text": "1h"}},
    }
    await bot.post(bot.press_body("alert_snooze", "", block, user="U8", extra=extra))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "snoozed until" in answer["text"]
    [update] = bot.slack.sent("/api/chat.update")
    assert "snoozed by <@U8>" in str(update["blocks"])
    assert (await bot.store.events("acme-42", 1))[0].type.endswith("alert_snoozed")


async def test_a_snooze_the_bot_does_not_offer_is_refused(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    extra = {
        "type": "static_select",
        "selected_option": {"value": "999999", "text": {"type": "plain_text", "text": "x"}},
    }
    await bot.post(bot.press_body("alert_snooze", "", ALERT_BLOCK.format(alert.id, "acme-42"), extra=extra))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "not a snooze this bot offers" in answer["text"]
    assert bot.slack.sent("/api/chat.update") == []


async def test_the_notifier_keeps_about_one_post_per_second(bot: Bot) -> None:
    from core.alerts import Alert

    notifier = SlackNotifier(slack_client("xoxb-e2e", bot.slack.api_url), "C9", min_interval=1.0)
    now = bot.service.clock()
    started = time.monotonic()
    for i in range(3):
        await notifier.post_alert(Alert(f"t{i}", "wedged_orphaned", "gone", now, id=i))
    assert time.monotonic() - started >= 2.0
