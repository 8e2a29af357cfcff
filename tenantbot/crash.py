"""Test-only fault injection: `TENANTBOT_TEST_CRASH=<point>` kills this process with SIGKILL (no cleanup,
no lease released, as an OOM kill or a power loss would) at a named point of an operator action, so that
tests can crash a real `serve` exactly where they mean to:

- `after-claim`: the claim and `<action>_started` are written; the engine has not been asked;
- `after-engine-call`: the engine call returned; the action's outcome is not written.

It wraps the two ports handed to the service, here at the edge: no core code knows about it. Unset, as
in every real deployment, nothing is wrapped.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from typing import Any, cast

from core.domain import AuditEvent, Tenant
from core.ports import TenantStore, WorkflowEngine
from tenantbot.running import EXIT_USAGE, Failure

VARIABLE = "TENANTBOT_TEST_CRASH"
POINTS = ("after-claim", "after-engine-call")
ENGINE_ACTIONS = frozenset({"terminate", "start", "cancel", "decommission"})


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _DiesAfterClaiming:
    def __init__(self, store: TenantStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def save(self, tenant: Tenant, events: Sequence[AuditEvent], **options: Any) -> Tenant:
        saved = await self._store.save(tenant, events, **options)
        if tenant.claim is not None:  # the service writes a claim only when it takes one
            die()
        return saved


class _DiesAfterTheEngineCall:
    def __init__(self, engine: WorkflowEngine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._engine, name)
        if name not in ENGINE_ACTIONS:
            return call

        async def then_die(*args: Any, **kwargs: Any) -> Any:
            result = await call(*args, **kwargs)
            die()
            return result

        return then_die


def crashing(store: TenantStore, engine: WorkflowEngine) -> tuple[TenantStore, WorkflowEngine]:
    """The service's ports, wrapped to die at the point `TENANTBOT_TEST_CRASH` names (if set)."""
    point = os.environ.get(VARIABLE)
    if point is None:
        return store, engine
    if point == "after-claim":
        return cast(TenantStore, _DiesAfterClaiming(store)), engine
    if point == "after-engine-call":
        return store, cast(WorkflowEngine, _DiesAfterTheEngineCall(engine))
    raise Failure(f"invalid setting {VARIABLE}: use one of {', '.join(POINTS)}", EXIT_USAGE)
