"""Decommission requests nobody approved in time: expired on the schedule, and their messages edited to say so.

A request past APPROVAL_TTL cannot run whatever happens (core/approvals.py checks at every press), but its
message would still show Approve and Deny. Every scan interval `serve` expires the requests that are due
(each by a guarded write, so two replicas expire one once) and edits each one's message to "Expired",
without buttons. A message that cannot be edited is only logged: a later press is refused all the same.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.approval import decided_message
from core.approvals import Approvals

log = logging.getLogger(__name__)


async def show_expired(client: AsyncWebClient, approvals: Approvals) -> int:
    """Expire the due requests and edit their messages; how many expired. Raises StoreError."""
    expired = await approvals.expire_due()
    for asked in expired:
        if asked.message is None:
            continue
        channel, ts = asked.message
        try:
            await client.chat_update(channel=channel, ts=ts, **decided_message(asked))
        except SlackClientError as e:
            log.warning("expired decommission request %s: its message was not updated: %s", asked.id, e)
    if expired:
        log.info("%d decommission request(s) expired unapproved", len(expired))
    return len(expired)
