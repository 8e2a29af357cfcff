"""Plain-text rendering of tenant views and action results for the terminal (the CLI and the demo).

The console is the Slack card's twin: the same facts in the same order, so an operator who knows one
reads the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from core.causes import Group, summary
from core.domain import AuditEvent
from core.durations import format_duration
from core.events import PREFIX
from core.freeze import Freeze, SwitchOutcome, SwitchResult
from core.results import ActionResult, TenantView
from core.run_links import RunLinks


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{format_duration(now - moment)} ago ({moment:%Y-%m-%d %H:%M:%S} UTC)"


def render_view(view: TenantView, links: RunLinks | None = None) -> str:
    """The view; with `links`, the run's address in Temporal's Web UI under the workflow."""
    t, a, now = view.tenant, view.assessment, view.at
    handle = t.handle
    run_url = links.to(handle) if links is not None else None
    lines = [
        f"Tenant {t.id}: {t.state}",
        f"  attempt          {t.attempt}",
        f"  workflow         {handle.workflow_id if handle else '—'}"
        + (f" (run {handle.run_id})" if handle and handle.run_id else ""),
        *([f"  temporal ui      {run_url}"] if run_url else []),
        f"  engine status    {view.run.status if view.run else '—'}",
        f"  current step     {t.current_step or '—'}",
        f"  last progress    {_when(t.last_progress_at, now)}",
        f"  last heartbeat   {_when(t.last_heartbeat_at, now)}",
    ]
    if t.error:
        lines.append(f"  error            {t.error}")
    if t.failed_activity:
        lines.append(f"  failed activity  {t.failed_activity}")
    held = ", ".join(f"{x.kind}={x.resource_id}" for x in view.allocations) or "none"
    lines += [
        f"  allocations      {held}",
        "",
        f"Assessment: {a.situation}",
        f"  {a.reason}",
        f"  recommended: {a.advice}",
        f"  allowed now: {', '.join(x.value for x in a.allowed) or 'none'}",
        f"  read-only: {_switch(view)}",
    ]
    for problem in view.problems:
        lines.append(f"  could not read {problem}")
    if view.events:
        lines += ["", "Recent events:"]
        lines += [f"  {e.at:%H:%M:%S} {e.type.removeprefix('tenant.provisioning.'):<22} {_who(e)}" for e in view.events]
    return "\n".join(lines)


def _who(event: AuditEvent) -> str:
    """The actor, with whom the CLI acted on behalf of (`--actor`) and a break-glass Decommission."""
    behalf = event.details.get("on_behalf_of")
    return (
        event.actor
        + (f" on behalf of {behalf}" if isinstance(behalf, str) else "")
        + (" (break-glass)" if event.details.get("break_glass") is True else "")
    )


def _switch(view: TenantView) -> str:
    """The read-only switch (core/freeze.py) as the view read it."""
    if view.frozen is not None:
        return f"FROZEN {_frozen(view.frozen)}; every action is refused until `tenantbot unfreeze`"
    if any(p.startswith("read-only switch:") for p in view.problems):
        return "unknown (could not read); every action is refused until it can be read"
    return "no: actions run"


def _frozen(freeze: Freeze) -> str:
    return f"by {freeze.by} since {freeze.at:%Y-%m-%d %H:%M:%S} UTC: {freeze.reason}"


def render_switch(result: SwitchResult) -> str:
    """What `tenantbot freeze` and `unfreeze` did."""
    freeze = result.freeze
    match result.outcome:
        case SwitchOutcome.FROZEN if freeze is not None:
            refused = "every action (Slack, alerts, the command line) is refused until `tenantbot unfreeze`"
            return f"frozen {_frozen(freeze)}\n{refused}"
        case SwitchOutcome.ALREADY_FROZEN if freeze is not None:
            return f"already frozen {_frozen(freeze)}; nothing changed"
        case SwitchOutcome.UNFROZEN if freeze is not None:
            return f"unfrozen: actions run again (it was frozen {_frozen(freeze)})"
        case SwitchOutcome.NOT_FROZEN:
            return "not frozen; nothing changed"
        case _:
            return f"refused: {result.reason}"


def render_causes(groups: list[Group]) -> str:
    """ "by cause: 470 orphaned at `create_storage`; 25 wedged at …; 5 other" (core/causes.py)."""
    return f"by cause: {summary(groups)}" if groups else "no wedged tenants"


def render_list(views: Sequence[TenantView]) -> str:
    if not views:
        return "no tenants"
    table = [("TENANT", "STATE", "SITUATION", "RECOMMENDED")]
    table += [(v.tenant.id, str(v.tenant.state), str(v.assessment.situation), v.assessment.advice) for v in views]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    return "\n".join(
        " ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + f" {row[3]}" for row in table
    )


def render_result(result: ActionResult, links: RunLinks | None = None) -> str:
    head = f"{result.action.value} {result.tenant_id}: {result.outcome}: {result.message}"
    if result.view is None:
        return head
    return f"{head}\n\n{render_view(result.view, links)}"


def render_event(event: AuditEvent) -> str:
    """One line of a tenant's history: when, what, who, and every detail (`key=value`)."""
    details = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in event.details.items())
    line = f"{event.at:%Y-%m-%d %H:%M:%S} UTC  {event.type.removeprefix(PREFIX):<22} {event.actor:<12}"
    return f"{line} {details}".rstrip()


def event_json(event: AuditEvent) -> str:
    """One event as one line of JSON (export): every field, the time in ISO 8601 UTC."""
    fields: dict[str, object] = {"tenant_id": event.tenant_id, "id": event.id, "at": event.at.isoformat()}
    fields |= {"type": event.type, "actor": event.actor, "details": event.details}
    return json.dumps(fields, ensure_ascii=False)
