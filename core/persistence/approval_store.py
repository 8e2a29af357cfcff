"""`SqlApprovalStore`: Decommission requests (core/approval_requests.py) on the `decommission_requests` table.

A request and its audit event are written in one transaction, so a request exists exactly when its
`decommission_requested` event does; its unique request_key turns a redelivered request into the row
already there. Deciding (and expiring) is one guarded UPDATE (`state = 'pending'`, and for an approval not yet expired)
with its event in the same transaction: of two approvers pressing at once, one write matches the row and
the other matches nothing, so the request is used once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.approval_requests import ApprovalStore, DecommissionRequest, RequestState
from core.domain import AuditEvent
from core.persistence.database import translated
from core.persistence.mapping import event_row
from core.persistence.orm import DecommissionRequestRow as Row
from core.ports import StoreError


class SqlApprovalStore(ApprovalStore):
    def __init__(self, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]) -> None:
        self.reading, self.writing = reading, writing

    async def add(
        self, request: DecommissionRequest, events: Callable[[DecommissionRequest], Sequence[AuditEvent]]
    ) -> tuple[DecommissionRequest, bool]:
        try:
            async with translated(), self.writing.begin() as session:
                row = _row(request)
                session.add(row)
                await session.flush()
                stored = _request(row)
                session.add_all(event_row(e) for e in events(stored))
            return stored, True
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
        async with translated(), self.reading() as session:
            kept = await session.scalar(select(Row).where(Row.request_key == request.request_key))
        if kept is None:
            raise StoreError("the Decommission request could not be recorded; try again")
        return _request(kept), False

    async def get(self, request_id: int) -> DecommissionRequest | None:
        async with translated(), self.reading() as session:
            row = await session.get(Row, request_id)
            return _request(row) if row is not None else None

    async def open_for(self, tenant_id: str, now: datetime) -> DecommissionRequest | None:
        query = (
            select(Row)
            .where(Row.tenant_id == tenant_id, Row.state == RequestState.PENDING.value, Row.expires_at > now)
            .order_by(Row.requested_at.desc())
            .limit(1)
        )
        async with translated(), self.reading() as session:
            row = await session.scalar(query)
            return _request(row) if row is not None else None

    async def decide(
        self,
        request_id: int,
        state: RequestState,
        by: str,
        at: datetime,
        events: Sequence[AuditEvent],
        *,
        key: str | None = None,
    ) -> bool:
        guarded = update(Row).where(Row.id == request_id, Row.state == RequestState.PENDING.value)
        if state is RequestState.APPROVED:
            guarded = guarded.where(Row.expires_at > at)
        async with translated(), self.writing.begin() as session:
            decided = guarded.values(state=state.value, decided_by=by, decided_at=at, decided_key=key)
            changed = await session.execute(decided)
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add_all(event_row(e) for e in events)
            return True

    async def reopen(self, request_id: int, key: str, outcome: str, events: Sequence[AuditEvent]) -> bool:
        approved = Row.state == RequestState.APPROVED.value
        guarded = update(Row).where(Row.id == request_id, approved, Row.decided_key == key)
        pending = {"state": RequestState.PENDING.value, "decided_by": None, "decided_at": None, "decided_key": None}
        async with translated(), self.writing.begin() as session:
            changed = await session.execute(guarded.values(**pending, outcome=outcome, finished_at=None))
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add_all(event_row(e) for e in events)
            return True

    async def decided_by_key(self, request_id: int, key: str) -> bool:
        async with translated(), self.reading() as session:
            found = await session.scalar(select(Row.id).where(Row.id == request_id, Row.decided_key == key))
            return found is not None

    async def record_outcome(self, request_id: int, outcome: str, finished_at: datetime | None) -> None:
        async with translated(), self.writing.begin() as session:
            where = update(Row).where(Row.id == request_id)
            await session.execute(where.values(outcome=outcome, finished_at=finished_at))

    async def unfinished(self, approved_since: datetime, limit: int) -> list[DecommissionRequest]:
        query = (
            select(Row)
            .where(
                Row.state == RequestState.APPROVED.value,
                Row.decided_at >= approved_since,
                Row.outcome.is_not(None),
                Row.finished_at.is_(None),
            )
            .order_by(Row.decided_at)
            .limit(limit)
        )
        async with translated(), self.reading() as session:
            return [_request(row) for row in await session.scalars(query)]

    async def finish(self, request_id: int, outcome: str, at: datetime) -> DecommissionRequest | None:
        guarded = update(Row).where(Row.id == request_id, Row.finished_at.is_(None))
        async with translated(), self.writing.begin() as session:
            changed = await session.execute(guarded.values(outcome=outcome, finished_at=at))
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get(Row, request_id)
            return _request(row) if row is not None else None

    async def record_message(self, request_id: int, channel: str, ts: str) -> None:
        async with translated(), self.writing.begin() as session:
            where = update(Row).where(Row.id == request_id)
            await session.execute(where.values(message_channel=channel, message_ts=ts))

    async def expire_due(self, now: datetime, limit: int) -> list[DecommissionRequest]:
        pending = Row.state == RequestState.PENDING.value
        due = select(Row.id).where(pending, Row.expires_at <= now).order_by(Row.expires_at).limit(limit)
        async with translated(), self.writing.begin() as session:
            expired = []
            for request_id in list(await session.scalars(due)):
                guarded = update(Row).where(Row.id == request_id, pending, Row.expires_at <= now)
                changed = await session.execute(guarded.values(state=RequestState.EXPIRED.value, decided_at=now))
                if changed.rowcount == 1:  # type: ignore[attr-defined]
                    expired.append(request_id)
            rows = await session.scalars(select(Row).where(Row.id.in_(expired)).order_by(Row.id))
            return [_request(row) for row in rows]


def _row(r: DecommissionRequest) -> Row:
    return Row(
        tenant_id=r.tenant_id,
        requester=r.requester,
        reason=r.reason,
        origin_channel=r.origin_channel,
        requested_at=r.requested_at,
        expires_at=r.expires_at,
        request_key=r.request_key,
        state=r.state.value,
    )


def _request(row: Row) -> DecommissionRequest:
    return DecommissionRequest(
        tenant_id=row.tenant_id,
        requester=row.requester,
        reason=row.reason,
        origin_channel=row.origin_channel,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        request_key=row.request_key,
        state=RequestState(row.state),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        outcome=row.outcome,
        finished_at=row.finished_at,
        message=(row.message_channel, row.message_ts) if row.message_channel and row.message_ts else None,
        id=row.id,
    )
