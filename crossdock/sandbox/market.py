"""The live marketplace across platforms: the seller's catalogue and physical
stock (seeded), units sold and cancelled per channel, and every change of a
listed quantity, from which overselling is counted.

The seller's bundles and SKU aliases are part of what the sandbox is told
(:meth:`Market.seed_item` with ``components``, :meth:`Market.alias`), as a
seller's catalogue tells a marketplace: a bundle has no physical stock, a
unit of it sold consumes its components' units, and a sale or listed
quantity under an alias is recorded under the catalogue SKU it stands for,
so every figure counts physical units."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from collections.abc import Mapping
from decimal import Decimal

from crossdock.clock import ScaledClock

__all__ = ["CatalogueItem", "Market", "StockLeft"]


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
    components: Mapping[str, int] | None = None      # a bundle: component SKU → units per bundle


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
        self.sales: list[dict] = []   # every sale: {channel, sku, qty, at, order_id[, listed_as: the alias]}
        self.cancels: list[dict] = []  # every cancellation: {channel, sku, qty, at, order_id}
        # and every return put back on the shelf, as stock coming back like a cancel's:
        # {channel, sku, qty, at, order_id, returned: True}
        self.returned: collections.Counter = collections.Counter()   # (channel, sku) -> units back
        # HTTP requests that set listed quantities, per channel: every request of the flow counts
        # (a feed: document, upload, feed, status polls, report), whoever sent it
        self.stock_requests: dict[str, int] = collections.Counter()
        self.aliases: dict[tuple[str, str], str] = {}   # (channel, listing SKU) -> catalogue SKU

    def seed_item(self, item: CatalogueItem) -> None:
        with self.lock:
            self.catalogue[item.sku] = item

    def alias(self, channel: str, listing_sku: str, sku: str) -> None:
        """``channel`` lists ``sku`` under ``listing_sku``: what is sold and listed
        under it is recorded under ``sku``."""
        with self.lock:
            self.aliases[(channel, listing_sku)] = sku

    def listing_sku(self, channel: str, sku: str) -> str:
        """The SKU ``channel`` lists catalogue SKU ``sku`` under."""
        with self.lock:
            return next((listing for (ch, listing), s in self.aliases.items() if ch == channel and s == sku), sku)

    def _named(self, channel: str, sku: str) -> str:
        return self.aliases.get((channel, sku), sku) if self.aliases else sku

    def units(self, sku: str) -> dict[str, int]:
        """The physical units one unit of ``sku`` consumes: its components' for a bundle."""
        with self.lock:
            item = self.catalogue.get(sku)
            return dict(item.components) if item is not None and item.components else {sku: 1}

    def stock_left(self) -> "StockLeft":
        """A running count of physical units left, from the seeded stock."""
        with self.lock:
            return StockLeft(self.catalogue)

    def record_listed(self, channel: str, sku: str, qty: int) -> None:
        with self.lock:
            sku = self._named(channel, sku)
            hist = self.listed_history[(channel, sku)]
            if not hist or hist[-1][1] != qty:
                hist.append((self.clock.timestamp(), qty))

    def record_stock_request(self, channel: str, requests: int = 1) -> None:
        with self.lock:
            self.stock_requests[channel] += requests

    def record_sale(self, channel: str, sku: str, qty: int, order_id: str) -> None:
        with self.lock:
            named = self._named(channel, sku)
            self.sold[(channel, named)] += qty
            self.sales.append({"channel": channel, "sku": named, "qty": qty, "at": self.clock.timestamp(),
                               "order_id": order_id, **({"listed_as": sku} if named != sku else {})})

    def record_cancel(self, channel: str, sku: str, qty: int, order_id: str | None = None) -> None:
        with self.lock:
            sku = self._named(channel, sku)
            self.cancelled[(channel, sku)] += qty
            self.cancels.append({"channel": channel, "sku": sku, "qty": qty, "at": self.clock.timestamp(),
                                 "order_id": order_id})

    def record_return(self, channel: str, sku: str, qty: int, order_id: str) -> None:
        """A buyer's units back on the seller's shelf (a return received to stock):
        stock comes back as with a cancel, the sale itself stands."""
        with self.lock:
            sku = self._named(channel, sku)
            self.returned[(channel, sku)] += qty
            self.cancels.append({"channel": channel, "sku": sku, "qty": qty, "at": self.clock.timestamp(),
                                 "order_id": order_id, "returned": True})

    def net_sold(self, sku: str) -> int:
        with self.lock:
            return self._net().get(sku, 0)

    def _net(self) -> dict[str, int]:
        net: dict[str, int] = collections.Counter()
        for (_, sku), units in self.sold.items():
            net[sku] += units
        for (_, sku), units in self.cancelled.items():
            net[sku] -= units
        for (_, sku), units in self.returned.items():
            net[sku] -= units
        return net

    def consumed(self) -> dict[str, int]:
        """SKU → physical units of it gone, net of cancellations: sold as itself
        and inside every bundle containing it (bundles themselves have none)."""
        with self.lock:
            out: dict[str, int] = collections.Counter()
            for sku, n in self._net().items():
                item = self.catalogue.get(sku)
                for c, q in (item.components.items() if item is not None and item.components else ((sku, 1),)):
                    out[c] += q * n
            return out

    def oversold_units(self) -> int:
        """Physical units sold that were not there: per SKU with stock, what its
        own sales and its bundles' sales consumed beyond its stock."""
        with self.lock:
            used = self.consumed()
            return sum(max(0, used.get(sku, 0) - item.physical_stock) for sku, item in self.catalogue.items()
                       if not item.components)

    def bundle_units_sold(self) -> int:
        """Units of bundles sold, net of cancellations."""
        with self.lock:
            net = self._net()
            return sum(net.get(sku, 0) for sku, item in self.catalogue.items() if item.components)

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
                    "units_returned_to_stock": sum(self.returned.values()),
                    "oversold_units": self.oversold_units(), "bundle_units_sold": self.bundle_units_sold(),
                    "skus": per_sku}


class StockLeft:
    """Physical units left per SKU as sales and cancellations are applied in
    order, bundle-aware: :meth:`left` of a bundle is what its components make
    (⌊left / units per bundle⌋, the least), and :meth:`move` names every SKU
    whose ``left`` it changed (the SKU, its components, the bundles sharing them)."""

    def __init__(self, catalogue: Mapping[str, CatalogueItem]) -> None:
        self.recipes: dict[str, dict[str, int]] = {}
        self.physical: dict[str, int] = {}
        for sku, item in catalogue.items():
            components = getattr(item, "components", None)
            if components:
                self.recipes[sku] = dict(components)
            else:
                self.physical[sku] = item.physical_stock
        self.used: dict[str, int] = collections.Counter()
        self.containing: dict[str, set[str]] = collections.defaultdict(set)
        for b, comps in self.recipes.items():
            for c in comps:
                self.containing[c].add(b)

    def units(self, sku: str) -> dict[str, int]:
        return self.recipes.get(sku) or {sku: 1}

    def left(self, sku: str) -> int:
        """What is left of ``sku`` (may be negative when oversold)."""
        comps = self.recipes.get(sku)
        if comps:
            return min((self.physical.get(c, 0) - self.used[c]) // q for c, q in comps.items())
        return self.physical.get(sku, 0) - self.used[sku]

    def affected(self, sku: str) -> set[str]:
        """The SKUs whose ``left`` a move of ``sku`` changes."""
        out = {sku}
        for c in self.units(sku):
            out.add(c)
            out |= self.containing.get(c, set())
        return out

    def move(self, sku: str, qty: int) -> dict[str, int]:
        """``qty`` units of ``sku`` sold (negative: given back); the physical units it moved."""
        units = {c: q * qty for c, q in self.units(sku).items()}
        for c, n in units.items():
            self.used[c] += n
        return units
