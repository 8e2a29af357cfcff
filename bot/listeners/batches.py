"""A digest's batch buttons: "Reset all N" opens a preview; its submission starts the batch; Stop stops it.

The press is acked first; the core re-derives the group and its members and checks the presser and the
freeze (core/alerting/batch_offers.py); a refusal is answered privately, otherwise the preview opens
with the press's trigger_id (bot/listeners/previews.py's bound and answers). The submission is read
strictly: a reason, rate or canary a batch cannot take keeps the modal open with the problem under its
field. Then the modal closes and the core checks everything again and starts the batch once per view
(`view:<view id>`); it runs in this process at once, its progress edited in the digest's thread
(bot/batch_runs.py). A refusal at that point goes to the submitter privately in the digest's channel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import answered
from bot.blocks.batch import (
    CALLBACK_ID,
    CANARY_BLOCK,
    CANARY_INPUT,
    OFFER_ACTIONS,
    RATE_BLOCK,
    RATE_INPUT,
    STOP,
    batch_modal,
    errors,
    offer_target,
    opened_batch,
    typed,
)
from bot.blocks.preview import REASON_BLOCK, reason_of
from bot.deps import BotDeps
from bot.listeners.alerts import number
from bot.listeners.previews import OPEN_WITHIN
from bot.payload import text_at
from bot.replies import EPHEMERAL
from bot.seen_values import Tampered
from core.alerting.batch_groups import InvalidOption, Refused, parse_canary, parse_rate
from core.alerting.batch_offers import BatchOffers
from core.domain import Action
from core.freeze import InvalidReason
from core.previews import parse_action_reason

log = logging.getLogger(__name__)


def offers_on(deps: BotDeps) -> BatchOffers:
    if deps.batch_offers is None:
        raise Tampered("batches are not enabled on this bot (no ALERT_CHANNEL)")
    return deps.batch_offers


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def pressed(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        async def work() -> dict[str, Any] | None:
            digest_id, key, kind = offer_target(action)
            offer = await offers_on(deps).offer(digest_id, key, kind, str(body["user"]["id"]))
            if isinstance(offer, Refused):
                return {"text": f":no_entry: {offer.reason}", **EPHEMERAL}
            try:
                trigger = str(body.get("trigger_id", ""))
                await asyncio.wait_for(client.views_open(trigger_id=trigger, view=batch_modal(offer)), OPEN_WITHIN)
            except (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as e:
                log.warning("views.open failed for batch %s of digest %s: %s", kind.value, digest_id, e or "no answer")
                why = "The batch's preview could not be opened (Slack did not take it in time), so nothing ran."
                return {"text": f":warning: {why} Press the button again.", **EPHEMERAL}
            return None

        await ack()
        await answered(respond, "batch offer", work())

    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        try:
            digest_id, key, kind = opened_batch(view.get("private_metadata"))
            view_id = text_at(view, "id")
            if view_id is None:
                raise Tampered("this form has no view id, so it cannot be run once; nothing ran")
            reason = parse_action_reason(reason_of(view), Action.RESET)
        except (Tampered, InvalidReason) as e:
            await ack(**errors(REASON_BLOCK, str(e)))
            return
        try:
            rate = parse_rate(typed(view, RATE_BLOCK, RATE_INPUT))
        except InvalidOption as e:
            await ack(**errors(RATE_BLOCK, str(e)))
            return
        try:
            canary = parse_canary(typed(view, CANARY_BLOCK, CANARY_INPUT), kind)
        except InvalidOption as e:
            await ack(**errors(CANARY_BLOCK, str(e)))
            return
        await ack()
        user = str(body["user"]["id"])
        try:
            started = await offers_on(deps).start(
                digest_id, key, kind, user, reason=reason, rate=rate, canary=canary, request_key=f"view:{view_id}"
            )
        except Exception as e:
            log.warning("batch %s from digest %s not started: %s", kind.value, digest_id, e)
            started = Refused(f"the batch could not be started ({type(e).__name__}); nothing ran. Try again.")
        if started is None:  # a second delivery of the same submission
            return
        if isinstance(started, Refused):
            await tell(client, deps, digest_id, user, f":no_entry: {started.reason}")
            return
        if deps.batch_runs is not None:
            deps.batch_runs.start(started.batch, started.offer.thread)

    async def stop(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            batch_id = number(str(action.get("value", "")))
            if batch_id is None or action.get("block_id") != f"batch:{batch_id}":
                raise Tampered("this Stop does not belong to a batch's message")
            return {"text": await offers_on(deps).stop(batch_id, str(body["user"]["id"])), **EPHEMERAL}

        await ack()
        await answered(respond, "batch stop", work())

    for action_id in OFFER_ACTIONS.values():
        app.action(action_id)(pressed)
    app.view(CALLBACK_ID)(submitted)
    app.action(STOP)(stop)


async def tell(client: AsyncWebClient, deps: BotDeps, digest_id: int, user: str, text: str) -> None:
    """A private line to the submitter in the digest's channel (a submission has no response_url)."""
    channel = await deps.batch_offers.channel_of(digest_id) if deps.batch_offers is not None else None
    if channel is None:
        log.warning("could not tell %s: %s", user, text)
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, OSError) as e:
        log.warning("could not tell %s: %s (%s)", user, text, e)
