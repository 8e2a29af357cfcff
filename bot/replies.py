"""Short answers for what can go wrong, and sending answers so that Slack's refusals are not silent.

Users read one clear line and never a stack trace; the log gets bad input at INFO, an unavailable
database, engine or Slack at WARNING, and only the unexpected with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.authz import GroupLookupFailed
from bot.text import cut, esc, safe
from core.authz import LOOKUP_FAILED
from core.domain import InvalidTenantId
from core.ports import EngineError, StoreError
from core.results import TenantNotFound

log = logging.getLogger(__name__)
EPHEMERAL: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False}
USAGE = (
    "*Usage:* `/tenant <tenant-id>` shows a tenant's provisioning and the actions allowed now · "
    "`/tenant stuck` lists wedged tenants · `/tenant help` shows this."
)
UNKNOWN_CONTROL = (
    ":warning: tenantbot does not know this button (an old or altered message); nothing was run. "
    "Run `/tenant <tenant-id>` for a fresh card."
)
REFUSED_BY_SLACK = "\n_(Slack refused the full answer; the details are in the bot's log.)_"


def failure_text(error: Exception) -> str:
    if isinstance(error, InvalidTenantId):
        return f":warning: {safe(str(error), 300)}. Try `/tenant help`."
    if isinstance(error, TenantNotFound):
        return f":mag: No tenant `{esc(error.tenant_id)}`. Check the id, or `/tenant stuck` for the wedged ones."
    if isinstance(error, GroupLookupFailed):
        return f":warning: {LOOKUP_FAILED}"
    if isinstance(error, StoreError | EngineError):
        what = "database" if isinstance(error, StoreError) else "workflow engine"
        return f":rotating_light: The {what} is unavailable right now ({safe(str(error), 300)}); nothing was changed."
    return ":boom: Something went wrong on our side; nothing was changed. The details are in the bot's log."


def stuck_unreadable(seconds: float) -> str:
    return (
        ":rotating_light: Could not list the wedged tenants: the database or the workflow engine did not answer "
        f"within {seconds:g} s; nothing was changed. Try again shortly, or `/tenant <tenant-id>` for one tenant."
    )


def unrefreshed(note: str) -> str:
    """A press whose outcome is known but whose tenant could not be read again: the card stays as it was."""
    return f"{note}\nThe card was left as it was: the tenant's current state could not be read."


def log_failure(what: str, error: Exception) -> None:
    if isinstance(error, InvalidTenantId | TenantNotFound):
        log.info("%s: %s", what, error)
    elif isinstance(error, StoreError | EngineError | GroupLookupFailed | TimeoutError):
        log.warning("%s: %s", what, error)
    else:
        log.error("%s failed", what, exc_info=error)


async def reply(respond: AsyncRespond, **message: Any) -> bool:
    """Answer through the response_url and check that Slack took it.

    `respond()` does not raise when Slack refuses a message (too large, invalid blocks, a used-up
    response_url): it returns the webhook's status and body. A refused answer is logged, and one with
    blocks is replaced by a short plain-text one, so the user is not left with silence.
    """
    problem = await _send(respond, message)
    if problem is None:
        return True
    log.warning("Slack refused an answer (%s): %s", problem, cut(str(message.get("text", "")), 200))
    if "blocks" not in message:
        return False
    short = {"text": cut(str(message.get("text", "")), 1500) + REFUSED_BY_SLACK, **EPHEMERAL}
    problem = await _send(respond, short)
    if problem is not None:
        log.error("Slack refused the short answer too (%s)", problem)
    return False


async def _send(respond: AsyncRespond, message: dict[str, Any]) -> str | None:
    try:
        response = await respond(**message)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    if response.status_code != 200:
        return f"HTTP {response.status_code} {cut(str(response.body), 200)}"
    return None


async def answered(respond: AsyncRespond, what: str, work: Awaitable[dict[str, Any] | None]) -> None:
    """Send what `work` answers (nothing for None); any failure becomes one clear private line."""
    try:
        message = await work
    except Exception as e:
        log_failure(what, e)
        message = {"text": failure_text(e), **EPHEMERAL}
    if message is not None:
        await reply(respond, **message)
