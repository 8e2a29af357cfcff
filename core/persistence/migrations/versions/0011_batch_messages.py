"""Where a batch's progress is shown in Slack: `batches.message_ref` (`channel/ts`, as alerts keep
theirs), so a batch resumed by another process (after a restart or a crash) goes on editing the same
message instead of leaving it at the count it had when the first process stopped; an automatic batch's
announcement becomes its progress message.

A nullable column: no rewrite of existing rows (batches made before have no message to edit).

Revision ID: 0011_batch_messages
Revises: 0010_batches
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_batch_messages"
down_revision = "0010_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("message_ref", sa.String(150)))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): a rebuilt `batches` would cascade to its members on SQLite
    op.drop_column("batches", "message_ref")
