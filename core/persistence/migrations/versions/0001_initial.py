"""Initial schema: tenants, allocations, audit events, request keys, alerts, locks.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import IN_FLIGHT_SQL, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def partial(sql: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(sql), "postgresql_where": sa.text(sql)}


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("workflow_id", sa.String(200)),
        sa.Column("run_id", sa.String(100)),
        sa.Column("handle_attempt", sa.Integer()),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("failed_activity", sa.String(100)),
        sa.Column("current_step", sa.String(100)),
        sa.Column("last_progress_at", UTCDateTime()),
        sa.Column("last_heartbeat_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("fault", sa.String(50)),
        sa.Column("claim_action", sa.String(20)),
        sa.Column("claim_actor", sa.String(200)),
        sa.Column("claim_since", UTCDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_tenants_in_flight", "tenants", ["state"], **partial(IN_FLIGHT_SQL))
    op.create_index("ix_tenants_updated_at", "tenants", ["updated_at"])
    op.create_table(
        "allocations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(63), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("workflow_id", sa.String(200)),
        sa.Column("allocated_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime()),
    )
    op.create_index(
        "uq_allocations_held", "allocations", ["tenant_id", "kind"], unique=True, **partial("released_at IS NULL")
    )
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "id"])
    op.create_table(
        "request_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("situation", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("message_ref", sa.String(100)),
        sa.Column("in_digest", sa.Boolean(), nullable=False),
        sa.Column("snoozed_until", UTCDateTime()),
        sa.Column("snoozed_by", sa.String(200)),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolution", sa.Text()),
    )
    op.create_index("uq_alerts_open", "alerts", ["tenant_id"], unique=True, **partial("resolved_at IS NULL"))
    op.create_table(
        "locks",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("locks", "alerts", "request_keys", "audit_events", "allocations", "tenants"):
        op.drop_table(table)
