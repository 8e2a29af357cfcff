"""A tenant's recent attempts, as the decision table reads them: its last Reset and the Retry after it.

The audit feed says what was tried: `reset_started` records the step the tenant had wedged at, and
`reset_completed` / `retry_completed` when Reset and Retry were done. `past_of` reduces the newest events
to a `Past` (pure: the feed in, the value out), and `wedged_again` says whether today's wedge repeats
yesterday's at the same step — what core/decisions.ESCALATIONS escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import events as ev
from core.domain import Action, AuditEvent, Tenant

AGAIN_WITHIN = timedelta(days=1)  # a Reset and Retry older than this says nothing about today's wedge
PAST_EVENTS = 50  # newest audit events read for `Past`: an attempt writes about a dozen


@dataclass(frozen=True)
class Past:
    """The tenant's last Reset and Retry, from its audit feed: the step it had wedged at when reset."""

    reset_at: datetime | None = None
    step: str | None = None  # `current_step` when it was reset
    retried_at: datetime | None = None  # the Retry that followed that Reset, if any


NO_PAST = Past()


def past_of(events: Sequence[AuditEvent]) -> Past:
    """The newest Reset and the Retry after it, if any, from the events newest first (as the store reads
    them); NO_PAST when there was no Reset. Reset's step is on its `reset_started` event."""
    reset_done, retry_done = ev.completed(Action.RESET), ev.completed(Action.RETRY)
    retried_at: datetime | None = None
    reset_at: datetime | None = None
    for event in events:
        if event.type == retry_done and reset_at is None and retried_at is None:
            retried_at = event.at
        elif event.type == reset_done and reset_at is None:
            reset_at = event.at
        elif event.type == ev.started(Action.RESET) and reset_at is not None:
            step = event.details.get("step")
            return Past(reset_at, step if isinstance(step, str) else None, retried_at)
    return Past(reset_at, None, retried_at) if reset_at is not None else NO_PAST


def wedged_again(tenant: Tenant, past: Past, now: datetime) -> str | None:
    """ "wedged again at `create_storage` after Reset and Retry at 03:12 UTC" when the tenant stopped at
    the step it had been reset at, after a Reset that a Retry followed within `AGAIN_WITHIN`."""
    if past.reset_at is None or past.retried_at is None or past.step is None or now - past.reset_at > AGAIN_WITHIN:
        return None
    if tenant.current_step != past.step:
        return None
    return f"wedged again at `{past.step}` after Reset and Retry at {past.reset_at:%H:%M} UTC"
