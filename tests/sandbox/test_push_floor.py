"""The independent push floor (crossdock.sandbox.push_floor): the fewest
requests that deliver every required change within a window, from the
sandbox's record of sales — not from crossdock's own pushes."""

from __future__ import annotations

from decimal import Decimal

from crossdock.clock import ScaledClock
from crossdock.sandbox.market import CatalogueItem, Market
from crossdock.sandbox.push_floor import Batching, push_floor, required_changes


def test_changes_known_within_one_window_share_a_request_up_to_the_batch_limit():
    changes = [(0.0, "A", 4), (5.0, "B", 3), (14.0, "C", 2), (16.0, "D", 1)]
    assert push_floor(changes, Batching(25), 15.0) == 2          # A,B,C by t=15; D alone
    assert push_floor(changes, Batching(2), 15.0) == 2           # A,B by 15 | C,D by 29
    assert push_floor(changes, Batching(25), 1.0) == 4           # a window of 1 s: each on its own
    assert push_floor(changes, Batching(1), 15.0) == 4           # one SKU per request
    many = [(0.0, f"S{i}", 1) for i in range(30)]
    assert push_floor(many, Batching(25), 60.0) == 2
    assert push_floor(many, Batching(250), 60.0) == 1


def test_several_changes_of_one_sku_in_a_window_are_one_item_and_a_nil_change_none():
    assert push_floor([(0.0, "A", 4), (3.0, "A", 3)], Batching(1), 15.0) == 1
    assert push_floor([(0.0, "A", 4), (20.0, "A", 3)], Batching(1), 15.0) == 2
    # sold and cancelled before any request had to leave: the channel already shows the right figure
    assert push_floor([(0.0, "A", 4), (3.0, "A", 5)], Batching(1), 15.0, shown={"A": 5}) == 0


def test_a_bulk_path_counts_only_where_it_arrives_within_the_window():
    many = [(0.0, f"S{i}", 1) for i in range(40)]
    feed = Batching(1, bulk_size=25_000, bulk_requests=6, bulk_turnaround_s=90.0)
    assert push_floor(many, feed, 60.0) == 40        # a feed takes 90 s: patches, one per SKU
    assert push_floor(many, feed, 120.0) == 6        # in time: one feed of six requests


class _Box:
    def __init__(self, market: Market) -> None:
        self.market = market
        self.sims: dict = {}


def test_required_changes_follow_the_rule_on_the_other_channels_from_when_the_order_shows():
    market = Market(ScaledClock.starting_now(1.0))
    market.seed_item(CatalogueItem("A", "a", Decimal("1"), "EUR", 20))
    for channel in ("ebay:s:EBAY_GB", "shopify:eu", "amazon:S:US"):
        market.record_listed(channel, "A", 5)
    market.sales.append({"channel": "shopify:eu", "sku": "A", "qty": 1, "at": 100.0, "order_id": "1"})
    market.sales.append({"channel": "amazon:S:US", "sku": "A", "qty": 4, "at": 200.0, "order_id": "2"})
    market.cancels.append({"channel": "amazon:S:US", "sku": "A", "qty": 4, "at": 250.0, "order_id": "2"})
    shares = {"ebay:s:EBAY_GB": Decimal("0.25"), "shopify:eu": Decimal("0.25"), "amazon:S:US": Decimal("0.5")}
    got = required_changes(_Box(market), shares)
    # 20 → 19: ebay 5 → 4, amazon 10 → 9 (the seller's own channel sells down by itself)
    assert got["ebay:s:EBAY_GB"][0] == (100.0, "A", 4)
    assert got["amazon:S:US"] == [(100.0, "A", 9)]
    # an Amazon order shows two minutes after it was placed; its cancellation too
    assert got["ebay:s:EBAY_GB"][1:] == [(320.0, "A", 3), (370.0, "A", 4)]
    assert got["shopify:eu"] == [(320.0, "A", 3), (370.0, "A", 4)]
