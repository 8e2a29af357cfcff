"""`SqlLeases`: the Leases port on the `locks` table (the scan lease, each process's liveness lease).

A lease is taken or renewed with one conditional UPDATE (its holder's, or expired), else created; a
concurrent creation loses on the primary key, so one holder wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.persistence.database import translated
from core.persistence.orm import LockRow
from core.ports import Leases, StoreError


class SqlLeases(Leases):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

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
