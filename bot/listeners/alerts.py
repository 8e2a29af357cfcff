"""Buttons of the alert channel: Reset (with its confirmation), Details, Snooze, and a digest's picker.

Answers go to the presser only (ephemeral), so the alert stays the channel's shared record; the
scanner edits it in place when the tenant moves again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.alert_blocks import ALERT_BLOCK, SNOOZE_CHOICES
from bot.authz import GroupDirectory
from bot.deps import BotDeps
from bot.listeners.actions import Tampered, rendered, run_press
from bot.replies import failure_text
from core.domain import Action, parse_tenant_id

log = logging.getLogger(__name__)
EPHEMERAL: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False}


def alert_target(action: dict[str, Any], value: str) -> tuple[int, str]:
    """(alert id, tenant id) from the block the element sits in; the value must agree with it."""
    parts = str(action.get("block_id", "")).split(":")
    alert_id, tenant_id = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
    if not alert_id.isdigit() or ALERT_BLOCK.format(alert_id, parse_tenant_id(tenant_id)) != action.get("block_id"):
        raise Tampered("this control does not belong to an alert; run /tenant instead")
    if value and value != tenant_id:
        raise Tampered("this button does not belong to that tenant's alert")
    return int(alert_id), tenant_id


def register(app: AsyncApp, deps: BotDeps) -> None:
    directory = GroupDirectory()

    async def reset(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            _, tenant_id = alert_target(action, str(action.get("value", "")))
            result = await run_press(deps, directory, client, body, Action.RESET, tenant_id)
            await respond(**rendered(deps, result), **EPHEMERAL)
        except Exception as e:
            await respond(text=failure_text(e), **EPHEMERAL)

    async def details(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            tenant_id = parse_tenant_id(str(action.get("value") or (action.get("selected_option") or {}).get("value")))
            view = await deps.service.view(tenant_id)
            card = blocks.tenant_card(view, runbook_url=deps.runbook_url)
            await respond(text=blocks.text_fallback(view), blocks=card, **EPHEMERAL)
        except Exception as e:
            await respond(text=failure_text(e), **EPHEMERAL)

    async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            alert_id, tenant_id = alert_target(action, "")
            seconds = int((action.get("selected_option") or {}).get("value", "0"))
            if seconds not in {s for _, s in SNOOZE_CHOICES} or deps.scanner is None:
                raise Tampered("not a snooze this bot offers")
            until = deps.clock() + timedelta(seconds=seconds)
            await deps.scanner.snooze(alert_id, until, body["user"]["id"])
            await respond(text=f":zzz: Alert for {tenant_id} snoozed until {until:%H:%M} UTC.", **EPHEMERAL)
        except Exception as e:
            log.warning("snooze failed: %s", e)
            await respond(text=failure_text(e), **EPHEMERAL)

    app.action("alert_reset")(reset)
    app.action("alert_details")(details)
    app.action("alert_pick")(details)
    app.action("alert_snooze")(snooze)
