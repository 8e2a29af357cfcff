"""Two-person Decommission over signed HTTP with the Slack stand-in: the card's Decommission posts a request with
Approve and Deny in the channel it came from; the requester's own approval is refused and audited; another
allowed user's approval runs it once (also when two press at once) and the message shows who approved and
what happened; an expired request, a denied one and an approval while frozen are refused; a request that
cannot be posted where it came from goes to the alert channel."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.approval import APPROVE, DENY
from bot.request_updates import update_requests
from core.authz import AllowList, Policy
from core.decisions import Situation
from core.domain import Action, TenantState
from core.ports import EngineError
from tests.e2e.conftest import DEFAULT_POLICY, Bot, running_bot
from tests.e2e.situations import make

CARD = "tenant_actions:acme-42"
POLICY = Policy({**DEFAULT_POLICY.allowed, Action.DECOMMISSION: AllowList(users=frozenset({"U1", "U2", "U3"}))})


@dataclass
class Clock:
    skip: timedelta = field(default=timedelta(0))

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


REASON = "the customer left"


@pytest.fixture
async def bot(tmp_path: Path, clock: Clock) -> Any:
    async with running_bot(tmp_path, policy=POLICY, approval_clock=clock) as started:
        await make(started.store, started.engine, "acme-42", Situation.FAILED_CLEANLY)
        yield started


async def request(bot: Bot, user: str = "U1") -> dict[str, Any]:
    """Press Decommission on the card as `user` and submit its preview with a reason; the request message the
    bot posted."""
    await bot.act("tenant_decommission", user=user, response="ask", reason=REASON)
    [asked] = await bot.slack.wait_for("/response/ask")
    assert "done — Decommission of acme-42 requested" in asked["text"], asked
    [posted] = await bot.slack.wait_for("/api/chat.postMessage")
    return posted


def blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    raw = message["blocks"]
    return list(json.loads(raw) if isinstance(raw, str) else raw)


def button(message: dict[str, Any], action_id: str) -> tuple[str, str]:
    """(value, block_id) of a button on a posted message."""
    for block in blocks(message):
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"] == action_id:
                return element["value"], block["block_id"]
    raise AssertionError(f"no {action_id} on {message}")


async def press(bot: Bot, posted: dict[str, Any], action_id: str, user: str, response: str) -> dict[str, Any]:
    """Press Approve or Deny on the posted request as `user`; the private answer."""
    value, block_id = button(posted, action_id)
    where = {"type": "message", "message_ts": "100.0001", "channel_id": posted["channel"], "is_ephemeral": False}
    body = bot.press_body(action_id, value, block_id, user=user, response=response, fields={"container": where})
    status, _ = await bot.post(body)
    assert status == 200
    [answer] = await bot.slack.wait_for(f"/response/{response}")
    return answer


async def feed(bot: Bot) -> list[str]:
    return [e.type.removeprefix("tenant.provisioning.") for e in reversed(await bot.store.events("acme-42", 50))]


def decommissions(bot: Bot) -> int:
    return [c for c, _ in bot.engine.calls].count("decommission")


async def test_a_decommission_press_posts_a_request_with_approve_and_deny_and_runs_nothing(bot: Bot) -> None:
    posted = await request(bot)
    assert posted["channel"] == "C1"
    text = str(blocks(posted))
    assert "<@U1> asks to *Decommission* `acme-42`" in text and f"*Reason:* {REASON}" in text
    assert "the requester cannot approve their own request" in text
    assert button(posted, APPROVE)[1] == button(posted, DENY)[1]
    assert await feed(bot) == ["decommission_requested"] and decommissions(bot) == 0


async def test_an_approval_the_engine_refuses_leaves_the_request_open_and_the_next_approval_runs_it(
    bot: Bot,
) -> None:
    posted = await request(bot)
    bot.engine.fail_with, bot.engine.failing = EngineError("engine: no answer within 2 s"), {"decommission"}
    answer = await press(bot, posted, APPROVE, "U2", "blip")
    assert "failed — " in answer["text"] and "Nothing ran, so the request is open again" in answer["text"]
    await asyncio.sleep(0.2)
    assert bot.slack.sent("/api/chat.update") == []  # Approve and Deny stay on the message
    bot.engine.fail_with = None
    ran = await press(bot, posted, APPROVE, "U3", "again")
    assert "*Approve*: done — decommission started" in ran["text"]
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert "Approved by <@U3>" in str(blocks(edited)) and APPROVE not in str(blocks(edited))
    assert (await feed(bot))[-3:] == ["decommission_reopened", "decommission_approved", "decommission_started"]


async def test_the_requesters_own_approval_is_refused_and_audited(bot: Bot) -> None:
    posted = await request(bot)
    answer = await press(bot, posted, APPROVE, "U1", "own")
    assert answer["response_type"] == "ephemeral"
    assert "refused — you asked for this Decommission: another person" in answer["text"]
    assert await feed(bot) == ["decommission_requested", "action_refused"] and decommissions(bot) == 0
    assert bot.slack.sent("/api/chat.update") == []  # still open for someone else


async def test_another_allowed_user_approves_it_runs_once_and_the_message_says_who_and_what(bot: Bot) -> None:
    posted = await request(bot)
    answer = await press(bot, posted, APPROVE, "U2", "approve")
    assert "*Approve*: done — decommission started" in answer["text"]
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert edited["channel"] == "C1" and edited["ts"] == "100.0001"
    shown = str(blocks(edited))
    assert "Approved by <@U2>" in shown and "done: decommission started" in shown and APPROVE not in shown
    assert await feed(bot) == ["decommission_requested", "decommission_approved", "decommission_started"]
    tenant = await bot.store.get("acme-42")
    assert tenant is not None and tenant.state is TenantState.DECOMMISSIONING and decommissions(bot) == 1


async def test_two_approvers_pressing_at_once_run_it_once(bot: Bot) -> None:
    posted = await request(bot)
    answers = await asyncio.gather(press(bot, posted, APPROVE, "U2", "u2"), press(bot, posted, APPROVE, "U3", "u3"))
    said = sorted(a["text"].split(" — ")[0] for a in answers)
    assert said == ["*Approve*: done", "*Approve*: refused"]
    assert any("already approved by U" in a["text"] for a in answers)
    assert decommissions(bot) == 1 and (await feed(bot)).count("decommission_started") == 1


async def test_an_approval_after_approval_ttl_is_refused_audited_and_the_message_shows_it_expired(
    bot: Bot, clock: Clock
) -> None:
    posted = await request(bot)
    clock.skip = timedelta(minutes=31)
    answer = await press(bot, posted, APPROVE, "U2", "late")
    assert "refused — this request expired at" in answer["text"] and "APPROVAL_TTL" in answer["text"]
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert "Expired at" in str(blocks(edited)) and APPROVE not in str(blocks(edited))
    assert await feed(bot) == ["decommission_requested", "action_refused"] and decommissions(bot) == 0


async def test_a_denied_request_shows_who_denied_it_and_cannot_be_approved(bot: Bot) -> None:
    posted = await request(bot)
    denied = await press(bot, posted, DENY, "U2", "deny")
    assert "*Deny*: done — Decommission of acme-42 denied" in denied["text"]
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert "Denied by <@U2>" in str(blocks(edited))
    late = await press(bot, posted, APPROVE, "U3", "late")  # an approval pressed on an old copy of the message
    assert "refused — this request was denied by U2" in late["text"]
    assert await feed(bot) == ["decommission_requested", "decommission_denied", "action_refused"]
    assert decommissions(bot) == 0


async def test_an_approval_while_frozen_is_refused_and_the_request_stays_open(bot: Bot) -> None:
    posted = await request(bot)
    await bot.service.switch.freeze("cli:alice", "database failover")
    answer = await press(bot, posted, APPROVE, "U2", "frozen")
    assert "refused — tenantbot is frozen (read-only) by cli:alice" in answer["text"]
    assert await feed(bot) == ["decommission_requested", "action_refused"] and decommissions(bot) == 0
    assert bot.slack.sent("/api/chat.update") == []


async def test_a_request_that_cannot_be_posted_where_it_came_from_goes_to_the_alert_channel(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", (500, {}))
    await bot.act("tenant_decommission", user="U1", response="ask", reason=REASON)
    [asked] = await bot.slack.wait_for("/response/ask")
    assert "Posted for approval in <#C9>" in asked["text"]
    [posted] = await bot.slack.wait_for("/api/chat.postMessage")
    assert posted["channel"] == "C9"


async def test_an_approve_button_whose_value_does_not_match_its_block_runs_nothing(bot: Bot) -> None:
    posted = await request(bot)
    _, block_id = button(posted, APPROVE)
    body = bot.press_body(APPROVE, "999", block_id, user="U2", response="odd")
    await bot.post(body)
    [answer] = await bot.slack.wait_for("/response/odd")
    assert "does not belong to that Decommission request" in answer["text"] and decommissions(bot) == 0


async def test_a_request_nobody_approved_in_time_is_expired_by_the_schedule_and_its_message_says_so(
    bot: Bot, clock: Clock
) -> None:
    posted = await request(bot)
    assert await update_requests(bot.client, bot.deps.approvals) == 0  # not yet
    clock.skip = timedelta(minutes=31)
    assert await update_requests(bot.client, bot.deps.approvals) == 1
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert (edited["channel"], edited["ts"]) == (posted["channel"], "100.0001")  # the stand-in's first ts
    assert "Expired at" in str(blocks(edited)) and APPROVE not in str(blocks(edited))
    late = await press(bot, posted, APPROVE, "U2", "late")
    assert "refused — this request expired at" in late["text"] and decommissions(bot) == 0


async def test_a_deny_pressed_after_approval_ttl_says_it_expired_and_the_message_shows_it(
    bot: Bot, clock: Clock
) -> None:
    posted = await request(bot)
    clock.skip = timedelta(minutes=31)
    answer = await press(bot, posted, DENY, "U2", "late")
    assert "refused — this request expired at" in answer["text"]
    [edited] = await bot.slack.wait_for("/api/chat.update")
    assert "Expired at" in str(blocks(edited))
    assert "decommission_denied" not in await feed(bot)


async def test_an_approved_request_s_message_says_completed_once_the_engine_has_decommissioned_the_tenant(
    bot: Bot,
) -> None:
    posted = await request(bot)
    await press(bot, posted, APPROVE, "U2", "approve")
    await bot.slack.wait_for("/api/chat.update")
    assert await update_requests(bot.client, bot.deps.approvals) == 0  # the engine is still finishing it
    tenant = await bot.store.get("acme-42")
    assert tenant is not None
    await bot.store.save(tenant.updated(state=TenantState.DECOMMISSIONED), [])  # as the saga ends it
    assert await update_requests(bot.client, bot.deps.approvals) == 1
    [_, completed] = await bot.slack.wait_for("/api/chat.update", count=2)
    assert (completed["channel"], completed["ts"]) == (posted["channel"], "100.0001")
    shown = str(blocks(completed))
    assert "Approved by <@U2>" in shown and "completed: the tenant is decommissioned" in shown
    assert await update_requests(bot.client, bot.deps.approvals) == 0  # edited once
