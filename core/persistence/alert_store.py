"""The AlertStore half of `SqlAlchemyStore`: alert episodes, digests and named leases.

Every write is one UPDATE naming the columns it changes, guarded by what must still hold
(`resolved_at IS NULL`, the snooze it ends), so a replica's stale copy never overwrites an operator's
snooze or reopens a resolved episode. Posting and delivery claims live in `message_store.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.alerting.model import Alert, Digest
from core.decisions import Situation
from core.persistence.database import translated
from core.persistence.mapping import alert_from_row, alert_row, digest_from_row
from core.persistence.message_store import MessageStoreMixin
from core.persistence.orm import AlertRow, DigestRow, LockRow
from core.ports import StoreError


class AlertStoreMixin(MessageStoreMixin):
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

    async def _open_update(self, alert_id: int, *guards: Any, **values: Any) -> bool:
        """UPDATE these columns of an alert that is still open (and whatever else `guards` require)."""
        query = update(AlertRow).where(AlertRow.id == alert_id, AlertRow.resolved_at.is_(None), *guards)
        async with translated(), self.writing.begin() as session:
            result = await session.execute(query.values(**values))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        async with translated(), self.writing.begin() as session:
            taken = await session.execute(
                update(LockRow)
                .where(LockRow.name == name, or_(LockRow.holder == holder, LockRow.expires_at <= now))
                .values(holder=holder, expires_at=now + ttl)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if await session.get(LockRow, name) is not None:
                return False
        try:
            async with translated(), self.writing.begin() as session:
                session.add(LockRow(name=name, holder=holder, expires_at=now + ttl))
            return True
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                return False  # created by another holder a moment ago
            raise

    async def unlock(self, name: str, holder: str) -> None:
        async with translated(), self.writing.begin() as session:
            await session.execute(delete(LockRow).where(LockRow.name == name, LockRow.holder == holder))

    async def holders(self, prefix: str, *, now: datetime) -> set[str]:
        query = select(LockRow.holder).where(LockRow.name.startswith(prefix, autoescape=True), LockRow.expires_at > now)
        async with translated(), self.reading() as session:
            return set(await session.scalars(query))
