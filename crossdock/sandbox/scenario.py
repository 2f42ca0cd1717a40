"""The demo's rehearsal as sandbox data: which sandbox channels it sells on,
under which names, with what share of the stock and which buyers; how its
listings are seeded; how the platforms' own record counts shipment
confirmations. ``crossdock demo`` (and ``benchmarks/deployment.py``) read it;
everything platform-specific about the rehearsal is here, beside the
simulators, and the engine side names no platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crossdock.sandbox.channels import sandbox_channels

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"

__all__ = ["DEMO_CHANNELS", "ScenarioChannel", "confirmations_per_order", "sandbox_ids", "seed_listing"]


@dataclass(frozen=True)
class ScenarioChannel:
    """One channel of the rehearsal. ``marketplace`` None: the platform's first
    account's channel. ``legacy_every``: every n-th SKU is a listing made
    outside the platform's listing API (eBay: Trading, not Inventory).
    ``alias_style``: how the channel's listing SKUs differ from the catalogue's
    where the demo gives it aliases (``legacy``: a legacy SKU; ``suffix``: an
    MSKU with the marketplace's suffix); None: it lists catalogue SKUs."""

    name: str
    platform: str
    share: str                                  # of the free stock this channel shows (shares add up to 1)
    buyer_countries: tuple[str, ...]
    orders_every_s: int                         # order import interval, platform seconds
    marketplace: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    legacy_every: int = 0
    alias_style: str | None = None


# Order import intervals: Amazon's getOrders restores one token a minute
# (docs/platform-facts.md#amazon-usage-plans), eBay and Shopify allow frequent polling.
# Amazon stock goes by feed above 20 SKUs (the batch policy's threshold).
DEMO_CHANNELS: tuple[ScenarioChannel, ...] = (
    ScenarioChannel("amazon-us", "amazon", "0.3", ("US", "US", "CA"), 60, marketplace=US,
                    options={"feed_threshold": 20}),
    ScenarioChannel("amazon-de", "amazon", "0.2", ("DE", "DE", "FR", "AT"), 60, marketplace=DE,
                    options={"feed_threshold": 20}, alias_style="suffix"),
    ScenarioChannel("ebay-uk", "ebay", "0.25", ("GB", "GB", "IE", "DE"), 10, legacy_every=5, alias_style="legacy"),
    ScenarioChannel("shopify-eu", "shopify", "0.25", ("DE", "FR", "NL", "IT"), 3),
)


def sandbox_ids(desc: Mapping[str, Any], channels: tuple[ScenarioChannel, ...] = DEMO_CHANNELS) -> dict[str, str]:
    """Scenario channel name → the sandbox's id of that channel."""
    offered = sandbox_channels(desc)
    out = {}
    for ch in channels:
        match = next(c for c in offered if c.platform == ch.platform
                     and (ch.marketplace is None or c.marketplace == ch.marketplace))
        out[ch.name] = match.sandbox_channel
    return out


def seed_listing(sb: Any, ch: ScenarioChannel, sandbox_id: str, sku: str, index: int, quantity: int,
                 price: Decimal) -> tuple[str | None, dict[str, Any]]:
    """List ``sku`` (the ``index``-th of the catalogue) on the channel; returns
    the listing's id as people see it and its ids as the platform's connector
    keeps them (eBay: kind, offer and item ids; the others address listings
    by SKU)."""
    sim = sb.sims[ch.platform]
    if ch.legacy_every and index % ch.legacy_every == ch.legacy_every - 1:
        sim.mark_legacy(sandbox_id, sku)
    sim.set_listing(sandbox_id, sku, quantity, price)
    if ch.platform != "ebay":
        return None, {}
    ids = dict(sim.listing_map(sandbox_id)[sku])
    return ids.get("item_id"), ids


def confirmations_per_order(sb: Any) -> dict[str, int]:
    """Shipment confirmations each order received, from the platforms' own
    record: Amazon confirmShipment and eBay createShippingFulfillment calls
    that succeeded, Shopify fulfillments (by order id, gid and name)."""
    confirms: dict[str, int] = {}
    for e in sb.requests.since(0, limit=10**9):
        if e["operation"] in ("confirmShipment", "createShippingFulfillment") and 200 <= e["status"] < 300:
            oid = e["path"].split("/order")[-1].split("/")[1]
            confirms[oid] = confirms.get(oid, 0) + 1
    shop = sb.sims.get("shopify")
    if shop is None:
        return confirms
    with shop.lock:
        for st in shop.shops.values():
            for f in st.fulfillments.values():
                order = st.orders.get(f.order_id)
                name = getattr(order, "name", None) if order is not None else None
                for key in {str(f.order_id), f"gid://shopify/Order/{f.order_id}", str(name)}:
                    confirms[key] = confirms.get(key, 0) + 1
    return confirms
