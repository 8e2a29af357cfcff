"""The preview modal of Reset, Cancel and Decommission: opened on a press, run once when submitted.

On a press (a card's or an alert's; acked first), the core checks it as if it ran (`Presses.preview`:
authorization, the freeze, an out-of-date card, the situation; refusals audited and answered like a
press's) and says exactly what the action would do; the modal shows that (bot/blocks/preview.py) with a
required reason, opened with the press's `trigger_id` (Slack takes it for 3 seconds). A modal that
cannot be opened (an expired trigger, any Slack error, no answer) is answered privately and nothing runs.

The modal keeps what the card showed and where its answer goes in `private_metadata`
(bot/seen_values.Opened). Its submission is read strictly: a form tenantbot did not open, or a reason
that is empty or too long, keeps the modal open with the problem under the field (`response_action:
errors`). Otherwise the modal closes and the action goes to the core as one generic call (the action,
what was seen, the user, the reason, and the request key `view:<view id>`, so a submission delivered
twice runs once: core/submissions.py); the core re-checks it (an out-of-date card is refused) and the
original card or alert is answered through the press's response_url. For an action that takes two people
(Decommission) the core records a request instead, which is posted for a second person to approve
(bot/listeners/approvals.py), with the reason given here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import Answer
from bot.blocks import card
from bot.blocks.preview import CALLBACK_ID, field_errors, preview_modal, reason_of
from bot.deps import BotDeps
from bot.listeners.approvals import ask_second_person
from bot.listeners.press_answers import answer_for
from bot.payload import text_at
from bot.replies import EPHEMERAL
from bot.seen_values import Opened, Tampered, pack_opened, unpack_opened
from core.approvals import ApprovalResult
from core.domain import Action
from core.freeze import InvalidReason
from core.previews import parse_action_reason
from core.results import ActionResult
from core.seen import Seen

log = logging.getLogger(__name__)
OPEN_WITHIN = 3.0  # seconds: Slack's trigger_id is good for 3 s, so a slower views.open has failed anyway


def not_opened(action: Action, why: str) -> str:
    return (
        f":warning: The preview of {action.value.capitalize()} could not be opened ({why}), so nothing ran. "
        "Press the button again."
    )


async def open_preview(
    deps: BotDeps, body: dict[str, Any], act: Action, seen: Seen, client: AsyncWebClient, answer: Answer, *, source: str
) -> dict[str, Any] | None:
    """Open the preview of `act` for the presser, or answer why not (a refusal, or a modal Slack did not open)."""
    user = str(body["user"]["id"])
    outcome = await deps.presses.preview(act, seen, user)
    if isinstance(outcome, ActionResult):  # refused and audited: answered like a refused press
        deps.metrics.action(outcome)
        answer.ran(card.result_note(outcome, deps.clock()))
        return await answer_for(source, deps, body, outcome)
    opened = Opened.of(act, seen, body, source)
    modal = preview_modal(outcome, pack_opened(opened))
    try:
        await asyncio.wait_for(client.views_open(trigger_id=str(body.get("trigger_id", "")), view=modal), OPEN_WITHIN)
    except SlackApiError as e:
        log.warning("views.open refused for %s of %s: %s", act.value, seen.tenant_id, e.response.get("error"))
        return {"text": not_opened(act, f"Slack said {e.response.get('error', 'no')}"), **EPHEMERAL}
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as e:
        log.warning("views.open failed for %s of %s: %s", act.value, seen.tenant_id, e or "no answer")
        return {"text": not_opened(act, "Slack did not answer in time"), **EPHEMERAL}
    return None  # the modal answers; the card stays as it is until the submission


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        try:
            opened = unpack_opened(view.get("private_metadata"))
            view_id = text_at(view, "id")
            if view_id is None:
                raise Tampered("this form has no view id, so it cannot be run once; nothing ran")
            reason = parse_action_reason(reason_of(view), opened.action)
        except (Tampered, InvalidReason) as e:
            log.info("preview submission kept open: %s", e)
            await ack(**field_errors(str(e)))
            return
        await ack()  # closes the modal; the answer goes to the card it was opened from
        user = str(body["user"]["id"])
        pressed = {  # the press the modal came from, as the answers read it
            "user": {"id": user},
            "channel": {"id": opened.channel},
            "container": {"is_ephemeral": opened.private, "channel_id": opened.channel},
        }
        answer = Answer(
            deps.response_urls.respond(opened.response_url), "preview submission", client=client, body=pressed
        )

        async def work() -> dict[str, Any] | None:
            origin = opened.channel or None
            result = await deps.submissions.submit(
                opened.action, opened.seen, user, reason=reason, origin=origin, request_key=f"view:{view_id}"
            )
            if isinstance(result, ApprovalResult):  # a request a second person approves (core/submissions.py)
                return await ask_second_person(deps, client, answer, result, origin)
            deps.metrics.action(result)
            answer.ran(card.result_note(result, deps.clock()))
            return await answer_for(opened.source, deps, pressed, result)

        await answer.send(work())

    app.view(CALLBACK_ID)(submitted)
