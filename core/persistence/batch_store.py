"""`SqlBatchStore`: batches and their members (core/batches.py) on `batches` and `batch_members`.

A member's outcome is written with a guarded UPDATE (only while it is waiting) and the batch's counters
move in the same transaction, so the row is the progress and a replayed mark changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.batches import Batch, BatchStatus, BatchStore, Kind, Member, MemberStatus, NewBatch
from core.decisions import Situation
from core.persistence.database import translated
from core.persistence.orm import BatchMemberRow, BatchRow

COUNTERS = {
    MemberStatus.WAITING: BatchRow.waiting,
    MemberStatus.DONE: BatchRow.done,
    MemberStatus.REFUSED: BatchRow.refused,
    MemberStatus.FAILED: BatchRow.failed,
}


class SqlBatchStore(BatchStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def create(self, batch: NewBatch) -> Batch:
        cause = batch.cause
        row = BatchRow(
            kind=batch.kind.value,
            situation=cause.situation.key,
            step=cause.step,
            error=cause.error,
            reason=batch.reason,
            rate=batch.rate,
            canary=batch.canary,
            created_by=batch.created_by,
            created_at=batch.created_at,
            status=BatchStatus.RUNNING.value,
            canary_passed=False,
            waiting=len(batch.members),
            done=0,
            refused=0,
            failed=0,
        )
        async with translated(), self.writing.begin() as session:
            session.add(row)
            await session.flush()
            session.add_all(
                BatchMemberRow(
                    batch_id=row.id, tenant_id=tenant_id, position=i, step=step, status=MemberStatus.WAITING.value
                )
                for i, (tenant_id, step) in enumerate(batch.members)
            )
        return _batch(row)

    async def get(self, batch_id: int) -> Batch | None:
        async with translated(), self.reading() as session:
            row = await session.get(BatchRow, batch_id)
            return _batch(row) if row is not None else None

    async def recent(self, limit: int) -> list[Batch]:
        async with translated(), self.reading() as session:
            rows = await session.scalars(select(BatchRow).order_by(BatchRow.id.desc()).limit(limit))
            return [_batch(r) for r in rows]

    async def running(self) -> list[Batch]:
        query = select(BatchRow).where(BatchRow.status == BatchStatus.RUNNING.value).order_by(BatchRow.id)
        async with translated(), self.reading() as session:
            return [_batch(r) for r in await session.scalars(query)]

    async def members(self, batch_id: int, status: MemberStatus | None = None) -> list[Member]:
        query = select(BatchMemberRow).where(BatchMemberRow.batch_id == batch_id)
        if status is not None:
            query = query.where(BatchMemberRow.status == status.value)
        async with translated(), self.reading() as session:
            rows = await session.scalars(query.order_by(BatchMemberRow.position))
            return [_member(r) for r in rows]

    async def members_since(self, created_by: str, since: datetime) -> list[str]:
        query = (
            select(BatchMemberRow.tenant_id)
            .join(BatchRow, BatchRow.id == BatchMemberRow.batch_id)
            .where(BatchRow.created_by == created_by, BatchRow.created_at >= since)
        )
        async with translated(), self.reading() as session:
            return list(await session.scalars(query))

    async def running_members(self) -> set[str]:
        query = (
            select(BatchMemberRow.tenant_id)
            .join(BatchRow, BatchRow.id == BatchMemberRow.batch_id)
            .where(BatchRow.status == BatchStatus.RUNNING.value)
        )
        async with translated(), self.reading() as session:
            return set(await session.scalars(query))

    async def record_message(self, batch_id: int, message_ref: str) -> None:
        async with translated(), self.writing.begin() as session:
            await session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(message_ref=message_ref))

    async def mark(self, batch_id: int, tenant_id: str, status: MemberStatus, why: str | None, at: datetime) -> None:
        async with translated(), self.writing.begin() as session:
            marked = await session.execute(
                update(BatchMemberRow)
                .where(
                    BatchMemberRow.batch_id == batch_id,
                    BatchMemberRow.tenant_id == tenant_id,
                    BatchMemberRow.status == MemberStatus.WAITING.value,
                )
                .values(status=status.value, why=why, at=at)
            )
            if marked.rowcount != 1:  # type: ignore[attr-defined]
                return
            counter = COUNTERS[status]
            await session.execute(
                update(BatchRow)
                .where(BatchRow.id == batch_id)
                .values({BatchRow.waiting: BatchRow.waiting - 1, counter: counter + 1})
            )

    async def end(self, batch_id: int, status: BatchStatus, note: str | None, at: datetime) -> None:
        async with translated(), self.writing.begin() as session:
            await session.execute(
                update(BatchRow)
                .where(BatchRow.id == batch_id, BatchRow.status == BatchStatus.RUNNING.value)
                .values(status=status.value, note=note, ended_at=at)
            )

    async def canary_passed(self, batch_id: int) -> None:
        async with translated(), self.writing.begin() as session:
            await session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(canary_passed=True))

    async def request_stop(self, batch_id: int, by: str) -> Batch | None:
        async with translated(), self.writing.begin() as session:
            await session.execute(
                update(BatchRow)
                .where(
                    BatchRow.id == batch_id,
                    BatchRow.status == BatchStatus.RUNNING.value,
                    BatchRow.stop_requested_by.is_(None),
                )
                .values(stop_requested_by=by)
            )
            row = await session.get(BatchRow, batch_id)
            return _batch(row) if row is not None else None


def _batch(row: BatchRow) -> Batch:
    return Batch(
        id=row.id,
        kind=Kind(row.kind),
        situation=Situation.from_key(row.situation),
        step=row.step,
        error=row.error,
        reason=row.reason,
        rate=row.rate,
        canary=row.canary,
        created_by=row.created_by,
        created_at=row.created_at,
        status=BatchStatus(row.status),
        note=row.note,
        stop_requested_by=row.stop_requested_by,
        canary_passed=row.canary_passed,
        counts={
            MemberStatus.WAITING: row.waiting,
            MemberStatus.DONE: row.done,
            MemberStatus.REFUSED: row.refused,
            MemberStatus.FAILED: row.failed,
        },
        message_ref=row.message_ref,
    )


def _member(row: BatchMemberRow) -> Member:
    return Member(row.batch_id, row.position, row.tenant_id, row.step, MemberStatus(row.status), row.why, row.at)
