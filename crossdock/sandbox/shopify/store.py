"""The simulated shop: products, variants, inventory, orders, fulfillment.

Plain data and the domain operations Shopify performs on it (place an order,
commit and restock inventory, fulfill, cancel, set quantities). Callers hold
the sim's lock. Money is Decimal in the shop currency plus the buyer's
presentment currency (Shopify Markets); times are sandbox POSIX timestamps.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

CENT = Decimal("0.01")

# Sandbox FX (units per 1 EUR). Only used to show buyers local prices.
FX_PER_EUR: dict[str, Decimal] = {
    "EUR": Decimal("1"), "USD": Decimal("1.08"), "GBP": Decimal("0.85"), "CHF": Decimal("0.95"),
    "SEK": Decimal("11.20"), "DKK": Decimal("7.46"), "NOK": Decimal("11.50"), "PLN": Decimal("4.30"),
    "CZK": Decimal("25.00"), "HUF": Decimal("395.00"), "CAD": Decimal("1.47"), "AUD": Decimal("1.64"),
    "JPY": Decimal("165.00"),
}

EUROZONE = {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
            "NL", "PT", "SI", "SK"}
EU = EUROZONE | {"BG", "CZ", "DK", "HU", "PL", "RO", "SE"}
COUNTRY_CURRENCY = {"GB": "GBP", "CH": "CHF", "LI": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK", "PL": "PLN",
                    "CZ": "CZK", "HU": "HUF", "US": "USD", "CA": "CAD", "AU": "AUD", "JP": "JPY"}

# Standard VAT rates, destination principle (EU OSS) and UK VAT (<= GBP 135).
VAT_RATE: dict[str, Decimal] = {k: Decimal(v) for k, v in {
    "AT": "0.20", "BE": "0.21", "BG": "0.20", "CY": "0.19", "CZ": "0.21", "DE": "0.19", "DK": "0.25",
    "EE": "0.22", "ES": "0.21", "FI": "0.255", "FR": "0.20", "GR": "0.24", "HR": "0.25", "HU": "0.27",
    "IE": "0.23", "IT": "0.22", "LT": "0.21", "LU": "0.17", "LV": "0.21", "MT": "0.18", "NL": "0.21",
    "PL": "0.23", "PT": "0.23", "RO": "0.19", "SE": "0.25", "SI": "0.22", "SK": "0.23", "GB": "0.20",
}.items()}
VAT_TITLE = {"DE": "DE MwSt.", "AT": "AT USt.", "FR": "FR TVA", "BE": "BE TVA", "IT": "IT IVA", "ES": "ES IVA",
             "NL": "NL btw", "PL": "PL VAT", "GB": "GB VAT"}
# Buyers' countries where the shop collects duties at checkout (DDP through Markets).
DDP_COUNTRIES = {"CH", "NO", "US", "CA", "AU"}
DUTY_RATE = Decimal("0.05")

ADDRESSES: dict[str, tuple[str, str, str | None]] = {   # city, zip, province code
    "DE": ("Berlin", "10115", "BE"), "FR": ("Paris", "75001", None), "IT": ("Milano", "20121", "MI"),
    "ES": ("Madrid", "28001", "M"), "NL": ("Amsterdam", "1012 JS", None), "AT": ("Wien", "1010", None),
    "BE": ("Bruxelles", "1000", None), "IE": ("Dublin", "D01 F5P2", "D"), "PL": ("Warszawa", "00-001", None),
    "SE": ("Stockholm", "111 22", None), "DK": ("København", "1050", None), "GB": ("London", "SW1A 1AA", None),
    "CH": ("Zürich", "8001", "ZH"), "NO": ("Oslo", "0150", None), "US": ("New York", "10001", "NY"),
    "CA": ("Toronto", "M5H 2N2", "ON"), "AU": ("Sydney", "2000", "NSW"), "CZ": ("Praha", "110 00", None),
}
COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain", "NL": "Netherlands",
                 "AT": "Austria", "BE": "Belgium", "IE": "Ireland", "PL": "Poland", "SE": "Sweden",
                 "DK": "Denmark", "GB": "United Kingdom", "CH": "Switzerland", "NO": "Norway",
                 "US": "United States", "CA": "Canada", "AU": "Australia", "CZ": "Czechia"}
FIRST_NAMES = ("Anna", "Jonas", "Marie", "Luca", "Sofia", "Liam", "Emma", "Noah", "Lea", "Hugo", "Elin", "Oskar")
LAST_NAMES = ("Müller", "Martin", "Rossi", "García", "de Vries", "Nowak", "Andersson", "Smith", "Meier", "Dubois")

VALID_REASONS = {"correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
                 "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
                 "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
                 "shrinkage"}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def convert(amount: Decimal, src: str, dst: str) -> Decimal:
    if src == dst:
        return amount
    eur = amount / FX_PER_EUR.get(src, Decimal("1"))
    return money(eur * FX_PER_EUR.get(dst, Decimal("1")))


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


# --- records -------------------------------------------------------------------

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
             "InventoryLevel": 110_000_000_000, "Duty": 2_100_000_000_000, "MailingAddress": 9_800_000_000_000}

    def __init__(self, offset: int) -> None:
        self._counters = {k: itertools.count(v + offset) for k, v in self.BASES.items()}

    def next(self, kind: str) -> int:
        return next(self._counters[kind])


# --- the shop -----------------------------------------------------------------

Emit = Callable[[str, str, Any], None]   # (shop, topic, payload object)


class Shop:
    """One shop's data and the operations Shopify performs on it."""

    def __init__(self, *, name: str, currency: str, country: str, timezone: str, ids: IdGen,
                 rng: random.Random, now: float) -> None:
        self.name = name
        self.domain = f"{name}.myshopify.com"
        self.numeric_id = 60_000_000_000 + zlib.crc32(name.encode()) % 10**9
        self.currency = currency
        self.country = country
        self.timezone = timezone
        self.ids = ids
        self.rng = rng
        self.created_at = now
        city, zip_code, _ = ADDRESSES.get(country, ("Berlin", "10115", None))
        loc = Location(ids.next("Location"), "Main warehouse", country, city, zip_code)
        self.locations: dict[int, Location] = {loc.id: loc}
        self.primary_location_id = loc.id
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, InventoryItem] = {}
        self.levels: dict[tuple[int, int], Level] = {}
        self.orders: dict[int, OrderRec] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrderRec] = {}
        self.fulfillments: dict[int, FulfillmentRec] = {}
        self.subscriptions: dict[int, WebhookSub] = {}
        self.adjustments: dict[int, AdjustmentGroup] = {}
        self.next_order_number = 1001
        self.idempotency: dict[str, tuple[str, Any]] = {}     # key -> (fingerprint, result)

    # --- lookups ---------------------------------------------------------
    def variant_by_sku(self, sku: str) -> Variant | None:
        for v in self.variants.values():
            if v.sku == sku:
                return v
        return None

    def level(self, item_id: int, location_id: int | None = None) -> Level | None:
        return self.levels.get((item_id, location_id or self.primary_location_id))

    def product_active(self, variant: Variant) -> bool:
        p = self.products.get(variant.product_id)
        return p is not None and p.status == "ACTIVE"

    def listed(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.variants.values():
            if not v.sku or not self.product_active(v):
                continue
            item = self.items[v.inventory_item_id]
            lvl = self.level(item.id)
            if item.tracked and lvl is not None:
                out[v.sku] = max(0, lvl.available)
        return out

    # --- catalogue -------------------------------------------------------
    def create_product(self, *, title: str, now: float, status: str = "ACTIVE", handle: str | None = None,
                       description_html: str = "", vendor: str = "crossdock", product_type: str = "",
                       tags: list[str] | None = None, price: Decimal = Decimal("0.00"),
                       sku: str | None = None) -> Product:
        """A product with its default variant, inventory item and a level at the primary location."""
        pid = self.ids.next("Product")
        base = handle or _handle(title)
        taken = {p.handle for p in self.products.values()}
        h, n = base, 1
        while h in taken:
            n += 1
            h = f"{base}-{n}"
        product = Product(pid, title, h, status, now, now, description_html, vendor, product_type, list(tags or []))
        vid, iid = self.ids.next("ProductVariant"), self.ids.next("InventoryItem")
        self.variants[vid] = Variant(vid, pid, sku, money(price), iid, now, now)
        self.items[iid] = InventoryItem(iid, sku, vid, now, now)
        self.levels[(iid, self.primary_location_id)] = Level(self.ids.next("InventoryLevel"), iid,
                                                             self.primary_location_id, now, now)
        product.variant_ids.append(vid)
        self.products[pid] = product
        return product

    # --- inventory -------------------------------------------------------
    def set_available(self, item_id: int, location_id: int, qty: int, now: float) -> tuple[int, int]:
        """Returns (delta, after)."""
        lvl = self.levels[(item_id, location_id)]
        delta = qty - lvl.available
        lvl.available = qty
        if delta:
            lvl.updated_at = now
            self.items[item_id].updated_at = now
        return delta, lvl.available

    def set_on_hand(self, item_id: int, location_id: int, qty: int, now: float) -> tuple[int, int]:
        lvl = self.levels[(item_id, location_id)]
        delta = qty - lvl.on_hand
        lvl.available += delta
        if delta:
            lvl.updated_at = now
            self.items[item_id].updated_at = now
        return delta, lvl.on_hand

    # --- orders ----------------------------------------------------------
    def place_order(self, items: list[tuple[str, int]], *, buyer_country: str, now: float,
                    pending_probability: float) -> OrderRec | None:
        country = (buyer_country or self.country).upper()
        presentment = COUNTRY_CURRENCY.get(country) or ("EUR" if country in EUROZONE else self.currency)
        rate = VAT_RATE.get(country) if (country in EU or country == "GB") else None
        duties_included = country in DDP_COUNTRIES
        lines: list[LineRec] = []
        for sku, qty in items:
            v = self.variant_by_sku(sku)
            if v is None or qty <= 0:
                continue
            unit_p = convert(v.price, self.currency, presentment)
            line = LineRec(self.ids.next("LineItem"), v.id, v.product_id, v.sku,
                           self.products[v.product_id].title, qty, v.price, unit_p)
            if rate is not None:
                gross, gross_p = v.price * qty, unit_p * qty
                line.tax_lines.append(TaxLineRec(
                    VAT_TITLE.get(country, f"{country} VAT"), rate,
                    money(gross - gross / (1 + rate)), money(gross_p - gross_p / (1 + rate))))
            item = self.items[v.inventory_item_id]
            if duties_included and item.hs_code:
                line.duties.append(DutyRec(self.ids.next("Duty"), item.hs_code, item.country_of_origin,
                                           money(v.price * qty * DUTY_RATE), money(unit_p * qty * DUTY_RATE)))
            lines.append(line)
        if not lines:
            return None
        domestic = country == self.country
        shipping = Decimal("4.90") if domestic else Decimal("9.90")
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        city, zip_code, province = ADDRESSES.get(country, ("Capital", "00000", None))
        address = {"first_name": first, "last_name": last, "name": f"{first} {last}",
                   "address1": f"{self.rng.randint(1, 199)} Main Street", "address2": None, "city": city,
                   "zip": zip_code, "province": None, "province_code": province, "country": COUNTRY_NAMES.get(
                       country, country), "country_code": country, "phone": None, "company": None,
                   "id": self.ids.next("MailingAddress")}
        pending = self.rng.random() < pending_probability
        order = OrderRec(
            id=self.ids.next("Order"), number=self.next_order_number, created_at=now, updated_at=now,
            currency=self.currency, presentment_currency=presentment,
            financial="PENDING" if pending else "PAID", lines=lines, shipping_address=address,
            taxes_included=rate is not None, duties_included=duties_included, shipping=shipping,
            shipping_presentment=convert(shipping, self.currency, presentment),
            email=f"{first.lower()}.{self.rng.randint(100, 999)}@example.com",
            pay_at=(now + self.rng.uniform(300, 1800)) if pending else None)
        self.next_order_number += 1
        for line in lines:   # Shopify commits inventory when the order is placed
            v = self.variants[line.variant_id]
            lvl = self.level(v.inventory_item_id)
            if lvl is not None and self.items[v.inventory_item_id].tracked:
                lvl.available -= line.quantity
                lvl.committed += line.quantity
                lvl.updated_at = now
        fo = FulfillmentOrderRec(self.ids.next("FulfillmentOrder"), order.id, self.primary_location_id, "OPEN",
                                 now, now)
        fo.lines = [FOLineRec(self.ids.next("FulfillmentOrderLineItem"), ln.id, ln.quantity, ln.quantity)
                    for ln in lines]
        self.fulfillment_orders[fo.id] = fo
        order.fulfillment_order_ids.append(fo.id)
        self.orders[order.id] = order
        return order

    def mark_paid(self, order: OrderRec, now: float) -> None:
        order.financial = "PAID"
        order.pay_at = None
        order.touch(now)

    def cancel(self, order: OrderRec, now: float, reason: str = "CUSTOMER") -> list[tuple[LineRec, int]]:
        """Cancel with restock of what was not shipped; returns (line, restocked qty)."""
        restocked: list[tuple[LineRec, int]] = []
        for line in order.lines:
            qty = line.unfulfilled
            if qty <= 0:
                continue
            line.removed += qty
            v = self.variants.get(line.variant_id or -1)
            if v is not None:
                lvl = self.level(v.inventory_item_id)
                if lvl is not None and self.items[v.inventory_item_id].tracked:
                    lvl.committed -= qty
                    lvl.available += qty
                    lvl.updated_at = now
            restocked.append((line, qty))
        for fo_id in order.fulfillment_order_ids:
            fo = self.fulfillment_orders[fo_id]
            if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
                fo.status = "CLOSED"
                for fl in fo.lines:
                    fl.remaining = 0
                fo.updated_at = now
        order.cancelled_at = now
        order.cancel_reason = reason
        order.closed_at = now
        order.financial = "REFUNDED" if order.financial in ("PAID", "PARTIALLY_PAID") else "VOIDED"
        order.pay_at = None
        order.touch(now)
        return restocked

    def fulfill(self, order: OrderRec, fo_quantities: list[tuple[FulfillmentOrderRec, list[tuple[FOLineRec, int]]]],
                tracking: list[dict[str, str | None]], now: float) -> FulfillmentRec:
        location_id = fo_quantities[0][0].location_id
        fid = self.ids.next("Fulfillment")
        rec = FulfillmentRec(fid, order.id, f"{order.name}.{len(order.fulfillment_ids) + 1}", location_id, now, now,
                             tracking)
        lines = {ln.id: ln for ln in order.lines}
        for fo, pairs in fo_quantities:
            for fl, qty in pairs:
                fl.remaining -= qty
                line = lines[fl.line_id]
                line.fulfilled += qty
                rec.quantities[line.id] = rec.quantities.get(line.id, 0) + qty
                v = self.variants.get(line.variant_id or -1)
                if v is not None:
                    lvl = self.levels.get((v.inventory_item_id, fo.location_id))
                    if lvl is not None and self.items[v.inventory_item_id].tracked:
                        lvl.committed -= qty     # shipped: leaves on_hand
                        lvl.updated_at = now
            fo.status = "CLOSED" if all(fl.remaining == 0 for fl in fo.lines) else "IN_PROGRESS"
            fo.updated_at = now
        self.fulfillments[fid] = rec
        order.fulfillment_ids.append(fid)
        if order.fulfillment_status == "FULFILLED" and order.financial == "PAID":
            order.closed_at = now
        order.touch(now)
        return rec


def _handle(title: str) -> str:
    out = []
    for ch in title.lower():
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-") or "product"


def ts_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
