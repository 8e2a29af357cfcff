"""Controls of the alert channel: Reset (with its confirmation), Take it, Details, Snooze, and a digest's
menus.

Answers go to the presser only (ephemeral), so the alert stays the channel's shared record; the
scanner edits it in place when the tenant moves again. Every control names its alert and tenant in
its block or value; the core checks that the alert is that tenant's before anything runs.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import Answer, answered
from bot.blocks.alert import ALERT_BLOCK, SNOOZE_CHOICES, alert_blocks, alert_text, snooze_answer, take_answer
from bot.blocks.digest import PAGE_PICK, PICK, page_blocks
from bot.deps import BotDeps
from bot.listeners.actions import Tampered, rendered, run_press
from bot.listeners.commands import private_card
from bot.replies import EPHEMERAL
from core.alerting.controls import AlertControls
from core.alerting.model import Alert
from core.domain import Action, parse_tenant_id
from core.results import Outcome


def number(text: str) -> int | None:
    """A database id or page number as this bot writes them (ASCII digits that fit a BIGINT), else None."""
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def alert_target(action: dict[str, Any], value: str) -> tuple[int, str]:
    """(alert id, tenant id) from the block the element sits in; the value must agree with it."""
    parts = str(action.get("block_id", "")).split(":")
    alert_id, tenant_id = (number(parts[1]), parts[2]) if len(parts) == 3 else (None, "")
    if alert_id is None or ALERT_BLOCK.format(alert_id, parse_tenant_id(tenant_id)) != action.get("block_id"):
        raise Tampered("this control does not belong to an alert; run /tenant instead")
    if value and value != tenant_id:
        raise Tampered("this button does not belong to that tenant's alert")
    return alert_id, tenant_id


def chosen(action: dict[str, Any]) -> str:
    """The value of the menu option picked (bot/shapes.py has checked that the option is an object)."""
    return str((action.get("selected_option") or {}).get("value", ""))


def pair(value: str) -> tuple[int, str]:
    """`<number>:<text>` from a menu option (alert id and tenant id, or digest id and page)."""
    first, _, rest = value.partition(":")
    if (identifier := number(first)) is None or not rest:
        raise Tampered("this menu option does not belong to an alert digest; run /tenant instead")
    return identifier, rest


def alerts_on(deps: BotDeps) -> AlertControls:
    if deps.alert_controls is None:
        raise Tampered("alerts are not enabled on this bot (no ALERT_CHANNEL)")
    return deps.alert_controls


async def checked(deps: BotDeps, alert_id: int, tenant_id: str) -> Alert:
    """The alert, if it is the named tenant's: a control cannot act on another tenant's alert."""
    alert = await alerts_on(deps).alert_of(alert_id, tenant_id)
    if alert is None:
        raise Tampered(f"that alert is not {tenant_id}'s; run /tenant {tenant_id} instead")
    return alert


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def reset(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        answer = Answer(respond, "alert reset", client=client, body=body)

        async def work() -> dict[str, Any] | None:
            alert_id, tenant_id = alert_target(action, str(action.get("value", "")))
            await checked(deps, alert_id, tenant_id)
            result = await run_press(deps, body, Action.RESET, tenant_id, answer)
            if result.outcome is Outcome.DUPLICATE:
                return None  # the first delivery already answered
            return {**await rendered(deps, result, str(body["user"]["id"])), **EPHEMERAL}

        await ack()
        await answer.send(work())

    async def details(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            tenant_id = parse_tenant_id(str(action.get("value", "")))
            return {**await private_card(deps, body["user"]["id"], tenant_id), **EPHEMERAL}

        await ack()
        await answered(respond, "alert details", work())

    async def pick(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        """A digest member chosen: its own alert, with Reset, Details and Snooze."""

        async def work() -> dict[str, Any]:
            alert_id, raw = pair(chosen(action))
            alert = await checked(deps, alert_id, parse_tenant_id(raw))
            blocks = alert_blocks(alert, run_url=await deps.tenant_link(alert.tenant_id))
            return {"text": alert_text(alert), "blocks": blocks, **EPHEMERAL}

        await ack()
        await answered(respond, "digest pick", work())

    async def page(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            digest_id, raw = pair(chosen(action))
            if (page_number := number(raw)) is None:
                raise Tampered("not a page of this digest")
            still = await alerts_on(deps).digest_open_members(digest_id)
            return {"text": "A page of the digest", "blocks": page_blocks(digest_id, still, page_number), **EPHEMERAL}

        await ack()
        await answered(respond, "digest page", work())

    async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            alert_id, tenant_id = alert_target(action, "")
            seconds = {str(s): s for _, s in SNOOZE_CHOICES}.get(chosen(action))
            if seconds is None:
                raise Tampered("not a snooze this bot offers")
            until = deps.clock() + timedelta(seconds=seconds)
            result = await alerts_on(deps).snooze(alert_id, tenant_id, until, str(body["user"]["id"]))
            return {"text": snooze_answer(result, tenant_id, until), **EPHEMERAL}

        await ack()
        await answered(respond, "snooze", work())

    async def take(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            alert_id, tenant_id = alert_target(action, str(action.get("value", "")))
            result = await alerts_on(deps).take(alert_id, tenant_id, str(body["user"]["id"]))
            return {"text": take_answer(result, tenant_id), **EPHEMERAL}

        await ack()
        await answered(respond, "take", work())

    app.action("alert_reset")(reset)
    app.action("alert_take")(take)
    app.action("alert_details")(details)
    app.action(PICK)(pick)
    app.action(PAGE_PICK)(page)
    app.action("alert_snooze")(snooze)
