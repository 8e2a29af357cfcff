"""Migration 0004 on a database whose tenants recorded a demo fault: the column goes, the rows stay."""

from __future__ import annotations

from sqlalchemy import inspect

from core.domain import RunHandle, TenantState
from core.persistence import open_database
from core.persistence.database import create_engine
from tests.integration.migration_steps import rolled_back, seeded

A_FAULTY_TENANT = (
    "INSERT INTO tenants (id, state, workflow_id, run_id, handle_attempt, attempt, created_at, updated_at, fault, "
    "version) VALUES ('acme', 'provisioning', 'provision-acme-1', 'r-1', 1, 1, :t, :t, 'hang@3', 2)"
)


async def tenant_columns(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("tenants")})
    finally:
        await engine.dispose()


async def test_a_tenant_recorded_with_a_fault_keeps_everything_else_after_0004(database_url: str) -> None:
    await seeded(database_url, "0003", A_FAULTY_TENANT)
    database = await open_database(database_url)
    store = database.tenants  # migrates to head
    try:
        tenant = await store.get("acme")
    finally:
        await database.close()
    assert tenant is not None
    assert (tenant.state, tenant.handle, tenant.attempt) == (
        TenantState.PROVISIONING,
        RunHandle("provision-acme-1", 1, "r-1"),
        1,
    )
    assert "fault" not in await tenant_columns(database_url)


async def test_0004_can_be_rolled_back_bringing_the_column_back_empty(database_url: str) -> None:
    await seeded(database_url, "0003", A_FAULTY_TENANT)
    assert await rolled_back(database_url, "0003", "SELECT id, state, fault FROM tenants") == [
        ("acme", "provisioning", None)
    ]
    assert "fault" not in await tenant_columns(database_url)
