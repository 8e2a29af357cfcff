"""Alerts in the Slack channel: once per episode, through 429 and 500, as one digest for a mass wedge,
and the alert's own buttons over signed HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bot.app import slack_client
from bot.blocks.alert import ALERT_BLOCK, alert_blocks
from bot.notifier import SlackNotifier
from core.alerting.model import Alert
from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action, ActionClaim, AuditEvent, TenantState
from tests.e2e.conftest import Bot, now, running_bot
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
    announced, reply = [m for m in bot.slack.sent("/api/chat.postMessage") if m.get("thread_ts")]
    assert "<@U4> ran *Reset* on `acme-42`" in announced["text"]  # the alert button's action, seen in its thread
    assert "Resolved: reset_completed by U4" in reply["text"]
    assert await bot.scanner.alerts.open_alerts() == []


async def test_an_alert_whose_tenant_has_an_action_under_way_says_so_in_place_and_stays_open(bot: Bot) -> None:
    tenant = await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()
    await bot.store.save(tenant.updated(claim=ActionClaim(Action.RESET, "U7", now())), [])  # pressed, not finished
    report = await bot.scanner.tick()
    assert report.resolved == 0 and len(await bot.scanner.alerts.open_alerts()) == 1
    [update] = bot.slack.sent("/api/chat.update")
    assert "Reset under way (by U7 since" in str(update["blocks"]) and "resolved" not in str(update["blocks"])


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
    from core.alerting.model import Alert

    notifier = SlackNotifier(slack_client("xoxb-e2e", bot.slack.api_url), "C9", min_interval=1.0)
    now = bot.service.clock()
    started = time.monotonic()
    for i in range(3):
        await notifier.post_alert(Alert(f"t{i}", Situation.WEDGED_ORPHANED, "gone", now, id=i))
    assert time.monotonic() - started >= 2.0


def snooze_choice(seconds: str = "3600") -> dict[str, object]:
    return {
        "type": "static_select",
        "selected_option": {"value": seconds, "text": {"type": "plain_text", "text": "1h"}},
    }


async def test_a_snooze_by_someone_who_may_not_reset_is_refused(tmp_path: Path) -> None:
    policy = Policy({Action.RESET: AllowList(users=frozenset({"U1"}))})
    async with running_bot(tmp_path, policy=policy) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
        await bot.scanner.tick()
        [alert] = await bot.scanner.alerts.open_alerts()
        await bot.post(
            bot.press_body(
                "alert_snooze", "", ALERT_BLOCK.format(alert.id, "acme-42"), user="U8", extra=snooze_choice()
            )
        )
        [answer] = await bot.slack.wait_for("/response/r1")
        assert "same permission as Reset" in answer["text"] and bot.slack.sent("/api/chat.update") == []
        assert (await bot.store.events("acme-42", 1))[0].type.endswith("action_refused")


async def test_snoozing_an_alert_that_was_already_resolved_says_so(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    tenant = await bot.store.get("acme-42")
    assert tenant is not None
    event = AuditEvent("acme-42", "tenant.provisioning.reset_completed", "U4", now())
    await bot.store.save(tenant.updated(state=TenantState.PENDING, handle=None), [event])
    await bot.scanner.tick()
    await bot.post(bot.press_body("alert_snooze", "", ALERT_BLOCK.format(alert.id, "acme-42"), extra=snooze_choice()))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "already resolved" in answer["text"] and "reset_completed by U4" in answer["text"]
    assert "snoozed until" not in answer["text"]


async def test_a_control_naming_another_tenants_alert_changes_nothing(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-1", Situation.WEDGED_ORPHANED)
    await make(bot.store, bot.engine, "acme-2", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    first = next(a for a in await bot.scanner.alerts.open_alerts() if a.tenant_id == "acme-1")
    forged = ALERT_BLOCK.format(first.id, "acme-2")  # acme-1's alert id with acme-2's name
    await bot.post(bot.press_body("alert_reset", "acme-2", forged))
    await bot.post(bot.press_body("alert_snooze", "", forged, response="r2", extra=snooze_choice()))
    [reset] = await bot.slack.wait_for("/response/r1")
    [snooze] = await bot.slack.wait_for("/response/r2")
    assert "not acme-2's" in reset["text"] and "not acme-2's" in snooze["text"]
    tenant = await bot.store.get("acme-2")
    assert tenant is not None and tenant.state is TenantState.PROVISIONING
    assert all(a.snoozed_until is None for a in await bot.scanner.alerts.open_alerts())


async def test_details_from_an_alert_offers_only_the_buttons_the_viewer_may_press(tmp_path: Path) -> None:
    policy = Policy({Action.RESET: AllowList(users=frozenset({"U1"})), Action.CANCEL: AllowList(everyone=True)})
    async with running_bot(tmp_path, policy=policy) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
        await bot.scanner.tick()
        [alert] = await bot.scanner.alerts.open_alerts()
        block = ALERT_BLOCK.format(alert.id, "acme-42")
        await bot.post(bot.press_body("alert_details", "acme-42", block, user="U8", response="r8"))
        await bot.post(bot.press_body("alert_details", "acme-42", block, user="U1", response="r1"))
        [seen_by_u8] = await bot.slack.wait_for("/response/r8")
        [seen_by_u1] = await bot.slack.wait_for("/response/r1")
        assert "tenant_cancel" in str(seen_by_u8["blocks"]) and "tenant_reset" not in str(seen_by_u8["blocks"])
        assert "tenant_reset" in str(seen_by_u1["blocks"])


async def test_data_in_an_alert_and_its_thread_reply_cannot_ping_or_disguise_a_link(bot: Bot) -> None:
    spoof = "<!channel> see <https://evil.example|runbook> & a<b"
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ERROR, error=spoof)
    await bot.scanner.tick()
    tenant = await bot.store.get("acme-42")
    assert tenant is not None
    await bot.store.save(
        tenant.updated(state=TenantState.ACTIVE, error=None), [AuditEvent("acme-42", spoof, spoof, now())]
    )
    await bot.scanner.tick()
    shown = json.dumps(bot.slack.sent("/api/chat.postMessage") + bot.slack.sent("/api/chat.update"))
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown and "<https://evil" not in shown


def test_an_alert_suggests_what_the_table_recommends_for_its_situation() -> None:
    stopped = Alert("acme-42", Situation.WEDGED_WINDING_DOWN, "a release keeps failing", now(), id=1)
    assert "*Suggested:* Reset, then Retry or Decommission" in json.dumps([b.to_dict() for b in alert_blocks(stopped)])


async def test_a_snooze_whose_group_check_fails_says_so_and_changes_nothing(tmp_path: Path) -> None:
    policy = Policy({Action.RESET: AllowList(groups=frozenset({"S0ONCALL"}))})
    async with running_bot(tmp_path, policy=policy) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
        await bot.scanner.tick()
        [alert] = await bot.scanner.alerts.open_alerts()
        bot.slack.fail("usergroups.users.list", (500, {}))
        block = ALERT_BLOCK.format(alert.id, "acme-42")
        await bot.post(bot.press_body("alert_snooze", "", block, user="U8", extra=snooze_choice()))
        [answer] = await bot.slack.wait_for("/response/r1")
        assert "Couldn't check your user groups" in answer["text"]
        [still] = await bot.scanner.alerts.open_alerts()
        assert still.snoozed_until is None and bot.slack.sent("/api/chat.update") == []


async def test_a_snooze_is_answered_at_once_even_when_slack_is_slow_to_edit_the_alert(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    bot.slack.delays["chat.update"] = 5
    started = time.monotonic()
    await bot.post(bot.press_body("alert_snooze", "", ALERT_BLOCK.format(alert.id, "acme-42"), extra=snooze_choice()))
    [answer] = await bot.slack.wait_for("/response/r1", timeout=8)
    assert "snoozed until" in answer["text"] and time.monotonic() - started < 4
    bot.slack.delays.clear()
    await bot.scanner.tick()  # the edit the press could not wait for
    assert "snoozed by" in json.dumps(bot.slack.sent("/api/chat.update")[-1]["blocks"])


async def test_the_same_reset_press_delivered_twice_is_answered_once(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [alert] = await bot.scanner.alerts.open_alerts()
    press = bot.press_body("alert_reset", "acme-42", ALERT_BLOCK.format(alert.id, "acme-42"))
    await bot.post(press)
    await bot.post(press)  # the same press again (a proxy or a reconnect repeating it)
    [answer] = await bot.slack.wait_for("/response/r1")
    await asyncio.sleep(0.3)
    assert len(bot.slack.sent("/response/r1")) == 1 and "done — reset" in answer["text"]
    assert (await bot.store.events("acme-42", 10))[0].type.endswith("reset_completed")
