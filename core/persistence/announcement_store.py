"""`SqlAnnouncements`: the AnnouncementStore port on SQLite or PostgreSQL (core/alerting/announcements.py).

Actions are read from the audit feed by time (`ix_audit_events_at`) and recorded with `INSERT … ON CONFLICT
DO NOTHING` on the unique `event_id`, so two replicas reading the same events record each once; mentions
the same way, on the partial unique index of one mention per alert. Posting is claimed with one
conditional UPDATE (`done_at IS NULL AND` the claim free or expired), like an alert's message.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerting.model import Announcement
from core.persistence.database import translated
from core.persistence.orm import AlertRow, AnnouncementRow, AuditEventRow

ACTION, MENTION = "action", "mention"


class SqlAnnouncements:
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def newest(self) -> datetime | None:
        query = select(func.max(AnnouncementRow.at)).where(AnnouncementRow.kind == ACTION)
        async with translated(), self.reading() as session:
            return await session.scalar(query)

    async def record_actions(self, types: Collection[str], since: datetime, limit: int) -> int:
        recorded = exists().where(AnnouncementRow.event_id == AuditEventRow.id)
        query = (
            select(AuditEventRow)
            .where(AuditEventRow.at >= since, AuditEventRow.type.in_(list(types)), ~recorded)
            .order_by(AuditEventRow.id)
            .limit(limit)
        )
        new = 0
        async with translated(), self.writing.begin() as session:
            for event in list(await session.scalars(query)):
                new += await self._insert(session, await self._action(session, event))
        return new

    async def _action(self, session: AsyncSession, event: AuditEventRow) -> dict[str, Any]:
        """The line of one `<action>_started` event, aimed at the alert of its tenant open at that moment."""
        open_then = (
            select(AlertRow.id)
            .where(
                AlertRow.tenant_id == event.tenant_id,
                AlertRow.opened_at <= event.at,
                or_(AlertRow.resolved_at.is_(None), AlertRow.resolved_at >= event.at),
            )
            .order_by(AlertRow.id.desc())
            .limit(1)
        )
        details = event.details or {}
        reason, behalf = details.get("reason"), details.get("on_behalf_of")
        action = event.type.rsplit(".", 1)[-1].removesuffix("_started")
        # a batch's members are recorded as seen but not posted one by one: 500 members would be 1,000 lines
        return {
            "done_at": event.at if "batch" in details else None,
            "kind": ACTION,
            "event_id": event.id,
            "alert_id": await session.scalar(open_then),
            "tenant_id": event.tenant_id,
            "action": action,
            "actor": event.actor,
            "on_behalf_of": str(behalf)[:64] if behalf is not None else None,
            "reason": str(reason) if reason is not None else None,
            "at": event.at,
        }

    async def record_mentions(self, opened_before: datetime, now: datetime, whom: str) -> int:
        mentioned = exists().where(AnnouncementRow.kind == MENTION, AnnouncementRow.alert_id == AlertRow.id)
        query = select(AlertRow).where(
            AlertRow.resolved_at.is_(None),
            AlertRow.owner.is_(None),
            AlertRow.digest_id.is_(None),
            AlertRow.message_ref.is_not(None),
            AlertRow.opened_at <= opened_before,
            or_(AlertRow.snoozed_until.is_(None), AlertRow.snoozed_until <= now),
            ~mentioned,
        )
        new = 0
        async with translated(), self.writing.begin() as session:
            for alert in list(await session.scalars(query)):
                line = {"kind": MENTION, "alert_id": alert.id, "tenant_id": alert.tenant_id, "actor": whom, "at": now}
                new += await self._insert(session, line)
        return new

    @staticmethod
    async def _insert(session: AsyncSession, values: dict[str, Any]) -> int:
        """Insert unless a unique index says it is recorded already (another replica was first)."""
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(AnnouncementRow).values(failures=0, **values).on_conflict_do_nothing()
        result = await session.execute(statement.returning(AnnouncementRow.id))
        return 0 if result.first() is None else 1

    async def pending(self, limit: int) -> list[Announcement]:
        query = select(AnnouncementRow).where(AnnouncementRow.done_at.is_(None)).order_by(AnnouncementRow.id)
        async with translated(), self.reading() as session:
            return [announcement_from_row(row) for row in await session.scalars(query.limit(limit))]

    async def claim(self, key: int, holder: str, *, now: datetime, ttl: timedelta) -> Announcement | None:
        free = or_(AnnouncementRow.claimed_by.is_(None), AnnouncementRow.claim_until <= now)
        query = update(AnnouncementRow).where(AnnouncementRow.id == key, AnnouncementRow.done_at.is_(None), free)
        async with translated(), self.writing.begin() as session:
            taken = await session.execute(query.values(claimed_by=holder, claim_until=now + ttl))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get(AnnouncementRow, key)
            assert row is not None
            return announcement_from_row(row)

    async def done(self, key: int, holder: str, at: datetime, message_ref: str | None) -> bool:
        values = {"done_at": at, "message_ref": message_ref, "claimed_by": None, "claim_until": None}
        return await self._held(key, holder, **values)

    async def failed(self, key: int, holder: str, *, give_up: bool, at: datetime, counted: bool = True) -> None:
        values: dict[str, Any] = {"claimed_by": None, "claim_until": None}
        if counted:
            values["failures"] = AnnouncementRow.failures + 1
        if give_up:
            values["done_at"] = at
        await self._held(key, holder, **values)

    async def _held(self, key: int, holder: str, **values: Any) -> bool:
        query = update(AnnouncementRow).where(AnnouncementRow.id == key, AnnouncementRow.claimed_by == holder)
        async with translated(), self.writing.begin() as session:
            result = await session.execute(query.values(**values))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def announcement_from_row(row: AnnouncementRow) -> Announcement:
    return Announcement(
        tenant_id=row.tenant_id,
        actor=row.actor,
        on_behalf_of=row.on_behalf_of,
        at=row.at,
        action=row.action,
        reason=row.reason,
        alert_id=row.alert_id,
        event_id=row.event_id,
        id=row.id,
        message_ref=row.message_ref,
        failures=row.failures,
    )
