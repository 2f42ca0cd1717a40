"""alerts: one row per condition doctor's checks found, until it clears; ratelimit_daily; stock_watch

Rows carry the message still to deliver and the targets not reached yet, so
a failed delivery is retried by the next round (crossdock.alerts).

Revision ID: 0009_doctor
Revises: 0008_safety
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crossdock.db.base

revision = "0009_doctor"
down_revision = "0008_safety"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TZ = crossdock.db.base.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("check", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("found", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=True),
        sa.Column("first_seen_at", _TZ, nullable=False),
        sa.Column("last_seen_at", _TZ, nullable=False),
        sa.Column("resolved_at", _TZ, nullable=True),
        sa.Column("pending", sa.String(16), nullable=True),
        sa.Column("pending_targets", _JSON, nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _TZ, nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("acked_at", _TZ, nullable=True),
        sa.Column("acked_by", sa.String(100), nullable=True),
    )
    op.create_index("uq_alerts_open_key", "alerts", ["key"], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_alerts_pending", "alerts", ["pending"])
    # the quota budget's per-minute counts, rolled up per day when pruned (crossdock report api-usage)
    op.create_table(
        "ratelimit_daily",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("bucket", sa.String(128), primary_key=True),
        sa.Column("day", sa.Integer(), primary_key=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        comment="crossdock quota budget: the per-minute counts rolled up per day as they are pruned "
                "(crossdock report api-usage)",
    )


    # the stock-deviation hint's baseline (crossdock.doctor.stock_watch)
    op.create_table(
        "stock_watch",
        sa.Column("sku", sa.String(255), primary_key=True),
        sa.Column("warehouse", sa.String(32), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("consumed", sa.Integer(), nullable=False),
        sa.Column("checked_at", _TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stock_watch")
    op.drop_table("ratelimit_daily")
    op.drop_index("ix_alerts_pending", table_name="alerts")
    op.drop_index("uq_alerts_open_key", table_name="alerts")
    op.drop_table("alerts")
