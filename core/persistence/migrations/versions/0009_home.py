"""The App Home's reads: when the scan last finished a tick (`scan_ticks`, one row per scan, written once
per tick), and an index on the audit feed by actor, so "your last actions" is one short index range
rather than a scan of every tenant's feed.

A new table and an index: no rewrite of existing rows. The index is built at once: on a large
audit_events table, writes to it wait meanwhile (seconds).

Revision ID: 0009_home
Revises: 0008_causes
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import UTCDateTime

revision = "0009_home"
down_revision = "0008_causes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_ticks",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("wedged", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor_at", table_name="audit_events")
    op.drop_table("scan_ticks")
