"""`SqlHomeStore`: the App Home's reads (core/home.py) on SQLite or PostgreSQL, and the scan's tick record.

Each read is one indexed query: the open alerts a person took (open alerts are few), a person's newest
audit events (`ix_audit_events_actor_at`), the scan's one `scan_ticks` row. Recording a tick is one
UPDATE, or an INSERT the first time (a concurrent first insert loses on the primary key, harmlessly).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import AuditEvent
from core.home import ClaimedAlert, HomeStore, ScanTick
from core.persistence.database import translated
from core.persistence.mapping import event_from_row
from core.persistence.orm import AlertRow, AuditEventRow, ScanTickRow
from core.ports import StoreError

SCAN = "scan"  # the one scan's row (as the scan lease is named)


class SqlHomeStore(HomeStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def claimed_by(self, user: str, limit: int) -> list[ClaimedAlert]:
        query = (
            select(AlertRow.id, AlertRow.tenant_id, AlertRow.reason, AlertRow.owned_at)
            .where(AlertRow.resolved_at.is_(None), AlertRow.owner == user)
            .order_by(AlertRow.owned_at, AlertRow.id)
            .limit(limit)
        )
        async with translated(), self.reading() as session:
            return [ClaimedAlert(*row) for row in await session.execute(query)]

    async def actions_by(self, actor: str, limit: int) -> list[AuditEvent]:
        query = (
            select(AuditEventRow)
            .where(AuditEventRow.actor == actor)
            .order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc())
            .limit(limit)
        )
        async with translated(), self.reading() as session:
            return [event_from_row(row) for row in await session.scalars(query)]

    async def last_tick(self) -> ScanTick | None:
        async with translated(), self.reading() as session:
            row = await session.get(ScanTickRow, SCAN)
            return ScanTick(row.finished_at, row.wedged) if row is not None else None

    async def record_tick(self, holder: str, at: datetime, wedged: int) -> None:
        values = {"holder": holder, "finished_at": at, "wedged": wedged}
        async with translated(), self.writing.begin() as session:
            done = await session.execute(update(ScanTickRow).where(ScanTickRow.name == SCAN).values(**values))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                return
        try:
            async with translated(), self.writing.begin() as session:
                session.add(ScanTickRow(name=SCAN, **values))
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise  # else another replica's first tick was recorded a moment ago: as good as this one
