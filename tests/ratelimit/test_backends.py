"""The same bucket arithmetic on every backend, on the backend's own clock.

Server clocks can't be frozen, so these tests use tiny rates (refill over the
test's lifetime is negligible) or waits measured in tens of milliseconds with
generous tolerances.
"""

from __future__ import annotations

import time
import uuid

import pytest

from crossdock.errors import ConfigError, QuotaError
from crossdock.ratelimit import Priority, UsagePlan, backend_from_url
from crossdock.ratelimit.plans import LongWindow

C = Priority.CRITICAL
SLOW = 0.001  # one token per 1000 s: nothing refills while a test runs


def plans(**specs: UsagePlan) -> dict[tuple[str, str], UsagePlan]:
    return {("test", name): plan for name, plan in specs.items()}


@pytest.fixture
def account() -> str:
    return f"acct-{uuid.uuid4().hex[:8]}"


def test_burst_then_exact_refusal(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(SLOW, 5)))
    assert [budget.try_acquire("test", account, "op", priority=C) for _ in range(5)] == [0] * 5
    wait_ms = budget.try_acquire("test", account, "op", priority=C)
    assert 990_000 <= wait_ms <= 1_000_000
    grant = budget.attempt("test", account, "op", priority=C)
    assert not grant.granted and grant.code == "XD-QUOTA-003"


def test_refill_at_rate(store, account):
    # one token per 250 ms: long enough that the second call comes before the refill even on a
    # loaded machine (tests run on two xdist workers), short enough to wait for
    budget = store.budget(plans=plans(op=UsagePlan(4, 1)))
    assert budget.try_acquire("test", account, "op", priority=C) == 0
    wait_ms = budget.try_acquire("test", account, "op", priority=C)
    assert 1 <= wait_ms <= 250
    time.sleep(wait_ms / 1000 + 0.02)
    assert budget.try_acquire("test", account, "op", priority=C) == 0


def test_cost_weights(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(SLOW, 10)))
    assert budget.try_acquire("test", account, "op", cost=4, priority=C) == 0
    assert budget.try_acquire("test", account, "op", cost=4, priority=C) == 0
    wait_ms = budget.try_acquire("test", account, "op", cost=4, priority=C)
    assert 1_990_000 <= wait_ms <= 2_000_000  # 2 tokens short
    assert budget.try_acquire("test", account, "op", cost=2, priority=C) == 0
    with pytest.raises(QuotaError) as err:
        budget.try_acquire("test", account, "op", cost=11, priority=C)
    assert err.value.code == "XD-QUOTA-005"


def test_shopify_throttle_status_adoption(store, account):
    budget = store.budget(plans={("shopify", "graphql"): UsagePlan(SLOW, 1000, bucket="graphql",
                                                                   max_cost=1000)})
    assert budget.try_acquire("shopify", account, "orders", cost=500, priority=C) == 0
    budget.on_response("shopify", account, "orders", status=200, cost_report={
        "requestedQueryCost": 500, "actualQueryCost": 200,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1850,
                           "restoreRate": 0.002}})
    [entry] = budget.snapshot()
    assert entry["burst"] == 2000.0 and entry["rate_per_s"] == 0.002
    # 500 left + 1000 more room in a bucket twice the planned size + 300 refunded
    assert entry["available"] == pytest.approx(1800, abs=0.1)
    budget.on_response("shopify", account, "orders", status=200, cost_report={
        "requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 100,
                           "restoreRate": 0.002}})
    wait_ms = budget.try_acquire("shopify", account, "orders", cost=150, priority=C)
    assert 24_900_000 <= wait_ms <= 25_000_000  # 50 points at 0.002/s
    # a THROTTLED answer (no actual cost, not enough points) empties the bucket
    budget.on_response("shopify", account, "orders", status=200, cost_report={
        "requestedQueryCost": 150, "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 100,
                           "restoreRate": 0.002}})
    [entry] = budget.snapshot()
    assert entry["available"] < 0.01 and entry["throttled_total"] == 1


def test_amazon_header_adoption(store, account):
    budget = store.budget(plans={("amazon", "getOrders"): UsagePlan(SLOW, 2)})
    budget.on_response("amazon", account, "getOrders", status=200,
                       headers={"x-amzn-RateLimit-Limit": "0.002"})
    assert budget.try_acquire("amazon", account, "getOrders", priority=C) == 0
    assert budget.try_acquire("amazon", account, "getOrders", priority=C) == 0
    wait_ms = budget.try_acquire("amazon", account, "getOrders", priority=C)
    assert 495_000 <= wait_ms <= 500_000
    [entry] = budget.snapshot()
    assert entry["rate_per_s"] == 0.002 and entry["source"] == "platform"


def test_429_empties_bucket_and_retry_after(store, account):
    budget = store.budget(plans=plans(fast=UsagePlan(100, 10), slow=UsagePlan(SLOW, 10)))
    assert budget.try_acquire("test", account, "fast", priority=C) == 0
    budget.on_response("test", account, "fast", status=429, headers={"Retry-After": "1"})
    wait_ms = budget.try_acquire("test", account, "fast", priority=C)
    assert 900 <= wait_ms <= 1000  # blocked for Retry-After, not for one token (10 ms)
    grant = budget.attempt("test", account, "fast", priority=C)
    assert grant.code == "XD-QUOTA-001"
    # without Retry-After: the bucket is empty and refills from now
    budget.on_response("test", account, "slow", status=429)
    wait_ms = budget.try_acquire("test", account, "slow", priority=C)
    assert 990_000 <= wait_ms <= 1_000_000
    entries = {e["operation"]: e for e in budget.snapshot()}
    assert entries["fast"]["throttled_total"] == 1 and entries["fast"]["throttled_last_hour"] == 1
    assert entries["fast"]["blocked_until"] is not None
    assert entries["slow"]["throttled_total"] == 1 and entries["slow"]["calls_last_hour"] == 0


def test_priority_reserve(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(SLOW, 10)))

    def granted(priority: Priority) -> int:
        n = 0
        while budget.try_acquire("test", account, "op", priority=priority) == 0:
            n += 1
        return n

    # CONTENT to 50 %, PRICE to 30 %, NORMAL to 20 %, STOCK to 10 %, CRITICAL to 0
    assert [granted(p) for p in (Priority.CONTENT, Priority.PRICE, Priority.NORMAL,
                                 Priority.STOCK, Priority.CRITICAL)] == [5, 2, 1, 1, 1]


def test_daily_budget(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(1000, 1000, windows=("daily",)),
                                      rev=UsagePlan(1000, 1000, windows=("revisions",))),
                          windows={("test", "daily"): LongWindow(3),
                                   ("test", "revisions"): LongWindow(2, scope="listing",
                                                                     code="XD-QUOTA-004")})
    assert [budget.try_acquire("test", account, "op", priority=C) for _ in range(3)] == [0] * 3
    grant = budget.attempt("test", account, "op", priority=C)
    now = time.time()
    to_midnight_ms = (86_400 - now % 86_400) * 1000
    assert grant.code == "XD-QUOTA-002"
    assert abs(grant.wait_ms - to_midnight_ms) < 5_000
    # per listing, all or nothing
    assert budget.try_acquire("test", account, "rev", listing_ids=["L1", "L2"], priority=C) == 0
    assert budget.try_acquire("test", account, "rev", listing_ids=["L1"], priority=C) == 0
    grant = budget.attempt("test", account, "rev", listing_ids=["L1", "L2"], priority=C)
    assert grant.code == "XD-QUOTA-004" and grant.refused_listing_ids == ("L1",)
    assert budget.try_acquire("test", account, "rev", listing_ids=["L2"], priority=C) == 0
    windows = {e["window"]: e for e in budget.snapshot() if e["kind"] != "bucket"}
    assert windows["daily"]["used"] == 3 and windows["daily"]["code"] == "XD-QUOTA-002"
    assert windows["revisions"]["at_limit"] == ["L1", "L2"]


def test_daily_limit_feedback_and_adoption(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(1000, 1000, windows=("daily",))),
                          windows={("test", "daily"): LongWindow(100)})
    assert budget.try_acquire("test", account, "op", priority=C) == 0
    budget.on_response("test", account, "op", status=200, daily_limit_reached=True)
    assert budget.attempt("test", account, "op", priority=C).code == "XD-QUOTA-002"
    budget.adopt_window("test", account, "daily", limit=500, remaining=10)
    assert budget.try_acquire("test", account, "op", priority=C) == 0
    [window] = [e for e in budget.snapshot() if e["kind"] == "window"]
    assert (window["limit"], window["used"], window["remaining"]) == (500, 491, 9)


def test_time_scale(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(SLOW, 1)), time_scale=1000)  # 1/s
    started = time.monotonic()
    assert budget.try_acquire("test", account, "op", priority=C) == 0
    wait_ms = budget.try_acquire("test", account, "op", priority=C)
    # the next token is a real second after the first was taken: what is left of it when asked
    # (a loaded machine takes a while between the two calls; the wait never exceeds the second)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert 1000 - elapsed_ms - 5 <= wait_ms <= 1000


def test_calls_counted_for_observability(store, account):
    budget = store.budget(plans=plans(op=UsagePlan(SLOW, 3)))
    for _ in range(5):
        budget.try_acquire("test", account, "op", priority=C)
    [entry] = budget.snapshot()
    assert entry["calls_last_hour"] == 3  # refusals are not calls
    assert entry["next_token_at"] is not None and entry["code"] == "XD-QUOTA-003"


def test_backend_from_url_rejects_unknown_scheme():
    with pytest.raises(ConfigError) as err:
        backend_from_url("mongodb://user:secret@host/db")
    assert err.value.code == "XD-CFG-008" and "secret" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        backend_from_url("sql://")
    assert err.value.code == "XD-CFG-004"


def test_configured_values_are_pinned_adopted_values_only_lower_them(store, account):
    # Given a configured rate (pinned) and the default burst (free to follow the shop)
    budget = store.budget(plans={("shopify", "graphql"): UsagePlan(SLOW, 100, bucket="graphql")},
                          overrides={"plans": {"shopify.graphql": {"rate_per_s": 0.002}}})
    status = {"maximumAvailable": 400.0, "currentlyAvailable": 400, "restoreRate": 0.004}
    # When the shop reports a higher restore rate and a bigger bucket
    budget.on_response("shopify", account, "orders", status=200, cost_report={
        "requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": status})
    [entry] = budget.snapshot()
    # Then the bucket grows but the configured rate is kept
    assert (entry["rate_per_s"], entry["burst"]) == (0.002, 400.0)
    # and a lower reported rate is adopted
    budget.on_response("shopify", account, "orders", status=200, cost_report={
        "requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {**status, "restoreRate": 0.001}})
    [entry] = budget.snapshot()
    assert entry["rate_per_s"] == 0.001
