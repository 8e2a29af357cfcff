"""The AlertStore half of `SqlAlchemyStore`: alert episodes and named leases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerts import Alert
from core.persistence.database import translated
from core.persistence.mapping import ALERT_FIELDS, alert_from_row
from core.persistence.orm import AlertRow, LockRow
from core.ports import StoreError


class AlertStoreMixin:
    session: async_sessionmaker[AsyncSession]

    async def open_alerts(self) -> list[Alert]:
        query = select(AlertRow).where(AlertRow.resolved_at.is_(None)).order_by(AlertRow.id)
        async with translated(), self.session() as session:
            return [alert_from_row(row) for row in await session.scalars(query)]

    async def open_alert(self, alert: Alert) -> Alert | None:
        row = AlertRow(
            tenant_id=alert.tenant_id, opened_at=alert.opened_at, **{f: getattr(alert, f) for f in ALERT_FIELDS}
        )
        try:
            async with translated(), self.session.begin() as session:
                session.add(row)
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                return None  # the tenant already has an open episode: another replica recorded it
            raise
        return alert_from_row(row)

    async def save_alert(self, alert: Alert) -> Alert:
        if alert.id is None:
            raise ValueError("save_alert needs a recorded alert")
        async with translated(), self.session.begin() as session:
            await session.execute(
                update(AlertRow).where(AlertRow.id == alert.id).values(**{f: getattr(alert, f) for f in ALERT_FIELDS})
            )
        return alert

    async def alert(self, alert_id: int) -> Alert | None:
        async with translated(), self.session() as session:
            row = await session.get(AlertRow, alert_id)
            return alert_from_row(row) if row else None

    async def try_lock(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        async with translated(), self.session.begin() as session:
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
            async with translated(), self.session.begin() as session:
                session.add(LockRow(name=name, holder=holder, expires_at=now + ttl))
            return True
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                return False  # created by another holder a moment ago
            raise

    async def unlock(self, name: str, holder: str) -> None:
        async with translated(), self.session.begin() as session:
            await session.execute(delete(LockRow).where(LockRow.name == name, LockRow.holder == holder))
