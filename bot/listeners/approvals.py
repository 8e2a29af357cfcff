"""Two-person Decommission in Slack: the Decommission preview's submission asks for it (with its reason), the
request's message takes Approve and Deny.

Translation only: each press is one core call (core/approvals.py decides who may, when, and runs it once)
with the Slack user as actor and a request key unique to the press. A request is posted, with Approve and
Deny, in the channel the press came from, or in the alert channel when it cannot be posted there; a
decided request's message is edited in place (chat.update) to say what became of it, and the presser is
answered privately.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import Answer
from bot.blocks import approval
from bot.deps import BotDeps
from bot.payload import text_at
from bot.seen_values import Tampered
from core.approval_requests import DecommissionRequest, RequestState
from core.approvals import ApprovalResult, Approvals
from core.domain import parse_tenant_id
from core.results import Outcome

log = logging.getLogger(__name__)


def pressed_request(action: dict[str, Any]) -> int:
    """The request id from the button's value; the block it sits in must name the same request."""
    value = str(action.get("value", ""))
    parts = str(action.get("block_id", "")).split(":")
    if not value.isascii() or not value.isdigit() or len(value) > 18 or len(parts) != 3:
        raise Tampered("this button does not belong to a Decommission request")
    if approval.BLOCK.format(value, parse_tenant_id(parts[2])) != action.get("block_id"):
        raise Tampered("this button does not belong to that Decommission request")
    return int(value)


def press_key(body: dict[str, Any], action: dict[str, Any], what: str, target: object) -> str:
    return f"{body['user']['id']}:{action.get('action_ts', '')}:{what}:{target}"


async def post_request(
    client: AsyncWebClient, approvals: Approvals, asked: DecommissionRequest, channels: list[str]
) -> tuple[str, str]:
    """Post the request in the first of `channels` that takes it, and remember where (its message is edited
    when it expires): (the channel, "") or ("", the last problem)."""
    problem = "no channel to post it in (set ALERT_CHANNEL)"
    assert asked.id is not None
    for channel in dict.fromkeys(c for c in channels if c):
        try:
            sent = await client.chat_postMessage(channel=channel, **approval.request_message(asked))
        except SlackApiError as e:
            problem = f"{channel}: {e.response.get('error', 'refused')}"
        except SlackClientError as e:
            problem = f"{channel}: {e}"
        else:
            await approvals.posted(asked.id, str(sent.get("channel") or channel), str(sent.get("ts", "")))
            return channel, ""
        log.warning("decommission request %s not posted: %s", asked.id, problem)
    return "", problem


async def show_decided(client: AsyncWebClient, body: dict[str, Any], result: ApprovalResult) -> None:
    """Edit the request's message to its outcome, once it is no longer pending (a lost edit is only logged)."""
    asked = result.request
    channel, ts = text_at(body, "container", "channel_id"), text_at(body, "container", "message_ts")
    if asked is None or asked.state is RequestState.PENDING or channel is None or ts is None:
        return
    try:
        await client.chat_update(channel=channel, ts=ts, **approval.decided_message(asked, result))
    except SlackClientError as e:
        log.warning("decommission request %s: its message was not updated: %s", asked.id, e)


async def ask_second_person(
    deps: BotDeps, client: AsyncWebClient, answer: Answer, result: ApprovalResult, origin: str | None
) -> dict[str, Any] | None:
    """A Decommission request the core recorded from a submitted preview: posted with Approve and Deny
    where the press came from (or the alert channel), and the requester told where."""
    if result.outcome is Outcome.DUPLICATE:
        return None
    answer.ran(approval.private(result, "Decommission")["text"])
    if result.outcome is not Outcome.DONE or result.request is None:
        return approval.private(result, "Decommission")
    channels = [origin or "", deps.approval_channel or ""]
    posted_in, problem = await post_request(client, deps.approvals, result.request, channels)
    if not posted_in:
        return approval.not_posted(result.request, problem)
    return approval.private(result, "Decommission", posted_in)


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def approve(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        answer = Answer(respond, "button approval_approve", client=client, body=body)

        async def work() -> dict[str, Any] | None:
            request_id = pressed_request(action)
            key = press_key(body, action, "approve", request_id)
            result = await deps.approvals.approve(request_id, body["user"]["id"], key)
            if result.outcome is Outcome.DUPLICATE:
                return None
            answer.ran(approval.private(result, "Approve")["text"])
            await show_decided(client, body, result)
            return approval.private(result, "Approve")

        await ack()
        await answer.send(work())

    async def deny(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        answer = Answer(respond, "button approval_deny", client=client, body=body)

        async def work() -> dict[str, Any] | None:
            result = await deps.approvals.deny(pressed_request(action), body["user"]["id"])
            answer.ran(approval.private(result, "Deny")["text"])
            await show_decided(client, body, result)
            return approval.private(result, "Deny")

        await ack()
        await answer.send(work())

    app.action(approval.APPROVE)(approve)
    app.action(approval.DENY)(deny)
