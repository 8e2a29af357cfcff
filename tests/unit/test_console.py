"""The terminal twin of the Slack card: the tenant list stays a table whatever the situation's name."""

from __future__ import annotations

from datetime import timedelta

from core.decisions import Limits, assess
from core.domain import RunObservation, RunStatus, Tenant, TenantState, provisioning_handle
from core.results import TenantView
from tenantbot.console import render_list
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
