"""On whose behalf an announced action ran: `announcements.on_behalf_of`, from the `--actor` a CLI user
gave (the audit event's `on_behalf_of`), so the channel reads "`cli:alice` for @bob ran Reset".

A nullable column: no rewrite of existing rows (lines announced before say only who ran it).

Revision ID: 0012_announced_behalf
Revises: 0011_batch_messages
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_announced_behalf"
down_revision = "0011_batch_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("announcements", sa.Column("on_behalf_of", sa.String(64)))


def downgrade() -> None:
    op.drop_column("announcements", "on_behalf_of")  # plain DROP COLUMN (SQLite >= 3.35)
