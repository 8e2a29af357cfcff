"""The audit feed by time: a tenant's whole history a page at a time, and retention oldest first.

`ix_audit_events_tenant_at` (tenant, time, id) serves history pages (keyset pagination, newest first)
and the card's recent events, replacing `ix_audit_events_tenant` (tenant, id). `ix_audit_events_at`
(time, id) and `ix_request_keys_at` let retention (core/retention.py) find the oldest rows without
reading the whole table. Building them reads each table once (PostgreSQL blocks writes to it meanwhile:
seconds for millions of events).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_tenant_at", "audit_events", ["tenant_id", "at", "id"])
    op.drop_index("ix_audit_events_tenant", "audit_events")
    op.create_index("ix_audit_events_at", "audit_events", ["at", "id"])
    op.create_index("ix_request_keys_at", "request_keys", ["at"])


def downgrade() -> None:
    op.drop_index("ix_request_keys_at", "request_keys")
    op.drop_index("ix_audit_events_at", "audit_events")
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "id"])
    op.drop_index("ix_audit_events_tenant_at", "audit_events")
