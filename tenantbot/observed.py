"""Engine and database errors counted at the ports, for the metrics (bot/metrics.py).

The service, the wedge finder and the scan call the engine and the database only through their ports
(core/ports.py), so the composition root hands them counting proxies: every call is passed through
unchanged, and one that raises EngineError or StoreError (a refusal, an outage, a READ_TIMEOUT when the
proxy wraps a bounded port) adds one to its counter, labelled with the port's method — never a tenant.
Counting here rather than in the core keeps `core/` free of metrics and tells one failure once, where it
leaves the port. Expected answers that are exceptions (a concurrent update, a duplicate request, a run
still live) are the core's business, not errors of the dependency, so they are not counted.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from prometheus_client import Counter

from core.ports import ConcurrentUpdate, DuplicateRequest, EngineError, RunAlreadyLive, StoreError, TenantExists

P = TypeVar("P")
EXPECTED = (ConcurrentUpdate, DuplicateRequest, TenantExists, RunAlreadyLive)


class _Counted:
    def __init__(self, port: object, errors: Counter, kind: type[Exception]) -> None:
        self._port, self._errors, self._kind = port, errors, kind

    def __getattr__(self, name: str) -> Any:
        """Only reached on the first use of a name: the counting wrapper is kept as an attribute, so the
        ports' calls (every request's) do not build one each time."""
        attribute = getattr(self._port, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        counting = self._counting(name, attribute)
        setattr(self, name, counting)
        return counting

    def _counting(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(call)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except self._kind as e:
                if not isinstance(e, EXPECTED):
                    self._errors.labels(name).inc()
                raise

        return counted


def counted_store(store: P, errors: Counter) -> P:
    """`store` (a TenantStore, the leases, …), its StoreErrors counted by method."""
    return cast(P, _Counted(store, errors, StoreError))


def counted_engine(engine: P, errors: Counter) -> P:
    """`engine` (a WorkflowEngine), its EngineErrors counted by method."""
    return cast(P, _Counted(engine, errors, EngineError))
