"""`SqlFreezeStore`: the read-only switch (core/freeze.py) on the `freezes` table.

Reading it is one look-up through the partial unique index on the open freeze, so every action can
afford it. Freezing inserts the open row; a second freeze at once loses on that index and gets the one in
force back. Unfreezing closes the open row with a guarded UPDATE, so two unfreezes lift it once. Either
flip asks, in the same transaction, for every posted open alert and digest to be shown again (its
revision goes up, as for a snooze), so the scan's next delivery re-renders them with or without the
freeze banner and their Reset.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.freeze import Freeze, FreezeStore
from core.persistence.database import translated
from core.persistence.orm import AlertRow, DigestRow, FreezeRow
from core.ports import StoreError

SCOPE = "actions"  # every operator action; the only scope there is


class SqlFreezeStore(FreezeStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def current(self) -> Freeze | None:
        async with translated(), self.reading() as session:
            row = await session.scalar(_open())
            return freeze_from_row(row) if row is not None else None

    async def freeze(self, freeze: Freeze) -> Freeze:
        row = FreezeRow(scope=SCOPE, frozen_by=freeze.by, frozen_at=freeze.at, reason=freeze.reason)
        try:
            async with translated(), self.writing.begin() as session:
                session.add(row)
                await session.flush()
                await _show_alerts_again(session)
            return freeze
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
        kept = await self.current()  # frozen by someone else first
        if kept is None:  # …and unfrozen again in between: rare enough to say so rather than loop
            raise StoreError("the read-only switch changed while freezing; try again")
        return kept

    async def unfreeze(self, by: str, at: datetime) -> Freeze | None:
        async with translated(), self.writing.begin() as session:
            row = await session.scalar(_open())
            if row is None:
                return None
            lifted = await session.execute(
                update(FreezeRow)
                .where(FreezeRow.id == row.id, FreezeRow.unfrozen_at.is_(None))
                .values(unfrozen_by=by, unfrozen_at=at)
            )
            if lifted.rowcount != 1:  # type: ignore[attr-defined]
                return None  # lifted by another unfreeze between the read and the write
            await _show_alerts_again(session)
            return freeze_from_row(row)


def open_freeze() -> ColumnElement[bool]:
    """The freeze in force: the open row (its partial unique index). A tenant's record joins it (store.py)."""
    return and_(FreezeRow.scope == SCOPE, FreezeRow.unfrozen_at.is_(None))


def _open() -> Select[FreezeRow]:
    return select(FreezeRow).where(open_freeze())


def freeze_from_row(row: FreezeRow) -> Freeze:
    return Freeze(row.frozen_by, row.frozen_at, row.reason)


async def _show_alerts_again(session: AsyncSession) -> None:
    """Bump the revision of every posted message that shows an open episode (alerts on their own, and
    digests with a member still open), so the scan edits it to show the switch as it now is."""
    await session.execute(
        update(AlertRow)
        .where(AlertRow.resolved_at.is_(None), AlertRow.message_ref.is_not(None), AlertRow.digest_id.is_(None))
        .values(revision=AlertRow.revision + 1)
    )
    still_open = exists().where(AlertRow.digest_id == DigestRow.id, AlertRow.resolved_at.is_(None))
    await session.execute(
        update(DigestRow).where(DigestRow.message_ref.is_not(None), still_open).values(revision=DigestRow.revision + 1)
    )
