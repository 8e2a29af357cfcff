"""Common causes first, as Slack shows them: `/tenant stuck` over signed HTTP and the digest the scan
posts to the Slack stand-in group wedged tenants by situation, step and normalised error, the largest
group first; a tenant that wedged again after a Reset and Retry reads Escalate."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.blocks.card import ACTION_ID
from core import events as ev
from core.decisions import Situation
from core.domain import Action, AuditEvent, TenantState
from tests.e2e.conftest import Bot, now
from tests.e2e.situations import make

CAUSES = (
    "*By cause:* 7 orphaned at `create_storage`; 3 wedged at `configure_network`: "
    "upstream API returned 500 for '…' (request &lt;hex&gt;); 1 hung at `seed_data`"
)


async def incident(bot: Bot) -> None:
    """A cluster reset orphans 7 tenants at one step; an upstream API fails 3 others, each error naming its
    tenant and request; one more hangs somewhere else; one is fine."""
    for i in range(7):
        await make(bot.store, bot.engine, f"orphan-{i}", Situation.WEDGED_ORPHANED, current_step="create_storage")
    for i, request in enumerate(("7f3a9c01", "0b91ee4d", "c0ffee12")):
        error = f"upstream API returned 500 for 'api-{i}' (request {request})"
        await make(
            bot.store, bot.engine, f"api-{i}", Situation.WEDGED_ERROR, current_step="configure_network", error=error
        )
    await make(bot.store, bot.engine, "hung-1", Situation.WEDGED_NO_PROGRESS, current_step="seed_data")
    await make(bot.store, bot.engine, "fine-1", Situation.MAKING_PROGRESS)


def text_of(blocks: Any) -> str:
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks, ensure_ascii=False)


async def test_tenant_stuck_groups_the_wedged_tenants_by_cause_largest_first(bot: Bot) -> None:
    await incident(bot)
    await bot.post(bot.command_body("stuck"))
    [reply] = await bot.slack.wait_for("/response/r1")
    blocks = reply["blocks"]
    assert blocks[0]["text"]["text"] == "11 wedged tenants" and blocks[1]["text"]["text"] == CAUSES
    rows = [b["text"]["text"].split("*")[1] for b in blocks[2:]]
    assert rows == [*(f"orphan-{i}" for i in range(7)), "api-0", "api-1", "api-2", "hung-1"]  # by group, then id


async def test_the_digest_the_scan_posts_groups_its_members_by_cause_and_regroups_as_they_resolve(bot: Bot) -> None:
    await incident(bot)
    report = await bot.scanner.tick()
    assert report.opened == 11
    [digest] = bot.slack.sent("/api/chat.postMessage")
    assert CAUSES in text_of(digest["blocks"])

    for i in range(3):  # the API ones are reset behind the digest
        tenant = await bot.store.get(f"api-{i}")
        assert tenant is not None
        event = AuditEvent(tenant.id, ev.completed(Action.RESET), "U4", now())
        await bot.store.save(tenant.updated(state=TenantState.PENDING, handle=None, error=None), [event])
    await bot.scanner.tick()
    [update] = bot.slack.sent("/api/chat.update")
    assert "*By cause:* 7 orphaned at `create_storage`; 1 hung at `seed_data`" in text_of(update["blocks"])


async def test_an_alert_for_a_tenant_wedged_again_after_reset_and_retry_says_escalate(bot: Bot) -> None:
    reset_at = now() - timedelta(hours=2)
    tenant = await make(
        bot.store, bot.engine, "again-1", Situation.WEDGED_ORPHANED, current_step="create_storage", attempt=2
    )
    feed = [
        AuditEvent(tenant.id, ev.started(Action.RESET), "U4", reset_at, {"step": "create_storage"}),
        AuditEvent(tenant.id, ev.completed(Action.RESET), "U4", reset_at),
        AuditEvent(tenant.id, ev.completed(Action.RETRY), "U4", reset_at + timedelta(minutes=1)),
    ]
    await bot.store.append(feed)
    await bot.scanner.tick()
    [alert] = bot.slack.sent("/api/chat.postMessage")
    wording = f"Escalate: wedged again at `create_storage` after Reset and Retry at {reset_at:%H:%M} UTC"
    assert wording in text_of(alert["blocks"]) and "*Suggested:* Escalate — Reset and Retry did not" in text_of(
        alert["blocks"]
    )
    [reset] = [
        e for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "alert_reset"
    ]
    assert "style" not in reset  # still offered, no longer the one to press
    [open_alert] = await bot.scanner.alerts.open_alerts()
    assert open_alert.reason.startswith(wording)

    await bot.post(bot.command_body("stuck"))
    [reply] = await bot.slack.wait_for("/response/r1")
    assert f"Recommended: {wording}" in text_of(reply["blocks"])


async def test_the_card_of_a_tenant_reset_and_retried_that_wedged_again_at_that_step_recommends_escalate(
    bot: Bot,
) -> None:
    await make(bot.store, bot.engine, "again-2", Situation.WEDGED_ORPHANED, current_step="create_storage")
    assert (await bot.service.act(Action.RESET, "again-2", "U4")).outcome == "done"
    assert (await bot.service.act(Action.RETRY, "again-2", "U4")).outcome == "done"
    retried = await bot.store.get("again-2")
    assert retried is not None and retried.handle is not None
    bot.engine.runs.pop(retried.handle.workflow_id)  # the retry's run is lost too, at the same step
    await bot.store.save(retried.updated(state=TenantState.PROVISIONING, current_step="create_storage"), [])

    await bot.post(bot.command_body("again-2"))
    [card] = await bot.slack.wait_for("/response/r1")
    reset = next(e for e in await bot.store.events("again-2", 20) if e.type == ev.completed(Action.RESET))
    advice = f"Escalate: wedged again at `create_storage` after Reset and Retry at {reset.at:%H:%M} UTC"
    assert f"*Recommended:* {advice}" in text_of(card["blocks"])
    buttons = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [reset_button] = [b for b in buttons if b.get("action_id") == ACTION_ID.format("reset")]
    assert "style" not in reset_button  # Reset is still offered, but not highlighted
