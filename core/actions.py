"""What each operator action writes and asks of the engine, as data the service runs.

Every action runs in three steps (see `TenantService._run`): a *claim* written with the optimistic
version check (so of two concurrent presses exactly one gets past it), one engine call, then the
*done* fields. Fields written with the claim are restored if the engine call fails, so a failed action
leaves the row as it was. Cancel and Decommission finish asynchronously: the saga emits their
`*_completed` event when compensation or release is over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.domain import Action, RunHandle, Tenant, TenantState, decommission_handle, provisioning_handle
from core.ports import WorkflowEngine

Fields = dict[str, Any]


@dataclass(frozen=True)
class ActionSteps:
    on_claim: Callable[[Tenant, datetime], Fields]
    call: Callable[[WorkflowEngine, Tenant], Awaitable[RunHandle | None]]
    on_done: Callable[[Tenant, RunHandle | None], Fields]
    completes_now: bool
    confirm: str  # what the operator is told before a destructive action runs
    done_by_engine: str  # what the engine has done once the call returned, for a half-way failure


async def _terminate(engine: WorkflowEngine, t: Tenant) -> RunHandle | None:
    if t.handle is not None:
        await engine.terminate(t.handle, reason="tenantbot reset: wedged provisioning, no compensation")
    return t.handle


async def _start(engine: WorkflowEngine, t: Tenant) -> RunHandle | None:
    assert t.handle is not None, "retry claims a new handle before starting"
    return await engine.start(t.id, t.handle, t.fault if t.attempt == 1 else None)


async def _cancel(engine: WorkflowEngine, t: Tenant) -> RunHandle | None:
    if t.handle is not None:
        await engine.cancel(t.handle)
    return t.handle


async def _decommission(engine: WorkflowEngine, t: Tenant) -> RunHandle | None:
    assert t.handle is not None, "decommission claims its own handle before starting"
    return await engine.decommission(t.id, t.handle)


def _no_fields(t: Tenant, *_: object) -> Fields:
    return {}


STEPS: dict[Action, ActionSteps] = {
    Action.RESET: ActionSteps(
        on_claim=_no_fields,
        call=_terminate,
        on_done=lambda t, _: {"state": TenantState.PENDING, "handle": None, "error": None, "failed_activity": None},
        done_by_engine="the engine terminated the run",
        completes_now=True,
        confirm=(
            "Reset terminates the stuck run (Temporal *terminate*: no workflow code runs, nothing is rolled "
            "back), keeps every allocation, clears the error and leaves the tenant Pending. It does not "
            "start a new attempt: press Retry after."
        ),
    ),
    Action.RETRY: ActionSteps(
        on_claim=lambda t, now: {
            "state": TenantState.PENDING,
            "handle": provisioning_handle(t.id, t.attempt + 1),
            "attempt": t.attempt + 1,
            "error": None,
            "failed_activity": None,
            "current_step": None,
            "last_progress_at": now,
        },
        call=_start,
        on_done=lambda t, started: (
            {"handle": started} if started and t.handle and t.handle.same_attempt(started) else {}
        ),
        done_by_engine="the engine started the new attempt",
        completes_now=True,
        confirm="Retry starts a fresh attempt that reuses what is already allocated.",
    ),
    Action.CANCEL: ActionSteps(
        on_claim=lambda t, now: {"state": TenantState.CANCELLING, "last_progress_at": now},  # winding down from now
        call=_cancel,
        on_done=_no_fields,
        done_by_engine="the engine was asked to cancel the run",
        completes_now=False,
        confirm=(
            "Cancel aborts the run: the saga runs its compensation chain, releases every allocation the tenant "
            "holds, and the tenant ends Cancelled. It is not a Decommission: the tenant stays and Retry can start "
            "a fresh attempt afterwards."
        ),
    ),
    Action.DECOMMISSION: ActionSteps(
        on_claim=lambda t, now: {
            "state": TenantState.DECOMMISSIONING,
            "handle": decommission_handle(t.id, t.attempt),
            "last_progress_at": now,
        },
        call=_decommission,
        on_done=_no_fields,
        done_by_engine="the engine started releasing the allocations",
        completes_now=False,
        confirm=(
            "Decommission releases every allocation of the tenant and ends it Decommissioned. This cannot be undone."
        ),
    ),
}


def restore(current: Tenant, before: Tenant, claimed: Fields) -> Fields:
    """Undo the claim's fields, except those something else (the saga) has changed since."""
    return {k: getattr(before, k) for k, v in claimed.items() if getattr(current, k) == v}
