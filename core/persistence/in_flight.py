"""The wedge scan's reads of in-flight tenants, as Core queries (no ORM entities).

The scan reads these every tick, so they are kept close to the bare query's cost: Core rows instead of
ORM entities (loading entities cost about four times the query itself at 10,000 rows), and a narrow
first read — ids, handles and one boolean worked out by the database — so that full rows are read only
for the tenants the scan has to look at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, text

from core.domain import OPEN_STATES, InFlightRef
from core.persistence.orm import IN_FLIGHT_SQL, TenantRow

IDS_PER_QUERY = 1000  # well under SQLite's and PostgreSQL's bound parameter limits


def in_flight_rows(ids: Collection[str] | None) -> Iterator[Select[Any]]:
    """Every in-flight row (through the partial index's own predicate), or those of `ids`, in batches."""
    query = select(TenantRow.__table__).where(text(IN_FLIGHT_SQL))
    if ids is None:
        yield query
        return
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), IDS_PER_QUERY):
        yield query.where(TenantRow.id.in_(wanted[start : start + IDS_PER_QUERY]))


def progressing(since: datetime) -> ColumnElement[bool]:
    """The decision table's "in flight, making progress" for a row whose run runs (core/decisions.py):
    open, a run named, no error, no action claimed (a stale claim too: such rows are read in full),
    and not stalled — its last step, else its creation, after `since` (now - STUCK_AFTER).
    tests/integration/test_store.py checks it against the table."""
    return and_(
        TenantRow.state.in_([s.value for s in OPEN_STATES]),
        TenantRow.workflow_id.is_not(None),
        TenantRow.error.is_(None),
        TenantRow.claim_action.is_(None),
        func.coalesce(TenantRow.last_progress_at, TenantRow.created_at) > since,
    )


def in_flight_refs(since: datetime) -> Select[str, str | None, int | None, str | None, bool]:
    columns = (TenantRow.id, TenantRow.workflow_id, TenantRow.handle_attempt, TenantRow.run_id)
    return select(*columns, progressing(since)).where(text(IN_FLIGHT_SQL))


def ref_from_row(row: Any) -> InFlightRef:
    return InFlightRef._make(row)  # the columns of `in_flight_refs`, in its order
