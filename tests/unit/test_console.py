"""The terminal twin of the Slack card: the tenant list stays a table whatever the situation's name, and the
view says whether tenantbot is frozen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.decisions import Limits, assess
from core.domain import RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.freeze import Freeze
from core.results import TenantView
from tenantbot.console import render_list, render_view
from tests.fakes import at


def view(tenant: Tenant, run: RunObservation | None) -> TenantView:
    return TenantView(tenant, run, assess(tenant, run, now=at(30), limits=Limits()), (), (), (), at(30))


def test_the_tenant_list_keeps_its_columns_aligned_for_the_longest_situation() -> None:
    stuck = Tenant(
        "acme-jammed-123", TenantState.CANCELLING, at(0), handle=provisioning_handle("acme", 1), last_progress_at=at(0)
    )
    jammed = RunObservation(RunStatus.RUNNING, "release_step", 9, at(30), timedelta(seconds=10), "locked")
    fine = Tenant("a", TenantState.ACTIVE, at(0))
    lines = render_list([view(stuck, jammed), view(fine, None)]).splitlines()
    assert "wedged: cancel or decommission stopped" in lines[1]
    assert len({line.index(word) for line, word in zip(lines, ["RECOMMENDED", "Reset", "—"], strict=True)}) == 1


def test_the_view_says_whether_tenantbot_is_frozen_or_that_the_switch_could_not_be_read() -> None:
    tenant = Tenant("acme", TenantState.PENDING, at(0), last_progress_at=at(0))
    shown = view(tenant, None)
    assert "  read-only: no: actions run" in render_view(shown).splitlines()
    frozen = replace(shown, frozen=Freeze("cli:alice", at(5), "database failover"))
    assert (
        "  read-only: FROZEN by cli:alice since 2026-11-24 12:05:00 UTC: database failover; every action is refused "
        "until `tenantbot unfreeze`" in render_view(frozen).splitlines()
    )
    unread = replace(shown, problems=("read-only switch: no answer within 2 s",))
    assert "  read-only: unknown (could not read); every action is refused until it can be read" in render_view(unread)
