"""Short answers for what can go wrong, so users read one clear line and never a stack trace."""

from __future__ import annotations

from core.domain import InvalidTenantId
from core.ports import EngineError, StoreError
from core.results import TenantNotFound


def failure_text(error: Exception) -> str:
    if isinstance(error, InvalidTenantId):
        return f":warning: {error}. Try `/tenant help`."
    if isinstance(error, TenantNotFound):
        return f":mag: No tenant `{error.tenant_id}`. Check the id, or `/tenant stuck` for the wedged ones."
    if isinstance(error, StoreError):
        return f":rotating_light: The database is unavailable right now ({error}); nothing was changed. Try again."
    if isinstance(error, EngineError):
        return f":rotating_light: The workflow engine is unavailable right now ({error}); nothing was changed."
    return ":boom: Something went wrong on our side; nothing was changed. The details are in the bot's log."
