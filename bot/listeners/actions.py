"""The buttons of the tenant card: Reset, Retry, Cancel, Decommission, and Share in channel.

Each press is acked at once, checked (the button value against the block it sits in, then the
authorization policy), run through the service with the Slack user as actor and a request key unique
to the press (so a redelivered request never runs twice), and answered by replacing the card in place
with the tenant's new state and a line saying who pressed what.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.authz import GroupDirectory
from bot.deps import BotDeps
from bot.replies import failure_text
from core.domain import Action, InvalidTenantId, parse_tenant_id
from core.results import ActionResult, Outcome

log = logging.getLogger(__name__)
PRESS = re.compile(r"^tenant_(reset|retry|cancel|decommission)$")


class Tampered(InvalidTenantId):
    """A button whose value does not match the card it is on."""


def pressed_tenant(action: dict[str, Any]) -> str:
    tenant_id = parse_tenant_id(str(action.get("value", "")))
    if action.get("block_id") != blocks.ACTIONS_BLOCK.format(tenant_id):
        raise Tampered("this button does not belong to that tenant's card; run /tenant again")
    return tenant_id


async def run_press(
    deps: BotDeps, directory: GroupDirectory, client: AsyncWebClient, body: dict[str, Any], act: Action, tenant_id: str
) -> ActionResult:
    """Authorize, then act; a refusal is audited like any other."""
    user = body["user"]["id"]
    groups = await directory.groups_of(client, user, deps.policy.groups_that_matter(act))
    if not deps.policy.permits(user, groups, act):
        return await deps.service.refuse(act, tenant_id, user, deps.policy.refusal(act))
    key = f"{user}:{body['actions'][0].get('action_ts', '')}:{act.value}:{tenant_id}"
    return await deps.service.act(act, tenant_id, user, request_key=key)


def register(app: AsyncApp, deps: BotDeps) -> None:
    directory = GroupDirectory()

    async def press(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            act = Action(PRESS.fullmatch(action["action_id"]).group(1))  # type: ignore[union-attr]
            result = await run_press(deps, directory, client, body, act, pressed_tenant(action))
        except Exception as e:
            log.warning("button %s failed: %s", action.get("action_id"), e, exc_info=not isinstance(e, ValueError))
            await respond(text=failure_text(e), response_type="ephemeral", replace_original=False)
            return
        if result.outcome is Outcome.DUPLICATE:
            return  # the first delivery already answered; don't overwrite its card
        await respond(replace_original=True, **rendered(deps, result))

    async def share(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            view = await deps.service.view(pressed_tenant(action))
        except Exception as e:
            await respond(text=failure_text(e), response_type="ephemeral", replace_original=False)
            return
        note = f"Shared by {blocks.actor(body['user']['id'])}"
        card = blocks.tenant_card(view, runbook_url=deps.runbook_url, note=note)
        await respond(text=blocks.text_fallback(view), blocks=card, response_type="in_channel", replace_original=False)

    app.action(PRESS)(press)
    app.action(blocks.SHARE_ACTION_ID)(share)


def rendered(deps: BotDeps, result: ActionResult) -> dict[str, Any]:
    note = blocks.result_note(result, deps.clock())
    if result.view is None:
        return {"text": note}
    card = blocks.tenant_card(result.view, runbook_url=deps.runbook_url, note=note)
    return {"text": note, "blocks": card}
