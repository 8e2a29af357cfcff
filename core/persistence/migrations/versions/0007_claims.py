"""Alerts are claimed and actions are seen: `alerts.owner`/`owned_at` (who took the alert, when) and
`announcements`, the lines the channel must see once (operator actions read from the audit feed, one
mention per alert nobody took), each posted under a claim.

`uq_announcements_event` records an action once however many replicas read the feed;
`uq_announcements_mention` mentions an alert once. Two nullable columns on `alerts` (no rewrite, no
default) and a new, empty table: no lock held on existing rows.

Revision ID: 0007_claims
Revises: 0006_freeze
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import MENTION_SQL, UNANNOUNCED_SQL, UTCDateTime

revision = "0007_claims"
down_revision = "0006_freeze"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("alerts", sa.Column("owner", sa.String(200)))
    op.add_column("alerts", sa.Column("owned_at", UTCDateTime()))
    op.create_table(
        "announcements",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("event_id", BigId),
        sa.Column("alert_id", BigId),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("action", sa.String(20)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("message_ref", sa.String(100)),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claim_until", UTCDateTime()),
    )
    op.create_index("uq_announcements_event", "announcements", ["event_id"], unique=True)
    mention = sa.text(MENTION_SQL)
    op.create_index(
        "uq_announcements_mention",
        "announcements",
        ["alert_id"],
        unique=True,
        sqlite_where=mention,
        postgresql_where=mention,
    )
    op.create_index("ix_announcements_at", "announcements", ["at"])
    pending = sa.text(UNANNOUNCED_SQL)
    op.create_index("ix_announcements_pending", "announcements", ["id"], sqlite_where=pending, postgresql_where=pending)


def downgrade() -> None:
    op.drop_table("announcements")
    with op.batch_alter_table("alerts") as alerts:  # SQLite drops columns by copying the table
        alerts.drop_column("owned_at")
        alerts.drop_column("owner")
