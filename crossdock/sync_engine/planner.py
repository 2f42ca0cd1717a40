"""What to push, and in how many calls. Pure: plain data in, plain data out.

Stock: for each channel listing of a changed SKU, the quantity to show is
``listed_quantity(available_to_sell, channel rule)``
(:mod:`crossdock.mapping.inventory_rules`); only quantities that differ from
what the channel shows become :class:`~crossdock.models.StockUpdate` (always
absolute). Zeros sort first so they leave in the first call.

Batching follows a :class:`BatchPolicy` per channel / platform / listing kind,
given as a parameter map. :data:`FACTS_BATCH_POLICIES` holds each platform's
own figures (its ``PlatformSpec.batch_policy`` and ``kind_policies``, keyed
``platform`` and ``platform:kind``, from the platform facts; a seller can
override them). A policy with a bulk path (Amazon's feeds) sends more changes
than ``bulk_threshold`` in bulk calls, but zeros still go out by the normal
path first (a feed takes minutes to process) unless there are more zeros than
the threshold.

Prices: base price + the channel's :class:`~crossdock.mapping.pricing.PriceRule`
through :func:`~crossdock.mapping.pricing.compute_price`; a
:class:`~crossdock.models.PriceUpdate` when it differs from the last pushed price.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from crossdock.errors import CrossdockError
from crossdock.mapping.fx import FxTable
from crossdock.mapping.inventory_rules import ChannelStockRule, listed_quantity
from crossdock.mapping.pricing import PriceRule, compute_price
from crossdock.models import Money, PriceUpdate, StockUpdate
from crossdock.platforms.registry import RegistryView
from crossdock.platforms.spec import BatchPolicy

log = logging.getLogger(__name__)

__all__ = [
    "FACTS_BATCH_POLICIES",
    "Batch",
    "BatchPolicy",
    "ChannelPlan",
    "ListingState",
    "PricePlan",
    "PriceProblem",
    "batch_items",
    "calls_for",
    "min_calls",
    "plan_prices",
    "plan_stock",
    "plan_stock_pushes",
    "policy_for",
]

NORMAL, BULK = "batch", "bulk"


@dataclass(frozen=True, slots=True)
class ListingState:
    """One channel listing as the planner sees it."""

    channel: str
    sku: str
    platform: str | None = None
    kind: str | None = None                 # the listing's kind, when its platform batches kinds apart
    listing_id: str | None = None
    platform_ids: Mapping[str, object] | None = field(default=None, hash=False)
    last_pushed_qty: int | None = None
    listed_qty_seen: int | None = None
    last_pushed_price: Decimal | None = None
    last_pushed_currency: str | None = None

    @property
    def shown_qty(self) -> int | None:
        """What the channel shows as far as crossdock knows; None when it does
        not know (a push was in flight, or never made): the planner then pushes
        whatever it plans. ``listed_qty_seen`` is NOT a stand-in: it is what a
        read saw at some time, and a push after that read (by a worker that
        died or stalled before recording it) may have changed it."""
        return self.last_pushed_qty


#: Each platform's batch figures: ``platform`` and ``platform:kind`` → policy.
FACTS_BATCH_POLICIES: Mapping[str, BatchPolicy] = RegistryView(
    lambda spec: {spec.name: spec.batch_policy,
                  **{f"{spec.name}:{kind}": policy for kind, policy in spec.kind_policies.items()}})

Item = TypeVar("Item", StockUpdate, PriceUpdate)


@dataclass(frozen=True, slots=True)
class Batch(Generic[Item]):
    """One platform call's worth of updates."""

    mode: str                                # "batch" (normal path) | "bulk" (feed)
    policy_key: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class ChannelPlan(Generic[Item]):
    channel: str
    updates: tuple[Item, ...]
    batches: tuple[Batch[Item], ...]

    @property
    def calls(self) -> int:
        return len(self.batches)


def _as_policy(value: BatchPolicy | int) -> BatchPolicy:
    return value if isinstance(value, BatchPolicy) else BatchPolicy(max_items=int(value))


def policy_for(policies: Mapping[str, BatchPolicy | int], *, channel: str, platform: str | None,
               kind: str | None) -> tuple[str, BatchPolicy]:
    """The most specific policy: ``channel:kind``, ``channel``,
    ``platform:kind``, ``platform``, then ``default``; none → one item per call."""
    keys = []
    if kind:
        keys.append(f"{channel}:{kind}")
    keys.append(channel)
    if platform:
        if kind:
            keys.append(f"{platform}:{kind}")
        keys.append(platform)
    keys.append("default")
    for key in keys:
        if key in policies:
            return key, _as_policy(policies[key])
    log.debug("no batch policy for channel=%s platform=%s kind=%s: one item per call", channel, platform, kind)
    return "single", BatchPolicy(max_items=1)


def _split(items: Sequence[Item], size: int) -> list[tuple[Item, ...]]:
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def batch_items(items: Sequence[Item], policy: BatchPolicy, *, policy_key: str = "",
                urgent: Callable[[Item], bool] = lambda _item: False) -> list[Batch[Item]]:
    """Cut ``items`` (already in push order, urgent first) into calls."""
    items = list(items)
    if not items:
        return []
    bulk = policy.bulk
    if bulk is None or len(items) <= bulk[0]:
        return [Batch(NORMAL, policy_key, part) for part in _split(items, policy.max_items)]
    threshold, bulk_max_items = bulk
    fast = [i for i in items if urgent(i)] if policy.zeros_first_fast else []
    if fast and len(fast) <= threshold:
        rest = [i for i in items if not urgent(i)]
        return ([Batch(NORMAL, policy_key, part) for part in _split(fast, policy.max_items)]
                + [Batch(BULK, policy_key, part) for part in _split(rest, bulk_max_items)])
    return [Batch(BULK, policy_key, part) for part in _split(items, bulk_max_items)]


def calls_for(n_changes: int, policy: BatchPolicy | int, *, urgent: int = 0) -> int:
    """Calls :func:`batch_items` makes for ``n_changes`` items, ``urgent`` of them urgent."""
    policy = _as_policy(policy)
    if n_changes <= 0:
        return 0
    bulk = policy.bulk
    if bulk is None or n_changes <= bulk[0]:
        return math.ceil(n_changes / policy.max_items)
    threshold, bulk_max_items = bulk
    fast = urgent if policy.zeros_first_fast else 0
    if 0 < fast <= threshold:
        return math.ceil(fast / policy.max_items) + math.ceil((n_changes - fast) / bulk_max_items)
    return math.ceil(n_changes / bulk_max_items)


def min_calls(n_changes_per_channel: Mapping[str, int], batch_sizes: Mapping[str, BatchPolicy | int]) -> int:
    """The fewest push calls for the given number of changed listings per
    channel (or per policy key), each channel's changes batched as its policy
    allows. ``batch_sizes`` is keyed like ``n_changes_per_channel``."""
    total = 0
    for key, n in n_changes_per_channel.items():
        if key not in batch_sizes:
            raise ValueError(f"no batch size for {key!r}")
        total += calls_for(n, batch_sizes[key])
    return total


def _group(listings: Iterable[ListingState], policies: Mapping[str, BatchPolicy | int]
           ) -> dict[str, dict[str, tuple[BatchPolicy, list[ListingState]]]]:
    out: dict[str, dict[str, tuple[BatchPolicy, list[ListingState]]]] = {}
    for listing in listings:
        key, policy = policy_for(policies, channel=listing.channel, platform=listing.platform, kind=listing.kind)
        out.setdefault(listing.channel, {}).setdefault(key, (policy, []))[1].append(listing)
    return out


def _assemble(per_key: Mapping[str, tuple[BatchPolicy, list[Item]]], channel: str,
              urgent: Callable[[Item], bool], order: Callable[[Item], tuple]) -> ChannelPlan[Item]:
    batches: list[Batch[Item]] = []
    updates: list[Item] = []
    for key in sorted(per_key):
        policy, items = per_key[key]
        items = sorted(items, key=order)
        updates.extend(items)
        batches.extend(batch_items(items, policy, policy_key=key, urgent=urgent))
    # Across listing kinds too: a call carrying a zero goes before any call without one.
    batches.sort(key=lambda b: not any(urgent(i) for i in b.items))
    return ChannelPlan(channel=channel, updates=tuple(sorted(updates, key=order)), batches=tuple(batches))


def plan_stock(availability: Mapping[str, int], listings: Iterable[ListingState],
               rules: Mapping[str, ChannelStockRule], *, force: bool = False) -> dict[str, list[StockUpdate]]:
    """channel → absolute updates (zeros first, then by SKU) for the listings
    whose quantity differs from what the channel shows. A SKU missing from
    ``availability`` is skipped (unknown is not zero)."""
    plans = plan_stock_pushes(availability, listings, rules, {"default": 1}, force=force)
    return {channel: list(plan.updates) for channel, plan in plans.items()}


def _stock_order(u: StockUpdate) -> tuple:
    return (u.quantity != 0, u.sku)


def plan_stock_pushes(availability: Mapping[str, int], listings: Iterable[ListingState],
                      rules: Mapping[str, ChannelStockRule], policies: Mapping[str, BatchPolicy | int], *,
                      force: bool = False, compare_and_set: bool = False,
                      targets: Mapping[str, Mapping[str, int]] | None = None) -> dict[str, ChannelPlan[StockUpdate]]:
    """:func:`plan_stock` plus the calls. ``compare_and_set`` fills
    ``expected_current`` (Shopify ``changeFromQuantity``) with what the
    channel shows. ``targets`` (channel → SKU → quantity), where given for a
    channel, replaces its rule: the oversell guard's shares
    (:mod:`crossdock.sync_engine.exposure`). Channels with nothing to change
    are left out."""
    changed: list[tuple[ListingState, StockUpdate]] = []
    for listing in listings:
        if listing.sku not in availability:
            continue
        given = targets.get(listing.channel) if targets is not None else None
        if given is not None:
            if listing.sku not in given:
                continue
            qty = int(given[listing.sku])
        else:
            qty = listed_quantity(max(0, int(availability[listing.sku])), rules.get(listing.channel))
        if not force and listing.shown_qty == qty:
            continue
        changed.append((listing, StockUpdate(
            sku=listing.sku, quantity=qty, listing_id=listing.listing_id,
            expected_current=listing.shown_qty if compare_and_set else None, platform_ids=listing.platform_ids)))
    grouped = _group((lst for lst, _ in changed), policies)
    by_listing = {(lst.channel, lst.sku): upd for lst, upd in changed}
    out: dict[str, ChannelPlan[StockUpdate]] = {}
    for channel, per_key in grouped.items():
        items = {key: (policy, [by_listing[(channel, lst.sku)] for lst in group])
                 for key, (policy, group) in per_key.items()}
        out[channel] = _assemble(items, channel, urgent=lambda u: u.quantity == 0, order=_stock_order)
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class PriceProblem:
    channel: str
    sku: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PricePlan:
    plans: dict[str, ChannelPlan[PriceUpdate]] = field(default_factory=dict)
    problems: tuple[PriceProblem, ...] = ()

    def updates(self, channel: str) -> list[PriceUpdate]:
        plan = self.plans.get(channel)
        return list(plan.updates) if plan else []


def plan_prices(base_prices: Mapping[str, Money], listings: Iterable[ListingState], *,
                rules: Mapping[str, PriceRule], currencies: Mapping[str, str], fx: FxTable, on: dt.date,
                policies: Mapping[str, BatchPolicy | int] | None = None, force: bool = False) -> PricePlan:
    """channel → price updates for listings whose computed price differs
    from the last pushed one. ``rules`` maps channel → PriceRule (a missing
    rule means the base price converted as is); ``currencies`` maps channel →
    its currency.
    Mapping errors (no FX rate, price not above zero, …) are returned as
    problems with their XD code; other SKUs still get planned."""
    changed: list[tuple[ListingState, PriceUpdate]] = []
    problems: list[PriceProblem] = []
    for listing in listings:
        base = base_prices.get(listing.sku)
        if base is None:
            continue
        currency = currencies.get(listing.channel)
        if not currency:
            raise ValueError(f"no currency for channel {listing.channel!r}")
        rule = rules.get(listing.channel) or PriceRule()
        try:
            price = compute_price(base, currency, rule, fx, on, sku=listing.sku)
        except CrossdockError as exc:
            problems.append(PriceProblem(listing.channel, listing.sku, exc.code, exc.message))
            continue
        if (not force and listing.last_pushed_price is not None
                and Decimal(listing.last_pushed_price) == price.amount
                and (listing.last_pushed_currency or currency) == price.currency):
            continue
        changed.append((listing, PriceUpdate(sku=listing.sku, price=price, listing_id=listing.listing_id,
                                             platform_ids=listing.platform_ids)))
    grouped = _group((lst for lst, _ in changed), policies or {"default": 1})
    by_listing = {(lst.channel, lst.sku): upd for lst, upd in changed}
    plans: dict[str, ChannelPlan[PriceUpdate]] = {}
    for channel, per_key in grouped.items():
        items = {key: (policy, [by_listing[(channel, lst.sku)] for lst in group])
                 for key, (policy, group) in per_key.items()}
        plans[channel] = _assemble(items, channel, urgent=lambda _u: False, order=lambda u: (u.sku,))
    return PricePlan(plans=dict(sorted(plans.items())), problems=tuple(problems))
