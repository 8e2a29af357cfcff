"""`SqlRetentionStore`: retention's old rows (core/retention.py), counted and deleted in batches.

Each batch is one transaction and one bounded statement found through an index: audit events by
`ix_audit_events_at` (oldest first; the events a tenant keeps are passed over once, the batch after
starts past them), request keys by `ix_request_keys_at`, digests' members by `ix_alerts_digest`,
announcements by `ix_announcements_at`.
Alerts, Decommission requests and batches are few (one row per stuck episode, per request, per batch)
and read by id; a batch's members go with it (`ON DELETE CASCADE`, foreign keys on in SQLite too). The
same statements run on SQLite and PostgreSQL (`IN (SELECT … LIMIT n)`, row-value comparisons).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.approval_requests import RequestState
from core.batches import BatchStatus
from core.domain import FINISHED_STATES, FeedPosition
from core.persistence.database import translated
from core.persistence.mapping import time_param
from core.persistence.orm import (
    AlertRow,
    AnnouncementRow,
    AuditEventRow,
    BatchRow,
    DecommissionRequestRow,
    DigestRow,
    RequestKeyRow,
    TenantRow,
)
from core.retention import Batch, Pruned, RetentionStore


class SqlRetentionStore(RetentionStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def count_old(self, kind: Pruned, before: datetime, *, keep_last: int) -> int:
        table, old = _old(kind, before, keep_last)
        async with translated(), self.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(table).where(old)) or 0)

    async def prune(
        self, kind: Pruned, before: datetime, *, keep_last: int, limit: int, after: FeedPosition | None = None
    ) -> Batch:
        if kind is Pruned.AUDIT_EVENTS:
            return await self._prune_events(before, keep_last, limit, after)
        table, old = _old(kind, before, keep_last)
        key = table.key if table is RequestKeyRow else table.id
        order = RequestKeyRow.at if table is RequestKeyRow else key
        oldest: Select[Any] = select(key).where(old).order_by(order).limit(limit)
        async with translated(), self.writing.begin() as session:
            result = await session.execute(delete(table).where(key.in_(oldest)))
        deleted = int(result.rowcount)  # type: ignore[attr-defined]
        return Batch(deleted, more=deleted == limit)

    async def _prune_events(self, before: datetime, keep_last: int, limit: int, after: FeedPosition | None) -> Batch:
        position = tuple_(AuditEventRow.at, AuditEventRow.id)
        query = select(AuditEventRow.id, AuditEventRow.at).where(_old_events(before, keep_last))
        if after is not None:
            query = query.where(position > tuple_(time_param(after.at), after.id))
        query = query.order_by(AuditEventRow.at, AuditEventRow.id).limit(limit)
        async with translated(), self.writing.begin() as session:
            found = list(await session.execute(query))
            if found:
                await session.execute(delete(AuditEventRow).where(AuditEventRow.id.in_([row.id for row in found])))
        last = FeedPosition(found[-1].at, found[-1].id) if found else None
        return Batch(len(found), more=len(found) == limit, after=last)


def _old(kind: Pruned, before: datetime, keep_last: int) -> tuple[type[Any], ColumnElement[bool]]:
    """The table of `kind` and what makes one of its rows old enough to go."""
    match kind:
        case Pruned.AUDIT_EVENTS:
            return AuditEventRow, _old_events(before, keep_last)
        case Pruned.REQUEST_KEYS:
            return RequestKeyRow, RequestKeyRow.at < before
        case Pruned.RESOLVED_ALERTS:
            return AlertRow, AlertRow.resolved_at < before
        case Pruned.DIGESTS:  # opened before, and no member that stays (members go first: resolved before)
            staying = or_(AlertRow.resolved_at.is_(None), AlertRow.resolved_at >= before)
            stays = exists().where(AlertRow.digest_id == DigestRow.id, staying)
            return DigestRow, and_(DigestRow.opened_at < before, not_(stays))
        case Pruned.ANNOUNCEMENTS:
            return AnnouncementRow, AnnouncementRow.at < before
        case Pruned.DECOMMISSION_REQUESTS:
            decided = DecommissionRequestRow.state != RequestState.PENDING.value
            return DecommissionRequestRow, and_(decided, DecommissionRequestRow.decided_at < before)
        case Pruned.BATCHES:
            ended = BatchRow.status != BatchStatus.RUNNING.value
            return BatchRow, and_(ended, BatchRow.ended_at < before)


def _old_events(before: datetime, keep_last: int) -> ColumnElement[bool]:
    """Older than `before`, and not among the newest `keep_last` events of a tenant that is not finished."""
    unfinished = exists().where(
        TenantRow.id == AuditEventRow.tenant_id, TenantRow.state.not_in([s.value for s in FINISHED_STATES])
    )
    newer = aliased(AuditEventRow)
    newest = (
        select(newer.id)
        .where(newer.tenant_id == AuditEventRow.tenant_id)
        .order_by(newer.at.desc(), newer.id.desc())
        .limit(keep_last)
        .correlate(AuditEventRow)
    )
    return and_(AuditEventRow.at < before, not_(and_(unfinished, AuditEventRow.id.in_(newest))))
