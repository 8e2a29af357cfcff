"""Put a tenant in any situation of the decision table: a stored row plus what the fake engine says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.decisions import Situation
from core.domain import Action, ActionClaim, RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.ports import TenantStore
from tests.fakes import FakeEngine

S = Situation
P, RUN = TenantState.PROVISIONING, RunStatus.RUNNING


def _ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


# situation -> (tenant fields, engine status or None for "engine does not know it", heartbeat minutes ago).
# Computed at each `make`, not at import: a suite run is longer than the gaps between these times (a claim
# older than ACTION_LEASE is no longer running, progress 20 minutes old at import is 30 minutes old later).
def recipes() -> dict[Situation, tuple[dict[str, Any], RunStatus | None, float | None]]:
    return {
        S.MAKING_PROGRESS: ({"state": P, "last_progress_at": _ago(1)}, RUN, 0.1),
        S.SLOW_BUT_ALIVE: ({"state": P, "last_progress_at": _ago(20)}, RUN, 0.1),
        S.HEARTBEAT_LATE: ({"state": P, "last_progress_at": _ago(20)}, RUN, 5),
        S.WEDGED_NO_PROGRESS: ({"state": P, "last_progress_at": _ago(20)}, RUN, 20),
        S.WEDGED_ERROR: ({"state": P, "error": "identity API returned 500"}, RUN, 0.1),
        S.WEDGED_ORPHANED: ({"state": P}, None, None),
        S.WEDGED_ENGINE_CLOSED: ({"state": P}, RunStatus.TERMINATED, None),
        S.FAILED_CLEANLY: (
            {"state": TenantState.FAILED, "error": "quota", "failed_activity": "reserve_storage"},
            RunStatus.FAILED,
            None,
        ),
        S.PENDING_CLEAN: ({"state": TenantState.PENDING, "handle": None}, None, None),
        S.CANCELLED: ({"state": TenantState.CANCELLED}, RunStatus.CANCELED, None),
        S.DONE: ({"state": TenantState.ACTIVE, "handle": None}, None, None),
        S.WINDING_DOWN: ({"state": TenantState.CANCELLING}, RUN, 0.1),
        S.ACTION_RUNNING: ({"state": P, "claim": ActionClaim(Action.RESET, "U7", datetime.now(UTC))}, RUN, 20),
    }


async def make(store: TenantStore, engine: FakeEngine, tenant_id: str, situation: Situation, **extra: Any) -> Tenant:
    fields, status, heartbeat = recipes()[situation]
    handle = provisioning_handle(tenant_id, 1)
    values: dict[str, Any] = {
        "handle": handle,
        "attempt": 1,
        "current_step": "create_identity",
        "last_progress_at": _ago(3),
        **fields,
        **extra,
    }
    tenant = await store.add(Tenant(tenant_id, values.pop("state"), _ago(30), **values), [])
    if status is not None:
        beat = _ago(heartbeat) if heartbeat is not None else None
        engine.set(handle, RunObservation(status, "run_step", 1, beat, timedelta(seconds=60)))
    return tenant
