"""The two ports the core calls: the workflow engine and the tenant store.

Adapters live in `core/adapters/` (Temporal) and `core/persistence/` (SQLAlchemy); unit tests use the
in-memory fakes in `tests/fakes.py`. Both ports are async because the engine SDK is: one event loop
serves the Slack app, the scheduler, the Temporal client and the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from core.alerts import Alert, Digest
from core.domain import Allocation, AuditEvent, RunHandle, RunningRun, RunObservation, RunStatus, Tenant


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

    async def cancel(self, handle: RunHandle) -> None:
        """Ask the run to stop; its compensation chain releases what it allocated."""
        ...

    async def terminate(self, handle: RunHandle, reason: str) -> None:
        """Stop the run with no compensation (the guide's Reset). A closed or unknown run is a no-op."""
        ...

    async def decommission(self, tenant_id: str, handle: RunHandle) -> RunHandle:
        """Start releasing every allocation of the tenant; the run marks it decommissioned."""
        ...

    async def list_running(self) -> Sequence[RunningRun]:
        """Every running provisioning run, in one call (for the scheduler)."""
        ...

    async def run_statuses(self, handles: Sequence[RunHandle]) -> dict[str, RunStatus]:
        """The listed status of each handle's run (open or closed), by workflow id, in one visibility call
        (batched for very many). A handle missing from the answer is a run the engine does not know."""
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


class TenantStore(Protocol):
    """Tenant rows, allocations and the audit feed. Each call is one transaction.

    `save` is optimistic: it writes only if the row still has `tenant.version`, bumps the version and
    appends `events` in the same transaction, otherwise it raises ConcurrentUpdate and writes nothing.
    """

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

    async def events(self, tenant_id: str, limit: int) -> list[AuditEvent]:
        """The newest `limit` audit events of the tenant, newest first."""
        ...

    async def in_flight(self) -> list[Tenant]:
        """Tenants whose provisioning is not finished (pending, provisioning, cancelling, decommissioning)."""
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


MessageKind = Literal["alert", "digest"]


class Leases(Protocol):
    """Named leases in the database: the scan lock, and each running process's liveness (core/liveness.py)."""

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the named lease unless another holder has it unexpired (one scanning replica)."""
        ...

    async def unlock(self, name: str, holder: str) -> None: ...

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        """The holders of the unexpired leases whose name starts with `prefix`."""
        ...


class AlertStore(Leases, Protocol):
    """Alert episodes, digests and the leases, in the same database as the tenants.

    Every write names the columns it changes and is guarded (`WHERE resolved_at IS NULL`, `WHERE
    message_ref IS NULL`, `WHERE claimed_by = holder`), so a stale copy never overwrites a concurrent
    snooze or resolution, and a message is posted by at most one claimant.
    """

    async def open_alerts(self) -> list[Alert]: ...

    async def open_alert(self, alert: Alert) -> Alert | None:
        """Record a new episode; None if the tenant already has an open one (another replica won)."""
        ...

    async def alert(self, alert_id: int) -> Alert | None: ...

    async def open_digest(self, opened_at: datetime) -> Digest: ...

    async def digest(self, digest_id: int) -> Digest | None: ...

    async def digest_members(self, digest_id: int) -> list[Alert]:
        """Every alert of the digest, open and resolved, by tenant id."""
        ...

    async def revise(self, alert_id: int, situation: str, reason: str, *, at: datetime, visible: bool) -> bool:
        """New situation/reason of an open alert; `visible` asks for an edit of its message."""
        ...

    async def snooze(self, alert_id: int, until: datetime, by: str) -> bool:
        """Snooze an open alert; False if it is resolved (or unknown)."""
        ...

    async def wake(self, alert_id: int, until: datetime, reply: str | None) -> bool:
        """End the snooze that ran out at `until` (not a newer one) and queue `reply`."""
        ...

    async def resolve(self, alert_id: int, at: datetime, resolution: str, reply: str | None) -> bool:
        """Close an open episode and queue `reply`; False if it was already resolved."""
        ...

    async def touch_digest(self, digest_id: int, reply: str | None) -> None:
        """Ask for the digest to be re-rendered, and append `reply` to its pending thread reply."""
        ...

    async def claim(
        self, kind: MessageKind, key: int, holder: str, *, now: datetime, ttl: timedelta, unposted: bool
    ) -> Alert | Digest | None:
        """Take the message for posting (`unposted`) or editing; the fresh row, or None if not free."""
        ...

    async def mark_posted(self, kind: MessageKind, key: int, holder: str, message_ref: str, revision: int) -> bool:
        """Record where the claimed message was posted (a digest's members too) and release the claim."""
        ...

    async def mark_delivered(
        self, kind: MessageKind, key: int, holder: str, *, revision: int, reply: str | None, failed: bool
    ) -> None:
        """After an edit/reply attempt: what is now shown, whether `reply` went out, and release the claim."""
        ...

    async def release(self, kind: MessageKind, key: int, holder: str) -> None:
        """Give the claim back without recording anything (the post failed)."""
        ...

    async def undelivered(self) -> list[Alert | Digest]:
        """Posted messages with an edit or a reply still to send (alerts of digests excluded)."""
        ...


class NotifyError(Exception):
    """The chat could not be reached or refused the message; the alert stays unposted for a later tick."""


class Notifier(Protocol):
    """Where alerts go (a Slack channel). Implementations pace themselves and honour rate limits.

    `dry_run` is True for a notifier that keeps no messages (a terminal): the scan then prints what it
    would post and leaves every post, edit and reply to a replica that has Slack.
    """

    dry_run: bool

    async def post_alert(self, alert: Alert) -> str:
        """Post one alert with its buttons; returns a reference for later edits."""
        ...

    async def post_digest(self, digest: Digest, members: Sequence[Alert]) -> str:
        """Post one message listing many new alerts (a mass wedge); returns its reference."""
        ...

    async def update_alert(self, alert: Alert) -> None:
        """Edit the alert in place (new situation, snoozed, resolved)."""
        ...

    async def update_digest(self, digest: Digest, members: Sequence[Alert]) -> None:
        """Re-render the digest (resolved count, what is still wedged)."""
        ...

    async def reply(self, message_ref: str, text: str) -> None:
        """A short reply in the message's thread (resolution, reminder after a snooze)."""
        ...
