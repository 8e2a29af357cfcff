"""Migration 0003 on a database holding a claim a crash left under 0002: it becomes recoverable."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from core.domain import Action, RunHandle
from core.persistence import open_store
from core.persistence.database import create_engine
from tests.integration.test_alert_migration import downgrade_to, upgrade_to

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def a_reset_claim_left_under_0002(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0002")
            await connection.execute(
                text(
                    "INSERT INTO tenants (id, state, workflow_id, run_id, handle_attempt, attempt, created_at, "
                    "updated_at, claim_action, claim_actor, claim_since, version) VALUES ('acme', 'provisioning', "
                    "'provision-acme-1', 'r-1', 1, 1, :t, :t, 'reset', 'U1', :t, 3)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
    finally:
        await engine.dispose()


async def test_a_claim_recorded_before_0003_names_the_rows_run_and_no_owner(database_url: str) -> None:
    await a_reset_claim_left_under_0002(database_url)
    store = await open_store(database_url)
    try:
        [tenant] = await store.claimed()
        assert tenant.claim is not None
        assert (tenant.claim.action, tenant.claim.owner) == (Action.RESET, None)
        assert tenant.claim.target == RunHandle("provision-acme-1", 1, "r-1")
        assert tenant.claim.changes == {}
    finally:
        await store.close()


async def test_0003_can_be_rolled_back_keeping_the_claim(database_url: str) -> None:
    await a_reset_claim_left_under_0002(database_url)
    await (await open_store(database_url)).close()  # migrates to head
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0002")
            rows = await connection.execute(text("SELECT claim_action, claim_actor FROM tenants"))
            assert list(rows) == [("reset", "U1")]
            await connection.run_sync(upgrade_to, "head")
    finally:
        await engine.dispose()
