"""A mass wedge in the Slack channel: one digest that names every tenant, pages of them privately, each
member's own alert (Reset, Details, Snooze) two clicks away, and the digest kept current as they resolve."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.blocks.alert import ALERT_BLOCK
from core.decisions import Situation
from core.domain import AuditEvent, RunObservation, RunStatus, TenantState
from tests.e2e.conftest import Bot, now
from tests.e2e.situations import make


def chosen(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}}}


def select(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


def parsed(blocks: Any) -> list[dict[str, Any]]:
    return json.loads(blocks) if isinstance(blocks, str) else blocks


async def reset_behind_the_alert(bot: Bot, tenant_id: str) -> None:
    tenant = await bot.store.get(tenant_id)
    assert tenant is not None
    event = AuditEvent(tenant_id, "tenant.provisioning.reset_completed", "U4", now())
    await bot.store.save(tenant.updated(state=TenantState.PENDING, handle=None), [event])


async def test_five_hundred_wedged_tenants_become_one_digest_with_each_one_two_clicks_away(bot: Bot) -> None:
    for i in range(500):
        await make(bot.store, bot.engine, f"t-{i:03d}", Situation.WEDGED_ORPHANED)
    started = time.monotonic()
    report = await bot.scanner.tick()
    assert report.opened == 500 and report.posted == 500 and time.monotonic() - started < 30
    assert {a.situation for a in await bot.scanner.alerts.open_alerts()} == {
        Situation.WEDGED_ORPHANED
    }  # none mislabelled
    [digest] = bot.slack.sent("/api/chat.postMessage")
    blocks = parsed(digest["blocks"])
    assert "500 tenants wedged at once" in digest["text"] and "500 still wedged" in json.dumps(blocks)
    pages = select(blocks, "alert_page")
    menu = next(b["block_id"] for b in blocks if b["type"] == "actions")
    assert [o["text"]["text"] for o in pages["options"]][-1] == "20: t-475 … t-499"  # pages of 25

    await bot.post(bot.press_body("alert_page", "", menu, extra=chosen(pages["options"][19]["value"])))
    [page] = await bot.slack.wait_for("/response/r1")
    members = select(parsed(page["blocks"]), "alert_pick")["options"]
    assert page["response_type"] == "ephemeral" and len(members) == 25 and members[0]["text"]["text"] == "t-475"
    assert all(f"`t-{i}`" in json.dumps(page["blocks"]) for i in range(475, 500))  # the page lists all its tenants

    await bot.post(bot.press_body("alert_pick", "", menu, response="r2", extra=chosen(members[0]["value"])))
    [alert] = await bot.slack.wait_for("/response/r2")
    alert_id = int(members[0]["value"].split(":")[0])
    assert ALERT_BLOCK.format(alert_id, "t-475") in json.dumps(alert["blocks"])
    assert all(k in json.dumps(alert["blocks"]) for k in ("alert_reset", "alert_snooze", "alert_details"))
    assert bot.button(alert, "alert_reset")["value"].startswith("t-475|1|provision-t-475-1|")  # the run it shows

    await bot.post(
        bot.press_body("alert_snooze", "", ALERT_BLOCK.format(alert_id, "t-475"), response="r3", extra=chosen("3600"))
    )
    [answer] = await bot.slack.wait_for("/response/r3")
    assert "snoozed until" in answer["text"]
    [update] = bot.slack.sent("/api/chat.update")
    member = await bot.scanner.alerts.alert(alert_id)
    assert member is not None and member.message_ref == f"{update['channel']}/{update['ts']}"  # the digest's ts
    assert "1 snoozed" in json.dumps(update["blocks"])
    assert "alert_reset" not in json.dumps(update["blocks"])  # the digest, never one alert's blocks over it


async def test_a_digest_is_edited_as_a_whole_and_replied_to_once_per_tick(bot: Bot) -> None:
    for i in range(6):
        await make(bot.store, bot.engine, f"t-{i:03d}", Situation.WEDGED_ORPHANED)
    await bot.scanner.tick()
    [digest] = bot.slack.sent("/api/chat.postMessage")
    changed = await bot.store.get("t-002")
    assert changed is not None
    bot.engine.set(changed.handle, RunObservation(RunStatus.TERMINATED))  # one member's situation changes
    await bot.scanner.tick()
    for tenant_id in ("t-000", "t-001", "t-003"):
        await reset_behind_the_alert(bot, tenant_id)
    await bot.scanner.tick()
    updates = bot.slack.sent("/api/chat.update")
    assert len(updates) == 2 and all("tenants wedged at once" in json.dumps(u["blocks"]) for u in updates)
    assert all("alert_reset" not in json.dumps(u["blocks"]) for u in updates)
    assert "3 still wedged" in json.dumps(updates[1]["blocks"]) and "3 resolved" in json.dumps(updates[1]["blocks"])
    [reply] = [m for m in bot.slack.sent("/api/chat.postMessage") if m.get("thread_ts")]
    assert (
        reply["text"].count("resolved: reset_completed by U4") == 3
        and len(bot.slack.sent("/api/chat.postMessage")) == 2
    )
    assert digest["text"].startswith("6 tenants wedged at once")
