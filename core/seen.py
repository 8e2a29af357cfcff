"""What a card, an alert or a digest showed when it was drawn, and whether a press on it still acts on that.

In an incident several operators press buttons on messages of different ages. A button that named only
the tenant acted on whatever run was current, possibly one the presser never saw: a Cancel pressed on a
ten-minute-old card of attempt 1 would cancel attempt 2, which someone else had started meanwhile. So
every action button carries what its message showed (`Seen`: the tenant, its attempt and run id, the
situation, and when it was drawn), and `TenantService.act` compares it with the row at the moment it
claims it:

- another attempt or another run than the one shown: the press is refused as out of date, audited as
  `action_refused`, and answered with what happened since (`Staleness`, read from the audit feed) and
  the fresh card;
- the same run in another situation: the action runs if the decision table still allows it, and its
  answer says what changed (`situation_note`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core import events as ev
from core.decisions import Situation
from core.domain import Action, AuditEvent, Tenant
from core.ports import StoreError, TenantStore

# what each operator action did, as the "what happened since" line says it
DONE_VERBS = {
    Action.RESET: "reset",
    Action.RETRY: "retried",
    Action.CANCEL: "cancelled",
    Action.DECOMMISSION: "decommissioned",
}
STARTED = {ev.started(action): action for action in Action}


@dataclass(frozen=True)
class Seen:
    """What one message showed of a tenant: the run its buttons act on (attempt, workflow id and run id;
    None when the row named no workflow, or no run the engine had accepted yet), the situation, and when it
    was drawn (UTC, whole seconds)."""

    tenant_id: str
    attempt: int
    workflow_id: str | None
    run_id: str | None
    situation: Situation
    at: datetime

    @classmethod
    def of(cls, tenant: Tenant, situation: Situation, at: datetime) -> Seen:
        workflow_id, run_id = _run(tenant)
        return cls(tenant.id, tenant.attempt, workflow_id, run_id, situation, at.replace(microsecond=0))

    def same_run(self, tenant: Tenant) -> bool:
        """Whether `tenant` still names the attempt and run this message showed."""
        return tenant.attempt == self.attempt and _run(tenant) == (self.workflow_id, self.run_id)

    def details(self) -> dict[str, object]:
        """What the message showed, for the audit event of a refusal."""
        shown = {"attempt": self.attempt, "workflow_id": self.workflow_id, "run_id": self.run_id}
        return {**shown, "situation": self.situation.key}


def _run(tenant: Tenant) -> tuple[str | None, str | None]:
    handle = tenant.handle
    return (handle.workflow_id, handle.run_id) if handle is not None else (None, None)


@dataclass(frozen=True)
class Staleness:
    """Why a press on an out-of-date message was refused: what operators did since it was drawn (who and
    what, oldest first), and where the tenant is now."""

    since: datetime
    done: tuple[tuple[str, Action], ...]
    attempt: int
    situation: Situation

    def text(self, who: Callable[[str], str] = str) -> str:
        """ "this card is out of date: since 03:12 UTC U9 reset and retried; attempt 2 is in flight, making
        progress". `who` shows an actor (a Slack mention in Slack, the name on a terminal)."""
        return f"this card is out of date: since {self.since:%H:%M} UTC {self.what(who)}; {self.now}"

    def what(self, who: Callable[[str], str]) -> str:
        if not self.done:
            return "the tenant moved on to another run (no operator action recorded)"
        groups: list[tuple[str, list[str]]] = []
        for actor, action in self.done:
            verb = DONE_VERBS[action]
            if groups and groups[-1][0] == actor:
                if verb not in groups[-1][1]:
                    groups[-1][1].append(verb)
            else:
                groups.append((actor, [verb]))
        return ", then ".join(f"{who(actor)} {_and(verbs)}" for actor, verbs in groups)

    @property
    def now(self) -> str:
        return f"attempt {self.attempt} is {self.situation}"


def staleness(seen: Seen, tenant: Tenant, situation: Situation, events: Sequence[AuditEvent]) -> Staleness:
    """`seen` against the tenant as it is now; `events` are its newest audit events (any order)."""
    after = sorted((e for e in events if e.at >= seen.at and e.type in STARTED), key=lambda e: (e.at, e.id or 0))
    return Staleness(seen.at, tuple((e.actor, STARTED[e.type]) for e in after), tenant.attempt, situation)


def situation_note(seen: Seen, now: Situation) -> str | None:
    """What changed on the same run since the message was drawn, for the answer of an action that ran."""
    if seen.situation is now:
        return None
    return f"the situation changed since the card was drawn at {seen.at:%H:%M} UTC: it was {seen.situation}, now {now}"


def _and(verbs: list[str]) -> str:
    return verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " and " + verbs[-1]


ShownRun = Callable[[str, Situation], Awaitable[Seen | None]]  # tenant id, situation shown -> what it shows


def shown_runs(store: TenantStore, clock: Callable[[], datetime]) -> ShownRun:
    """What a message that knows only the tenant and its situation (an alert) shows as it is drawn: the
    tenant's current run, read from `store` (bounded, core/bounded.py). None when the row cannot be read:
    such a message then offers no action, since it could not say which run the action is for."""

    async def shown(tenant_id: str, situation: Situation) -> Seen | None:
        try:
            tenant = await store.get(tenant_id)
        except StoreError:
            return None
        return Seen.of(tenant, situation, clock()) if tenant is not None else None

    return shown
