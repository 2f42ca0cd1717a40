"""SKU aliases and bundles (kits)

``sku_aliases`` maps a SKU a channel lists under to the catalogue's SKU (on
one channel, or on every channel: channel ``''``). ``bundle_components``
holds each bundle's components and their quantities per bundle. A line of a
bundle reserves each component: a reservation is unique per (order line, SKU)
from now on, no longer per order line. (Downgrading needs no line holding
reservations of two SKUs: settle or release the bundle orders first.)

Revision ID: 0017_bundles
Revises: 0016_listing_customs
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0017_bundles"
down_revision = "0016_listing_customs"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = crossdock.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sku_aliases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("listing_sku", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_sku_aliases_sku_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sku_aliases")),
        sa.UniqueConstraint("channel", "listing_sku", name=op.f("uq_sku_aliases_channel_listing_sku")),
    )
    op.create_table(
        "bundle_components",
        sa.Column("bundle", sa.String(length=255), nullable=False),
        sa.Column("component", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_bundle_components_bundle_quantity_positive")),
        sa.ForeignKeyConstraint(["bundle"], ["products.sku"], name=op.f("fk_bundle_components_bundle_products"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["component"], ["products.sku"],
                                name=op.f("fk_bundle_components_component_products")),
        sa.PrimaryKeyConstraint("bundle", "component", name=op.f("pk_bundle_components")),
    )
    op.create_index("ix_bundle_components_component", "bundle_components", ["component"])
    with op.batch_alter_table("reservations") as batch:
        batch.drop_constraint("uq_reservations_order_line_id", type_="unique")
        batch.create_unique_constraint("uq_reservations_order_line_id_sku", ["order_line_id", "sku"])


def downgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.drop_constraint("uq_reservations_order_line_id_sku", type_="unique")
        batch.create_unique_constraint("uq_reservations_order_line_id", ["order_line_id"])
    op.drop_index("ix_bundle_components_component", table_name="bundle_components")
    op.drop_table("bundle_components")
    op.drop_table("sku_aliases")
