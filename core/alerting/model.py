"""Alert episodes for wedged tenants, and the pure plan of what one scan tick must change.

An *episode* starts when a tenant is first seen wedged and ends when it is not (progress resumed,
Reset, Retry, Cancel…). At most one episode per tenant is open at a time — the database enforces it
with a partial unique index — so one stuck episode is alerted once, across ticks, restarts and
replicas. `plan` compares the open episodes with this tick's assessments and says what to open,
revise, remind, resolve and post; it does no I/O so it can be tested row by row.

An episode is never resolved while its tenant has an operator action unfinished (a claim on its row,
even one a crash left behind until recovery settles it): the alert says "Reset under way (by U123
since 03:12 UTC)" instead, and is resolved — or reads wedged again — once the action has an outcome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from core.causes import Cause, cause_of
from core.decisions import Assessment, Recommendation, Situation, recommended_for
from core.domain import ActionClaim
from core.freeze import Freeze

ESCALATE = f"{Recommendation.ESCALATE}: "  # how the reason of a tenant that wedged again starts (see `plan`)
REFRESH_EVERY = timedelta(minutes=15)  # re-render a posted alert's timings at most this often
BATCH_CHARS = 2800  # one thread reply per digest and tick, kept well under Slack's limits


@dataclass(frozen=True)
class Alert:
    tenant_id: str
    situation: Situation  # stored as its key (core/persistence/mapping.py)
    reason: str
    opened_at: datetime
    id: int | None = None
    message_ref: str | None = None  # where it was posted ("channel/ts"; a digest's for its members)
    digest_id: int | None = None  # posted as a line of this digest rather than on its own
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None  # what resolved it and who, e.g. "reset_completed by U123"
    revision: int = 0  # visible changes so far; Slack shows `shown_revision`
    shown_revision: int = 0
    reply_pending: str | None = None  # a thread reply still to send
    failures: int = 0  # failed edits/replies in a row (bounded retries)
    refreshed_at: datetime | None = None
    owner: str | None = None  # who took it ("Take it"), shown on the message
    owned_at: datetime | None = None
    frozen: Freeze | None = None  # the read-only switch as the message is shown (not stored): a banner, no Reset
    step: str | None = None  # with the situation, its cause (core/causes.py): what a digest groups by
    error: str | None = None  # normalised

    @property
    def posted(self) -> bool:
        return self.message_ref is not None

    @property
    def cause(self) -> Cause:
        return Cause(self.situation, self.step, self.error)

    @property
    def escalated(self) -> bool:
        """It wedged again after a Reset and Retry (core/decisions.ESCALATIONS): Reset is no longer suggested."""
        return self.reason.startswith(ESCALATE)

    @property
    def suggested(self) -> Recommendation:
        return Recommendation.ESCALATE if self.escalated else recommended_for(self.situation)

    @property
    def in_digest(self) -> bool:
        return self.digest_id is not None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


@dataclass(frozen=True)
class Digest:
    """One message for many episodes opened in the same tick (a mass wedge), kept current as they resolve."""

    id: int
    opened_at: datetime
    message_ref: str | None = None
    revision: int = 0
    shown_revision: int = 0
    reply_pending: str | None = None
    failures: int = 0
    frozen: Freeze | None = None  # the read-only switch as the message is shown (not stored): a banner

    @property
    def posted(self) -> bool:
        return self.message_ref is not None


@dataclass(frozen=True)
class Announcement:
    """One line the channel must see once: an operator action (`action`, by `actor`, with its `reason` if it
    carried one) or the mention of an alert nobody took (`action` None, `actor` whom it calls). It goes to the
    thread of `alert_id` (the tenant's alert open when it happened), else to the actions channel."""

    tenant_id: str
    actor: str
    at: datetime
    action: str | None = None  # "reset", "retry", … (None: a mention)
    reason: str | None = None
    on_behalf_of: str | None = None  # whom a CLI user said they acted for (`--actor`)
    alert_id: int | None = None
    event_id: int | None = None  # the audit event it announces
    id: int | None = None
    message_ref: str | None = None  # where it was posted
    failures: int = 0

    @property
    def mention(self) -> bool:
        return self.action is None


@dataclass(frozen=True)
class Plan:
    open: list[Alert] = field(default_factory=list)  # new episodes to record, then post
    revise: list[Alert] = field(default_factory=list)  # new situation or reason (the alert as it should read)
    remind: list[Alert] = field(default_factory=list)  # snooze ran out and the tenant is still wedged
    resolve: list[Alert] = field(default_factory=list)  # tenant moved again
    post: list[Alert] = field(default_factory=list)  # open but never posted (Slack was down, or a dry run)

    @property
    def idle(self) -> bool:
        return not (self.open or self.revise or self.remind or self.resolve or self.post)


def wording(reason: str) -> str:
    """A reason without its figures: "no progress for 12 min" and "… for 14 min" read the same."""
    return re.sub(r"\d+(\.\d+)?", "#", reason)


def stale(alert: Alert, current: Alert, now: datetime, refresh_every: timedelta) -> bool:
    """Whether the stored situation/reason should be rewritten: new situation, cause or wording, or old timings."""
    if alert.cause != current.cause or wording(alert.reason) != wording(current.reason):
        return True
    last = alert.refreshed_at or alert.opened_at
    return alert.reason != current.reason and now - last >= refresh_every


def under_way(claim: ActionClaim) -> str:
    """What an alert says while an operator action on its tenant is unfinished."""
    return f"{claim.action.value.capitalize()} under way (by {claim.actor} since {claim.since:%H:%M} UTC)"


def plan(
    open_alerts: list[Alert],
    wedged: dict[str, Assessment],
    *,
    now: datetime,
    busy: Mapping[str, ActionClaim] | None = None,
    refresh_every: timedelta = REFRESH_EVERY,
) -> Plan:
    """What to do so that exactly the wedged tenants have one open, posted, current alert each, and the
    alerts of tenants with an unfinished action (`busy`) stay open and say so."""
    busy = busy or {}
    by_tenant = {a.tenant_id: a for a in open_alerts}
    result = Plan()
    for tenant_id, assessment in sorted(wedged.items()):
        if tenant_id in busy:
            continue
        alert = by_tenant.get(tenant_id)
        cause = cause_of(assessment)
        reason = f"{ESCALATE}{assessment.again}. {assessment.reason}" if assessment.wedged_again else assessment.reason
        if alert is None:
            result.open.append(
                Alert(tenant_id, cause.situation, reason, now, refreshed_at=now, step=cause.step, error=cause.error)
            )
            continue
        current = replace(alert, situation=cause.situation, reason=reason, step=cause.step, error=cause.error)
        _keep_current(result, alert, current, now, refresh_every)
        if alert.snoozed_until is not None and not alert.snoozed(now):
            result.remind.append(current)
    for tenant_id, claim in sorted(busy.items()):
        if (alert := by_tenant.get(tenant_id)) is not None:
            current = replace(alert, situation=Situation.ACTION_RUNNING, reason=under_way(claim), step=None, error=None)
            _keep_current(result, alert, current, now, refresh_every)
    result.resolve.extend(a for a in open_alerts if a.tenant_id not in wedged and a.tenant_id not in busy)
    return result


def _keep_current(result: Plan, alert: Alert, current: Alert, now: datetime, refresh_every: timedelta) -> None:
    if not alert.posted:
        result.post.append(current)
    if stale(alert, current, now, refresh_every):
        result.revise.append(current)


def batch(lines: list[str]) -> str | None:
    """One thread reply for everything that happened to a digest's members in one tick."""
    if not lines:
        return None
    shown: list[str] = []
    for line in lines:
        if sum(len(s) + 3 for s in shown) + len(line) > BATCH_CHARS:
            shown.append(f"… and {len(lines) - len(shown)} more")
            break
        shown.append(line)
    return "\n".join(f"• {line}" for line in shown)
