"""Decommission requests whose outcome comes later than a press: their messages edited on the schedule.

A request nobody approved within APPROVAL_TTL cannot run whatever happens (core/approvals.py checks at every
press), but its message would still show Approve and Deny; an approved one says "decommission started; the
engine is finishing it" until the engine has. Every scan interval `serve` expires the requests that are due
(each by a guarded write, so two replicas expire one once) and looks at the approved ones the engine was
finishing, and edits each message that changed: "Expired", without buttons, or "completed". A message that
cannot be edited is only logged: a later press is refused all the same.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.approval import decided_message
from core.approval_requests import DecommissionRequest
from core.approvals import Approvals

log = logging.getLogger(__name__)


async def update_requests(client: AsyncWebClient, approvals: Approvals) -> int:
    """The schedule's chore: expire the due requests, settle the finished ones, edit their messages; how many
    messages changed. Raises StoreError."""
    expired = await approvals.expire_due()
    if expired:
        log.info("%d decommission request(s) expired unapproved", len(expired))
    changed = [*expired, *await approvals.finished()]
    for asked in changed:
        await _edit(client, asked)
    return len(changed)


async def _edit(client: AsyncWebClient, asked: DecommissionRequest) -> None:
    if asked.message is None:
        return
    channel, ts = asked.message
    try:
        await client.chat_update(channel=channel, ts=ts, **decided_message(asked))
    except SlackClientError as e:
        log.warning("decommission request %s: its message was not updated: %s", asked.id, e)
