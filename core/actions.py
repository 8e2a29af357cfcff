"""What each operator action writes and asks of the engine, as data the service runs.

Every action runs in three steps (see `TenantService.act`): a *claim* written with the optimistic
version check (so of two concurrent presses exactly one gets past it), one engine call, then the
*done* fields. Fields written with the claim are restored if the engine call fails, so a failed action
leaves the row as it was. Cancel and Decommission finish asynchronously: the saga emits their
`*_completed` event when compensation or release is over.

The claim records its target run and the fields it changed (`claim_for`), and `happened` tells from the
engine alone whether the engine call took effect, so an action cut short by a crash can be finished or
undone later (core/recovery.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from core.domain import (
    IN_FLIGHT_STATES,
    Action,
    ActionClaim,
    RunHandle,
    RunObservation,
    RunStatus,
    Tenant,
    TenantFields,
    TenantState,
    decommission_handle,
    provisioning_handle,
)
from core.ports import WorkflowEngine

Fields = TenantFields


@dataclass(frozen=True)
class ActionSteps:
    on_claim: Callable[[Tenant, datetime], Fields]
    call: Callable[[WorkflowEngine, Tenant, str], Awaitable[RunHandle | None]]  # (engine, row, reason for the engine)
    on_done: Callable[[Tenant, RunHandle | None], Fields]
    completes_now: bool
    confirm: str  # what the operator is told before a destructive action runs
    done_by_engine: str  # what the engine has done once the call returned, for a half-way failure
    # whether the engine call took effect, from the engine's answer about the claim's target (None: no target)
    happened: Callable[[RunObservation | None, Tenant], bool]


async def _terminate(engine: WorkflowEngine, t: Tenant, reason: str) -> RunHandle | None:
    if t.handle is not None:
        await engine.terminate(t.handle, reason=reason)
    return t.handle


async def _start(engine: WorkflowEngine, t: Tenant, reason: str) -> RunHandle | None:
    assert t.handle is not None, "retry claims a new handle before starting"
    return await engine.start(t.id, t.handle)


async def _cancel(engine: WorkflowEngine, t: Tenant, reason: str) -> RunHandle | None:
    if t.handle is not None:
        await engine.cancel(t.handle, reason=reason)
    return t.handle


async def _decommission(engine: WorkflowEngine, t: Tenant, reason: str) -> RunHandle | None:
    assert t.handle is not None, "decommission claims its own handle before starting"
    return await engine.decommission(t.id, t.handle)


def _no_fields(t: Tenant, *_: object) -> Fields:
    return {}


def _terminated(run: RunObservation | None, t: Tenant) -> bool:
    """The old run is no longer live (terminated, closed or unknown) while the row is still in flight: a
    row the run closed itself (active, failed…) is not Reset's to reopen."""
    return (run is None or run.status is not RunStatus.RUNNING) and t.state in IN_FLIGHT_STATES


def _known(run: RunObservation | None, t: Tenant) -> bool:
    """The engine knows the run the action started (whatever has become of it since)."""
    return run is not None and run.status is not RunStatus.NOT_FOUND


def _cancel_requested(run: RunObservation | None, t: Tenant) -> bool:
    """The cancel reached the run: it is compensating, or closed cancelled."""
    if run is None:
        return False
    return run.status is RunStatus.CANCELED or (run.status is RunStatus.RUNNING and run.cancel_requested)


STEPS: dict[Action, ActionSteps] = {
    Action.RESET: ActionSteps(
        on_claim=_no_fields,
        call=_terminate,
        on_done=lambda t, _: {"state": TenantState.PENDING, "handle": None, "error": None, "failed_activity": None},
        done_by_engine="the engine terminated the run",
        happened=_terminated,
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
        happened=_known,
        completes_now=True,
        confirm="Retry starts a fresh attempt that reuses what is already allocated.",
    ),
    Action.CANCEL: ActionSteps(
        on_claim=lambda t, now: {"state": TenantState.CANCELLING, "last_progress_at": now},  # winding down from now
        call=_cancel,
        on_done=_no_fields,
        done_by_engine="the engine was asked to cancel the run",
        happened=_cancel_requested,
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
        happened=_known,
        completes_now=False,
        confirm=(
            "Decommission releases every allocation of the tenant and ends it Decommissioned. This cannot be undone."
        ),
    ),
}


# Actions that terminate, abort or end something: Slack previews them and asks for a reason
# (core/previews.py), the CLI asks for a reason and to confirm (or takes --reason and --yes), the demo
# asks. Retry only starts an attempt.
DESTRUCTIVE = frozenset({Action.RESET, Action.CANCEL, Action.DECOMMISSION})


def claim_for(action: Action, tenant: Tenant, actor: str, now: datetime, owner: str | None) -> ActionClaim:
    """The claim of `action` on `tenant`: its claimed fields as (before, after), and the run it is about
    (the new handle for Retry and Decommission, the row's run for Reset and Cancel)."""
    fields = STEPS[action].on_claim(tenant, now)
    changes = {k: (getattr(tenant, k), v) for k, v in fields.items()}
    return ActionClaim(action, actor, now, owner, fields.get("handle", tenant.handle), changes)


def claimed(tenant: Tenant, claim: ActionClaim) -> Tenant:
    """The row as the claim writes it."""
    return tenant.updated(claim=claim, **{k: after for k, (_, after) in claim.changes.items()})


def restore(current: Tenant, claim: ActionClaim) -> Fields:
    """Undo the claim's fields, except those something else (the saga) has changed since."""
    kept = {k: before for k, (before, after) in claim.changes.items() if getattr(current, k) == after}
    return cast(Fields, kept)  # the claim's names are Fields' own: `claim_for` recorded them
