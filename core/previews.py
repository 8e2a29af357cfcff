"""What a destructive action will do to one tenant, shown before it runs, and the reason it needs.

Reset, Cancel and Decommission are previewed (in Slack, a modal; on a terminal, before the prompt) with
exactly what happens to *this* tenant: the run that is terminated or cancelled (workflow id, run id,
attempt), the allocations that are kept or released (kind and id), the state it ends in, and what will
not happen. The words are the operator guide's (`seed/reset-a-stuck-provisioning.txt`), kept here as
data (`EFFECTS`), so the modal, the CLI and the tests read the same semantics. Retry only starts an
attempt: it needs no preview.

Every destructive action also needs a reason (`parse_action_reason`: one line, 1-500 characters): it is
recorded in the audit feed and, where the engine takes one, given to Temporal as the terminate or
cancel reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.decisions import Situation
from core.domain import Action, Allocation, RunHandle, TenantState, decommission_handle
from core.freeze import parse_reason
from core.results import TenantView
from core.seen import Seen


class Fate(StrEnum):
    KEPT = "kept"
    RELEASED = "released"


@dataclass(frozen=True)
class Effect:
    """One destructive action in the guide's words."""

    run: str  # what happens to the run the row names
    allocations: Fate
    passes_through: TenantState | None  # the state while the engine finishes it
    ends_in: TenantState
    not_done: tuple[str, ...]
    starts_workflow: bool = False  # Decommission starts its own workflow


EFFECTS: dict[Action, Effect] = {
    Action.RESET: Effect(
        run="terminated (Temporal terminate: no workflow code runs, nothing is compensated)",
        allocations=Fate.KEPT,
        passes_through=None,
        ends_in=TenantState.PENDING,
        not_done=(
            "no allocation is released: they are reused by the next attempt (or released if it fails too)",
            "nothing is rolled back: no compensation runs",
            "no new attempt starts: press Retry afterwards",
        ),
    ),
    Action.CANCEL: Effect(
        run="cancelled (Temporal cancel: the saga runs its compensation chain)",
        allocations=Fate.RELEASED,
        passes_through=TenantState.CANCELLING,
        ends_in=TenantState.CANCELLED,
        not_done=(
            "the tenant is not decommissioned: it stays, and Retry can start a fresh attempt afterwards",
            "no new attempt starts",
        ),
    ),
    Action.DECOMMISSION: Effect(
        run="left as it is (it is no longer running); a decommission workflow releases everything",
        allocations=Fate.RELEASED,
        passes_through=TenantState.DECOMMISSIONING,
        ends_in=TenantState.DECOMMISSIONED,
        not_done=(
            "it cannot be undone: no Retry afterwards, the tenant stays decommissioned",
            "no new provisioning attempt starts",
        ),
        starts_workflow=True,
    ),
}
PREVIEWED = frozenset(EFFECTS)  # the actions that open a preview and need a reason


@dataclass(frozen=True)
class Preview:
    """What `action` will do to the tenant of `seen`, as its view showed it."""

    action: Action
    seen: Seen
    run: RunHandle | None  # the run the row names (None: none, e.g. an orphaned row without a handle)
    effect: Effect
    allocations: tuple[Allocation, ...] | None  # None: they could not be read
    starts: RunHandle | None  # the workflow the action starts, if any
    situation: Situation  # the tenant's situation now (the message may have shown another, on the same run)

    @property
    def run_fate(self) -> str:
        return self.effect.run if self.run is not None else "none: the row names no run, its handle is cleared"


def preview(action: Action, view: TenantView, seen: Seen) -> Preview:
    """The preview of `action` (one of PREVIEWED) on the tenant of `view`."""
    tenant, effect = view.tenant, EFFECTS[action]
    unread = any(p.startswith("allocations") for p in view.problems)
    starts = decommission_handle(tenant.id, tenant.attempt) if effect.starts_workflow else None
    allocations = None if unread else view.allocations
    return Preview(action, seen, tenant.handle, effect, allocations, starts, view.assessment.situation)


def parse_action_reason(raw: str | None, action: Action) -> str:
    """The reason an action records (core/freeze.parse_reason's rule). Raises InvalidReason with what to fix."""
    example = f"{action.value.capitalize()} needs a reason, e.g. 'wedged since the cluster failover'"
    return parse_reason(raw or "", example)
