"""Two-person Decommission: `decommission_requests`, one row per request (who, why, until when, who decided).

A new, empty table: nothing to copy, no lock on existing tables. `request_key` is unique, so a redelivered
request records one row; the index on (tenant_id, requested_at) serves a tenant's requests, and the partial
index on the open requests' expiry what the schedule expires. Where each request was posted in Slack
(channel, ts) is kept so its message can be edited once it expires.

Revision ID: 0007_approvals
Revises: 0007_claims
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import PENDING_REQUEST_SQL, UTCDateTime

revision = "0007_approvals"
down_revision = "0007_claims"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decommission_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("origin_channel", sa.String(100)),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("request_key", sa.String(255), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("decided_key", sa.String(255)),
        sa.Column("outcome", sa.Text()),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("message_channel", sa.String(100)),
        sa.Column("message_ts", sa.String(40)),
    )
    op.create_index("ix_decommission_requests_tenant", "decommission_requests", ["tenant_id", "requested_at"])
    pending = sa.text(PENDING_REQUEST_SQL)
    op.create_index(
        "ix_decommission_requests_pending",
        "decommission_requests",
        ["expires_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_decommission_requests_pending", "decommission_requests")
    op.drop_index("ix_decommission_requests_tenant", "decommission_requests")
    op.drop_table("decommission_requests")
