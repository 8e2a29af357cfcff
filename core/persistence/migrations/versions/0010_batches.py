"""Batches: `batches` (one recovery for a cause group's tenants, with its progress counters) and
`batch_members` (each tenant's turn and outcome). New, empty tables: nothing copied, no lock on others.

Revision ID: 0010_batches
Revises: 0009_home
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import UTCDateTime

revision = "0010_batches"
down_revision = "0009_home"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("situation", sa.String(40), nullable=False),
        sa.Column("step", sa.String(100)),
        sa.Column("error", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("canary", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("stop_requested_by", sa.String(200)),
        sa.Column("canary_passed", sa.Boolean(), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
    )
    op.create_index("ix_batches_status", "batches", ["status"])
    op.create_table(
        "batch_members",
        sa.Column("batch_id", BigId, sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tenant_id", sa.String(63), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("why", sa.Text()),
        sa.Column("at", UTCDateTime()),
    )
    op.create_index("ix_batch_members_order", "batch_members", ["batch_id", "status", "position"])


def downgrade() -> None:
    op.drop_index("ix_batch_members_order", "batch_members")
    op.drop_table("batch_members")
    op.drop_index("ix_batches_status", "batches")
    op.drop_table("batches")
