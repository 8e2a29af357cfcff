"""The Newer and Older buttons of a tenant's history: each press answers privately with that page,
in place of the one pressed on.

A button's value names the tenant and the page's edge (bot/blocks/history.py); one whose value does not
match the block it sits in, or whose edge is not a position this bot writes, is answered privately
("altered") and reads nothing.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.answer import answered
from bot.blocks.history import HISTORY_BLOCK, NEWER, OLDER, history_blocks, history_text
from bot.deps import BotDeps
from bot.listeners.actions import Tampered
from core.domain import FeedPosition, InvalidTenantId, parse_tenant_id
from core.history import InvalidCursor, parse_cursor

TURN = re.compile(f"^({OLDER}|{NEWER})$")


def page_target(action: dict[str, Any]) -> tuple[str, FeedPosition]:
    """(tenant id, page edge) from a Newer/Older button, or Tampered."""
    raw_tenant, _, raw_edge = str(action.get("value", "")).partition(":")
    try:
        tenant_id = parse_tenant_id(raw_tenant)
        if action.get("block_id") != HISTORY_BLOCK.format(tenant_id):
            raise InvalidTenantId("not this tenant's history")
        return tenant_id, parse_cursor(raw_edge)
    except (InvalidTenantId, InvalidCursor):
        raise Tampered("this history button was altered; run `/tenant <tenant-id> history` again") from None


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def turn(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> dict[str, Any]:
            tenant_id, edge = page_target(action)
            older = action.get("action_id") == OLDER
            page = await deps.history.page(tenant_id, before=edge if older else None, after=None if older else edge)
            blocks = history_blocks(page)
            return {
                "text": history_text(page),
                "blocks": blocks,
                "response_type": "ephemeral",
                "replace_original": True,
            }

        await ack()
        await answered(respond, "history page", work())

    app.action(TURN)(turn)
