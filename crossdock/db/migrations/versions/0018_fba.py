"""Stock the platforms hold themselves (Amazon FBA)

``platform_stock``: per channel and platform SKU, the units the platform
keeps in its own fulfilment network as last read (fulfillable, inbound,
reserved, unfulfillable): a location of its own, never part of what crossdock
offers on any channel.

Revision ID: 0018_fba
Revises: 0017_bundles
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0018_fba"
down_revision = "0017_bundles"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = crossdock.db.base.UTCDateTime(timezone=True)
_JSON = crossdock.db.base.JSONType


def upgrade() -> None:
    op.create_table(
        "platform_stock",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("platform_sku", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("fulfillable", sa.Integer(), nullable=False),
        sa.Column("inbound", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("unfulfillable", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("platform_ids", _JSON, nullable=True),
        sa.Column("read_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_stock")),
        sa.UniqueConstraint("channel", "platform_sku", name=op.f("uq_platform_stock_channel_platform_sku")),
    )
    op.create_index("ix_platform_stock_sku", "platform_stock", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_platform_stock_sku", table_name="platform_stock")
    op.drop_table("platform_stock")
