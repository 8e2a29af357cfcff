"""Short answers for what can go wrong, and how each failure is logged.

Users read one clear line and never a stack trace; the log gets bad input at INFO, an unavailable
database, engine or Slack at WARNING, and only the unexpected with a traceback. "Nothing was changed"
is said only before an action ran; after it, every failure says what was done (`not_updated`, used by
bot/answer.py).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.text import esc, safe
from core.domain import InvalidTenantId
from core.ports import EngineError, StoreError
from core.results import TenantNotFound

log = logging.getLogger(__name__)
EPHEMERAL: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False}
USAGE = (
    "*Usage:* `/tenant <tenant-id>` shows a tenant's provisioning and the actions allowed now · "
    "`/tenant <tenant-id> history` shows its whole audit feed, newest first · "
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
    if isinstance(error, StoreError | EngineError):
        return f":rotating_light: {unavailable(error).capitalize()}; nothing was changed."
    return ":boom: Something went wrong on our side; nothing was changed. The details are in the bot's log."


def unavailable(error: StoreError | EngineError) -> str:
    what = "database" if isinstance(error, StoreError) else "workflow engine"
    return f"the {what} is unavailable right now ({safe(str(error), 300)})"


def stuck_unreadable(seconds: float) -> str:
    return (
        ":rotating_light: Could not list the wedged tenants: the database or the workflow engine did not answer "
        f"within {seconds:g} s; nothing was changed. Try again shortly, or `/tenant <tenant-id>` for one tenant."
    )


def problem_text(error: Exception) -> str:
    """Why something failed, in a few words, for an answer that first says what was done."""
    if isinstance(error, StoreError | EngineError):
        return unavailable(error)
    if isinstance(error, InvalidTenantId | TenantNotFound):
        return safe(str(error), 300)
    return "something went wrong on our side; the details are in the bot's log"


def not_updated(note: str, why: str) -> str:
    """An action ran, but its card could not be shown: what was done comes first."""
    return f"{note}\n:warning: The card could not be updated: {why}."


def unrefreshed(note: str) -> str:
    """A press whose outcome is known but whose tenant could not be read again: the card stays as it was."""
    return f"{note}\nThe card was left as it was: the tenant's current state could not be read."


def log_failure(what: str, error: Exception) -> None:
    if isinstance(error, InvalidTenantId | TenantNotFound):
        log.info("%s: %s", what, error)
    elif isinstance(error, StoreError | EngineError | TimeoutError):
        log.warning("%s: %s", what, error)
    else:
        log.error("%s failed", what, exc_info=error)
