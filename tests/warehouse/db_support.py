"""Seeding helpers for the database-backed warehouse tests (test_db_*.py).

Builds what the order import and the catalogue would have stored: a channel,
two warehouses (CN Shenzhen, DE Leipzig) with bins, products with customs
data, stock received through the engine, and orders with an import event
carrying a correlation id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from crossdock import synclog
from crossdock.config import WarehouseConfig
from crossdock.db.models import Channel, ChannelListing, Order, OrderLine, Product
from crossdock.sync_engine.inventory import adjust_stock
from crossdock.warehouse.stock import sync_warehouses

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)

WAREHOUSES = {
    "CN": WarehouseConfig(code="CN", name="Shenzhen", country="CN",
                          bins=["A-1-1", "A-1-2", "A-2-1", "A-10-1", "B-1-1"],
                          address={"name": "crossdock CN", "line1": "8 Keji Road", "city": "Shenzhen",
                                   "postal_code": "518057"}),
    "DE": WarehouseConfig(code="DE", name="Leipzig", country="DE", bins=["R1-01", "R1-02", "R2-01"],
                          address={"name": "crossdock DE", "line1": "Lagerstrasse 4", "city": "Leipzig",
                                   "postal_code": "04109"}),
}

PRODUCTS = {
    "TEE-BLK-M": dict(title="Cotton T-shirt, black, M", hs_code="6109.10.00", country_of_origin="CN", weight_g=180),
    "MUG-WHT": dict(title="Porcelain mug, white", hs_code="6912.00.10", country_of_origin="CN", weight_g=350),
    "CAP-RED": dict(title="Baseball cap, red", hs_code=None, country_of_origin="CN", weight_g=90),
}

BUYERS = {
    "DE": {"name": "Jürgen Müller", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115",
           "country_code": "DE"},
    "FR": {"name": "Amélie Dupont", "line1": "3 rue de Rivoli", "city": "Paris", "postal_code": "75001",
           "country_code": "FR"},
    "US": {"name": "John Doe", "line1": "1 Main St", "city": "Springfield", "region": "IL",
           "postal_code": "62701", "country_code": "US"},
    "GB": {"name": "Ada Lovelace", "line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA",
           "country_code": "GB"},
}


def seed_catalogue(db, *, listed: bool = True) -> None:
    """Channel, warehouses with bins, products (and channel listings so stock
    changes reach a channel)."""
    with db.write() as s:
        s.add(Channel(name="amazon-de", platform="amazon", account="A1SELLER", marketplace="A1PA6795UKMFR9",
                      currency="EUR", country="DE"))
        for sku, data in PRODUCTS.items():
            s.add(Product(sku=sku, **data))
        s.flush()
        sync_warehouses(s, WAREHOUSES)
        if listed:
            for sku in PRODUCTS:
                s.add(ChannelListing(channel="amazon-de", sku=sku, listing_id=f"ASIN-{sku}"))


def receive(db, sku: str, warehouse: str, qty: int, *, bin_code: str | None = None) -> None:
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.stock import adjust

    with db.write() as s:
        adjust(s, sku, warehouse, qty, reason="receive", reference="seed", bin=bin_code,
               ledger=ENGINE_LEDGER)


@dataclass
class OrderSpec:
    platform_order_id: str
    buyer: str = "DE"
    lines: Sequence[tuple[str, int, str]] = (("TEE-BLK-M", 1, "20.00"),)   # (sku, qty, unit price EUR)
    status: str = "unshipped"
    tax_model: str | None = None
    ioss_number: str | None = None
    purchased_at: dt.datetime = T0
    ship_by: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def add_order(db, spec: OrderSpec, *, reserve: bool = True, cfg: Any = None) -> int:
    """Store an order as the importer would (with an ``orders.import`` event
    under a fresh correlation id) and, by default, reserve it with routing."""
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.stock import reserve_routed

    with synclog.correlation(synclog.new_correlation_id()):
        with db.write() as s:
            address = dict(BUYERS[spec.buyer])
            total = sum(Decimal(p) * q for _sku, q, p in spec.lines)
            order = Order(channel="amazon-de", platform_order_id=spec.platform_order_id, platform_status="Unshipped",
                          local_status=spec.status, marketplace_id="A1PA6795UKMFR9", purchased_at=spec.purchased_at,
                          platform_updated_at=spec.purchased_at, ship_by=spec.ship_by,
                          buyer_country=address["country_code"], currency="EUR", total_amount=total,
                          tax_model=spec.tax_model, ioss_number=spec.ioss_number, fulfillment_channel="MFN",
                          shipping_address=address, **spec.extra)
            s.add(order)
            s.flush()
            for n, (sku, qty, price) in enumerate(spec.lines, start=1):
                s.add(OrderLine(order_id=order.id, platform_line_id=f"{spec.platform_order_id}-{n}", sku=sku,
                                title=PRODUCTS.get(sku, {}).get("title"), quantity=qty, unit_price=Decimal(price),
                                currency="EUR"))
            synclog.record(s, operation="orders.import", outcome="ok", channel="amazon-de", entity_type="order",
                           entity=spec.platform_order_id)
            order_id = order.id
    if reserve:
        with db.write() as s:
            reserve_routed(s, order_id, ledger=ENGINE_LEDGER, cfg=cfg)
    return order_id


def count(db, model, *where) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


class FakeClock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


__all__ = ["BUYERS", "FakeClock", "OrderSpec", "PRODUCTS", "T0", "WAREHOUSES", "add_order", "adjust_stock",
           "count", "receive", "seed_catalogue"]
