"""Bucket arithmetic to the millisecond, on the in-memory backend with an
injected clock, using the published default plans."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from crossdock.errors import ConfigError, QuotaError
from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.memory import MemoryBackend
from crossdock.ratelimit.plans import LongWindow

C = Priority.CRITICAL


def at(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


@pytest.fixture
def budget(clock):
    return QuotaBudget(MemoryBackend(clock=clock), sleep=clock.sleep, monotonic=clock,
                       wall_clock=clock)


def drain(budget, platform, account, operation, n, **kw):
    granted = [budget.try_acquire(platform, account, operation, **kw) for _ in range(n)]
    assert granted == [0] * n
    return granted


def test_amazon_get_orders_burst_20_then_one_token_per_60_s(budget, clock):
    drain(budget, "amazon", "A1", "getOrders", 20, priority=C)
    # 0.0167/s: the 21st call waits 1 / 0.0167 s = 59.880... s
    assert budget.try_acquire("amazon", "A1", "getOrders", priority=C) == math.ceil(1000 / 0.0167)
    clock.advance(30)
    assert budget.try_acquire("amazon", "A1", "getOrders", priority=C) == math.ceil(
        (1 - 30 * 0.0167) / 0.0167 * 1000)
    clock.advance(1 / 0.0167 - 30)
    assert budget.try_acquire("amazon", "A1", "getOrders", priority=C) == 0
    # accounts and operations have their own buckets
    assert budget.try_acquire("amazon", "A2", "getOrders", priority=C) == 0
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=C) == 0


def test_refill_caps_at_burst(budget, clock):
    drain(budget, "amazon", "A1", "confirmShipment", 10, priority=C)  # 2/s, burst 10
    clock.advance(3600)
    drain(budget, "amazon", "A1", "confirmShipment", 10, priority=C)
    assert budget.try_acquire("amazon", "A1", "confirmShipment", priority=C) == 500


def test_shopify_cost_weights_and_single_query_cap(budget, clock):
    # Given a fresh shop bucket of 1000 points restoring 100/s
    assert budget.try_acquire("shopify", "shop.example", "productsQuery", cost=600, priority=C) == 0
    # every GraphQL operation draws from the same "graphql" bucket
    assert budget.try_acquire("shopify", "shop.example", "inventorySetQuantities",
                              cost=500, priority=C) == 1000  # needs 100 more points: 1 s
    assert budget.try_acquire("shopify", "shop.example", "orders", cost=400, priority=C) == 0
    with pytest.raises(QuotaError) as err:
        budget.try_acquire("shopify", "shop.example", "huge", cost=1001)
    assert err.value.code == "XD-QUOTA-005"


def test_shopify_throttle_status_adoption_and_refund(budget, clock):
    shop = "plus.example"
    assert budget.try_acquire("shopify", shop, "orders", cost=800, priority=C) == 0  # 200 left
    # When the response says the query cost 100 of the 800 requested, on a Plus
    # shop (bucket 10,000, 1,000 points/s) with 9,000 available
    budget.on_response("shopify", shop, "orders", status=200, cost_report={
        "requestedQueryCost": 800, "actualQueryCost": 100,
        "throttleStatus": {"maximumAvailable": 10000.0, "currentlyAvailable": 9000,
                           "restoreRate": 1000.0}})
    # Then the bucket is ten times the planned size: 200 left + 9,000 more room
    # + 700 refunded = 9,900, capped by the 9,000 the server reports
    [entry] = budget.snapshot()
    assert (entry["rate_per_s"], entry["burst"], entry["available"]) == (1000.0, 10000.0, 9000.0)
    # and the bucket refills at the adopted 1,000/s up to the adopted 10,000
    clock.advance(0.5)
    assert budget.snapshot()[0]["available"] == 9500.0
    clock.advance(100)
    assert budget.snapshot()[0]["available"] == 10000.0
    # The server's view caps ours: it says only 50 points are left
    budget.on_response("shopify", shop, "orders", status=200, cost_report={
        "requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 10000.0, "currentlyAvailable": 50,
                           "restoreRate": 1000.0}})
    assert budget.try_acquire("shopify", shop, "orders", cost=150, priority=C) == 100


def test_shopify_throttled_response_empties_the_bucket(budget, clock):
    budget.on_response("shopify", "s.example", "orders", status=200, cost_report={
        "requestedQueryCost": 300, "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 120,
                           "restoreRate": 100.0}})
    [entry] = budget.snapshot()
    assert entry["available"] == 0 and entry["throttled_total"] == 1
    assert entry["code"] == "XD-QUOTA-003" and entry["remedy"]
    assert budget.try_acquire("shopify", "s.example", "orders", cost=300, priority=C) == 3000


def test_shopify_rest_call_limit_header(budget, clock):
    budget.on_response("shopify", "s.example", "rest", status=200,
                       headers={"X-Shopify-Shop-Api-Call-Limit": "38/40"})
    drain(budget, "shopify", "s.example", "rest", 2, priority=C)
    assert budget.try_acquire("shopify", "s.example", "rest", priority=C) == 500


def test_amazon_rate_header_is_adopted(budget, clock):
    budget.on_response("amazon", "A1", "getOrderItems", status=200,
                       headers={"x-amzn-RateLimit-Limit": "2.0"})
    drain(budget, "amazon", "A1", "getOrderItems", 30, priority=C)
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=C) == 500
    [entry] = budget.snapshot()
    assert entry["rate_per_s"] == 2.0 and entry["source"] == "platform"


def test_configured_plan_is_pinned_header_may_only_lower_it(clock):
    overrides = {"plans": {"amazon": {"getOrderItems": {"rate_per_s": 1.0, "burst": 5}}}}
    budget = QuotaBudget(MemoryBackend(clock=clock), overrides=overrides)
    budget.on_response("amazon", "A1", "getOrderItems", status=200,
                       headers={"x-amzn-RateLimit-Limit": "2.0"})
    drain(budget, "amazon", "A1", "getOrderItems", 5, priority=C)
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=C) == 1000
    budget.on_response("amazon", "A1", "getOrderItems", status=200,
                       headers={"x-amzn-RateLimit-Limit": "0.25"})
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=C) == 4000


def test_429_empties_bucket_and_honours_retry_after(budget, clock):
    assert budget.try_acquire("amazon", "A1", "getFeed", priority=C) == 0  # 2/s, burst 15
    budget.on_response("amazon", "A1", "getFeed", status=429, headers={"Retry-After": "5"})
    assert budget.try_acquire("amazon", "A1", "getFeed", priority=C) == 5000
    [entry] = budget.snapshot()
    assert entry["code"] == "XD-QUOTA-001" and entry["blocked_until"] is not None
    assert entry["throttled_total"] == entry["throttled_last_hour"] == 1
    clock.advance(4.999)
    assert budget.try_acquire("amazon", "A1", "getFeed", priority=C) == 1
    clock.advance(0.001)
    assert budget.try_acquire("amazon", "A1", "getFeed", priority=C) == 0
    assert budget.try_acquire("amazon", "A1", "getFeed", priority=C) == 500


def test_429_without_retry_after_waits_one_token(budget, clock):
    budget.on_response("amazon", "A1", "createFeed", status=429)  # 0.0083/s
    assert budget.try_acquire("amazon", "A1", "createFeed", priority=C) == math.ceil(1000 / 0.0083)


def test_priority_reserve_defaults(budget, clock):
    # getOrderItems: burst 30. CONTENT may go down to 50 %, PRICE 30 %,
    # NORMAL 20 %, STOCK 10 %, CRITICAL to empty.
    op = ("amazon", "A1", "getOrderItems")
    drain(budget, *op, 15, priority=Priority.CONTENT)
    wait = budget.try_acquire(*op, priority=Priority.CONTENT)
    assert wait == 2000  # one more token above the 15 kept back
    drain(budget, *op, 6, priority=Priority.PRICE)  # down to 9
    assert budget.try_acquire(*op, priority=Priority.PRICE) > 0
    drain(budget, *op, 3, priority=Priority.NORMAL)  # down to 6
    assert budget.try_acquire(*op, priority=Priority.NORMAL) > 0
    drain(budget, *op, 3, priority=Priority.STOCK)  # down to 3
    assert budget.try_acquire(*op, priority=Priority.STOCK) > 0
    drain(budget, *op, 3, priority=Priority.CRITICAL)
    assert budget.try_acquire(*op, priority=Priority.CRITICAL) == 2000


def test_priority_reserve_is_configurable(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock),
                         reserve={"bucket": {"content": 0.9, "critical": 0.0}})
    drain(budget, "amazon", "A1", "getOrderItems", 3, priority=Priority.CONTENT)
    assert budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CONTENT) == 2000
    from_config = QuotaBudget(MemoryBackend(), overrides={"reserve": {"window": {"PRICE": 0.5}}})
    assert from_config.window_reserve[Priority.PRICE] == 0.5
    assert from_config.bucket_reserve[Priority.PRICE] == 0.3
    with pytest.raises(ConfigError):
        QuotaBudget(MemoryBackend(), reserve={"bucket": {"content": 1.0}})
    with pytest.raises(ConfigError):
        QuotaBudget(MemoryBackend(), reserve={"bucket": {"urgent": 0.1}})


def test_reserve_never_locks_out_a_call_that_fits(budget, clock):
    # FBA inventory: burst 2. CONTENT's 50 % floor would leave room for nothing
    # if the floor were not clamped; it may still run when the bucket is full.
    assert budget.try_acquire("amazon", "A1", "getInventorySummaries",
                              priority=Priority.CONTENT) == 0
    assert budget.try_acquire("amazon", "A1", "getInventorySummaries",
                              priority=Priority.CONTENT) == 500


def test_time_scale_multiplies_rates_not_bursts(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), time_scale=60)
    drain(budget, "amazon", "A1", "getOrders", 20, priority=C)
    assert budget.try_acquire("amazon", "A1", "getOrders", priority=C) == math.ceil(
        1000 / (0.0167 * 60))


def test_ebay_trading_daily_limit_resets_at_pacific_midnight(clock):
    # 2026-01-15 23:59:00 PST = 07:59:00 UTC
    clock.now_s = at("2026-01-15T07:59:00+00:00")
    overrides = {"windows": {"ebay": {"trading_daily": {"limit": 3}}}}
    budget = QuotaBudget(MemoryBackend(clock=clock), overrides=overrides, wall_clock=clock)
    drain(budget, "ebay", "seller1", "GetOrders", 2, priority=C)
    drain(budget, "ebay", "seller1", "GetMyeBaySelling", 1, priority=C)  # any Trading call counts
    grant = budget.attempt("ebay", "seller1", "GetOrders", priority=C)
    assert (grant.granted, grant.code, grant.wait_ms) == (False, "XD-QUOTA-002", 60_000)
    clock.advance(60)
    assert budget.try_acquire("ebay", "seller1", "GetOrders", priority=C) == 0


def test_ebay_daily_limit_in_summer_time(clock):
    clock.now_s = at("2026-07-15T06:59:30+00:00")  # 23:59:30 PDT
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock,
                         overrides={"windows": {"ebay": {"trading_daily": {"limit": 1}}}})
    drain(budget, "ebay", "seller1", "GetOrders", 1, priority=C)
    assert budget.try_acquire("ebay", "seller1", "GetOrders", priority=C) == 30_000


def test_long_window_reserve_per_priority(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock,
                         overrides={"windows": {"ebay": {"trading_daily": {"limit": 10}}}})
    # CONTENT keeps 20 % of the day's calls for more important work
    drain(budget, "ebay", "s", "ReviseFixedPriceItem", 8, priority=Priority.CONTENT)
    assert budget.attempt("ebay", "s", "ReviseFixedPriceItem",
                          priority=Priority.CONTENT).code == "XD-QUOTA-002"
    drain(budget, "ebay", "s", "GetOrders", 2, priority=C)


def test_ebay_listing_revisions_all_or_nothing(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock, overrides={
        "windows": {"ebay": {"listing_revisions": {"limit": 2}}}})
    op = ("ebay", "s", "ReviseInventoryStatus")
    assert budget.try_acquire(*op, listing_ids=["L1", "L2"], priority=C) == 0
    assert budget.try_acquire(*op, listing_ids=["L1"], priority=C) == 0
    grant = budget.attempt(*op, listing_ids=["L1", "L2", "L3"], priority=C)
    assert not grant.granted and grant.code == "XD-QUOTA-004"
    assert grant.refused_listing_ids == ("L1",)
    # nothing was charged for the refused call: L2 and L3 still have room
    assert budget.try_acquire(*op, listing_ids=["L2", "L3"], priority=C) == 0
    entries = [e for e in budget.snapshot() if e["kind"] == "listing_window"]
    assert entries[0]["at_limit"] == ["L1", "L2"] and entries[0]["code"] == "XD-QUOTA-004"
    # the same listing twice in one call counts twice
    assert budget.attempt(*op, listing_ids=["L3", "L3"], priority=C).code == "XD-QUOTA-004"


def test_ebay_518_exhausts_the_day_and_analytics_report_is_adopted(clock):
    clock.now_s = at("2026-03-02T20:00:00+00:00")  # noon PST
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock)
    assert budget.try_acquire("ebay", "s", "GetOrders", priority=C) == 0
    budget.on_response("ebay", "s", "GetOrders", status=200, daily_limit_reached=True)
    grant = budget.attempt("ebay", "s", "GetOrders", priority=C)
    assert grant.code == "XD-QUOTA-002" and grant.wait_ms == 12 * 3600 * 1000
    [window] = [e for e in budget.snapshot() if e["kind"] == "window"]
    assert window["remaining"] == 0 and window["code"] == "XD-QUOTA-002"
    # the Developer Analytics API says the real quota is 1.5M with 1M left
    budget.adopt_window("ebay", "s", "trading_daily", limit=1_500_000, remaining=1_000_000)
    assert budget.try_acquire("ebay", "s", "GetOrders", priority=C) == 0
    [window] = [e for e in budget.snapshot() if e["kind"] == "window"]
    assert (window["limit"], window["used"]) == (1_500_000, 500_001)


def test_app_scoped_window_is_shared_by_accounts(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock, overrides={
        "windows": {"ebay": {"oauth_refresh_daily": {"limit": 2}}}})
    assert budget.try_acquire("ebay", "s1", "oauthRefreshToken", priority=C) == 0
    assert budget.try_acquire("ebay", "s2", "oauthRefreshToken", priority=C) == 0
    assert budget.attempt("ebay", "s3", "oauthRefreshToken", priority=C).code == "XD-QUOTA-002"


def test_blocking_acquire_sleeps_outside_and_times_out(clock):
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    budget = QuotaBudget(MemoryBackend(clock=clock), sleep=sleep, monotonic=clock)
    drain(budget, "amazon", "A1", "getFeed", 15, priority=C)
    budget.acquire("amazon", "A1", "getFeed", priority=C, timeout_s=1)
    assert slept == [0.5]
    drain(budget, "amazon", "A1", "getOrders", 20, priority=C)
    with pytest.raises(QuotaError) as err:
        budget.acquire("amazon", "A1", "getOrders", priority=C, timeout_s=10)
    assert err.value.code == "XD-QUOTA-003" and err.value.retry_after_s == pytest.approx(59.881)
    assert slept == [0.5]  # gave up without sleeping a wait it could not finish


def test_snapshot_reports_next_token_and_calls(budget, clock):
    drain(budget, "amazon", "A1", "getOrders", 3, priority=C)
    clock.advance(10)
    [entry] = budget.snapshot()
    assert entry["calls_last_hour"] == 3
    assert entry["available"] == pytest.approx(17.167)
    next_at = dt.datetime.fromisoformat(entry["next_token_at"]).timestamp()
    assert next_at == pytest.approx(clock.now_s + (18 - 17.167) / 0.0167, abs=0.002)
    clock.advance(3601)
    [entry] = budget.snapshot()
    assert entry["calls_last_hour"] == 0 and entry["next_token_at"] is None and entry["code"] is None


def test_unknown_operation_needs_a_plan(budget):
    with pytest.raises(ConfigError) as err:
        budget.try_acquire("amazon", "A1", "getShipments")
    assert err.value.code == "XD-CFG-004"
    configured = QuotaBudget(MemoryBackend(), overrides={
        "plans": {"amazon": {"getShipments": {"rate_per_s": 2, "burst": 3}}}})
    assert configured.plan("amazon", "getShipments") == UsagePlan(
        2.0, 3.0, bucket="getShipments", pinned_rate=True, pinned_burst=True,
        source="configuration")


def test_custom_plans_and_windows(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), wall_clock=clock,
                         plans={("x", "op"): UsagePlan(1, 2, windows=("w",))},
                         windows={("x", "w"): LongWindow(3, window_s=10)})
    assert [budget.try_acquire("x", "a", "op", priority=C) for _ in range(3)] == [0, 0, 1000]
    clock.advance(1)
    assert budget.try_acquire("x", "a", "op", priority=C) == 0
    grant = budget.attempt("x", "a", "op", priority=C)
    assert grant.code == "XD-QUOTA-002" and grant.wait_ms == 9000  # window [1767225600, +10)
