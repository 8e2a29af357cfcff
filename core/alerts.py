"""Alert episodes for wedged tenants, and the pure plan of what one scan tick must post.

An *episode* starts when a tenant is first seen wedged and ends when it is not (progress resumed,
Reset, Retry, Cancel…). At most one episode per tenant is open at a time — the database enforces it
with a partial unique index — so one stuck episode is alerted once, across ticks, restarts and
replicas. `plan` compares the open episodes with this tick's assessments and says what to open,
update in place, resolve, and (re)post; it does no I/O so it can be tested row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from core.decisions import Assessment


@dataclass(frozen=True)
class Alert:
    tenant_id: str
    situation: str  # Situation.key
    reason: str
    opened_at: datetime
    id: int | None = None
    message_ref: str | None = None  # where the alert was posted ("channel/ts"); None until posted
    in_digest: bool = False  # posted as a line of a digest message rather than on its own
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None  # what resolved it and who, e.g. "Reset by U123"

    @property
    def posted(self) -> bool:
        return self.message_ref is not None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


@dataclass(frozen=True)
class Plan:
    open: list[Alert] = field(default_factory=list)  # new episodes to record, then post
    update: list[Alert] = field(default_factory=list)  # situation or reason changed: edit in place
    resolve: list[Alert] = field(default_factory=list)  # tenant moved again
    post: list[Alert] = field(default_factory=list)  # recorded earlier but never posted (Slack was down)
    remind: list[Alert] = field(default_factory=list)  # snooze ran out and the tenant is still wedged

    @property
    def idle(self) -> bool:
        return not (self.open or self.update or self.resolve or self.post or self.remind)


def plan(open_alerts: list[Alert], wedged: dict[str, Assessment], *, now: datetime) -> Plan:
    """What to do so that exactly the wedged tenants have one open, posted, current alert each."""
    by_tenant = {a.tenant_id: a for a in open_alerts}
    result = Plan()
    for tenant_id, assessment in sorted(wedged.items()):
        alert = by_tenant.get(tenant_id)
        if alert is None:
            result.open.append(Alert(tenant_id, assessment.situation.key, assessment.reason, now))
        elif not alert.posted:
            result.post.append(replace(alert, situation=assessment.situation.key, reason=assessment.reason))
        elif alert.situation != assessment.situation.key:
            result.update.append(replace(alert, situation=assessment.situation.key, reason=assessment.reason))
        elif alert.snoozed_until is not None and not alert.snoozed(now):
            result.remind.append(replace(alert, snoozed_until=None, snoozed_by=None, reason=assessment.reason))
    for alert in open_alerts:
        if alert.tenant_id not in wedged:
            result.resolve.append(replace(alert, resolved_at=now))
    return result
