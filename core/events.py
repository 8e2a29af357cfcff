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
RESET_NUDGED = PREFIX + "reset_nudged"  # the resetter was reminded of Retry/Decommission (core/alerting/nudges.py)
RESET_NUDGE_FAILED = PREFIX + "reset_nudge_failed"

# Two-person Decommission (core/approvals.py): a request, then another person's approval or denial
DECOMMISSION_REQUESTED = PREFIX + "decommission_requested"
DECOMMISSION_APPROVED = PREFIX + "decommission_approved"
DECOMMISSION_DENIED = PREFIX + "decommission_denied"
DECOMMISSION_REOPENED = PREFIX + "decommission_reopened"  # its approval ran nothing (the engine refused): open again

BATCH_MEMBER = PREFIX + "batch_member"  # a batch handled the tenant (core/batch_runner.py); details: batch, reason
BATCH_STOP = PREFIX + "batch_stop_requested"  # someone asked a batch to stop (on its first member's feed)
