"""Refunds of orders

``refunds``: one row per refund the platform holds for an order, issued from
crossdock or read from the platform, unique per channel by the platform's
refund id; ``orders.refunded_amount``: the sum of an order's refunds that did
not fail (net = total_amount - refunded_amount).

Revision ID: 0020_refunds
Revises: 0019_returns
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0020_refunds"
down_revision = "0019_returns"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = crossdock.db.base.UTCDateTime(timezone=True)
_JSON = crossdock.db.base.JSONType
_MONEY = sa.Numeric(precision=18, scale=4, asdecimal=True)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("refunded_amount", _MONEY, server_default="0", nullable=False))
    op.create_table(
        "refunds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("platform_refund_id", sa.String(length=255), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", _JSON, nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refunded_at", _UTC, nullable=False),
        sa.Column("recorded_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("channel", "platform_refund_id", name=op.f("uq_refunds_channel_platform_refund_id")),
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_order_id", table_name="refunds")
    op.drop_table("refunds")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("refunded_amount")
