"""What a batch checks about a member before acting on it: that it is still the batch's to act on, and,
after a crash, what became of an action the batch had already started (its request key is spent).

Read through the same service and store as the actions, so the answers are the ones `act` would see.
"""

from __future__ import annotations

from core import events as ev
from core.attempts import PAST_EVENTS
from core.batches import Batch, Member, matches
from core.causes import cause_of
from core.domain import Action
from core.ports import TenantStore
from core.results import TenantNotFound
from core.service import TenantService


async def moved_on(service: TenantService, batch: Batch, member: Member) -> str | None:
    """Why the member is no longer the batch's to act on, or None: it still has the batch's cause."""
    try:
        view = await service.view(member.tenant_id)
    except TenantNotFound as e:
        return str(e)
    assessment = view.assessment
    if not matches(cause_of(assessment), batch.situation, member.step, None):
        at = f" at `{assessment.step}`" if assessment.step else ""
        return f"moved on: now {assessment.situation}{at}, no longer {batch.situation.key}"
    if assessment.wedged_again:
        return f"left to a human: {assessment.again}"
    return None


async def cut_short(store: TenantStore, tenant_id: str, action: Action, key: str) -> str | None:
    """Why an action this batch started before a crash did not complete (its key is spent, so it is not
    run again: the member fails with why), or None when it completed. Read from the tenant's feed: the
    `<action>_started` naming the key, then its outcome (written by the action, or by recovery)."""
    later: list[str] = []
    for event in await store.events(tenant_id, PAST_EVENTS):  # newest first
        if event.type == ev.started(action) and event.details.get("request") == key:
            break
        later.append(event.type)
    else:
        return None  # older than the recent feed: more happened since, so it was settled long ago
    if ev.completed(action) in later:
        return None
    if ev.failed(action) in later:
        return f"{action.value} started by this batch before it was cut short failed: see the audit feed"
    return f"{action.value} was cut short by a crash and recovery has not settled it yet: see the audit feed"
