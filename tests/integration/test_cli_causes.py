"""`tenantbot tenants --wedged` as an operator runs it: the wedged tenants' common causes first, then the
list in the same order (rows the engine does not know are orphaned; the real embedded dev server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.domain import Tenant, TenantState, provisioning_handle
from tests.integration.test_cli import seed, tenantbot


def lost(tenant_id: str, step: str, error: str | None = None) -> Tenant:
    """A row naming a run the engine never heard of (a cluster reset), stalled at `step` an hour ago."""
    old = datetime.now(UTC) - timedelta(hours=1)
    handle = provisioning_handle(tenant_id, 1)
    return Tenant(
        tenant_id, TenantState.PROVISIONING, old, handle, 1, error=error, current_step=step, last_progress_at=old
    )


@pytest.mark.temporal
def test_tenants_wedged_prints_the_common_causes_then_the_tenants_by_cause(tmp_path: Path) -> None:
    orphans = [lost(f"orphan-{i}", "create_storage") for i in range(3)]
    pending = [lost("other-1", "seed_data")]
    seed(tmp_path, *orphans, *pending, Tenant("fresh", TenantState.PENDING, datetime.now(UTC)))
    listed = tenantbot("tenants", "--wedged", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "by cause: 3 orphaned at `create_storage`; 1 orphaned at `seed_data`"
    assert [line.split()[0] for line in lines[2:]] == ["orphan-0", "orphan-1", "orphan-2", "other-1"]
    assert "fresh" not in listed.stdout


@pytest.mark.temporal
def test_tenants_wedged_says_so_when_nothing_is_wedged(tmp_path: Path) -> None:
    seed(tmp_path, Tenant("fresh", TenantState.PENDING, datetime.now(UTC)))
    listed = tenantbot("tenants", "--wedged", data_dir=tmp_path)
    assert listed.returncode == 0 and listed.stdout.strip() == "no wedged tenants"
