"""Counting and timing calls on live objects, by wrapping their methods on the instance (no code edited).

Used on the engine adapter (port calls: closed_since, count_running, run_statuses, describe), on the Temporal
client's workflow service (the RPCs they make: pages of a listing, describes) and on the store.
"""

from __future__ import annotations

import functools
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

_within: ContextVar[str] = ContextVar("within", default="")


class Meter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.ms: dict[str, float] = defaultdict(float)

    def wrap(self, target: object, method: str, *, inner: bool = False) -> None:
        """Replace `target.method` (an async method) by a counted, timed one. An `inner` call (an RPC)
        is counted under the wrapped call it runs within: "describe rpc", "count_running rpc"."""
        original: Callable[..., Awaitable[Any]] = getattr(target, method)

        @functools.wraps(original)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            name = f"{_within.get() or 'other'} rpc" if inner else method
            token = None if inner else _within.set(method)
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.calls[name] += 1
                self.ms[name] += (time.perf_counter() - started) * 1000
                if token is not None:
                    _within.reset(token)

        setattr(target, method, counted)

    def snapshot(self) -> tuple[Counter[str], dict[str, float]]:
        return Counter(self.calls), dict(self.ms)

    def since(self, snapshot: tuple[Counter[str], dict[str, float]]) -> tuple[Counter[str], dict[str, float]]:
        """Calls and milliseconds per kind since `snapshot` (0 for kinds not called)."""
        calls, ms = snapshot
        spent = defaultdict(float, {k: v - ms.get(k, 0.0) for k, v in self.ms.items()})
        return self.calls - calls, spent
