"""The normalised domain, stored.

Unique constraints make duplicate import impossible: an order is unique per
(channel, platform order id), a line per (order, platform line id), a listing
per (channel, sku), a reservation per order line and SKU, an outbox entry per
idempotency key. Money is Numeric + currency; times are aware UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crossdock.db.base import Base, JSONType, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Identifiers a platform gives (SKUs, order, line and listing ids, tax references,
# carriers, tracking numbers): as long as the most generous platform allows.
# Shopify takes SKUs (and tracking numbers, carrier names) of up to 255
# characters; Amazon's seller SKU is at most 40, eBay's 50. Free text (titles,
# places, references built from them) is Text. See migration 0006_poison.
PLATFORM_ID_MAX = 255
SKU_MAX = PLATFORM_ID_MAX
SkuType = String(SKU_MAX)
PlatformId = String(PLATFORM_ID_MAX)

# Partial indexes (migration 0012_console_idx): a query uses one only when its WHERE holds the
# same term, so the queries say FLAGGED_ORDERS / RECONCILE_EVENTS, literals and all (a bound
# parameter would not match the index's predicate on SQLite).
FLAGGED_SQL = "CAST(flags AS VARCHAR) != '[]'"
FLAGGED_ORDERS = text("CAST(orders.flags AS VARCHAR) != '[]'")
RECONCILE_SQL = "operation = 'reconcile'"
RECONCILE_EVENTS = text("sync_events.operation = 'reconcile'")


class Channel(Base):
    """One selling channel: a platform account on one marketplace/site/shop."""

    __tablename__ = "channels"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(128))
    marketplace: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str | None] = mapped_column(String(2))
    paused_code: Mapped[str | None] = mapped_column(String(32))   # XD-AUTH-… that paused it
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[dt.datetime | None]
    # credentials.version the pausing failure was decided on: a newer one means "try again"
    paused_credential_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Credential(Base):
    """Tokens per channel, encrypted at rest (crossdock.secrets). The row is the
    refresh lock: a refresh runs inside a transaction holding it."""

    __tablename__ = "credentials"

    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"), primary_key=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None]
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_expires_at: Mapped[dt.datetime | None]
    authorisation_expires_at: Mapped[dt.datetime | None]
    client_secret_expires_at: Mapped[dt.datetime | None]
    #: When the seller last granted these credentials (``auth connect``, or the date ``auth set`` was given).
    authorised_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Product(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(SkuType, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    images: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    weight_g: Mapped[int | None] = mapped_column(Integer)
    hs_code: Mapped[str | None] = mapped_column(String(16))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    base_price: Mapped[Decimal | None]
    base_currency: Mapped[str | None] = mapped_column(String(3))
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChannelListing(Base):
    """SKU <-> a platform listing, and what was last pushed.

    ``platform_ids`` is the listing's binding as its connector gave it (OCA's
    binder: eBay's kind, offer and item ids, Shopify's variant, product and
    inventory item gids, Amazon's ASIN …), stored and passed back untouched;
    only the connector reads inside it. ``listing_id`` is the one id a person
    reads and types (``listings list``, ``listings link --listing-id``): the
    ASIN, eBay ItemID or Shopify variant id."""

    __tablename__ = "channel_listings"
    __table_args__ = (UniqueConstraint("channel", "sku"),
                      Index("ix_channel_listings_channel_listing", "channel", "listing_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    listing_id: Mapped[str | None] = mapped_column(PlatformId)     # as people see it: ASIN, ItemID, variant id
    platform_ids: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="active")
    last_pushed_qty: Mapped[int | None] = mapped_column(Integer)
    last_pushed_price: Mapped[Decimal | None]
    last_pushed_currency: Mapped[str | None] = mapped_column(String(3))
    last_pushed_at: Mapped[dt.datetime | None]
    # when that push's calls had answered: a sale between the two may have come before it arrived
    pushed_until: Mapped[dt.datetime | None]
    listed_qty_seen: Mapped[int | None] = mapped_column(Integer)
    # the most units the channel may still sell (the oversell guard's upper bound; sync_engine/shown.py)
    exposure_qty: Mapped[int | None] = mapped_column(Integer)
    held_qty: Mapped[int | None] = mapped_column(Integer)      # units it may have sold before a push overwrote them
    held_since: Mapped[dt.datetime | None]                      # … that push (real time)
    # the platform's product data for customs (listings pull), copied to order lines that came without
    hs_code: Mapped[str | None] = mapped_column(String(16))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    listed_price_seen: Mapped[Decimal | None]
    seen_at: Mapped[dt.datetime | None]


class SkuAlias(Base):
    """A SKU a channel lists under (``listing_sku``) that stands for the
    catalogue's ``sku``: on ``channel`` only, or on every channel (``''``)."""

    __tablename__ = "sku_aliases"
    __table_args__ = (UniqueConstraint("channel", "listing_sku"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64), default="")
    listing_sku: Mapped[str] = mapped_column(SkuType)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BundleComponent(Base):
    """One component of a bundle (kit): ``quantity`` units of ``component`` per bundle."""

    __tablename__ = "bundle_components"
    __table_args__ = (CheckConstraint("quantity > 0", name="bundle_quantity_positive"),
                      Index("ix_bundle_components_component", "component"))

    bundle: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), primary_key=True)
    component: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class Warehouse(Base):
    __tablename__ = "warehouses"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Bin(Base):
    __tablename__ = "bins"
    __table_args__ = (UniqueConstraint("warehouse", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))


class StockLevel(Base):
    """On hand and reserved per SKU and warehouse. ``reserved <= on_hand`` is
    checked by the database, so no code path can reserve stock that is gone."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("sku", "warehouse"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    bin: Mapped[str | None] = mapped_column(String(32))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockMovement(Base):
    """Audit trail of every on-hand change, with a reason."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_sku_at", "sku", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "platform_order_id"),
        Index("ix_orders_local_status", "local_status"),
        # the console's order search (crossdock/console/orders.py): by id alone, newest first
        Index("ix_orders_platform_order_id", "platform_order_id"),
        Index("ix_orders_purchased_at", "purchased_at"),
        # the few orders carrying a code (stuck, flagged, oversold: sync status, the console's
        # overview, /metrics), found without reading every order; queries say FLAGGED_ORDERS
        Index("ix_orders_flagged", "channel", postgresql_where=text(FLAGGED_SQL), sqlite_where=text(FLAGGED_SQL)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name"))
    platform_order_id: Mapped[str] = mapped_column(PlatformId)
    platform_status: Mapped[str] = mapped_column(PlatformId)
    local_status: Mapped[str] = mapped_column(String(32))
    marketplace_id: Mapped[str | None] = mapped_column(PlatformId)
    purchased_at: Mapped[dt.datetime]
    platform_updated_at: Mapped[dt.datetime]
    ship_by: Mapped[dt.datetime | None]
    buyer_country: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str | None] = mapped_column(String(3))
    total_amount: Mapped[Decimal | None]
    tax_model: Mapped[str | None] = mapped_column(PlatformId)
    tax_scheme: Mapped[str | None] = mapped_column(String(64))
    ioss_number: Mapped[str | None] = mapped_column(PlatformId)
    fulfillment_channel: Mapped[str | None] = mapped_column(String(64))
    warehouse: Mapped[str | None] = mapped_column(ForeignKey("warehouses.code"))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    flags: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # XD codes raised on this order
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # amounts in ``currency`` (the shop's), and the buyer's presentment currency beside them
    tax_amount: Mapped[Decimal | None]
    shipping_amount: Mapped[Decimal | None]
    shipping_tax_amount: Mapped[Decimal | None]
    presentment_currency: Mapped[str | None] = mapped_column(String(3))
    presentment_total: Mapped[Decimal | None]
    presentment_tax: Mapped[Decimal | None]
    presentment_shipping: Mapped[Decimal | None]
    # refunds that did not fail, in ``currency`` (crossdock.sync_engine.refunds keeps it; net = total - this)
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                  order_by="OrderLine.id")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "platform_line_id"),
                      Index("ix_order_lines_sku", "sku"))       # the console's search by SKU

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    platform_line_id: Mapped[str] = mapped_column(PlatformId)
    sku: Mapped[str | None] = mapped_column(SkuType)
    listing_id: Mapped[str | None] = mapped_column(PlatformId)
    title: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_shipped: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    tax_amount: Mapped[Decimal | None]
    ioss_number: Mapped[str | None] = mapped_column(PlatformId)
    shipping_amount: Mapped[Decimal | None]
    shipping_tax_amount: Mapped[Decimal | None]
    presentment_unit_price: Mapped[Decimal | None]             # in the order's presentment currency
    hs_code: Mapped[str | None] = mapped_column(String(16))    # the platform's; the catalogue's is products.hs_code
    country_of_origin: Mapped[str | None] = mapped_column(String(2))

    order: Mapped[Order] = relationship(back_populates="lines")


class Reservation(Base):
    """Stock held for one order line until it ships (consumed) or is cancelled (released):
    one per line, or one per component for a line of a bundle (migration 0017_bundles)."""

    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("order_line_id", "sku"),
        Index("ix_reservations_sku_status", "sku", "status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | released | consumed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier", "tracking_number"),
        Index("ix_shipments_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    warehouse: Mapped[str | None] = mapped_column(ForeignKey("warehouses.code"))
    carrier: Mapped[str] = mapped_column(PlatformId)
    service: Mapped[str | None] = mapped_column(PlatformId)
    tracking_number: Mapped[str] = mapped_column(PlatformId)
    status: Mapped[str] = mapped_column(String(32), default="label_created")
    cost_amount: Mapped[Decimal | None]
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    label_paths: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    customs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cross_border: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]           # shipment confirmation accepted by the channel
    last_event_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "occurred_at", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    occurred_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncCursor(Base):
    """Where an incremental import stands. Only ever moves forward."""

    __tablename__ = "sync_cursors"

    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)     # orders, tracking, …
    position: Mapped[dt.datetime]
    last_success_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxEntry(Base):
    """Durable work. Written in the same transaction as the business change;
    broker messages only wake workers up, so losing one loses nothing."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbox_status_available", "status", "available_at"),
        Index("ix_outbox_channel_kind", "channel", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))         # push_stock, push_price, confirm_shipment, …
    channel: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    idempotency_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done | failed
    priority: Mapped[int] = mapped_column(Integer, default=5)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None]
    last_code: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[dt.datetime | None]


class Schedule(Base):
    """A recurring job. Claimed with compare-and-set on ``version`` so several
    schedulers never fire the same run twice."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(64))
    interval_s: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[dt.datetime]
    last_run_at: Mapped[dt.datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class SyncEvent(Base):
    """The sync log: one row per action (fetch, push, retry, skip, failure)."""

    __tablename__ = "sync_events"
    __table_args__ = (
        Index("ix_sync_events_at", "at"),
        Index("ix_sync_events_entity", "entity", "at"),
        Index("ix_sync_events_channel_at", "channel", "at"),
        Index("ix_sync_events_code", "code"),
        Index("ix_sync_events_correlation", "correlation_id"),
        # the last reconcile runs and their drift per channel (crossdock/sync_engine/drift.py), found
        # without reading the channel's whole log; only reconcile rows are in it
        Index("ix_sync_events_reconcile", "channel", "id", postgresql_where=text(RECONCILE_SQL),
              sqlite_where=text(RECONCILE_SQL)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    entity_type: Mapped[str | None] = mapped_column(String(32))   # order, sku, shipment, job, channel
    entity: Mapped[str | None] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))              # ok, failed, retry, skipped, partial
    code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class QuarantinedOrder(Base):
    """An order of an import window that could not be stored (its mapping
    failed, or the database refused it): kept as the platform sent it, with
    why, so the window goes on without it (``crossdock orders quarantine``,
    ``crossdock orders retry-quarantined``). ``payload`` is JSON text, not a
    JSON column: a payload PostgreSQL's JSONB refuses (a NUL character) is
    kept too. ``payload_kind`` says what it holds: ``platform`` (the platform's
    own payload, re-read by its connector) or ``normalised`` (crossdock's
    order, when the connector kept no payload). One row per (channel, platform
    order id): a later failure of the same order updates it."""

    __tablename__ = "quarantined_orders"
    __table_args__ = (UniqueConstraint("channel", "platform_order_id"),
                      Index("ix_quarantined_orders_channel", "channel", "first_seen_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name", ondelete="CASCADE"))
    platform_order_id: Mapped[str | None] = mapped_column(Text)      # None: the payload named none
    code: Mapped[str] = mapped_column(String(32))                    # XD-ORD-008
    cause_code: Mapped[str | None] = mapped_column(String(32))       # the error's own code, when it had one
    error: Mapped[str] = mapped_column(Text)
    payload_kind: Mapped[str] = mapped_column(String(16))            # platform | normalised
    payload: Mapped[str] = mapped_column(Text)
    platform_updated_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_tried_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# its own module (models.py is full); imported here so the metadata always holds it
from crossdock.db import models_stock  # noqa: E402

PlatformStockRow = models_stock.PlatformStockRow

# returns (RMAs, issue 18): their own module too
from crossdock.db import models_returns  # noqa: E402

ReturnRow = models_returns.ReturnRow
ReturnLineRow = models_returns.ReturnLineRow

# refunds (issue 18): their own module too
from crossdock.db import models_refunds  # noqa: E402

RefundRow = models_refunds.RefundRow
