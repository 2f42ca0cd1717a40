"""A sandbox plus a connector wired to it the way production wires a channel,
and a tiny stand-in for the sync engine's order import loop."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from crossdock.clock import ScaledClock
from crossdock.connectors.base import MemoryTokenStore, OrderQuery
from crossdock.connectors.shopify import ShopifyConnector
from crossdock.rehearsal import sandbox_settings, sandbox_token_state
from crossdock.errors import NetError, QuotaError
from crossdock.models import Order
from crossdock.sandbox.core import CatalogueItem, Sandbox

CHANNEL = "shopify:crossdock-eu"
SKUS = tuple(f"SKU-{i}" for i in range(8))
SCALE = 600.0             # 1 real second = 10 platform minutes


class ShopifyEnv:
    def __init__(self, *, budget=None, **settings_overrides) -> None:
        self.sb = Sandbox(platforms=("shopify",), time_scale=SCALE, seed=21).start()
        self.sim = self.sb.sims["shopify"]
        self.sim.configure(pending_payment_probability=0.0)    # tests that want late payments turn it on
        self.desc = self.sb.describe()
        for i, sku in enumerate(SKUS):
            self.sb.market.seed_item(CatalogueItem(sku, f"Product {sku}", Decimal("10.00") + i, "EUR", 500,
                                                   hs_code="420292", country_of_origin="IT"))
            self.sim.set_listing(CHANNEL, sku, 50)
        self.clock = ScaledClock.from_description(self.desc["clock"])
        self.settings = sandbox_settings(self.desc, "shopify", **settings_overrides)
        self.store = MemoryTokenStore([sandbox_token_state(self.desc, "shopify")])
        self.conn = ShopifyConnector(self.settings, token_store=self.store, clock=self.clock, budget=budget)

    def requests(self, **filters) -> list[dict]:
        return self.sb.requests.since(0, platform="shopify", limit=100_000, **filters)

    def wait_platform_s(self, seconds: float) -> None:
        time.sleep(self.clock.to_real_s(seconds))

    def close(self) -> None:
        self.conn.close()
        self.sb.stop()


class Importer:
    """The engine's side of order import: upsert by order id, count inserts."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.inserts: dict[str, int] = {}
        self.updates: dict[str, int] = {}      # re-read with a newer updated_at (a real change)
        self.failures: list[str] = []

    def upsert(self, order: Order) -> None:
        prev = self.orders.get(order.platform_order_id)
        if prev is None:
            self.inserts[order.platform_order_id] = self.inserts.get(order.platform_order_id, 0) + 1
        elif order.updated_at > prev.updated_at:
            self.updates[order.platform_order_id] = self.updates.get(order.platform_order_id, 0) + 1
        if prev is None or order.updated_at >= prev.updated_at:
            self.orders[order.platform_order_id] = order


def import_until(conn: ShopifyConnector, importer: Importer, *, cursor: dt.datetime, until: dt.datetime,
                 max_tries: int = 200) -> dt.datetime:
    """Windows from the cursor to ``until``; a failed window is retried and the cursor only moves on success."""
    tries = 0
    while cursor < until:
        tries += 1
        assert tries <= max_tries, f"gave up after {max_tries} tries: {importer.failures[-3:]}"
        end = min(until, conn.window_end())
        try:
            orders = conn.fetch_orders(OrderQuery(start=cursor - dt.timedelta(seconds=conn.overlap_s),
                                       end=end))
        except (NetError, QuotaError) as exc:
            importer.failures.append(exc.code)
            time.sleep(0.01)
            continue
        ids = [o.platform_order_id for o in orders]
        assert len(ids) == len(set(ids)), "an order came twice in one window"
        for o in orders:
            importer.upsert(o)
        cursor = end
    return cursor
