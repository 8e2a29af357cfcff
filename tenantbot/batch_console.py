"""Batches in a terminal: the preview, a line per member as it goes, the status of one batch or the last ones."""

from __future__ import annotations

from collections.abc import Sequence

from core.actions import STEPS
from core.batches import Batch, BatchStatus, Kind, Member, MemberStatus, Selection
from core.causes import Cause, label

SHOWN = 10  # members named in a preview before "and N more"


def render_preview(kind: Kind, cause: Cause, selection: Selection, *, rate: float, canary: int, all_: bool) -> str:
    """What a batch would do: how many, who (the first ones, or all for a dry run), what each action does
    and does not do, who is left out and why, the pace and the canary."""
    ids = [tenant_id for tenant_id, _ in selection.members]
    shown = ids if all_ else ids[:SHOWN]
    more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    lines = [f"{kind.value} of {len(ids)} tenant(s) {label(cause)}: {', '.join(shown) or '-'}{more}"]
    lines += [f"  {action.value}: {STEPS[action].confirm}" for action in kind.actions]
    for tenant_id, why in selection.excluded:
        lines.append(f"  left out: {tenant_id}: {why}")
    pace = f"{rate:g} tenant(s)/s"
    lines.append(f"  pace: {pace}; " + (f"canary: the first {canary}, then wait" if canary else "no canary"))
    return "\n".join(lines)


def render_member(batch: Batch, member: Member) -> str:
    return f"[{member.position + 1}/{batch.total}] {member.tenant_id}: {member.status.value}: {member.why or ''}"


def render_batch(batch: Batch) -> str:
    """One line: "batch 7 reset-retry wedged_orphaned at `seed_data` (running): 12/40 handled: …"."""
    at = f" at `{batch.step}`" if batch.step else ""
    note = f" — {batch.note}" if batch.note else ""
    stopping = (
        f" (stop asked by {batch.stop_requested_by})"
        if batch.stop_requested_by and batch.status is BatchStatus.RUNNING
        else ""
    )
    head = f"batch {batch.id} {batch.kind.value} {batch.situation.key}{at} ({batch.status.value}{stopping})"
    return f"{head}: {batch.progress()}{note}"


def render_detail(batch: Batch, members: Sequence[Member]) -> str:
    lines = [render_batch(batch), f"  by {batch.created_by} at {batch.created_at:%Y-%m-%d %H:%M} UTC: {batch.reason}"]
    for m in members:
        why = f": {m.why}" if m.why else ""
        lines.append(f"  {m.tenant_id} {m.status.value}{why}")
    return "\n".join(lines)


def ended_well(batch: Batch) -> bool:
    """Exit 0: every member done or refused; a failure or a stop short of the end is exit 1."""
    return batch.status is BatchStatus.FINISHED and batch.count(MemberStatus.FAILED) == 0
