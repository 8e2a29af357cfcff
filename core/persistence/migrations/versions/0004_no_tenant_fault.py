"""Tenants no longer record a demo fault: faults are an input of the saga only.

The fault a demo or `tenantbot provision --fault` injects is chosen where attempt 1 starts and goes
into that run's input (core/saga's `FaultPlan`); no row, domain object or port carries it. A fault
recorded on a row whose first attempt has started is spent already (faults apply to attempt 1 only),
so nothing is lost but the fault of a tenant whose first start failed, which a later Retry now runs
clean. Downgrading brings the column back empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("tenants", "fault")  # a plain DROP COLUMN (SQLite >= 3.35): no table rebuild


def downgrade() -> None:
    op.add_column("tenants", sa.Column("fault", sa.String(50)))
