"""The read-only switch over signed HTTP: `/tenant freeze` and `/tenant unfreeze` for admins (announced in
the channel), refused for anyone else; `/tenant help` shows the switch; while frozen a press on a card or
an alert is refused and audited, cards and alerts show the freeze and no action button, and the scan
keeps alerting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.alert import ALERT_BLOCK
from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action
from tests.e2e.conftest import DEFAULT_POLICY, Bot, running_bot
from tests.e2e.situations import make

CARD = "tenant_actions:acme-42"
ADMINS = Policy(DEFAULT_POLICY.allowed, admins=AllowList(users=frozenset({"U1"}), groups=frozenset({"S0ADMINS"})))


@pytest.fixture
async def admin_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, policy=ADMINS) as started:
        yield started


def buttons(message: dict[str, Any]) -> set[str]:
    return {str(e.get("action_id")) for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]}


async def command(bot: Bot, text: str, user: str = "U1", response: str = "r1") -> dict[str, Any]:
    status, _ = await bot.post(bot.command_body(text, user=user, response=response))
    assert status == 200
    [answer] = await bot.slack.wait_for(f"/response/{response}")
    return answer


async def test_an_admin_freezes_from_slack_it_is_announced_in_the_channel_and_help_shows_it(admin_bot: Bot) -> None:
    answer = await command(admin_bot, "freeze Database failover <!channel>")
    assert answer["response_type"] == "in_channel"
    assert "<@U1> froze tenantbot (read-only): Database failover &lt;!channel&gt;" in answer["text"]
    frozen = await admin_bot.service.switch.state()
    assert frozen is not None and (frozen.by, frozen.reason) == ("U1", "Database failover <!channel>")
    shown = await command(admin_bot, "help", user="U5", response="r2")
    assert shown["response_type"] == "ephemeral" and "`/tenant freeze <reason>`" in shown["text"]
    assert "*tenantbot is frozen (read-only)* by <@U1> since <!date^" in shown["text"]


async def test_an_admin_by_user_group_unfreezes_and_help_says_actions_run(admin_bot: Bot) -> None:
    admin_bot.slack.group_members["S0ADMINS"] = ["U7"]
    await admin_bot.service.switch.freeze("U1", "look first")
    answer = await command(admin_bot, "unfreeze", user="U7")
    assert answer["response_type"] == "in_channel" and "<@U7> unfroze tenantbot: actions run again" in answer["text"]
    assert await admin_bot.service.switch.state() is None
    shown = await command(admin_bot, "help", response="r2")
    assert "tenantbot is not frozen: actions run." in shown["text"]


async def test_freeze_by_someone_not_on_the_admin_allow_list_is_refused_privately_and_changes_nothing(
    admin_bot: Bot,
) -> None:
    answer = await command(admin_bot, "freeze let me", user="U5")
    assert answer["response_type"] == "ephemeral" and "not on the admin allow-list" in answer["text"]
    assert await admin_bot.service.switch.state() is None


async def test_by_default_nobody_may_freeze_from_slack(bot: Bot) -> None:
    answer = await command(bot, "freeze incident")
    assert "Nobody may freeze or unfreeze tenantbot from Slack" in answer["text"]
    assert await bot.service.switch.state() is None


async def test_a_freeze_without_a_reason_is_answered_with_what_to_type(admin_bot: Bot) -> None:
    answer = await command(admin_bot, "freeze")
    assert answer["response_type"] == "ephemeral" and "a freeze needs a reason" in answer["text"]
    assert await admin_bot.service.switch.state() is None


async def test_a_press_while_frozen_is_refused_audited_and_the_card_shows_the_freeze_and_no_buttons(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.service.switch.freeze("cli:alice", "database failover")
    status, elapsed = await bot.post(bot.press_body("tenant_reset", "acme-42", CARD, user="U9"))
    assert status == 200 and elapsed < 3
    [update] = await bot.slack.wait_for("/response/r1")
    assert "refused — tenantbot is frozen (read-only) by cli:alice since" in str(update["blocks"])
    assert "*tenantbot is frozen (read-only)* by `cli:alice`" in str(update["blocks"])
    assert buttons(update) == {"tenant_share"}
    assert not [c for c in bot.engine.calls if c[0] == "terminate"]
    refused = (await bot.store.events("acme-42", 1))[0]
    assert refused.type.endswith("action_refused") and refused.actor == "U9"
    assert str(refused.details["reason"]).endswith(": database failover")


async def test_the_card_while_frozen_shows_the_freeze_and_no_action_button_and_again_once_unfrozen(bot: Bot) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.service.switch.freeze("U1", "look first")
    frozen = await command(bot, "acme-42")
    assert buttons(frozen) == {"tenant_share"} and "tenantbot is frozen" in str(frozen["blocks"])
    await bot.service.switch.unfreeze("U1")
    thawed = await command(bot, "acme-42", response="r2")
    assert buttons(thawed) == {"tenant_reset", "tenant_cancel", "tenant_share"}
    assert "tenantbot is frozen" not in str(thawed["blocks"])


async def test_the_scan_keeps_alerting_while_frozen_without_reset_and_a_press_on_an_old_alert_is_refused(
    bot: Bot,
) -> None:
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_NO_PROGRESS)
    await bot.scanner.tick()  # posted before the freeze, with its Reset
    # no progress rather than orphaned: an orphan under a healthy-looking row waits for the next reconcile
    await make(bot.store, bot.engine, "other-1", Situation.WEDGED_NO_PROGRESS)
    await bot.service.switch.freeze("U1", "look first")
    await bot.scanner.tick()  # posts the new one, edits the old one
    first, second = bot.slack.sent("/api/chat.postMessage")
    [edit] = bot.slack.sent("/api/chat.update")
    assert "alert_reset" in buttons(first) and "other-1" in second["text"]
    for message in (second, edit):
        assert "tenantbot is frozen" in str(message["blocks"])
        assert buttons(message) == {"alert_take", "alert_details", "alert_snooze"}  # none acts on a tenant
    [alert] = [a for a in await bot.scanner.alerts.open_alerts() if a.tenant_id == "acme-42"]
    await bot.post(bot.press_body("alert_reset", "acme-42", ALERT_BLOCK.format(alert.id, "acme-42"), user="U4"))
    [answer] = await bot.slack.wait_for("/response/r1")
    assert "refused — tenantbot is frozen" in str(answer["blocks"]) and "alert_reset" not in buttons(answer)
    assert (await bot.store.events("acme-42", 1))[0].type.endswith("action_refused")
    assert not [c for c in bot.engine.calls if c[0] == "terminate"]


async def test_a_decommission_by_someone_allowed_to_is_refused_while_frozen_too(tmp_path: Path) -> None:
    allowed = AllowList(users=frozenset({"U1"}))
    policy = Policy({**ADMINS.allowed, Action.DECOMMISSION: allowed}, admins=ADMINS.admins)
    async with running_bot(tmp_path, policy=policy) as bot:
        await make(bot.store, bot.engine, "acme-42", Situation.FAILED_CLEANLY)
        await command(bot, "freeze look first")
        await bot.post(bot.press_body("tenant_decommission", "acme-42", CARD, user="U1", response="r2"))
        [update] = await bot.slack.wait_for("/response/r2")
        assert "refused — tenantbot is frozen (read-only) by U1" in str(update["blocks"])
        assert "decommission" not in [c[0] for c in bot.engine.calls]
