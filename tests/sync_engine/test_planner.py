from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crossdock.mapping.fx import FxRate, FxTable
from crossdock.mapping.inventory_rules import ChannelStockRule
from crossdock.mapping.pricing import PriceRule
from crossdock.models import Money, StockUpdate
from crossdock.sync_engine.planner import (
    FACTS_BATCH_POLICIES,
    BatchPolicy,
    ListingState,
    batch_items,
    calls_for,
    min_calls,
    plan_prices,
    plan_stock,
    plan_stock_pushes,
    policy_for,
)


def listing(channel, sku, last=None, *, platform=None, kind=None, price=None, currency=None):
    return ListingState(channel=channel, sku=sku, platform=platform, kind=kind, listing_id=f"id-{sku}",
                        last_pushed_qty=last, last_pushed_price=price, last_pushed_currency=currency)


def test_only_changed_quantities_absolute_and_zeros_first():
    availability = {"A": 7, "B": 0, "C": 3, "D": 0, "E": 9}
    listings = [listing("ebay-us", "A", 5), listing("ebay-us", "B", 2), listing("ebay-us", "C", 3),
                listing("ebay-us", "D", None), listing("shopify-eu", "A", 7), listing("shopify-eu", "Z", 1)]
    plans = plan_stock(availability, listings, {})
    assert plans == {"ebay-us": [StockUpdate("B", 0, "id-B"), StockUpdate("D", 0, "id-D"),
                                 StockUpdate("A", 7, "id-A")]}
    # force re-sends everything known (a reconcile)
    forced = plan_stock(availability, listings, {}, force=True)
    assert [u.sku for u in forced["shopify-eu"]] == ["A"]       # Z has no availability: skipped, not zeroed


def test_channel_rules_buffer_share_and_max():
    rules = {"ebay-us": ChannelStockRule(buffer=2), "amazon-de": ChannelStockRule(max_listed=5),
             "shopify-eu": ChannelStockRule(share=Decimal("0.5"))}
    listings = [listing(c, "A") for c in rules]
    plans = plan_stock({"A": 9}, listings, rules)
    assert {c: [u.quantity for u in ups] for c, ups in plans.items()} == {
        "amazon-de": [5], "ebay-us": [7], "shopify-eu": [4]}
    # a buffer can make a SKU zero on one channel only; it still goes first there
    plans = plan_stock({"A": 2, "B": 5}, [listing("ebay-us", "B", 1), listing("ebay-us", "A", 2)],
                       {"ebay-us": ChannelStockRule(buffer=2)})
    assert [(u.sku, u.quantity) for u in plans["ebay-us"]] == [("A", 0), ("B", 3)]


def test_batches_follow_platform_sizes():
    skus = [f"S{i:03d}" for i in range(60)]
    availability = {s: (0 if i % 10 == 0 else 5) for i, s in enumerate(skus)}
    listings = ([listing("shopify-eu", s, 1, platform="shopify") for s in skus]
                + [listing("ebay-us", s, 1, platform="ebay", kind="inventory") for s in skus[:50]]
                + [listing("ebay-us", s, 1, platform="ebay", kind="trading") for s in skus[50:]])
    plans = plan_stock_pushes(availability, listings, {}, FACTS_BATCH_POLICIES)

    shop = plans["shopify-eu"]
    assert shop.calls == 1 and len(shop.batches[0].items) == 60
    assert [u.quantity for u in shop.batches[0].items[:6]] == [0] * 6     # zeros lead the single call

    ebay = plans["ebay-us"]
    sizes = [(b.policy_key, len(b.items)) for b in ebay.batches]
    # 50 inventory listings → 25 + 25; 10 trading listings → 4 + 4 + 2; calls carrying zeros go first
    assert sorted(sizes) == sorted([("ebay:inventory", 25), ("ebay:inventory", 25), ("ebay:trading", 4),
                                    ("ebay:trading", 4), ("ebay:trading", 2)])
    zero_flags = [any(u.quantity == 0 for u in b.items) for b in ebay.batches]
    assert zero_flags == sorted(zero_flags, reverse=True)
    assert ebay.calls == min_calls({"inv": 50, "trading": 10}, {"inv": 25, "trading": 4}) == 5


def test_amazon_patches_few_changes_and_feeds_many_with_zeros_by_patch_first():
    policy = FACTS_BATCH_POLICIES["amazon"]
    few = [StockUpdate(f"S{i}", 1) for i in range(20)]
    assert [b.mode for b in batch_items(few, policy)] == ["batch"] * 20
    many = [StockUpdate(f"Z{i}", 0) for i in range(3)] + [StockUpdate(f"S{i}", 1) for i in range(30_000)]
    batches = batch_items(many, policy, urgent=lambda u: u.quantity == 0)
    assert [(b.mode, len(b.items)) for b in batches] == [("batch", 1)] * 3 + [("bulk", 25_000), ("bulk", 5_000)]
    assert calls_for(30_003, policy, urgent=3) == len(batches) == 5
    # more zeros than the patch threshold: everything goes by feed, zeros at the front of the first feed
    lots = [StockUpdate(f"Z{i}", 0) for i in range(25)] + [StockUpdate("S", 1)]
    batches = batch_items(lots, policy, urgent=lambda u: u.quantity == 0)
    assert [(b.mode, len(b.items)) for b in batches] == [("bulk", 26)]
    assert calls_for(26, policy, urgent=25) == 1


def test_min_calls_and_policy_lookup():
    assert min_calls({"ebay-us": 26, "shopify-eu": 251, "amazon-de": 0}, {"ebay-us": 25, "shopify-eu": 250,
                                                                          "amazon-de": 1}) == 2 + 2
    with pytest.raises(ValueError):
        min_calls({"x": 1}, {})
    policies = {"ebay": 25, "ebay:trading": 4, "my-ebay": BatchPolicy(10), "my-ebay:trading": 2}
    assert policy_for(policies, channel="my-ebay", platform="ebay", kind="trading")[0] == "my-ebay:trading"
    assert policy_for(policies, channel="my-ebay", platform="ebay", kind="inventory")[0] == "my-ebay"
    assert policy_for(policies, channel="ebay-us", platform="ebay", kind="trading")[0] == "ebay:trading"
    assert policy_for(policies, channel="x", platform="etsy", kind=None) == ("single", BatchPolicy(1))
    with pytest.raises(ValueError):
        BatchPolicy(1, bulk_threshold=10)


def test_price_plan_uses_the_channel_rule_and_skips_unchanged():
    fx = FxTable([FxRate("EUR", "USD", Decimal("1.10"), dt.date(2026, 3, 1))])
    rules = {"ebay-us": PriceRule(markup=Decimal("1.20"), rounding="charm"), "amazon-de": PriceRule()}
    listings = [listing("ebay-us", "A", platform="ebay"), listing("ebay-us", "B", platform="ebay"),
                listing("amazon-de", "A", price=Decimal("10.00"), currency="EUR"),
                listing("amazon-de", "C")]
    base = {"A": Money("10.00", "EUR"), "B": Money("0", "EUR"), "C": Money("5.00", "GBP")}

    plan = plan_prices(base, listings, rules=rules, currencies={"ebay-us": "USD", "amazon-de": "EUR"}, fx=fx,
                       on=dt.date(2026, 3, 2), policies=FACTS_BATCH_POLICIES)

    (a_us,) = plan.updates("ebay-us")
    assert a_us.sku == "A" and a_us.price.currency == "USD" and a_us.price.amount == Decimal("13.99")   # 13.20 → charm
    assert plan.updates("amazon-de") == []                    # A unchanged; C has no GBP rate
    assert sorted((p.channel, p.sku, p.code) for p in plan.problems) == [
        ("amazon-de", "C", "XD-MAP-005"), ("ebay-us", "B", "XD-MAP-003")]
    assert plan.plans["ebay-us"].calls == 1
