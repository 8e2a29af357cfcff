"""Tables of tenantbot, as SQLAlchemy 2 typed models. The domain's dataclasses stay free of them.

Two indexes carry the product's guarantees: the partial unique index on held allocations (an
allocation is recorded once per kind) and the one on open alerts (one open episode per tenant, so
one stuck episode is alerted once, whatever the number of replicas). The partial indexes on in-flight
states and on claimed rows keep the scheduler's queries proportional to in-flight and claimed tenants
at a million rows. The audit feed is read by (tenant, time, id) — a tenant's history a page at a time —
and pruned by (time, id), oldest first (core/retention.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

IN_FLIGHT_SQL = "state IN ('pending', 'provisioning', 'cancelling', 'decommissioning')"
CLAIMED_SQL = "claim_action IS NOT NULL"
BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite, which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[str | None] = mapped_column(String(100))
    handle_attempt: Mapped[int | None]
    attempt: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    failed_activity: Mapped[str | None] = mapped_column(String(100))
    current_step: Mapped[str | None] = mapped_column(String(100))
    last_progress_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    claim_action: Mapped[str | None] = mapped_column(String(20))
    claim_actor: Mapped[str | None] = mapped_column(String(200))
    claim_since: Mapped[datetime | None]
    claim_owner: Mapped[str | None] = mapped_column(String(200))
    claim_plan: Mapped[dict[str, Any] | None]  # the claim's target run and changed fields (mapping.claim_plan)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        Index("ix_tenants_in_flight", "state", sqlite_where=text(IN_FLIGHT_SQL), postgresql_where=text(IN_FLIGHT_SQL)),
        Index("ix_tenants_updated_at", "updated_at"),
        Index("ix_tenants_claimed", "claim_since", sqlite_where=text(CLAIMED_SQL), postgresql_where=text(CLAIMED_SQL)),
    )


class AllocationRow(Base):
    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    resource_id: Mapped[str] = mapped_column(String(200))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    allocated_at: Mapped[datetime]
    released_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_allocations_held",
            "tenant_id",
            "kind",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_audit_events_tenant_at", "tenant_id", "at", "id"),  # a tenant's feed, newest first, by pages
        Index("ix_audit_events_at", "at", "id"),  # retention: the oldest events first
        Index("ix_audit_events_actor_at", "actor", "at", "id"),  # someone's last actions (App Home)
    )


class RequestKeyRow(Base):
    """Keys of handled requests (a Slack press), so a retried delivery never runs an action twice."""

    __tablename__ = "request_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_request_keys_at", "at"),)  # retention


class MessageColumns:
    """What the alert channel needs to post a message once and keep it current (alerts and digests).

    `revision` counts visible changes and `shown_revision` the one Slack shows, so an edit that
    failed is retried on a later tick; `reply_pending` is a thread reply not sent yet; the claim
    (`claimed_by` until `claim_until`) lets one replica at a time post or edit the message.
    """

    message_ref: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(default=0)
    shown_revision: Mapped[int] = mapped_column(default=0)
    reply_pending: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_until: Mapped[datetime | None]


UNSENT_SQL = "message_ref IS NOT NULL AND (shown_revision < revision OR reply_pending IS NOT NULL)"


class AlertRow(MessageColumns, Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(63))
    situation: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    digest_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    snoozed_until: Mapped[datetime | None]
    snoozed_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(200))  # who took it ("Take it")
    owned_at: Mapped[datetime | None]
    cause_step: Mapped[str | None] = mapped_column(String(100))  # the step it stopped at (core/causes.py)
    cause_error: Mapped[str | None] = mapped_column(Text)  # its error, normalised

    __table_args__ = (
        Index(
            "uq_alerts_open",
            "tenant_id",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alerts_digest", "digest_id"),
        Index("ix_alerts_tenant", "tenant_id", "id"),  # a tenant's episodes, newest last (core/alerting/nudges.py)
        Index("ix_alerts_unsent", "id", sqlite_where=text(UNSENT_SQL), postgresql_where=text(UNSENT_SQL)),
    )


class DigestRow(MessageColumns, Base):
    """One message listing many alerts opened in the same tick (a mass wedge)."""

    __tablename__ = "alert_digests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    opened_at: Mapped[datetime]


class LockRow(Base):
    """Named leases (the scan lock, each process's `alive:` lease): one holder until it releases or it expires."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class ScanTickRow(Base):
    """When a scan tick last finished, and where (one row per scan, `scan`): the App Home's "last scan".
    The scan lease's row cannot say it: it is deleted at the end of every tick."""

    __tablename__ = "scan_ticks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    finished_at: Mapped[datetime]
    wedged: Mapped[int] = mapped_column(Integer, default=0)


UNANNOUNCED_SQL = "done_at IS NULL"
MENTION_SQL = "kind = 'mention'"


class AnnouncementRow(Base):
    """A line the channel must see once (core/alerting/announcements.py): an operator action read from the
    audit feed (`event_id`, unique: recorded once however many replicas read the feed), or the one mention
    of an alert nobody took (`alert_id`, unique among mentions). Posted under a claim like an alert, and
    `done_at` once posted or given up."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # "action" or "mention"
    event_id: Mapped[int | None] = mapped_column(BigId)
    alert_id: Mapped[int | None] = mapped_column(BigId)  # the alert whose thread it goes to, if any
    tenant_id: Mapped[str] = mapped_column(String(63))
    action: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))  # who acted, or whom a mention calls
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))  # a CLI user's --actor
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    message_ref: Mapped[str | None] = mapped_column(String(100))  # where it was posted
    done_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_until: Mapped[datetime | None]

    __table_args__ = (
        Index("uq_announcements_event", "event_id", unique=True),
        Index(
            "uq_announcements_mention",
            "alert_id",
            unique=True,
            sqlite_where=text(MENTION_SQL),
            postgresql_where=text(MENTION_SQL),
        ),
        Index("ix_announcements_at", "at"),
        Index(
            "ix_announcements_pending",
            "id",
            sqlite_where=text(UNANNOUNCED_SQL),
            postgresql_where=text(UNANNOUNCED_SQL),
        ),
    )


OPEN_FREEZE_SQL = "unfrozen_at IS NULL"


class FreezeRow(Base):
    """The read-only switch (core/freeze.py): one row per freeze, kept as its record; the open one (not yet
    unfrozen) is in force. The partial unique index allows one open freeze per scope, so two operators
    freezing at once record one freeze, and reading the switch is one index look-up."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(20))  # what is frozen: "actions" (every operator action)
    frozen_by: Mapped[str] = mapped_column(String(200))
    frozen_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    unfrozen_by: Mapped[str | None] = mapped_column(String(200))
    unfrozen_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_freezes_open",
            "scope",
            unique=True,
            sqlite_where=text(OPEN_FREEZE_SQL),
            postgresql_where=text(OPEN_FREEZE_SQL),
        ),
    )


PENDING_REQUEST_SQL = "state = 'pending'"


class DecommissionRequestRow(Base):
    """A Decommission awaiting a second person (core/approvals.py): who asked, why, until when, and who
    approved, denied or found it expired. `state` moves once from `pending`, by a guarded UPDATE, so a
    request is used at most once; `request_key` (unique) makes a redelivered request record one row."""

    __tablename__ = "decommission_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(63))
    requester: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    origin_channel: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    request_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decided_key: Mapped[str | None] = mapped_column(String(255))  # the press that decided it
    outcome: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]  # the outcome is final (the engine finished, or nothing was started)
    message_channel: Mapped[str | None] = mapped_column(String(100))  # where the request was posted
    message_ts: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_decommission_requests_tenant", "tenant_id", "requested_at"),
        Index(  # the requests still open, by expiry: what the schedule expires
            "ix_decommission_requests_pending",
            "expires_at",
            sqlite_where=text(PENDING_REQUEST_SQL),
            postgresql_where=text(PENDING_REQUEST_SQL),
        ),
    )


class BatchRow(Base):
    """A batch (core/batches.py): one recovery for a cause group's tenants, run member by member. Its
    counters are the progress, bumped with each member's outcome in the same transaction."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # reset, retry, reset-retry
    situation: Mapped[str] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    rate: Mapped[float] = mapped_column(Float)
    canary: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # running, stopped, finished
    note: Mapped[str | None] = mapped_column(Text)  # why it stopped
    stop_requested_by: Mapped[str | None] = mapped_column(String(200))
    canary_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[datetime | None]
    waiting: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    message_ref: Mapped[str | None] = mapped_column(String(150))  # its progress message in Slack, if any

    __table_args__ = (Index("ix_batches_status", "status"),)


class BatchMemberRow(Base):
    """A tenant of a batch, in the order it runs, with its outcome and why."""

    __tablename__ = "batch_members"

    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    position: Mapped[int]
    step: Mapped[str | None] = mapped_column(String(100))  # where it had stopped when the batch was made
    status: Mapped[str] = mapped_column(String(20))  # waiting, done, refused, failed
    why: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime | None]

    __table_args__ = (Index("ix_batch_members_order", "batch_id", "status", "position"),)
