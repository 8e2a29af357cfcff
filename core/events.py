"""Audit event types (`tenant.provisioning.*`) and actor names.

Every change to a tenant emits exactly one of these. Operator actions follow one shape,
`<action>_started` then `<action>_completed` or `<action>_failed`, as the guide names them for Reset.
"""

from __future__ import annotations

from core.domain import Action

PREFIX = "tenant.provisioning."

REQUESTED = PREFIX + "requested"
STEP_COMPLETED = PREFIX + "step_completed"
ALLOCATED = PREFIX + "allocated"
RELEASED = PREFIX + "released"
ERROR_RECORDED = PREFIX + "error_recorded"
FAILED = PREFIX + "failed"
COMPLETED = PREFIX + "completed"
WRITE_REJECTED = PREFIX + "write_rejected"
ACTION_REFUSED = PREFIX + "action_refused"

SCHEDULER_ACTOR = "scheduler"


def workflow_actor(workflow_id: str) -> str:
    return f"workflow:{workflow_id}"


def started(action: Action) -> str:
    return f"{PREFIX}{action.value}_started"


def completed(action: Action) -> str:
    return f"{PREFIX}{action.value}_completed"


def failed(action: Action) -> str:
    return f"{PREFIX}{action.value}_failed"


ALERT_OPENED = PREFIX + "alert_opened"
ALERT_SNOOZED = PREFIX + "alert_snoozed"
ALERT_RESOLVED = PREFIX + "alert_resolved"
ALERT_CLAIMED = PREFIX + "alert_claimed"  # someone took the alert ("Take it"); details: alert, previous owner
