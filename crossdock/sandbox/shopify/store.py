"""The simulated shop: its records and the operations Shopify performs on them
(place an order, commit and restock inventory, fulfill, cancel, set
quantities). Callers hold the sim's lock. Money is Decimal in the shop
currency plus the buyer's presentment currency (Shopify Markets); times are
sandbox POSIX timestamps. The records are in :mod:`.records`, buyers'
countries, taxes and duties in :mod:`.markets`.
"""

from __future__ import annotations

import random
import zlib
from decimal import Decimal
from typing import Any

from crossdock.sandbox.shopify.markets import (
    ADDRESSES,
    COUNTRY_CURRENCY,
    COUNTRY_NAMES,
    DDP_COUNTRIES,
    DUTY_RATE,
    EU,
    EUROZONE,
    FIRST_NAMES,
    LAST_NAMES,
    VAT_RATE,
    VAT_TITLE,
    convert,
)
from crossdock.sandbox.shopify.records import (
    AdjustmentGroup,
    DutyRec,
    FOLineRec,
    FulfillmentOrderRec,
    FulfillmentRec,
    IdGen,
    InventoryItem,
    Level,
    LineRec,
    Location,
    OrderRec,
    RefundRec,
    Product,
    TaxLineRec,
    Variant,
    WebhookSub,
    money,
)

__all__ = ["Shop"]


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
        sold: list[tuple[Variant, int]] = []
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
            sold.append((v, qty))
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
        for v, qty in sold:   # Shopify commits inventory when the order is placed
            lvl = self.level(v.inventory_item_id)
            if lvl is not None and self.items[v.inventory_item_id].tracked:
                lvl.available -= qty
                lvl.committed += qty
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
        paid = order.financial in ("PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED")
        left, left_p = order.total() - order.refunded(), order.total(True) - order.refunded(True)
        if paid and left > 0:       # the cancellation refunds what was paid and not refunded yet
            order.refunds.append(RefundRec(self.ids.next("Refund"), now, "order cancelled", left, left_p, "bogus"))
        order.financial = "REFUNDED" if paid else "VOIDED"
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
