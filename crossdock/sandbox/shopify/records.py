"""The simulated shop's records: plain data shaped like Shopify's resources
(locations, inventory items and levels, products and variants, orders with
their lines, taxes, duties, fulfillment orders and fulfillments, webhook
subscriptions, inventory adjustment groups), the ids Shopify gives them and
the money and time formats they share.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

VALID_REASONS = {"correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
                 "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
                 "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
                 "shrinkage"}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


def parse_gid(value: str | None, kind: str) -> int | None:
    """``gid://shopify/Kind/123`` (or ``...?query``) -> 123; None when it is not one."""
    if not value:
        return None
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    tail = value[len(prefix):].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def ts_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Location:
    id: int
    name: str
    country: str
    city: str
    zip: str
    address1: str = "Lagerstraße 1"
    active: bool = True


@dataclass
class InventoryItem:
    id: int
    sku: str | None
    variant_id: int
    created_at: float
    updated_at: float
    tracked: bool = True
    requires_shipping: bool = True
    hs_code: str | None = None
    country_of_origin: str | None = None
    country_hs_codes: list[tuple[str, str]] = field(default_factory=list)
    cost: Decimal | None = None


@dataclass
class Level:
    id: int
    item_id: int
    location_id: int
    created_at: float
    updated_at: float
    available: int = 0
    committed: int = 0

    @property
    def on_hand(self) -> int:
        return self.available + self.committed

    def quantity(self, name: str) -> int | None:
        return {"available": self.available, "committed": self.committed, "on_hand": self.on_hand,
                "incoming": 0, "reserved": 0, "damaged": 0, "quality_control": 0,
                "safety_stock": 0}.get(name)


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str | None
    price: Decimal
    inventory_item_id: int
    created_at: float
    updated_at: float
    title: str = "Default Title"
    barcode: str | None = None
    compare_at_price: Decimal | None = None
    taxable: bool = True


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str
    created_at: float
    updated_at: float
    description_html: str = ""
    vendor: str = "crossdock"
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    variant_ids: list[int] = field(default_factory=list)


@dataclass
class TaxLineRec:
    title: str
    rate: Decimal
    amount: Decimal             # shop currency
    amount_presentment: Decimal
    channel_liable: bool = False


@dataclass
class DutyRec:
    id: int
    hs_code: str | None
    country_of_origin: str | None
    amount: Decimal
    amount_presentment: Decimal


@dataclass
class LineRec:
    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    quantity: int
    unit_price: Decimal
    unit_price_presentment: Decimal
    tax_lines: list[TaxLineRec] = field(default_factory=list)
    duties: list[DutyRec] = field(default_factory=list)
    fulfilled: int = 0
    removed: int = 0           # cancelled / refunded units

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.removed

    @property
    def unfulfilled(self) -> int:
        return max(0, self.quantity - self.removed - self.fulfilled)


@dataclass
class RefundRec:
    """One refund of an order (refundCreate): amounts in the shop's and the buyer's currency;
    ``lines``: (line id, units, subtotal in the shop's currency)."""

    id: int
    created_at: float
    note: str | None
    amount: Decimal
    amount_presentment: Decimal
    gateway: str
    lines: list[tuple[int, int, Decimal]] = field(default_factory=list)


@dataclass
class OrderRec:
    id: int
    number: int
    created_at: float
    updated_at: float
    currency: str
    presentment_currency: str
    financial: str                       # OrderDisplayFinancialStatus
    lines: list[LineRec]
    shipping_address: dict[str, Any]
    taxes_included: bool
    duties_included: bool
    shipping: Decimal
    shipping_presentment: Decimal
    email: str
    prev_updated_at: float | None = None  # what the search index still holds right after an update
    cancelled_at: float | None = None
    cancel_reason: str | None = None
    closed_at: float | None = None
    pay_at: float | None = None
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    source_name: str = "web"
    refunds: list[RefundRec] = field(default_factory=list)

    def refunded(self, presentment: bool = False) -> Decimal:
        return sum(((r.amount_presentment if presentment else r.amount) for r in self.refunds), Decimal("0"))

    @property
    def name(self) -> str:
        return f"#{self.number}"

    def touch(self, now: float) -> None:
        self.prev_updated_at = self.updated_at
        self.updated_at = now

    @property
    def fulfillment_status(self) -> str:
        live = [ln for ln in self.lines if ln.current_quantity > 0]
        if not live:
            return "FULFILLED" if any(ln.fulfilled for ln in self.lines) else "UNFULFILLED"
        shipped = sum(ln.fulfilled for ln in live)
        if shipped == 0:
            return "UNFULFILLED"
        if all(ln.unfulfilled == 0 for ln in live):
            return "FULFILLED"
        return "PARTIALLY_FULFILLED"

    # money (shop currency, then presentment)
    def subtotal(self, presentment: bool = False) -> Decimal:
        return sum(((ln.unit_price_presentment if presentment else ln.unit_price) * ln.quantity
                    for ln in self.lines), Decimal("0"))

    def total_tax(self, presentment: bool = False) -> Decimal:
        return sum(((t.amount_presentment if presentment else t.amount) for ln in self.lines for t in ln.tax_lines),
                   Decimal("0"))

    def total_duties(self, presentment: bool = False) -> Decimal:
        return sum(((d.amount_presentment if presentment else d.amount) for ln in self.lines for d in ln.duties),
                   Decimal("0"))

    def total(self, presentment: bool = False) -> Decimal:
        total = self.subtotal(presentment) + (self.shipping_presentment if presentment else self.shipping)
        if not self.taxes_included:
            total += self.total_tax(presentment)
        if self.duties_included:
            total += self.total_duties(presentment)
        return total

    def current_total(self, presentment: bool = False) -> Decimal:
        if self.cancelled_at is not None and self.financial in ("REFUNDED", "VOIDED"):
            return Decimal("0.00")
        return self.total(presentment)

    def tax_lines(self) -> list[TaxLineRec]:
        """Order-level tax lines: line tax lines summed by title."""
        out: dict[str, TaxLineRec] = {}
        for ln in self.lines:
            for t in ln.tax_lines:
                acc = out.get(t.title)
                if acc is None:
                    out[t.title] = TaxLineRec(t.title, t.rate, t.amount, t.amount_presentment, t.channel_liable)
                else:
                    acc.amount += t.amount
                    acc.amount_presentment += t.amount_presentment
        return list(out.values())


@dataclass
class FOLineRec:
    id: int
    line_id: int
    total: int
    remaining: int


@dataclass
class FulfillmentOrderRec:
    id: int
    order_id: int
    location_id: int
    status: str
    created_at: float
    updated_at: float
    lines: list[FOLineRec] = field(default_factory=list)


@dataclass
class FulfillmentRec:
    id: int
    order_id: int
    name: str
    location_id: int
    created_at: float
    updated_at: float
    tracking: list[dict[str, str | None]] = field(default_factory=list)
    status: str = "SUCCESS"
    quantities: dict[int, int] = field(default_factory=dict)   # line id -> qty


@dataclass
class WebhookSub:
    id: int
    topic: str          # enum name, e.g. ORDERS_CREATE
    uri: str
    created_at: float
    updated_at: float
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    filter: str | None = None


@dataclass
class AdjustmentGroup:
    id: int
    created_at: float
    reason: str
    reference_document_uri: str | None
    changes: list[dict[str, Any]]     # {name, delta, after, item_id, location_id}


class IdGen:
    """Per-kind increasing ids in Shopify's magnitudes."""

    BASES = {"Order": 6_100_000_000_000, "LineItem": 15_200_000_000_000, "Product": 8_300_000_000_000,
             "ProductVariant": 44_400_000_000_000, "InventoryItem": 46_500_000_000_000,
             "Location": 71_600_000_000, "FulfillmentOrder": 6_700_000_000_000,
             "FulfillmentOrderLineItem": 13_800_000_000_000, "Fulfillment": 5_900_000_000_000,
             "WebhookSubscription": 1_234_000_000_000, "InventoryAdjustmentGroup": 3_000_000_000_000,
             "InventoryLevel": 110_000_000_000, "Duty": 2_100_000_000_000, "MailingAddress": 9_800_000_000_000,
             # returns (sandbox/shopify/returns.py)
             "Return": 1_400_000_000, "ReturnLineItem": 5_600_000_000, "FulfillmentLineItem": 12_300_000_000_000,
             # refunds (sandbox/shopify/views/refunds.py)
             "Refund": 9_100_000_000_000}

    def __init__(self, offset: int) -> None:
        self._counters = {k: itertools.count(v + offset) for k, v in self.BASES.items()}

    def next(self, kind: str) -> int:
        return next(self._counters[kind])
