"""Batches: one recovery (Reset, Retry, or Reset then Retry) for every tenant of a cause group, as a row.

A cluster reset orphans hundreds of tenants at one step; recovering them one press at a time is a
thousand presses. A batch is created from a cause group (core/causes.py) as it stands at that moment:
its members are fixed then, each with its own status (waiting, done, refused, failed), and the batch is
run by one process at a time under a lease (core/batch_runner.py), member by member, through the same
`TenantService.act` as a press, so every member is re-checked, refused with why, audited and never run
twice (each action's request key is derived from the batch, the tenant and the action).

This module holds the data, which tenants a batch takes (`select`) and the store's port (`BatchStore`);
the pace and the canary's verdict are in core/batch_pace.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.causes import Cause, cause_of, normalise
from core.decisions import Assessment, Situation
from core.domain import Action

DEFAULT_RATE = 5.0  # tenants per second
DEFAULT_CANARY = 5  # members done first, for Reset and Retry, before their retries are waited for
MAX_RATE = 100.0
MAX_CANARY = 100


class Kind(StrEnum):
    RESET = "reset"
    RETRY = "retry"
    RESET_RETRY = "reset-retry"

    @property
    def actions(self) -> tuple[Action, ...]:
        return {
            Kind.RESET: (Action.RESET,),
            Kind.RETRY: (Action.RETRY,),
            Kind.RESET_RETRY: (Action.RESET, Action.RETRY),
        }[self]

    @property
    def canary_default(self) -> int:
        """Only a Retry shows whether the recovery holds: Reset alone has nothing to wait for."""
        return DEFAULT_CANARY if Action.RETRY in self.actions else 0


class BatchStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # by Stop, a freeze, or a canary that wedged again (`note` says which)
    FINISHED = "finished"  # every member done, refused or failed


class MemberStatus(StrEnum):
    WAITING = "waiting"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class Batch:
    id: int
    kind: Kind
    situation: Situation
    step: str | None
    error: str | None
    reason: str
    rate: float
    canary: int
    created_by: str
    created_at: datetime
    status: BatchStatus = BatchStatus.RUNNING
    note: str | None = None  # why it stopped
    stop_requested_by: str | None = None
    canary_passed: bool = False
    counts: Mapping[MemberStatus, int] = field(default_factory=dict)
    message_ref: str | None = None  # where its progress is shown in the chat, once posted

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, status: MemberStatus) -> int:
        return self.counts.get(status, 0)

    def request_key(self, tenant_id: str, action: Action) -> str:
        """The action's request key for one member: a replay after a crash is answered from it."""
        return f"batch:{self.id}:{tenant_id}:{action.value}"

    def progress(self) -> str:
        """ "312/470 done, 3 refused, 0 failed" """
        handled = self.total - self.count(MemberStatus.WAITING)
        done, refused, failed = (self.count(s) for s in (MemberStatus.DONE, MemberStatus.REFUSED, MemberStatus.FAILED))
        return f"{handled}/{self.total} handled: {done} done, {refused} refused, {failed} failed"


DONE_VERBS = {Kind.RESET: "reset", Kind.RETRY: "retried", Kind.RESET_RETRY: "reset and retried"}


def headline(batch: Batch) -> str:
    """ "312/470 reset, 3 refused, 0 failed" (a chat message's line; the terminal's is `progress`)."""
    done, refused, failed = (batch.count(s) for s in (MemberStatus.DONE, MemberStatus.REFUSED, MemberStatus.FAILED))
    return f"{done}/{batch.total} {DONE_VERBS[batch.kind]}, {refused} refused, {failed} failed"


def how_it_ended(batch: Batch) -> str:
    """ "Finished: 470/470 reset, …", "Stopped (stopped by U1): 12/470 reset, …", or "Running: …"."""
    if batch.status is BatchStatus.RUNNING:
        handled = batch.total - batch.count(MemberStatus.WAITING)
        waiting = batch.canary > 0 and not batch.canary_passed and handled >= batch.canary
        state = (
            f" (stop asked by {batch.stop_requested_by})"
            if batch.stop_requested_by
            else f" (waiting until the canary's {batch.canary} retries get past their step)"
            if waiting
            else ""
        )
        return f"Running{state}: {headline(batch)}"
    note = f" ({batch.note})" if batch.note else ""
    return f"{batch.status.value.capitalize()}{note}: {headline(batch)}"


@dataclass(frozen=True)
class Member:
    batch_id: int
    position: int
    tenant_id: str
    step: str | None  # where it had stopped when the batch was made: the canary waits past it
    status: MemberStatus = MemberStatus.WAITING
    why: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class NewBatch:
    kind: Kind
    cause: Cause
    reason: str
    rate: float
    canary: int
    created_by: str
    created_at: datetime
    members: tuple[tuple[str, str | None], ...]  # (tenant id, step), in the order they run


@dataclass(frozen=True)
class Selection:
    """What a batch would take: its members, and the tenants left out with why (the preview says so)."""

    members: tuple[tuple[str, str | None], ...]
    excluded: tuple[tuple[str, str], ...]


def matches(cause: Cause, situation: Situation, step: str | None, error: str | None) -> bool:
    """Whether a tenant's cause is the group asked for: same situation; same step and error when given
    (the error as typed, or normalised like the group's label shows it, or a part of that label)."""
    if cause.situation is not situation or (step is not None and cause.step != step):
        return False
    if error is None:
        return True
    shown = cause.error or ""
    return normalise(error) == shown or error.casefold() in shown.casefold()


def select(
    wedged: Mapping[str, Assessment], situation: Situation, step: str | None = None, error: str | None = None
) -> Selection:
    """The members of a batch among the wedged tenants (sorted by id); tenants that wedged again after
    a Reset and Retry are left out: the guide's recovery did not hold for them, a human decides."""
    members, excluded = [], []
    for tenant_id in sorted(wedged):
        assessment = wedged[tenant_id]
        cause = cause_of(assessment)
        if not matches(cause, situation, step, error):
            continue
        if assessment.wedged_again:
            excluded.append((tenant_id, assessment.again or "wedged again after Reset and Retry"))
        else:
            members.append((tenant_id, cause.step))
    return Selection(tuple(members), tuple(excluded))


class BatchNotFound(LookupError):
    def __init__(self, batch_id: int) -> None:
        super().__init__(f"no batch {batch_id}")


class BatchStore(Protocol):
    """Batches and their members (core/persistence/batch_store.py). Each call is one transaction."""

    async def create(self, batch: NewBatch) -> Batch: ...

    async def get(self, batch_id: int) -> Batch | None:
        """The batch with its member counts."""
        ...

    async def recent(self, limit: int) -> list[Batch]: ...

    async def running(self) -> list[Batch]: ...

    async def members(self, batch_id: int, status: MemberStatus | None = None) -> list[Member]:
        """In the order they run."""
        ...

    async def members_since(self, created_by: str, since: datetime) -> list[str]:
        """Tenant ids of the members of batches `created_by` created at or after `since` (one per member)."""
        ...

    async def running_members(self) -> set[str]:
        """Tenant ids of the members of running batches."""
        ...

    async def mark(self, batch_id: int, tenant_id: str, status: MemberStatus, why: str | None, at: datetime) -> None:
        """Record a member's outcome (only while it is waiting: a replay does not change it)."""
        ...

    async def end(self, batch_id: int, status: BatchStatus, note: str | None, at: datetime) -> None: ...

    async def canary_passed(self, batch_id: int) -> None: ...

    async def record_message(self, batch_id: int, message_ref: str) -> None:
        """Where the batch's progress is shown, so a process that resumes it edits the same message."""
        ...

    async def request_stop(self, batch_id: int, by: str) -> Batch | None:
        """Ask a running batch to stop after its current member; the batch as it is, None if unknown."""
        ...
