"""`bounded`: every read and engine call the core makes has a time limit and a name.

A database or engine that hangs must turn into a clear, fast answer ("engine: no answer within 2 s"),
never into a Slack request or a scan tick that waits forever.

The limit holds whatever the driver does once the call is cancelled. `asyncio.wait_for` waits for the
cancelled call to finish, and a driver cancelling a query on a silent socket takes its time (psycopg
spends up to 5 s asking the server to cancel and 5 s waiting for the query to end, then closes the
connection). So the call runs as its own task: on timeout it is cancelled and left to clean up in the
background, and the caller gets its answer at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from core.ports import EngineError, StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Abandoned calls still cleaning up; referenced here so they are not garbage-collected mid-way.
_abandoned: set[asyncio.Future[Any]] = set()


async def bounded(call: Awaitable[T], what: str, error: type[Exception], limit: timedelta) -> T:
    """Await `call` for at most `limit`; a timeout or a port error becomes `error("<what>: <why>")`."""
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=limit.total_seconds())
    except asyncio.CancelledError:  # the caller itself was cancelled: do not wait for the call either
        _abandon(task, what)
        raise
    if not done:
        _abandon(task, what)
        raise error(f"{what}: no answer within {limit.total_seconds():g} s")
    try:
        return task.result()
    except (StoreError, EngineError) as e:
        raise type(e)(f"{what}: {e}") from e


def _abandon(task: asyncio.Future[Any], what: str) -> None:
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(lambda ended: _ended(ended, what))


def _ended(task: asyncio.Future[Any], what: str) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:  # retrieved, so asyncio does not warn
        log.debug("%s: the abandoned call ended with %r", what, task.exception())
