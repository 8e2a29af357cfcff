"""Alerts remember their cause: the step the tenant stopped at and its error, normalised (core/causes.py),
so a digest groups its members by cause without reading every tenant again; and an index on a tenant's
episodes, where the reset nudge (core/alerting/nudges.py) finds the thread to remind a resetter in.

Two nullable columns: no rewrite of existing rows, which read as "cause unknown beyond the situation".
The index is built at once: on a large alerts table, writes to it wait meanwhile (seconds).

Revision ID: 0008_causes
Revises: 0007_approvals
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_causes"
down_revision = "0007_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("cause_step", sa.String(100)))
    op.add_column("alerts", sa.Column("cause_error", sa.Text()))
    op.create_index("ix_alerts_tenant", "alerts", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_tenant", table_name="alerts")
    op.drop_column("alerts", "cause_error")  # a plain DROP COLUMN (SQLite >= 3.35): no table rebuild
    op.drop_column("alerts", "cause_step")
