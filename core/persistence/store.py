"""`SqlTenantStore`: the TenantStore port on SQLite or PostgreSQL.

Every method is one transaction: a reading session (or, for the wedge scan's Core reads, a reading
connection) for the methods that only read, a writing session
(on SQLite the one that takes the write lock up front) for the rest. `save` is the optimistic write
the service's exactly-once claims and the saga's fencing rest on: an UPDATE guarded by the version
read, with the audit events, the allocation changes and the request key in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.domain import Allocation, AuditEvent, FeedPosition, InFlightRef, Tenant
from core.freeze import Freeze
from core.persistence.database import read_only, translated
from core.persistence.freeze_store import open_freeze
from core.persistence.in_flight import in_flight_refs, in_flight_rows, ref_from_row
from core.persistence.mapping import (
    allocation_from_row,
    event_from_row,
    event_row,
    tenant_columns,
    tenant_from_row,
    time_param,
)
from core.persistence.orm import CLAIMED_SQL, AllocationRow, AuditEventRow, FreezeRow, RequestKeyRow, TenantRow
from core.ports import (
    AllocationChanges,
    ConcurrentUpdate,
    DuplicateRequest,
    StoreError,
    TenantExists,
    TenantRecord,
    TenantStore,
)


class SqlTenantStore(TenantStore):
    def __init__(
        self, engine: AsyncEngine, reading: async_sessionmaker[AsyncSession], writing: async_sessionmaker[AsyncSession]
    ) -> None:
        self.engine, self.reading, self.writing = engine, reading, writing

    async def ping(self) -> None:
        async with translated(), read_only(self.engine).connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def get(self, tenant_id: str) -> Tenant | None:
        async with translated(), self.reading() as session:
            row = await session.get(TenantRow, tenant_id)
            return tenant_from_row(row) if row else None

    async def add(self, tenant: Tenant, events: Sequence[AuditEvent]) -> Tenant:
        now = datetime.now(UTC)
        try:
            async with translated(), self.writing.begin() as session:
                session.add(
                    TenantRow(
                        id=tenant.id, created_at=tenant.created_at, updated_at=now, version=1, **tenant_columns(tenant)
                    )
                )
                session.add_all(event_row(e) for e in events)
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                raise TenantExists(f"tenant {tenant.id} already exists") from None
            raise
        return tenant.updated(version=1)

    async def save(
        self,
        tenant: Tenant,
        events: Sequence[AuditEvent],
        *,
        request_key: str | None = None,
        allocations: AllocationChanges | None = None,
    ) -> Tenant:
        try:
            async with translated(), self.writing.begin() as session:
                await self._save(session, tenant, events, request_key, allocations)
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
            if request_key is not None and "request_keys" in str(e.__cause__):
                raise DuplicateRequest(f"request {request_key} was already handled") from None
            raise ConcurrentUpdate(f"tenant {tenant.id}: a concurrent write won ({e})") from None
        return tenant.updated(version=tenant.version + 1)

    async def _save(
        self,
        session: AsyncSession,
        tenant: Tenant,
        events: Sequence[AuditEvent],
        request_key: str | None,
        allocations: AllocationChanges | None,
    ) -> None:
        if request_key is not None:
            await self._remember(session, request_key)
        guarded = (
            update(TenantRow)
            .where(TenantRow.id == tenant.id, TenantRow.version == tenant.version)
            .values(**tenant_columns(tenant), version=tenant.version + 1, updated_at=datetime.now(UTC))
        )
        if (await session.execute(guarded)).rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"tenant {tenant.id} changed since version {tenant.version}")
        if allocations is not None:
            await self._apply(session, tenant.id, allocations)
        session.add_all(event_row(e) for e in events)

    @staticmethod
    async def _remember(session: AsyncSession, key: str) -> None:
        if await session.scalar(select(exists().where(RequestKeyRow.key == key))):
            raise DuplicateRequest(f"request {key} was already handled")
        session.add(RequestKeyRow(key=key, at=datetime.now(UTC)))

    @staticmethod
    async def _apply(session: AsyncSession, tenant_id: str, changes: AllocationChanges) -> None:
        held = set(
            await session.scalars(
                select(AllocationRow.kind).where(
                    AllocationRow.tenant_id == tenant_id, AllocationRow.released_at.is_(None)
                )
            )
        )
        for allocation in changes.add:
            if allocation.kind not in held:
                held.add(allocation.kind)
                session.add(
                    AllocationRow(
                        tenant_id=tenant_id,
                        kind=allocation.kind,
                        resource_id=allocation.resource_id,
                        workflow_id=allocation.workflow_id,
                        allocated_at=allocation.allocated_at,
                    )
                )
        if changes.release:
            await session.execute(
                update(AllocationRow)
                .where(
                    AllocationRow.tenant_id == tenant_id,
                    AllocationRow.kind.in_(changes.release),
                    AllocationRow.released_at.is_(None),
                )
                .values(released_at=changes.released_at or datetime.now(UTC))
            )

    async def seen_request(self, key: str) -> bool:
        async with translated(), self.reading() as session:
            return bool(await session.scalar(select(exists().where(RequestKeyRow.key == key))))

    async def append(self, events: Sequence[AuditEvent]) -> None:
        async with translated(), self.writing.begin() as session:
            session.add_all(event_row(e) for e in events)

    async def allocations(self, tenant_id: str) -> list[Allocation]:
        async with translated(), self.reading() as session:
            return [allocation_from_row(row) for row in await session.scalars(_held(tenant_id))]

    async def events(self, tenant_id: str, limit: int) -> list[AuditEvent]:
        return await self.history(tenant_id, limit=limit)

    reads_records_together = True

    async def record(self, tenant_id: str, events: Callable[[Tenant], int]) -> TenantRecord | None:
        """One connection from the pool, two Core reads (no ORM entities): the row with the open freeze and
        its open allocations joined (a row per allocation), then its newest events (not asked for an unknown
        id). On PostgreSQL in autocommit, so no BEGIN and ROLLBACK round trips either: a card's reads were
        four transactions, each checking out, pinging and ending a connection — most of a card's CPU."""
        async with translated(), _autocommit(read_only(self.engine)).connect() as connection:
            rows = (await connection.execute(_with_switch_and_allocations(tenant_id))).all()
            if not rows:
                return None
            first = rows[0]
            row = tenant_from_row(first)
            feed = await connection.execute(_newest(tenant_id, events(row)))
            freeze = Freeze(first.frozen_by, first.frozen_at, first.reason) if first.frozen_by is not None else None
            held = (
                Allocation(tenant_id, r.held_kind, r.held_resource_id, r.held_allocated_at, r.held_workflow_id)
                for r in rows
                if r.held_id is not None
            )
            return TenantRecord(row, tuple(held), tuple(event_from_row(e) for e in feed), freeze)

    async def history(
        self, tenant_id: str, *, limit: int, before: FeedPosition | None = None, after: FeedPosition | None = None
    ) -> list[AuditEvent]:
        """One keyset page of the feed on `ix_audit_events_tenant_at`: no OFFSET, so every page costs the same."""
        position = tuple_(AuditEventRow.at, AuditEventRow.id)
        query = select(AuditEventRow).where(AuditEventRow.tenant_id == tenant_id)
        if before is not None:
            query = query.where(position < tuple_(time_param(before.at), before.id))
        if after is not None:
            query = query.where(position > tuple_(time_param(after.at), after.id))
        newest_first = after is None  # a page newer than `after` is the nearest events after it, read upwards
        order = (
            (AuditEventRow.at.desc(), AuditEventRow.id.desc()) if newest_first else (AuditEventRow.at, AuditEventRow.id)
        )
        async with translated(), self.reading() as session:
            rows = [event_from_row(row) for row in await session.scalars(query.order_by(*order).limit(limit))]
        return rows if newest_first else rows[::-1]

    async def in_flight(self, ids: Collection[str] | None = None) -> list[Tenant]:
        async with translated(), read_only(self.engine).connect() as connection:
            return [tenant_from_row(row) for query in in_flight_rows(ids) for row in await connection.execute(query)]

    async def in_flight_refs(self, progressing_since: datetime) -> list[InFlightRef]:
        async with translated(), read_only(self.engine).connect() as connection:
            return [ref_from_row(row) for row in await connection.execute(in_flight_refs(progressing_since))]

    async def claimed(self) -> list[Tenant]:
        query = select(TenantRow).where(text(CLAIMED_SQL)).order_by(TenantRow.claim_since)  # ix_tenants_claimed
        async with translated(), self.reading() as session:
            return [tenant_from_row(row) for row in await session.scalars(query)]

    async def list(self, limit: int) -> list[Tenant]:
        query = select(TenantRow).order_by(TenantRow.updated_at.desc(), TenantRow.id).limit(limit)
        async with translated(), self.reading() as session:
            return [tenant_from_row(row) for row in await session.scalars(query)]


def _held(tenant_id: str) -> Select[AllocationRow]:
    """The tenant's open allocations, oldest first."""
    return (
        select(AllocationRow)
        .where(AllocationRow.tenant_id == tenant_id, AllocationRow.released_at.is_(None))
        .order_by(AllocationRow.id)
    )


def _newest(tenant_id: str, limit: int) -> Select[AuditEventRow]:
    """The tenant's newest `limit` audit events, newest first (`ix_audit_events_tenant_at`)."""
    newest_first = (AuditEventRow.at.desc(), AuditEventRow.id.desc())
    return select(AuditEventRow).where(AuditEventRow.tenant_id == tenant_id).order_by(*newest_first).limit(limit)


def _with_switch_and_allocations(tenant_id: str) -> Select[Any]:
    """The tenant's row with the freeze in force beside it (None columns when there is none), once per open
    allocation, oldest first (once with None `held_*` columns when it holds none)."""
    switch = (FreezeRow.frozen_by, FreezeRow.frozen_at, FreezeRow.reason)
    a = AllocationRow
    held = (a.id, a.kind, a.resource_id, a.workflow_id, a.allocated_at)
    open_allocations = and_(a.tenant_id == TenantRow.id, a.released_at.is_(None))
    return (
        select(TenantRow.__table__, *switch, *(c.label(f"held_{c.key}") for c in held))
        .select_from(TenantRow)
        .outerjoin(FreezeRow, open_freeze())
        .outerjoin(a, open_allocations)
        .where(TenantRow.id == tenant_id)
        .order_by(a.id)
    )


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """On PostgreSQL, reads in autocommit: each statement its own snapshot, no BEGIN and ROLLBACK round trips.
    (SQLite keeps its deferred BEGIN, core/persistence/database.py, which costs no round trip.)"""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")
