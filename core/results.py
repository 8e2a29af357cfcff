"""What the service hands out: views, action results and their outcomes, and the service's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from core.decisions import Assessment
from core.domain import Action, Allocation, AuditEvent, RunObservation, Tenant
from core.freeze import Freeze
from core.seen import Staleness


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Timeouts:
    read: timedelta = timedelta(seconds=2)
    engine: timedelta = timedelta(seconds=10)


class TenantNotFound(LookupError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"no tenant '{tenant_id}'")
        self.tenant_id = tenant_id


@dataclass(frozen=True)
class TenantView:
    tenant: Tenant
    run: RunObservation | None
    assessment: Assessment
    allocations: tuple[Allocation, ...]
    events: tuple[AuditEvent, ...]
    problems: tuple[str, ...]  # parts that could not be read, e.g. "engine: timed out after 2 s"
    at: datetime
    frozen: Freeze | None = None  # the read-only switch when on (core/freeze.py): every action is refused


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ActionResult:
    action: Action
    tenant_id: str
    actor: str
    outcome: Outcome
    message: str
    view: TenantView | None = None
    stale: Staleness | None = None  # refused because the pressed message showed another run (core/seen.py)
