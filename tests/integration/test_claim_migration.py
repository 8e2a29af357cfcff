"""Migration 0003 on a database holding a claim a crash left under 0002: it becomes recoverable."""

from __future__ import annotations

from core.domain import Action, RunHandle
from core.persistence import open_database
from tests.integration.migration_steps import rolled_back, seeded

A_RESET_CLAIM = (
    "INSERT INTO tenants (id, state, workflow_id, run_id, handle_attempt, attempt, created_at, updated_at, "
    "claim_action, claim_actor, claim_since, version) VALUES ('acme', 'provisioning', 'provision-acme-1', 'r-1', "
    "1, 1, :t, :t, 'reset', 'U1', :t, 3)"
)


async def test_a_claim_recorded_before_0003_names_the_rows_run_and_no_owner(database_url: str) -> None:
    await seeded(database_url, "0002", A_RESET_CLAIM)
    database = await open_database(database_url)
    store = database.tenants
    try:
        [tenant] = await store.claimed()
        assert tenant.claim is not None
        assert (tenant.claim.action, tenant.claim.owner) == (Action.RESET, None)
        assert tenant.claim.target == RunHandle("provision-acme-1", 1, "r-1")
        assert tenant.claim.changes == {}
    finally:
        await database.close()


async def test_0003_can_be_rolled_back_keeping_the_claim(database_url: str) -> None:
    await seeded(database_url, "0002", A_RESET_CLAIM)
    assert await rolled_back(database_url, "0002", "SELECT claim_action, claim_actor FROM tenants") == [("reset", "U1")]
