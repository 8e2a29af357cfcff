"""Explicit row <-> domain mapping, so the domain dataclasses never inherit from SQLAlchemy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Row, bindparam

from core.alerting.model import Alert, Digest
from core.decisions import Situation
from core.domain import Action, ActionClaim, Allocation, AuditEvent, RunHandle, Tenant, TenantState
from core.persistence.orm import AlertRow, AllocationRow, AuditEventRow, DigestRow, TenantRow, UTCDateTime


def tenant_from_row(row: TenantRow | Row[Any]) -> Tenant:
    """A Tenant from an ORM entity or a Core row of the tenants table (same attribute names)."""
    handle = None
    if row.workflow_id is not None:
        handle = RunHandle(row.workflow_id, row.handle_attempt or 0, row.run_id)
    claim = None
    if row.claim_action is not None and row.claim_since is not None:
        plan = row.claim_plan or {}
        changes = {k: (_field(k, before), _field(k, after)) for k, (before, after) in plan.get("changes", {}).items()}
        target = _handle(plan.get("target"))
        action, actor = Action(row.claim_action), row.claim_actor or ""
        claim = ActionClaim(action, actor, row.claim_since, row.claim_owner, target, changes)
    return Tenant(
        id=row.id,
        state=TenantState(row.state),
        created_at=row.created_at,
        handle=handle,
        attempt=row.attempt,
        error=row.error,
        failed_activity=row.failed_activity,
        current_step=row.current_step,
        last_progress_at=row.last_progress_at,
        last_heartbeat_at=row.last_heartbeat_at,
        claim=claim,
        version=row.version,
    )


def tenant_columns(tenant: Tenant) -> dict[str, Any]:
    """Every column but id, version and timestamps the store sets itself."""
    handle, claim = tenant.handle, tenant.claim
    return {
        "state": tenant.state.value,
        "workflow_id": handle.workflow_id if handle else None,
        "run_id": handle.run_id if handle else None,
        "handle_attempt": handle.attempt if handle else None,
        "attempt": tenant.attempt,
        "error": tenant.error,
        "failed_activity": tenant.failed_activity,
        "current_step": tenant.current_step,
        "last_progress_at": tenant.last_progress_at,
        "last_heartbeat_at": tenant.last_heartbeat_at,
        "claim_action": claim.action.value if claim else None,
        "claim_actor": claim.actor if claim else None,
        "claim_since": claim.since if claim else None,
        "claim_owner": claim.owner if claim else None,
        "claim_plan": claim_plan(claim) if claim else None,
    }


def claim_plan(claim: ActionClaim) -> dict[str, Any]:
    """The claim's target and changed fields as JSON (`claim_plan`); `_field` reads them back typed."""
    changes = {k: [_json(before), _json(after)] for k, (before, after) in claim.changes.items()}
    return {"target": _json(claim.target), "changes": changes}


def _json(value: Any) -> Any:
    if isinstance(value, RunHandle):
        return {"workflow_id": value.workflow_id, "attempt": value.attempt, "run_id": value.run_id}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, TenantState):
        return value.value
    return value


def _handle(value: Any) -> RunHandle | None:
    return RunHandle(value["workflow_id"], value["attempt"], value.get("run_id")) if value else None


def _field(name: str, value: Any) -> Any:
    """A Tenant field's value from its JSON form, typed by the field's name."""
    if value is None:
        return None
    if name == "state":
        return TenantState(value)
    if name == "handle":
        return _handle(value)
    if name.endswith("_at"):
        return datetime.fromisoformat(value)
    return value


def allocation_from_row(row: AllocationRow | Row[Any]) -> Allocation:
    return Allocation(row.tenant_id, row.kind, row.resource_id, row.allocated_at, row.workflow_id)


def event_from_row(row: AuditEventRow | Row[Any]) -> AuditEvent:
    return AuditEvent(row.tenant_id, row.type, row.actor, row.at, dict(row.details or {}), row.id)


def time_param(moment: datetime) -> BindParameter[datetime]:
    """A time as a parameter of the columns' type (UTC; naive on SQLite), for row-value comparisons such
    as `(at, id) < (:at, :id)`, whose right side SQLAlchemy cannot type from the columns."""
    return bindparam(None, moment, type_=UTCDateTime())


def event_row(event: AuditEvent) -> AuditEventRow:
    return AuditEventRow(
        tenant_id=event.tenant_id, type=event.type, actor=event.actor, at=event.at, details=_jsonable(event.details)
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def alert_from_row(row: AlertRow) -> Alert:
    return Alert(
        tenant_id=row.tenant_id,
        situation=Situation.from_key(row.situation),
        reason=row.reason,
        opened_at=row.opened_at,
        id=row.id,
        message_ref=row.message_ref,
        digest_id=row.digest_id,
        snoozed_until=row.snoozed_until,
        snoozed_by=row.snoozed_by,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        revision=row.revision,
        shown_revision=row.shown_revision,
        reply_pending=row.reply_pending,
        failures=row.failures,
        refreshed_at=row.refreshed_at,
        owner=row.owner,
        owned_at=row.owned_at,
        step=row.cause_step,
        error=row.cause_error,
    )


def alert_row(alert: Alert) -> AlertRow:
    """A new episode's row (id, claims and delivery state are the database's)."""
    return AlertRow(
        tenant_id=alert.tenant_id,
        situation=alert.situation.key,
        reason=alert.reason,
        opened_at=alert.opened_at,
        digest_id=alert.digest_id,
        refreshed_at=alert.refreshed_at,
        cause_step=alert.step,
        cause_error=alert.error,
        revision=0,
        shown_revision=0,
        failures=0,
    )


def digest_from_row(row: DigestRow) -> Digest:
    return Digest(
        id=row.id,
        opened_at=row.opened_at,
        message_ref=row.message_ref,
        revision=row.revision,
        shown_revision=row.shown_revision,
        reply_pending=row.reply_pending,
        failures=row.failures,
    )
