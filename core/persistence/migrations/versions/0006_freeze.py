"""The read-only switch: `freezes`, one row per freeze (who, when, why; who lifted it, when).

The open freeze (`unfrozen_at IS NULL`) is in force; the partial unique index `uq_freezes_open` allows
one per scope and makes reading the switch, which every action does, one index look-up. A new, empty
table: nothing to copy, no lock on existing tables.

Revision ID: 0006_freeze
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.persistence.orm import OPEN_FREEZE_SQL, UTCDateTime

revision = "0006_freeze"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "freezes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("frozen_by", sa.String(200), nullable=False),
        sa.Column("frozen_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unfrozen_by", sa.String(200)),
        sa.Column("unfrozen_at", UTCDateTime()),
    )
    where = sa.text(OPEN_FREEZE_SQL)
    op.create_index("uq_freezes_open", "freezes", ["scope"], unique=True, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("uq_freezes_open", "freezes")
    op.drop_table("freezes")
