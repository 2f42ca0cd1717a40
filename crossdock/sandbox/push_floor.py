"""The fewest stock-push requests a channel needed, from the sandbox's own
record — never from what crossdock decided to push.

Every sale and cancellation the buyers made (:class:`~crossdock.sandbox.market.Market`)
that changes another channel's listed quantity under its rule
(``floor((physical stock - units sold) x share)``; a bundle's stock is what
its components make) is a *required change*
on that channel, known to any seller tool from the moment the platform
shows the order (Amazon: two minutes after it was placed — its order
search never shows a younger one; eBay and Shopify: at once). The floor
packs a channel's required changes into the fewest HTTP requests that
deliver each within ``W`` sandbox seconds of becoming known, under the
platform's batch limits (docs/platform-facts.md#amazon-listings-feeds, #ebay-batch-sizes,
#shopify-batch-sizes): Amazon patchListingsItem
carries one SKU (a JSON_LISTINGS_FEED takes six requests and more than
``W`` to process in the sandbox, so it only counts where it would arrive in
time), eBay bulkUpdatePriceQuantity 25 Inventory-API listings and
ReviseInventoryStatus 4 listings made outside it, Shopify
inventorySetQuantities 250. Several changes of one SKU in one request are
one item, and a SKU whose net change in a request is nil needs none.

The packing is earliest-deadline-first: the first pending change fixes the
latest moment its request may leave (known + W); that request takes every
SKU known by then, earliest first, up to the batch limit. With windows of
one length this gives the fewest requests.

What crossdock actually sent is counted by the simulators themselves
(``Market.stock_requests``: every request that set a quantity, a feed's
polls and report included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crossdock.sandbox.market import StockLeft

__all__ = ["FEED_REQUESTS", "Batching", "listing_reads", "required_changes", "push_floor", "push_floors", "stock_requests"]

# createFeedDocument, upload, createFeed, getFeed (at least once), getFeedDocument, the report's download
FEED_REQUESTS = 6


@dataclass(frozen=True)
class Batching:
    """How one group of a channel's listings is pushed: ``size`` SKUs per
    request; a bulk path (``bulk_requests`` per batch of up to ``bulk_size``,
    ``bulk_turnaround_s`` until applied) where the platform has one."""

    size: int
    bulk_size: int = 0
    bulk_requests: int = 0
    bulk_turnaround_s: float = 0.0


def _platform(channel: str) -> str:
    return channel.split(":", 1)[0]


def visible_after_s(sb: Any, channel: str) -> float:
    """Sandbox seconds from a sale until the platform's order search shows it."""
    if _platform(channel) == "amazon":
        from crossdock.sandbox.amazon.constants import TWO_MINUTES_S

        return float(TWO_MINUTES_S)
    return 0.0


def batching(sb: Any, channel: str, sku: str) -> tuple[str, Batching]:
    """The batch group of ``sku`` on ``channel`` and its limits."""
    platform = _platform(channel)
    if platform == "amazon":
        sim = sb.sims["amazon"]
        return "listings", Batching(1, bulk_size=25_000, bulk_requests=FEED_REQUESTS,
                                    bulk_turnaround_s=float(sim.feed_queue_s) + float(sim.feed_processing_s))
    if platform == "ebay":
        listing = sb.sims["ebay"].listings.get(channel, {}).get(sb.market.listing_sku(channel, sku))
        if listing is not None and listing.kind == "trading":
            return "trading", Batching(4)
        return "inventory", Batching(25)
    from crossdock.sandbox.shopify.views.base import MAX_INPUT_ARRAY

    return "inventory", Batching(MAX_INPUT_ARRAY)


def required_changes(sb: Any, shares: Mapping[str, Decimal]) -> dict[str, list[tuple[float, str, int]]]:
    """channel → [(known at, SKU, quantity the rule wants from then)], from
    the buyers' sales and cancellations in the sandbox's record."""
    with sb.market.lock:
        events = sorted([(e["at"], 0, e) for e in sb.market.sales]
                        + [(e["at"], 1, e) for e in sb.market.cancels], key=lambda x: (x[0], x[1]))
        ledger = StockLeft(sb.market.catalogue)
        listed = set(sb.market.listed_history)
    out: dict[str, list[tuple[float, str, int]]] = {c: [] for c in shares}
    for at, kind, e in events:
        sku, qty = e["sku"], int(e["qty"])
        # a bundle's units are its components': a sale of either moves both (crossdock.sandbox.market.StockLeft)
        moved = sorted(ledger.affected(sku))
        before = {s: ledger.left(s) for s in moved}
        ledger.move(sku, qty if kind == 0 else -qty)
        known = at + visible_after_s(sb, e["channel"])
        for other, share in shares.items():
            if other == e["channel"]:
                continue
            for target in moved:
                if (other, target) not in listed:
                    continue
                want_before, want_after = int(max(0, before[target]) * share), int(max(0, ledger.left(target)) * share)
                if want_after != want_before:
                    out[other].append((known, target, want_after))
    for changes in out.values():
        changes.sort()
    return out


def _initial(sb: Any, channel: str, sku: str, share: Decimal) -> int:
    with sb.market.lock:
        left = StockLeft(sb.market.catalogue).left(sku)
    return int(max(0, left) * share)


def push_floor(changes: list[tuple[float, str, int]], rules: Batching, window_s: float,
               shown: Mapping[str, int] | None = None) -> int:
    """Fewest requests delivering every change within ``window_s`` of being
    known (one batch group of one channel). ``shown``: what the channel
    showed before the first change, per SKU (a SKU whose net change in a
    request is nil needs no item)."""
    delivered = dict(shown or {})
    pending = list(changes)
    requests = 0
    bulk_ok = rules.bulk_size > 0 and rules.bulk_turnaround_s < window_s
    while pending:
        t0 = pending[0][0]
        send_by = t0 + window_s
        in_time = [c for c in pending if c[0] <= send_by]
        bulk_by = t0 + window_s - rules.bulk_turnaround_s
        bulk = [c for c in pending if c[0] <= bulk_by] if bulk_ok else []
        if bulk and len({c[1] for c in bulk}) > rules.bulk_requests:
            take, size, cost = bulk, rules.bulk_size, rules.bulk_requests
        else:
            take, size, cost = in_time, rules.size, 0
        chosen: list[str] = []
        for _, sku, _ in take:
            if sku not in chosen and len(chosen) < size:
                chosen.append(sku)
        served = [c for c in take if c[1] in chosen]
        latest = {sku: qty for _, sku, qty in served}
        items = [sku for sku in chosen if delivered.get(sku) != latest[sku]]
        for sku in chosen:
            delivered[sku] = latest[sku]
        if items:
            requests += cost or 1
        served_ids = {id(c) for c in served}
        pending = [c for c in pending if id(c) not in served_ids]
    return requests


def push_floors(sb: Any, shares: Mapping[str, Decimal], windows: tuple[float, ...] = (15.0, 30.0, 60.0)
                ) -> dict[str, dict[str, int]]:
    """channel → {"push_floor_15s": n, …}: the floor per delivery window."""
    needed = required_changes(sb, shares)
    out: dict[str, dict[str, int]] = {}
    for channel, changes in needed.items():
        groups: dict[str, tuple[Batching, list[tuple[float, str, int]]]] = {}
        for change in changes:
            key, rules = batching(sb, channel, change[1])
            groups.setdefault(key, (rules, []))[1].append(change)
        start = {sku: _initial(sb, channel, sku, shares[channel]) for _, sku, _ in changes}
        out[channel] = {f"push_floor_{w:g}s": sum(push_floor(group, rules, w, shown=start)
                                                  for rules, group in groups.values()) for w in windows}
    return out


def stock_requests(sb: Any) -> dict[str, int]:
    """channel → HTTP requests that set listed quantities, as the simulators counted them."""
    with sb.market.lock:
        return dict(sb.market.stock_requests)


# listing reads a seller tool makes one SKU at a time, per platform
_SINGLE_READS = {"amazon": ("getListingsItem",), "ebay": ("GetItem", "getInventoryItem", "getOffers"),
                 "shopify": ()}
_PATCHES = {"amazon": ("patchListingsItem",)}


def listing_reads(sb: Any) -> dict[str, dict[str, Any]]:
    """platform → single-listing reads and, where a platform sets quantities
    one SKU per request, those requests and the reads per one of them."""
    stats = sb.stats.as_dict()
    out: dict[str, dict[str, Any]] = {}
    for platform, accounts in stats.items():
        ops: dict[str, int] = {}
        for acct in accounts.values():
            for op, c in acct.items():
                ops[op] = ops.get(op, 0) + int(c["calls"])
        reads = sum(ops.get(op, 0) for op in _SINGLE_READS.get(platform, ()))
        row: dict[str, Any] = {"single_listing_reads": reads}
        if platform in _PATCHES:
            patches = sum(ops.get(op, 0) for op in _PATCHES[platform])
            row["patches"] = patches
            row["reads_per_patch"] = round(reads / patches, 2) if patches else None
        out[platform] = row
    return out
