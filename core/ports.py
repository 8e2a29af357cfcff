"""The ports of the tenant side: the workflow engine, the tenant store and the named leases.

Adapters live in `core/adapters/` (Temporal) and `core/persistence/` (SQLAlchemy); unit tests use the
in-memory fakes in `tests/fakes.py`. The ports are async because the engine SDK is: one event loop
serves the Slack app, the scheduler, the Temporal client and the database. Alerting's own ports (the
alert store, the notifier) are in `core/alerting/ports.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Literal, Protocol, TypeVar

from core.domain import (
    Allocation,
    AuditEvent,
    ClosedRun,
    FeedPosition,
    InFlightRef,
    RunHandle,
    RunObservation,
    RunStatus,
    Tenant,
)
from core.freeze import Freeze

T = TypeVar("T")


class EngineError(Exception):
    """The engine could not do what was asked (down, timed out, refused). The message is for operators."""


class RunAlreadyLive(EngineError):
    """Starting an attempt was refused because the engine still holds a run for the tenant."""


class WorkflowEngine(Protocol):
    """Runs the provisioning saga. Idempotent where the engine allows: terminating a closed run is a no-op."""

    async def describe(self, handle: RunHandle) -> RunObservation:
        """Status of one run; RunStatus.NOT_FOUND when the engine does not know it. Raises EngineError."""
        ...

    async def start(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        """Start the saga attempt named by `handle`; returns it with the engine's run id.

        Raises RunAlreadyLive if a run for the tenant still runs.
        """
        ...

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        """Ask the run to stop; its compensation chain releases what it allocated. `reason` is recorded by
        the engine with the request (Temporal shows it in the run's history)."""
        ...

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        """Stop the run with no compensation (the guide's Reset). A closed or unknown run is a no-op."""
        ...

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        """Start releasing every allocation of the tenant; the run marks it decommissioned."""
        ...

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        """The listed status of each handle's run (open or closed), by workflow id, in one visibility call
        (batched for very many). A handle missing from the answer is a run the engine does not know."""
        ...

    async def count_running(self, handles: Sequence[RunHandle]) -> int:
        """How many of the handles' workflows have a running run, in one visibility count (up to 1,000
        handles; a workflow has at most one running run, so a count short of the handles means some
        are closed or unknown)."""
        ...

    async def closed_since(self, after: datetime) -> Sequence[ClosedRun]:
        """The provisioning runs (of this task queue) that closed after `after`, by the engine's clock,
        in one visibility query (paged when very many)."""
        ...


class StoreError(Exception):
    """The database could not be read or written. The message is for operators."""


class ConcurrentUpdate(StoreError):
    """The row changed since it was read (optimistic concurrency): re-read and re-decide."""


class TenantExists(StoreError):
    """A tenant with this id is already recorded."""


class DuplicateRequest(StoreError):
    """This request key was already handled: a retried Slack delivery or a double submit."""


@dataclass(frozen=True)
class AllocationChanges:
    """Allocations to record and kinds to release, written atomically with the tenant row."""

    add: tuple[Allocation, ...] = ()
    release: tuple[str, ...] = ()
    released_at: datetime | None = None


class Unread(Enum):
    SWITCH = "not read"  # the store did not read the read-only switch: the service asks its Switch


@dataclass(frozen=True)
class TenantRecord:
    """What a card shows of the database, read together (`TenantStore.record`): the row, its open allocations,
    its newest audit events, and the read-only switch. A part that could not be read is None (allocations,
    events) and named in `problems` ("allocations: …", "audit events: …")."""

    tenant: Tenant
    allocations: tuple[Allocation, ...] | None
    events: tuple[AuditEvent, ...] | None
    switch: Freeze | Literal[Unread.SWITCH] | None
    problems: tuple[str, ...] = ()


class TenantStore(Protocol):
    """Tenant rows, allocations and the audit feed. Each call is one transaction.

    `save` is optimistic: it writes only if the row still has `tenant.version`, bumps the version and
    appends `events` in the same transaction, otherwise it raises ConcurrentUpdate and writes nothing.
    """

    reads_records_together: bool = False  # `record` is one read (the database's), not the default's parts

    async def get(self, tenant_id: str) -> Tenant | None: ...

    async def add(self, tenant: Tenant, events: Sequence[AuditEvent]) -> Tenant:
        """Insert a new tenant; raises StoreError if the id exists."""
        ...

    async def save(
        self,
        tenant: Tenant,
        events: Sequence[AuditEvent],
        *,
        request_key: str | None = None,
        allocations: AllocationChanges | None = None,
    ) -> Tenant:
        """Write `tenant` over version `tenant.version`; returns it with the new version.

        `allocations` are recorded or released in the same transaction, so an allocation is only ever
        recorded by the run the row names (fencing). With `request_key`, the key is remembered in the
        same transaction, and a key seen before raises DuplicateRequest (nothing written).
        """
        ...

    async def seen_request(self, key: str) -> bool:
        """Whether a request with this key was already handled (checked before deciding anything)."""
        ...

    async def append(self, events: Sequence[AuditEvent]) -> None: ...

    async def allocations(self, tenant_id: str) -> list[Allocation]: ...

    async def record(self, tenant_id: str, events: Callable[[Tenant], int]) -> TenantRecord | None:
        """The tenant's row, open allocations, newest `events(row)` audit events and the read-only switch, or None
        for no such tenant. The database reads them in one transaction on one connection (a card's reads
        cost one checkout, not four); this default reads each part on its own and leaves the switch to the
        caller. Raises StoreError when the row cannot be read; a part that cannot is named in `problems`."""
        tenant = await self.get(tenant_id)
        if tenant is None:
            return None
        problems: list[str] = []
        held = await _part(self.allocations(tenant_id), problems)
        feed = await _part(self.events(tenant_id, events(tenant)), problems)
        return TenantRecord(tenant, held, feed, Unread.SWITCH, tuple(problems))

    async def events(self, tenant_id: str, limit: int) -> list[AuditEvent]:
        """The newest `limit` audit events of the tenant, newest first (by time, then id)."""
        ...

    async def history(
        self, tenant_id: str, *, limit: int, before: FeedPosition | None = None, after: FeedPosition | None = None
    ) -> list[AuditEvent]:
        """Up to `limit` audit events of the tenant, newest first: the newest ones, or the nearest ones
        older than `before` or newer than `after` (keyset pages of the whole feed)."""
        ...

    async def in_flight(self, ids: Collection[str] | None = None) -> list[Tenant]:
        """Tenants whose provisioning is not finished (pending, provisioning, cancelling, decommissioning);
        with `ids`, only those of them."""
        ...

    async def in_flight_refs(self, progressing_since: datetime) -> list[InFlightRef]:
        """Every in-flight tenant's id and handle, without the rest of its row (one narrow query).

        `progressing` is the decision table's "making progress" for a row whose run runs, worked out by
        the database: open (pending, provisioning), a run named, no error, no operator action claimed,
        and its last step (else its creation) after `progressing_since` (now - STUCK_AFTER).
        """
        ...

    async def claimed(self) -> list[Tenant]:
        """Tenants with an operator action under way (or left unfinished by a crash), whatever their state."""
        ...

    async def list(self, limit: int) -> list[Tenant]:
        """Up to `limit` tenants, most recently changed first."""
        ...

    async def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        ...


async def _part(reading: Awaitable[list[T]], problems: list[str]) -> tuple[T, ...] | None:
    try:
        return tuple(await reading)
    except StoreError as e:
        problems.append(str(e))
        return None


class Leases(Protocol):
    """Named leases in the database: the scan lock, and each running process's liveness (core/liveness.py)."""

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the named lease unless another holder has it unexpired (one scanning replica)."""
        ...

    async def unlock(self, name: str, holder: str) -> None: ...

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        """The holders of the unexpired leases whose name starts with `prefix`."""
        ...
