"""Recoverable claims: who holds an action's claim and what it was about.

`claim_owner` names the process running the action (its liveness lease, core/liveness.py) and
`claim_plan` the run the action's engine call is about and the fields the claim changed (before and
after), so that an action whose process died can be finished or undone (core/recovery.py). The
partial index `ix_tenants_claimed` keeps finding claimed rows cheap at a million tenants.

A claim recorded before this migration has no owner (it is recovered once it is older than
ACTION_LEASE) and gets the row's run as its target; its changed fields are unknown, so if its engine
call did not happen, recovery releases it and leaves the fields as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import CLAIMED_SQL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("claim_owner", sa.String(200)))
    op.add_column("tenants", sa.Column("claim_plan", sa.JSON()))
    op.create_index(
        "ix_tenants_claimed",
        "tenants",
        ["claim_since"],
        sqlite_where=sa.text(CLAIMED_SQL),
        postgresql_where=sa.text(CLAIMED_SQL),
    )
    tenants = sa.table(
        "tenants",
        sa.column("id", sa.String()),
        sa.column("workflow_id", sa.String()),
        sa.column("run_id", sa.String()),
        sa.column("handle_attempt", sa.Integer()),
        sa.column("claim_action", sa.String()),
        sa.column("claim_plan", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(tenants.c.id, tenants.c.workflow_id, tenants.c.run_id, tenants.c.handle_attempt).where(
            tenants.c.claim_action.is_not(None)
        )
    )
    for tenant_id, workflow_id, run_id, attempt in list(rows):
        target = {"workflow_id": workflow_id, "attempt": attempt or 0, "run_id": run_id} if workflow_id else None
        connection.execute(
            sa.update(tenants).where(tenants.c.id == tenant_id).values(claim_plan={"target": target, "changes": {}})
        )


def downgrade() -> None:
    op.drop_index("ix_tenants_claimed", "tenants")
    op.drop_column("tenants", "claim_plan")  # a plain DROP COLUMN (SQLite >= 3.35): no table rebuild
    op.drop_column("tenants", "claim_owner")
