"""Returns (RMAs)

``returns``: one row per return of an order (crossdock's RMA id, the
platform's return id if any — unique per channel, so reading a platform's
returns again adds nothing —, who opened it, reason, status open / received /
closed, who received it and when); ``return_lines``: its lines (order line,
SKU, units) and, once received, whether the units went back to stock or were
written off.

Revision ID: 0019_returns
Revises: 0018_fba
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0019_returns"
down_revision = "0018_fba"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = crossdock.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("rma", sa.String(length=32), nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("platform_return_id", sa.String(length=255), nullable=True),
        sa.Column("platform_status", sa.String(length=255), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reason_note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=True),
        sa.Column("opened_at", _UTC, nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=True),
        sa.Column("received_at", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("rma", name=op.f("uq_returns_rma")),
        sa.UniqueConstraint("channel", "platform_return_id", name=op.f("uq_returns_channel_platform_return_id")),
    )
    op.create_index("ix_returns_order", "returns", ["order_id"])
    op.create_index("ix_returns_status", "returns", ["status"])
    op.create_table(
        "return_lines",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("return_id", _ID, nullable=False),
        sa.Column("order_line_id", _ID, nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("platform_line_id", sa.String(length=255), nullable=True),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("warehouse", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], name=op.f("fk_return_lines_return_id_returns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"],
                                name=op.f("fk_return_lines_order_line_id_order_lines"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_lines")),
    )
    op.create_index("ix_return_lines_return", "return_lines", ["return_id"])
    op.create_index("ix_return_lines_order_line", "return_lines", ["order_line_id"])


def downgrade() -> None:
    op.drop_index("ix_return_lines_order_line", table_name="return_lines")
    op.drop_index("ix_return_lines_return", table_name="return_lines")
    op.drop_table("return_lines")
    op.drop_index("ix_returns_status", table_name="returns")
    op.drop_index("ix_returns_order", table_name="returns")
    op.drop_table("returns")
