"""The live marketplace across platforms: the seller's catalogue and physical
stock (seeded), units sold and cancelled per channel, and every change of a
listed quantity, from which overselling is counted."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from decimal import Decimal

from crossdock.clock import ScaledClock

__all__ = ["CatalogueItem", "Market"]


@dataclass
class CatalogueItem:
    sku: str
    title: str
    price: Decimal
    currency: str
    physical_stock: int
    hs_code: str | None = None
    country_of_origin: str | None = None
    weight_g: int | None = None


class Market:
    """What the sandbox knows across platforms: the seller's catalogue and
    physical stock (seeded), units sold per SKU per channel, and when each
    listed quantity changed. ``oversold`` is computed from this record alone."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.catalogue: dict[str, CatalogueItem] = {}
        self.sold: dict[tuple[str, str], int] = collections.Counter()        # (channel, sku) -> units
        self.cancelled: dict[tuple[str, str], int] = collections.Counter()
        self.listed_history: dict[tuple[str, str], list[tuple[float, int]]] = collections.defaultdict(list)
        self.sales: list[dict] = []   # every sale: {channel, sku, qty, at, order_id}
        self.cancels: list[dict] = []  # every cancellation: {channel, sku, qty, at, order_id}
        # HTTP requests that set listed quantities, per channel: every request of the flow counts
        # (a feed: document, upload, feed, status polls, report), whoever sent it
        self.stock_requests: dict[str, int] = collections.Counter()

    def seed_item(self, item: CatalogueItem) -> None:
        with self.lock:
            self.catalogue[item.sku] = item

    def record_listed(self, channel: str, sku: str, qty: int) -> None:
        with self.lock:
            hist = self.listed_history[(channel, sku)]
            if not hist or hist[-1][1] != qty:
                hist.append((self.clock.timestamp(), qty))

    def record_stock_request(self, channel: str, requests: int = 1) -> None:
        with self.lock:
            self.stock_requests[channel] += requests

    def record_sale(self, channel: str, sku: str, qty: int, order_id: str) -> None:
        with self.lock:
            self.sold[(channel, sku)] += qty
            self.sales.append({"channel": channel, "sku": sku, "qty": qty,
                               "at": self.clock.timestamp(), "order_id": order_id})

    def record_cancel(self, channel: str, sku: str, qty: int, order_id: str | None = None) -> None:
        with self.lock:
            self.cancelled[(channel, sku)] += qty
            self.cancels.append({"channel": channel, "sku": sku, "qty": qty, "at": self.clock.timestamp(),
                                 "order_id": order_id})

    def net_sold(self, sku: str) -> int:
        with self.lock:
            return sum(v for (c, s), v in self.sold.items() if s == sku) - \
                sum(v for (c, s), v in self.cancelled.items() if s == sku)

    def oversold_units(self) -> int:
        with self.lock:
            return sum(max(0, self.net_sold(sku) - item.physical_stock) for sku, item in self.catalogue.items())

    def summary(self) -> dict:
        with self.lock:
            per_sku: dict[str, dict] = {}
            for sku, item in self.catalogue.items():
                per_sku[sku] = {"physical_stock": item.physical_stock, "net_sold": self.net_sold(sku),
                                "channels": {}}
            for (channel, sku), units in self.sold.items():
                per_sku.setdefault(sku, {"physical_stock": None, "net_sold": None, "channels": {}})
                per_sku[sku]["channels"].setdefault(channel, {})["units_sold"] = units
            for (channel, sku), hist in self.listed_history.items():
                per_sku.setdefault(sku, {"physical_stock": None, "net_sold": None, "channels": {}})
                ch = per_sku[sku]["channels"].setdefault(channel, {})
                ch["listed_quantity"] = hist[-1][1]
                ch["listed_changes"] = len(hist)
            return {"units_sold": sum(self.sold.values()), "units_cancelled": sum(self.cancelled.values()),
                    "oversold_units": self.oversold_units(), "skus": per_sku}
