"""Alert delivery: digests as rows, posting claims, pending edits and replies, refresh time.

A digest becomes a row of its own (`alert_digests`) that its member alerts point to, so it can be
re-rendered when members change. Alerts and digests get the columns that make every Slack call
retryable and claimed once: `revision`/`shown_revision` (an edit still to show), `reply_pending`,
`failures`, and a claim (`claimed_by`, `claim_until`). Digests posted before this migration (members
with `in_digest` sharing one `message_ref`) become digest rows; `in_digest` then goes, since
`digest_id` says the same.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import UNSENT_SQL, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def partial(sql: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(sql), "postgresql_where": sa.text(sql)}


def message_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("shown_revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reply_pending", sa.Text()),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claim_until", UTCDateTime()),
    ]


def upgrade() -> None:
    op.create_table(
        "alert_digests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("message_ref", sa.String(100)),
        *message_columns(),
    )
    for column in message_columns():
        op.add_column("alerts", column)
    op.add_column("alerts", sa.Column("digest_id", BigId))
    op.add_column("alerts", sa.Column("refreshed_at", UTCDateTime()))
    op.create_index("ix_alerts_digest", "alerts", ["digest_id"])
    op.create_index("ix_alerts_unsent", "alerts", ["id"], **partial(UNSENT_SQL))
    op.execute(
        "INSERT INTO alert_digests (opened_at, message_ref, revision, shown_revision, failures) "
        "SELECT MIN(opened_at), message_ref, 0, 0, 0 FROM alerts "
        "WHERE in_digest AND message_ref IS NOT NULL GROUP BY message_ref"
    )
    op.execute(
        "UPDATE alerts SET digest_id = "
        "(SELECT d.id FROM alert_digests d WHERE d.message_ref = alerts.message_ref) WHERE in_digest"
    )
    op.drop_column("alerts", "in_digest")  # a plain DROP COLUMN (SQLite >= 3.35): no table rebuild


def downgrade() -> None:
    op.add_column("alerts", sa.Column("in_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE alerts SET in_digest = (digest_id IS NOT NULL)")
    op.drop_index("ix_alerts_unsent", "alerts")
    op.drop_index("ix_alerts_digest", "alerts")
    with op.batch_alter_table("alerts") as batch:
        for name in ("refreshed_at", "digest_id", "claim_until", "claimed_by", "failures", "reply_pending"):
            batch.drop_column(name)
        batch.drop_column("shown_revision")
        batch.drop_column("revision")
    op.drop_table("alert_digests")
