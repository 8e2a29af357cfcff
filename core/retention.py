"""Retention: deleting what is older than AUDIT_RETENTION (400 days by default), in bounded batches.

What goes, oldest first, at most `batch` (1,000) rows per statement:
- audit events older than the retention, except the newest KEEP_LAST (50) of every tenant that is not
  active or decommissioned: a tenant pending, in flight, failed or cancelled keeps, however old, what its
  card shows (8 events), what the alert scan reads to say what ended an episode (the last 50), and why
  it is where it is. Finished tenants keep nothing older than the retention;
- request keys older than it: a key only stops a redelivered Slack request (seconds to minutes) from
  running an action twice;
- alert episodes resolved before it, then digests opened before it that no longer have a member;
- announcement lines (posted or given up) written before it;
- Decommission requests decided (approved, denied, expired) before it: the audit feed keeps what
  happened as long as the tenant's events are kept; a pending request is never deleted;
- batches that ended before it, with their members (one row per tenant, deleted with the batch): a
  running batch is never deleted, however old.

A run works under the scan's lease, so one replica prunes at a time and never while it scans, in slices
of at most `hold_for` (10 s): the lease is renewed before every batch (the run stops if another replica
took it), given back at the end of a slice, and `pause` is awaited before the next one (`serve` waits a
scan interval, so its scans keep running while a large backlog is worked through). A dry run counts
and deletes nothing. The cut-off is fixed when a run starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from core.domain import FeedPosition
from core.ports import Leases

KEEP_LAST = 50  # at least what any reader of a live tenant's feed reads (the alert scan: 50)
BATCH = 1000
HOLD_FOR = timedelta(seconds=10)
BUSY_TRIES = 3  # a lease held by a scan at every try is left for the next run


class Pruned(StrEnum):
    """What retention deletes, in the order it does."""

    AUDIT_EVENTS = "audit events"
    REQUEST_KEYS = "request keys"
    RESOLVED_ALERTS = "resolved alerts"
    DIGESTS = "alert digests"
    ANNOUNCEMENTS = "announcements"  # lines of actions and mentions (posted or given up long ago)
    DECOMMISSION_REQUESTS = "decommission requests"  # decided ones
    BATCHES = "batches"  # ended ones, their members with them


@dataclass(frozen=True)
class Batch:
    deleted: int
    more: bool  # the batch was full: there may be more of this kind to delete
    after: FeedPosition | None = None  # audit events: the next batch starts past this (and the events kept)


class RetentionStore(Protocol):
    """Old rows, counted and deleted a bounded batch at a time. Each call is one transaction."""

    async def count_old(self, kind: Pruned, before: datetime, *, keep_last: int) -> int:
        """How many rows of `kind` retention would delete now (a dry run)."""
        ...

    async def prune(
        self, kind: Pruned, before: datetime, *, keep_last: int, limit: int, after: FeedPosition | None = None
    ) -> Batch:
        """Delete up to `limit` rows of `kind` older than `before`, oldest first (audit events past `after`)."""
        ...


@dataclass
class PruneReport:
    before: datetime  # the cut-off: rows older than this go
    counts: dict[Pruned, int] = field(default_factory=lambda: dict.fromkeys(Pruned, 0))
    dry_run: bool = False
    ran: bool = True  # False: another replica held the lease at every try; nothing was done
    done: bool = True  # everything that may go is gone (False: the run was cut short; the next one goes on)
    lease_lost: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """E.g. "12 audit events, 3 request keys, 0 resolved alerts, 0 alert digests, 0 announcements older
        than 2026-…"."""
        counted = ", ".join(f"{n:,} {kind}" for kind, n in self.counts.items())
        return f"{counted} older than {self.before:%Y-%m-%d %H:%M} UTC"


class Retention:
    def __init__(
        self,
        rows: RetentionStore,
        leases: Leases,
        *,
        keep_for: timedelta,
        lock: str,
        holder: str,
        clock: Callable[[], datetime],
        lease: timedelta,
        batch: int = BATCH,
        keep_last: int = KEEP_LAST,
        hold_for: timedelta = HOLD_FOR,
    ) -> None:
        self.rows, self.leases, self.keep_for, self.lock, self.holder = rows, leases, keep_for, lock, holder
        self.clock, self.lease, self.batch, self.keep_last, self.hold_for = clock, lease, batch, keep_last, hold_for

    async def count(self) -> PruneReport:
        """What a run would delete now, deleting nothing (needs no lease)."""
        report = PruneReport(self.clock() - self.keep_for, dry_run=True)
        for kind in Pruned:
            report.counts[kind] = await self.rows.count_old(kind, report.before, keep_last=self.keep_last)
        return report

    async def prune(self, pause: Callable[[], Awaitable[None]], *, busy_tries: int = BUSY_TRIES) -> PruneReport:
        """Delete everything older than the retention that may go, a slice at a time. Raises StoreError."""
        report = PruneReport(self.clock() - self.keep_for)
        todo, after, busy = list(Pruned), None, 0
        while todo:
            if not await self._hold():
                busy += 1
                if busy >= busy_tries:
                    report.ran, report.done = report.total > 0, False
                    return report
                await pause()
                continue
            busy = 0
            try:
                after = await self._slice(report, todo, after)
            finally:
                await self.leases.unlock(self.lock, self.holder)
            if report.lease_lost:
                report.done = False
                return report
            if todo:
                await pause()
        return report

    async def _slice(self, report: PruneReport, todo: list[Pruned], after: FeedPosition | None) -> FeedPosition | None:
        """Batches until everything is done or `hold_for` has passed; `todo` shrinks as kinds are done."""
        started = self.clock()
        while todo:
            kind = todo[0]
            batch = await self.rows.prune(kind, report.before, keep_last=self.keep_last, limit=self.batch, after=after)
            report.counts[kind] += batch.deleted
            after = batch.after if batch.more else None
            if not batch.more:
                todo.pop(0)
            if not todo or self.clock() - started >= self.hold_for:
                break
            if not await self._hold():
                report.lease_lost = True
                break
        return after

    async def _hold(self) -> bool:
        """Take the scan's lease, or renew it (it is ours)."""
        return await self.leases.try_lock(self.lock, self.holder, now=self.clock(), ttl=self.lease)
