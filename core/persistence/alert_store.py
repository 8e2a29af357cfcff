"""`SqlAlertStore`: the AlertStore port on SQLite or PostgreSQL: alert episodes and digests here, the
messages' posting and delivery claims in `message_store.py` (`SqlMessages`, which it hands them on to).

Every write is one UPDATE naming the columns it changes, guarded by what must still hold
(`resolved_at IS NULL`, the snooze it ends), so a replica's stale copy never overwrites an operator's
snooze or reopens a resolved episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerting.model import Alert, Digest
from core.alerting.ports import AlertStore, MessageKind
from core.decisions import Situation
from core.persistence.database import translated
from core.persistence.mapping import alert_from_row, alert_row, digest_from_row
from core.persistence.message_store import SqlMessages
from core.persistence.orm import AlertRow, DigestRow
from core.ports import StoreError


class SqlAlertStore(AlertStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing
        self.messages = SqlMessages(reading, writing)

    async def open_alerts(self) -> list[Alert]:
        query = select(AlertRow).where(AlertRow.resolved_at.is_(None)).order_by(AlertRow.id)
        async with translated(), self.reading() as session:
            return [alert_from_row(row) for row in await session.scalars(query)]

    async def open_alert(self, alert: Alert) -> Alert | None:
        row = alert_row(alert)
        try:
            async with translated(), self.writing.begin() as session:
                session.add(row)
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                return None  # the tenant already has an open episode: another replica recorded it
            raise
        return alert_from_row(row)

    async def alert(self, alert_id: int) -> Alert | None:
        async with translated(), self.reading() as session:
            row = await session.get(AlertRow, alert_id)
            return alert_from_row(row) if row else None

    async def open_digest(self, opened_at: datetime) -> Digest:
        row = DigestRow(opened_at=opened_at, revision=0, shown_revision=0, failures=0)
        async with translated(), self.writing.begin() as session:
            session.add(row)
        return digest_from_row(row)

    async def digest(self, digest_id: int) -> Digest | None:
        async with translated(), self.reading() as session:
            row = await session.get(DigestRow, digest_id)
            return digest_from_row(row) if row else None

    async def digest_members(self, digest_id: int) -> list[Alert]:
        query = select(AlertRow).where(AlertRow.digest_id == digest_id).order_by(AlertRow.tenant_id)
        async with translated(), self.reading() as session:
            return [alert_from_row(row) for row in await session.scalars(query)]

    async def revise(self, alert_id: int, situation: Situation, reason: str, *, at: datetime, visible: bool) -> bool:
        bump = AlertRow.revision + (1 if visible else 0)
        return await self._open_update(alert_id, situation=situation.key, reason=reason, refreshed_at=at, revision=bump)

    async def snooze(self, alert_id: int, until: datetime, by: str) -> bool:
        return await self._open_update(alert_id, snoozed_until=until, snoozed_by=by, revision=AlertRow.revision + 1)

    async def wake(self, alert_id: int, until: datetime, reply: str | None) -> bool:
        values: dict[str, Any] = {"snoozed_until": None, "snoozed_by": None, "revision": AlertRow.revision + 1}
        if reply is not None:
            values["reply_pending"] = reply
        return await self._open_update(alert_id, AlertRow.snoozed_until == until, **values)

    async def resolve(self, alert_id: int, at: datetime, resolution: str, reply: str | None) -> bool:
        values: dict[str, Any] = {"resolved_at": at, "resolution": resolution, "revision": AlertRow.revision + 1}
        if reply is not None:
            values["reply_pending"] = reply  # supersedes a reminder not sent yet
        return await self._open_update(alert_id, **values)

    async def take(self, alert_id: int, by: str, at: datetime, *, was: str | None) -> bool:
        unchanged = AlertRow.owner.is_(None) if was is None else AlertRow.owner == was
        return await self._open_update(alert_id, unchanged, owner=by, owned_at=at, revision=AlertRow.revision + 1)

    async def _open_update(self, alert_id: int, *guards: Any, **values: Any) -> bool:
        """UPDATE these columns of an alert that is still open (and whatever else `guards` require)."""
        query = update(AlertRow).where(AlertRow.id == alert_id, AlertRow.resolved_at.is_(None), *guards)
        async with translated(), self.writing.begin() as session:
            result = await session.execute(query.values(**values))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def touch_digest(self, digest_id: int, reply: str | None) -> None:
        async with translated(), self.writing.begin() as session:
            row = await session.get(DigestRow, digest_id, with_for_update=True)
            if row is None:
                return
            row.revision += 1
            if reply is not None:
                row.reply_pending = f"{row.reply_pending}\n{reply}" if row.reply_pending else reply

    # -- the messages' claims and delivery state (message_store.py) -------------------------------

    async def claim(
        self, kind: MessageKind, key: int, holder: str, *, now: datetime, ttl: timedelta, unposted: bool
    ) -> Alert | Digest | None:
        return await self.messages.claim(kind, key, holder, now=now, ttl=ttl, unposted=unposted)

    async def mark_posted(self, kind: MessageKind, key: int, holder: str, message_ref: str, revision: int) -> bool:
        return await self.messages.mark_posted(kind, key, holder, message_ref, revision)

    async def mark_delivered(
        self, kind: MessageKind, key: int, holder: str, *, revision: int, reply: str | None, failed: bool
    ) -> None:
        await self.messages.mark_delivered(kind, key, holder, revision=revision, reply=reply, failed=failed)

    async def release(self, kind: MessageKind, key: int, holder: str) -> None:
        await self.messages.release(kind, key, holder)

    async def undelivered(self) -> list[Alert | Digest]:
        return await self.messages.undelivered()
