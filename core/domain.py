"""The tenant-provisioning domain: plain data, no framework imports.

Names follow the operator guide (`seed/reset-a-stuck-provisioning.txt`): a tenant row holds its
state, the handle of its current workflow attempt, the recorded error and the liveness timings the
decision table reads. Engine facts arrive as a `RunObservation`, built by the engine adapter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, TypedDict, Unpack

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidTenantId(ValueError):
    """A tenant id that cannot exist: rejected before any I/O."""


def parse_tenant_id(raw: str) -> str:
    """Normalise user input (slash text, CLI arg, button value) into a tenant id or raise.

    The refusal quotes the input as Python writes a string literal, so a line break, a terminal escape or
    a right-to-left mark in it shows as `\\n`, `\\x1b` or `\\u202e` instead of breaking the one-line
    error or rewriting the operator's terminal."""
    candidate = raw.strip().lower()
    if not TENANT_ID_PATTERN.fullmatch(candidate):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidTenantId(
            f"{shown!r} is not a tenant id: use 1-63 lowercase letters, digits and dashes, e.g. acme-42"
        )
    return candidate


class TenantState(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    DECOMMISSIONING = "decommissioning"
    DECOMMISSIONED = "decommissioned"


OPEN_STATES = frozenset({TenantState.PENDING, TenantState.PROVISIONING})
IN_FLIGHT_STATES = frozenset(
    {TenantState.PENDING, TenantState.PROVISIONING, TenantState.CANCELLING, TenantState.DECOMMISSIONING}
)
FINISHED_STATES = frozenset({TenantState.ACTIVE, TenantState.DECOMMISSIONED})  # done: nothing more to recover


class Action(StrEnum):
    RESET = "reset"
    RETRY = "retry"
    CANCEL = "cancel"
    DECOMMISSION = "decommission"


class RunStatus(StrEnum):
    """What the engine says about a run; NOT_FOUND is the orphaned-handle case."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"
    NOT_FOUND = "not_found"
    NOT_RUNNING = "not running"  # absent from the engine's list of running runs; closed or unknown (not described)


@dataclass(frozen=True)
class RunHandle:
    """Names one workflow attempt. `run_id` is None until the engine has accepted the start."""

    workflow_id: str
    attempt: int
    run_id: str | None = None

    def same_attempt(self, other: RunHandle) -> bool:
        if self.workflow_id != other.workflow_id or self.attempt != other.attempt:
            return False
        return self.run_id is None or other.run_id is None or self.run_id == other.run_id


def provisioning_handle(tenant_id: str, attempt: int) -> RunHandle:
    """The handle of attempt `attempt`: one workflow id per tenant and attempt, known before the start."""
    return RunHandle(workflow_id=f"provision-{tenant_id}-{attempt}", attempt=attempt)


def decommission_handle(tenant_id: str, attempt: int) -> RunHandle:
    return RunHandle(workflow_id=f"decommission-{tenant_id}-{attempt}", attempt=attempt)


@dataclass(frozen=True)
class RunObservation:
    """One `describe` of a run by the engine, reduced to what the decision table reads."""

    status: RunStatus
    pending_activity: str | None = None
    activity_attempt: int = 0
    last_heartbeat: datetime | None = None
    heartbeat_timeout: timedelta | None = None
    last_failure: str | None = None
    heartbeat_timed_out: bool = False
    workflow_task_attempt: int = 0
    cancel_requested: bool = False  # a cancel was asked of this run (its compensation may still be running)
    run_id: str | None = None  # the engine's id of the run described

    @property
    def engine_error(self) -> str | None:
        """An error the engine keeps retrying instead of failing cleanly (heartbeat timeouts are liveness)."""
        if self.workflow_task_attempt > 1:
            return f"workflow task failing, attempt {self.workflow_task_attempt}: {self.last_failure or 'no detail'}"
        if self.activity_attempt > 1 and self.last_failure and not self.heartbeat_timed_out:
            return f"{self.pending_activity} retrying, attempt {self.activity_attempt}: {self.last_failure}"
        return None


@dataclass(frozen=True)
class ClosedRun:
    """A provisioning run the engine lists as closed, and how it closed (from visibility: no details)."""

    workflow_id: str
    run_id: str
    status: RunStatus


class InFlightRef(NamedTuple):
    """An in-flight tenant as the wedge scan first reads it (`TenantStore.in_flight_refs`): its id, the run
    its row names, and whether the row alone reads "making progress" as long as that run runs. A plain
    tuple, its handle made on demand: the scan reads one per in-flight tenant every tick."""

    tenant_id: str
    workflow_id: str | None
    attempt: int | None
    run_id: str | None
    progressing: bool

    @property
    def handle(self) -> RunHandle | None:
        return RunHandle(self.workflow_id, self.attempt or 0, self.run_id) if self.workflow_id is not None else None


@dataclass(frozen=True)
class ActionClaim:
    """An operator action under way on a tenant: the lease that makes concurrent presses run once.

    It also holds what is needed to finish the action if the process running it dies before recording
    its outcome (core/recovery.py): the process (`owner`, a `ProcessLease` id; None on claims recorded
    before owners were), the run the action's engine call is about (`target`), and each field the claim
    changed as (before, after), so that an action whose engine call did not happen can be undone.
    """

    action: Action
    actor: str
    since: datetime
    owner: str | None = None
    target: RunHandle | None = None
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    def same(self, other: ActionClaim | None) -> bool:
        """Whether `other` is this very claim (as read back from the store), not a later one."""
        return other is not None and self._key == other._key

    @property
    def _key(self) -> tuple[object, ...]:
        return (self.action, self.actor, self.since, self.owner)


class TenantFields(TypedDict, total=False):
    """Fields of a tenant row that operator actions and workflow runs change, by name: what an action's
    claim and outcome write (core/actions.py), what a claim records as (before, after) for recovery, and
    what a run reports (core/run_writes.py). A misspelt or removed field is a type error, not a new
    attribute."""

    state: TenantState
    handle: RunHandle | None
    attempt: int
    error: str | None
    failed_activity: str | None
    current_step: str | None
    last_progress_at: datetime | None
    last_heartbeat_at: datetime | None


class TenantUpdate(TenantFields, total=False):
    """`TenantFields` and the row's bookkeeping: the claim under way and the version read."""

    claim: ActionClaim | None
    version: int


@dataclass
class Tenant:
    id: str
    state: TenantState
    created_at: datetime
    handle: RunHandle | None = None
    attempt: int = 0
    error: str | None = None
    failed_activity: str | None = None
    current_step: str | None = None
    last_progress_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    claim: ActionClaim | None = None
    version: int = 0

    def updated(self, **changes: Unpack[TenantUpdate]) -> Tenant:
        return replace(self, **changes)

    def accepts_writes_from(self, handle: RunHandle) -> bool:
        """Fencing: only the run the row names may write; an orphaned or superseded run may not."""
        return self.handle is not None and self.handle.same_attempt(handle)


@dataclass(frozen=True)
class Allocation:
    tenant_id: str
    kind: str
    resource_id: str
    allocated_at: datetime
    workflow_id: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    tenant_id: str
    type: str
    actor: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def position(self) -> FeedPosition:
        """Where the event sits in its tenant's feed (once stored: the store gives it its id)."""
        assert self.id is not None, "only a stored event has a place in the feed"
        return FeedPosition(self.at, self.id)


@dataclass(frozen=True, order=True)
class FeedPosition:
    """A place in a tenant's audit feed: (time, id), the total order history is read in, newest first.

    The id breaks ties between events recorded at the same instant, so paging by position (keyset
    pagination) never skips or repeats an event, however many are added meanwhile.
    """

    at: datetime
    id: int
