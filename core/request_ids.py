"""The request id and tenant id of the work under way, so one press can be followed from Slack to Temporal.

An edge makes a request id for every request it takes (a Slack request in bot/app.py, a command in
tenantbot/running.py) and sets it here; asyncio copies context variables into every task it starts, so
the id follows the work into the listener's background task, the bounded port calls and the engine
adapter without being passed as an argument through every signature. The service writes it into the
audit events it emits (`request_id` in their details), the Temporal adapter puts it into the workflow's
memo and the terminate and cancel reasons, and the log records carry it (tenantbot/log_records.py). The
tenant id is set the same way while the service works on one tenant, for the log lines. Plain
contextvars: no Slack, Temporal or logging configuration here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TENANT_ID: ContextVar[str | None] = ContextVar("tenant_id", default=None)


def new_request_id() -> str:
    """16 hex characters: unique enough to search logs, audit feeds and Temporal for, short enough to read."""
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def current_tenant_id() -> str | None:
    return TENANT_ID.get()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """A fresh request id (or the one given) for the work inside; the previous one again afterwards."""
    rid = request_id or new_request_id()
    token = REQUEST_ID.set(rid)
    try:
        yield rid
    finally:
        REQUEST_ID.reset(token)


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    token = TENANT_ID.set(tenant_id)
    try:
        yield
    finally:
        TENANT_ID.reset(token)
