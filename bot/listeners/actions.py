"""The buttons of the tenant card: Reset, Retry, Cancel, Decommission, and Share in channel.

Each press is acked at once and checked: the button value is what the card showed (bot/seen_values.py:
tenant, attempt, run id, situation, when drawn), and its tenant must be the block's. Reset, Cancel and
Decommission then open their preview modal (bot/listeners/previews.py), which runs the action once the
presser gives a reason (a Decommission becomes a request a second person approves:
bot/listeners/approvals.py). Retry is handed to the core at once as one call (`Presses.press`: authorization,
its audit, the action, only on the run the card showed) with the Slack user as actor and a request key
unique to the press (so a redelivered request never runs twice), and answered: the card is replaced in
place with the tenant's new state and a line saying who pressed what. A refusal on a card shared in the
channel, and a press whose tenant could not be read again, are answered to the presser only and leave
the card as it is, so one person's refused press never rewrites everyone's message; an out-of-date card
gets the presser the fresh card. Once the service has answered, whatever fails afterwards is answered
with what was done (bot/answer.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import Answer, answered, reply
from bot.blocks import card
from bot.blocks.common import OPEN_RUN, actor
from bot.deps import BotDeps
from bot.listeners.press_answers import answer_press
from bot.listeners.previews import open_preview
from bot.replies import EPHEMERAL, UNKNOWN_CONTROL
from bot.seen_values import Tampered, unpack
from core.domain import Action, parse_tenant_id
from core.previews import PREVIEWED
from core.results import ActionResult
from core.seen import Seen

log = logging.getLogger(__name__)
PRESS = re.compile(r"^tenant_(reset|retry|cancel|decommission)$")
NOT_THIS_CARD = "this button does not belong to that tenant's card; run /tenant again"


def pressed_tenant(action: dict[str, Any]) -> str:
    """The tenant of Share (its value is the tenant id), checked against the block it sits in."""
    tenant_id = parse_tenant_id(str(action.get("value", "")))
    if action.get("block_id") != card.ACTIONS_BLOCK.format(tenant_id):
        raise Tampered(NOT_THIS_CARD)
    return tenant_id


def pressed_seen(action: dict[str, Any]) -> Seen:
    """What the card of an action button showed, checked against the block it sits in."""
    seen = unpack(action.get("value"))
    if action.get("block_id") != card.ACTIONS_BLOCK.format(seen.tenant_id):
        raise Tampered(NOT_THIS_CARD)
    return seen


async def run_press(deps: BotDeps, body: dict[str, Any], act: Action, seen: Seen, answer: Answer) -> ActionResult:
    """The press, as one core call (core/presses.py decides, audits and acts on the run `seen` showed).

    Once the core has answered, `answer` knows what was done: any failure afterwards says it."""
    user = body["user"]["id"]
    key = f"{user}:{body['actions'][0].get('action_ts', '')}:{act.value}:{seen.tenant_id}"
    result = await deps.presses.press(act, seen.tenant_id, user, request_key=key, seen=seen)
    deps.metrics.action(result)
    answer.ran(card.result_note(result, deps.clock()))
    return result


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def press(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        answer = Answer(respond, f"button {action.get('action_id')}", client=client, body=body)

        async def work() -> dict[str, Any] | None:
            act = Action(PRESS.fullmatch(action["action_id"]).group(1))  # type: ignore[union-attr]
            seen = pressed_seen(action)
            if act in PREVIEWED:
                return await open_preview(deps, body, act, seen, client, answer, source="card")
            result = await run_press(deps, body, act, seen, answer)
            return await answer_press(deps, body, result)

        await ack()
        await answer.send(work())

    async def share(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            view = await deps.service.view(pressed_tenant(action))
            note = f"Shared by {actor(body['user']['id'])}"
            offered = await deps.presses.offered(view.assessment.allowed, None)  # everyone sees it
            run_url = deps.links.to(view.tenant.handle)
            shown = card.tenant_card(view, runbook_url=deps.runbook_url, note=note, actions=offered, run_url=run_url)
            shared = {"response_type": "in_channel", "replace_original": False}  # a new message; the private one stays
            return {"text": card.text_fallback(view), "blocks": shown, **shared}

        await ack()
        await answered(respond, "share", work())

    async def link(ack: AsyncAck) -> None:
        """ "Open in Temporal" opens its URL in the browser; Slack still sends the press, which needs only an ack."""
        await ack()

    app.action(PRESS)(press)
    app.action(card.SHARE_ACTION_ID)(share)
    app.action(OPEN_RUN)(link)  # on cards and alerts alike


def register_fallback(app: AsyncApp) -> None:
    """Any other button (an old or altered message): acked and answered, never Slack's generic error.
    Registered after every other listener, because Bolt runs the first listener that matches."""

    async def unknown(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        log.info("unknown control %r", str(action.get("action_id"))[:80])
        await reply(respond, text=UNKNOWN_CONTROL, **EPHEMERAL)

    app.action(re.compile(r".*"))(unknown)
