"""platform field sizes: identifiers as long as the platforms allow; quarantined orders

An order whose SKU was longer than 64 characters (Shopify allows 255) could
not be stored on PostgreSQL (VARCHAR(64): StringDataRightTruncation), and
because a window is stored in one transaction, no later order of that channel
was either. Every identifier and free-text field an order, a listing or a
shipment carries is widened to what the platforms document, or to TEXT:

- SKUs (products, listings, stock, movements, reservations, order lines,
  dirty SKUs, unseen sales): 255 (Shopify 255, eBay 50, Amazon 40);
- order, line and listing ids, platform status, marketplace, tax model and
  IOSS/OSS references, carrier, service and tracking number: 255;
- tax scheme and fulfilment channel: 64;
- line titles, tracking event places, stock movement references, and the
  entity / idempotency key of outbox rows and sync events (built from the
  ids above): TEXT.

Widening a VARCHAR (or making it TEXT) rewrites nothing on PostgreSQL. SQLite
stores no length, but its declared types follow the models: the tables are
rebuilt (batch mode) with foreign keys switched off around the migration
(crossdock.db.migrate), as SQLite's own procedure for schema changes says.

The ``quarantined_orders`` table keeps the orders a window could still not
store (XD-ORD-008), so the window goes on without them.

Revision ID: 0006_poison
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0006_poison"
down_revision = "0005_restore"
branch_labels = None
depends_on = None

_ID = sa.String(length=255)
_TEXT = sa.Text()

# table -> [(column, old type, new type, nullable)]
_WIDENED: dict[str, list[tuple[str, sa.types.TypeEngine, sa.types.TypeEngine, bool]]] = {
    "products": [("sku", sa.String(length=64), _ID, False)],
    "channel_listings": [("sku", sa.String(length=64), _ID, False),
                         ("listing_id", sa.String(length=128), _ID, True)],
    "stock_levels": [("sku", sa.String(length=64), _ID, False)],
    "stock_movements": [("sku", sa.String(length=64), _ID, False),
                        ("reference", sa.String(length=200), _TEXT, True)],
    "reservations": [("sku", sa.String(length=64), _ID, False)],
    "orders": [("platform_order_id", sa.String(length=64), _ID, False),
               ("platform_status", sa.String(length=64), _ID, False),
               ("marketplace_id", sa.String(length=64), _ID, True),
               ("tax_model", sa.String(length=64), _ID, True),
               ("tax_scheme", sa.String(length=16), sa.String(length=64), True),
               ("ioss_number", sa.String(length=64), _ID, True),
               ("fulfillment_channel", sa.String(length=16), sa.String(length=64), True)],
    "order_lines": [("platform_line_id", sa.String(length=64), _ID, False),
                    ("sku", sa.String(length=64), _ID, True),
                    ("listing_id", sa.String(length=128), _ID, True),
                    ("title", sa.String(length=500), _TEXT, True),
                    ("ioss_number", sa.String(length=64), _ID, True)],
    "shipments": [("carrier", sa.String(length=64), _ID, False),
                  ("service", sa.String(length=64), _ID, True),
                  ("tracking_number", sa.String(length=64), _ID, False)],
    "tracking_events": [("location", sa.String(length=200), _TEXT, True)],
    "dirty_skus": [("sku", sa.String(length=64), _ID, False)],
    "unseen_sales": [("sku", sa.String(length=64), _ID, False)],
    "outbox": [("entity", sa.String(length=200), _TEXT, True),
               ("idempotency_key", sa.String(length=200), _TEXT, False)],
    "sync_events": [("entity", sa.String(length=200), _TEXT, True)],
}


def _alter(narrow: bool) -> None:
    for table, columns in _WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for name, old, new, nullable in columns:
                batch.alter_column(name, existing_type=new if narrow else old, type_=old if narrow else new,
                                   existing_nullable=nullable)


def upgrade() -> None:
    _alter(narrow=False)
    op.create_table(
        "quarantined_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("platform_order_id", sa.Text(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("cause_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("payload_kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("platform_updated_at", crossdock.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", crossdock.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_tried_at", crossdock.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel"], ["channels.name"], name=op.f("fk_quarantined_orders_channel_channels"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_orders")),
        sa.UniqueConstraint("channel", "platform_order_id", name=op.f("uq_quarantined_orders_channel_platform_order_id")),
    )
    with op.batch_alter_table("quarantined_orders") as batch:
        batch.create_index("ix_quarantined_orders_channel", ["channel", "first_seen_at"], unique=False)


def downgrade() -> None:
    """Narrows the columns again: fails (PostgreSQL) when a longer value is stored."""
    with op.batch_alter_table("quarantined_orders") as batch:
        batch.drop_index("ix_quarantined_orders_channel")
    op.drop_table("quarantined_orders")
    _alter(narrow=True)
