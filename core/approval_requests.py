"""Decommission requests awaiting a second person: the request as data, its states, and the port of its store.

A request is recorded with its audit event in one transaction, and every change of state is one guarded
write (`pending` to `approved`, `denied` or `expired`), so a request is used at most once whoever presses
at the same moment: the write that finds it still pending wins, the others are told who did. The store is
core/persistence/approval_store.py; the flow is core/approvals.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.domain import AuditEvent


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # used: the decommission ran (or was tried) under it
    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DecommissionRequest:
    """One request: who asked for which tenant, why, until when it may be approved, and what became of it.
    `outcome` is what the approved decommission answered (done, refused or failed, with its message)."""

    tenant_id: str
    requester: str
    reason: str | None  # None: the entry point collected none (a card's button before the reason modal)
    origin_channel: str | None
    requested_at: datetime
    expires_at: datetime
    request_key: str
    state: RequestState = RequestState.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    outcome: str | None = None
    finished_at: datetime | None = None  # when its outcome was final: at once unless the engine was finishing it
    message: tuple[str, str] | None = None  # where it was posted in the chat: (channel, ts)
    id: int | None = None  # given by the store

    def expired(self, now: datetime) -> bool:
        return self.state is RequestState.PENDING and now >= self.expires_at


class ApprovalStore(Protocol):
    """Decommission requests in the database. Each call is one transaction; `events` are written with it."""

    async def add(
        self, request: DecommissionRequest, events: Callable[[DecommissionRequest], Sequence[AuditEvent]]
    ) -> tuple[DecommissionRequest, bool]:
        """Record `request` and the `events` of it once it has its id; (the request with its id, True). A
        request with the same request_key already recorded: (that one, False), and nothing written."""
        ...

    async def get(self, request_id: int) -> DecommissionRequest | None: ...

    async def open_for(self, tenant_id: str, now: datetime) -> DecommissionRequest | None:
        """The tenant's request still awaiting approval at `now` (pending, not expired), if any."""
        ...

    async def decide(
        self,
        request_id: int,
        state: RequestState,
        by: str,
        at: datetime,
        events: Sequence[AuditEvent],
        *,
        key: str | None = None,
    ) -> bool:
        """Move a pending request to `state` (by, at; `key` is the press that did) with `events`. APPROVED
        only before it expires. False, and nothing written, when it was no longer pending (or had expired)."""
        ...

    async def reopen(self, request_id: int, key: str, outcome: str, events: Sequence[AuditEvent]) -> bool:
        """Make the request pending again after the approval `key` ran nothing (a guarded write, with
        `events`); False when it is no longer that approval's."""
        ...

    async def decided_by_key(self, request_id: int, key: str) -> bool:
        """Whether the press `key` is the one that decided the request (a redelivered press)."""
        ...

    async def record_outcome(self, request_id: int, outcome: str, finished_at: datetime | None) -> None:
        """What the approved decommission answered; `finished_at` None while the engine is finishing it."""
        ...

    async def unfinished(self, approved_since: datetime, limit: int) -> list[DecommissionRequest]:
        """Requests approved since `approved_since` whose decommission the engine was still finishing."""
        ...

    async def finish(self, request_id: int, outcome: str, at: datetime) -> DecommissionRequest | None:
        """Record the final outcome of an unfinished request (a guarded write); the request, or None when
        another process finished it first."""
        ...

    async def record_message(self, request_id: int, channel: str, ts: str) -> None:
        """Where the request was posted in the chat, so its message can be edited once it expires."""
        ...

    async def expire_due(self, now: datetime, limit: int) -> list[DecommissionRequest]:
        """Mark up to `limit` pending requests that expired by `now` as EXPIRED (each by a guarded write);
        the ones this call expired."""
        ...
