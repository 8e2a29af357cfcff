"""Claims and delivery state of alert-channel messages (alerts and digests): `SqlMessages`, the part of
the AlertStore port that `SqlAlertStore` hands on to it.

A message is posted only by the holder of its claim, taken with one conditional UPDATE (`WHERE
message_ref IS NULL AND` the claim is free or expired), so two replicas never post one episode even if
their scan leases overlap. Edits and thread replies are recorded as pending (`revision` above
`shown_revision`, `reply_pending`) and cleared only once Slack accepted them, so a failed call is
retried on a later tick instead of being dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerting.model import Alert, Digest
from core.alerting.ports import MessageKind
from core.persistence.database import translated
from core.persistence.mapping import alert_from_row, digest_from_row
from core.persistence.orm import AlertRow, DigestRow

TABLES: dict[str, type[AlertRow] | type[DigestRow]] = {"alert": AlertRow, "digest": DigestRow}


class SqlMessages:
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def claim(
        self, kind: MessageKind, key: int, holder: str, *, now: datetime, ttl: timedelta, unposted: bool
    ) -> Alert | Digest | None:
        table = TABLES[kind]
        # Not re-entrant, even for the same holder: a Snooze answered by this process while its own scan
        # delivers the message must leave the delivery to the scan, or both would send the pending reply.
        free = or_(table.claimed_by.is_(None), table.claim_until <= now)
        guards = [table.id == key, free]
        guards.append(table.message_ref.is_(None) if unposted else table.message_ref.is_not(None))
        if kind == "alert" and unposted:
            guards.append(AlertRow.resolved_at.is_(None))
        async with translated(), self.writing.begin() as session:
            taken = await session.execute(update(table).where(*guards).values(claimed_by=holder, claim_until=now + ttl))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get(table, key)
            assert row is not None
            return message_from_row(row)

    async def mark_posted(self, kind: MessageKind, key: int, holder: str, message_ref: str, revision: int) -> bool:
        table = TABLES[kind]
        query = update(table).where(table.id == key, table.claimed_by == holder, table.message_ref.is_(None))
        async with translated(), self.writing.begin() as session:
            done = await session.execute(
                query.values(
                    message_ref=message_ref, shown_revision=revision, claimed_by=None, claim_until=None, failures=0
                )
            )
            if kind == "digest":
                await session.execute(
                    update(AlertRow)
                    .where(AlertRow.digest_id == key, AlertRow.message_ref.is_(None))
                    .values(message_ref=message_ref)
                )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    async def mark_delivered(
        self, kind: MessageKind, key: int, holder: str, *, revision: int, reply: str | None, failed: bool
    ) -> None:
        table = TABLES[kind]
        values: dict[str, Any] = {
            "shown_revision": case((table.shown_revision < revision, revision), else_=table.shown_revision),
            "failures": table.failures + 1 if failed else 0,
            "claimed_by": None,
            "claim_until": None,
        }
        if reply is not None:  # cleared only if no newer reply replaced it meanwhile
            values["reply_pending"] = case((table.reply_pending == reply, None), else_=table.reply_pending)
        async with translated(), self.writing.begin() as session:
            await session.execute(update(table).where(table.id == key, table.claimed_by == holder).values(**values))

    async def release(self, kind: MessageKind, key: int, holder: str) -> None:
        table = TABLES[kind]
        async with translated(), self.writing.begin() as session:
            query = update(table).where(table.id == key, table.claimed_by == holder)
            await session.execute(query.values(claimed_by=None, claim_until=None))

    async def undelivered(self) -> list[Alert | Digest]:
        found: list[Alert | Digest] = []
        async with translated(), self.reading() as session:
            for table in (DigestRow, AlertRow):
                query = select(table).where(
                    table.message_ref.is_not(None),
                    or_(table.shown_revision < table.revision, table.reply_pending.is_not(None)),
                )
                if table is AlertRow:
                    query = query.where(AlertRow.digest_id.is_(None))
                for row in await session.scalars(query.order_by(table.id)):
                    found.append(message_from_row(row))
        return found


def message_from_row(row: object) -> Alert | Digest:
    if isinstance(row, AlertRow):
        return alert_from_row(row)
    assert isinstance(row, DigestRow)
    return digest_from_row(row)
