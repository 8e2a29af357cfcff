"""`/tenant`: ack at once, then answer through `respond()` with the card, the history, the list or a short error
(`freeze`, `unfreeze` and `help`, the read-only switch's words, are in bot/listeners/switch.py).

Acking before reading anything keeps Slack's 3-second budget whatever the database or the engine do, and
under a burst of commands the answers are worked out a few at a time (core/turns.py): the acks of new
requests then do not wait on the event loop behind every card being read and rendered.
The service bounds its own reads; the wedged list is read by the wedge finder, which this listener
bounds itself (a few read timeouts), so the answer follows within seconds even when either hangs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.answer import answered
from bot.blocks import card
from bot.blocks.history import history_blocks, history_text
from bot.blocks.stuck import stuck_list
from bot.deps import BotDeps
from bot.listeners import switch
from bot.replies import stuck_unreadable
from core.domain import parse_tenant_id

log = logging.getLogger(__name__)
STUCK_READS = 3  # the ports bound each read and engine call (core/bounded.py); this bounds the sweep as a whole


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def tenant_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text = str(command.get("text") or "").strip()
        work = answered(respond, f"/tenant {text[:80]!r}", answer(text, str(command["user_id"]), deps))
        await deps.command_work.run(work)  # the ack is out; the answer waits its turn (core/turns.py)

    app.command("/tenant")(tenant_command)


async def answer(text: str, user: str, deps: BotDeps) -> dict[str, Any]:
    """The message for `/tenant <text>`: usage, the wedged list, one tenant's history, the read-only switch
    flipped, or the tenant's card for `user`.
    Any other text is taken for a tenant id, so a malformed one is answered as such (with a pointer to help)."""
    match text.lower().split():
        case [] | ["help"]:
            return await switch.help_answer(deps)
        case ["freeze", *_]:
            return await switch.freeze(deps, user, text)
        case ["unfreeze", *_]:
            return await switch.unfreeze(deps, user)
        case ["stuck"]:
            return await stuck(deps)
        case [tenant_id, "history"]:
            return await history(deps, parse_tenant_id(tenant_id))
        case _:
            return await private_card(deps, user, parse_tenant_id(text))


async def history(deps: BotDeps, tenant_id: str) -> dict[str, Any]:
    """The newest page of the tenant's audit feed, privately; its buttons page on (bot/listeners/history.py)."""
    page = await deps.history.page(tenant_id)
    return {"text": history_text(page), "blocks": history_blocks(page), "response_type": "ephemeral"}


async def private_card(deps: BotDeps, user: str, tenant_id: str) -> dict[str, Any]:
    """The tenant's card for `user` alone, with the buttons they may press."""
    view = await deps.service.view(tenant_id)
    offered = await deps.presses.offered(view.assessment.allowed, user)
    run_url = deps.links.to(view.tenant.handle)
    shown = card.tenant_card_json(view, runbook_url=deps.runbook_url, actions=offered, run_url=run_url)
    return {"text": card.text_fallback(view), "blocks": shown, "response_type": "ephemeral"}


async def stuck(deps: BotDeps) -> dict[str, Any]:
    limit = STUCK_READS * deps.read_timeout.total_seconds()
    try:
        wedged = (await asyncio.wait_for(deps.finder.sweep(deps.clock()), limit)).wedged
    except TimeoutError:
        log.warning("/tenant stuck: the wedged list was not read within %g s", limit)
        return {"text": stuck_unreadable(limit), "response_type": "ephemeral"}
    return {"text": f"{len(wedged)} wedged tenants", "blocks": stuck_list(wedged), "response_type": "ephemeral"}
