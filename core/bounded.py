"""`bounded`: every read and engine call the core makes has a time limit and a name.

A database or engine that hangs must turn into a clear, fast answer ("engine: no answer within 2 s"),
never into a Slack request or a scan tick that waits forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from core.ports import EngineError, StoreError

T = TypeVar("T")


async def bounded(call: Awaitable[T], what: str, error: type[Exception], limit: timedelta) -> T:
    """Await `call` for at most `limit`; a timeout or a port error becomes `error("<what>: <why>")`."""
    try:
        return await asyncio.wait_for(call, limit.total_seconds())
    except TimeoutError:
        raise error(f"{what}: no answer within {limit.total_seconds():g} s") from None
    except (StoreError, EngineError) as e:
        raise type(e)(f"{what}: {e}") from e
