"""`/tenant`: ack at once, then answer through `respond()` with the card, the list or a short error.

Acking before reading anything keeps Slack's 3-second budget whatever the database or the engine do;
the service bounds its own reads, so the answer follows within a few seconds even when they hang.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import blocks
from bot.deps import BotDeps
from bot.replies import failure_text
from core.domain import parse_tenant_id

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def tenant_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text = str(command.get("text") or "").strip()
        try:
            await respond(**await answer(text, deps))
        except Exception as e:  # the user gets a line, the log gets the detail
            log.exception("/tenant %r failed", text)
            await respond(text=failure_text(e), response_type="ephemeral")

    app.command("/tenant")(tenant_command)


async def answer(text: str, deps: BotDeps) -> dict[str, Any]:
    """The message for `/tenant <text>`: usage, the wedged list, or one tenant's card."""
    if text.lower() in ("", "help"):
        return {"text": blocks.USAGE, "response_type": "ephemeral"}
    if text.lower() == "stuck":
        wedged = (await deps.finder.sweep(deps.clock())).wedged
        return {
            "text": f"{len(wedged)} wedged tenants",
            "blocks": blocks.stuck_list(wedged),
            "response_type": "ephemeral",
        }
    view = await deps.service.view(parse_tenant_id(text))
    card = blocks.tenant_card(view, runbook_url=deps.runbook_url)
    return {"text": blocks.text_fallback(view), "blocks": card, "response_type": "ephemeral"}
