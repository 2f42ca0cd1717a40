"""The budget's safety margins (arrival jitter, rate headroom) and a bucket
whose size the platform reports: exact on the in-memory backend, the same
numbers on every store."""

from __future__ import annotations

import uuid

import pytest

from crossdock.errors import ConfigError
from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.memory import MemoryBackend
from crossdock.ratelimit.budget import DEFAULT_ARRIVAL_JITTER_S, DEFAULT_RATE_HEADROOM

C = Priority.CRITICAL


def test_arrival_jitter_keeps_rate_times_jitter_tokens_back(clock):
    # Given getOrderItems (0.5/s, burst 30) against a sandbox 16x faster: 8 tokens/s,
    # and 0.125 s of arrival jitter to absorb = 1 token kept back
    budget = QuotaBudget(MemoryBackend(clock=clock), time_scale=16, arrival_jitter_s=0.125)
    op = ("amazon", "A1", "getOrderItems")
    # When the full bucket drains, 29 calls go at once
    assert [budget.try_acquire(*op, priority=C) for _ in range(29)] == [0] * 29
    # Then the 30th waits one token (125 ms), and calls follow at the full rate
    assert budget.try_acquire(*op, priority=C) == 125
    for _ in range(5):
        clock.advance(0.125)
        assert budget.try_acquire(*op, priority=C) == 0
        assert budget.try_acquire(*op, priority=C) == 125


def test_arrival_jitter_adds_to_the_priority_reserve_but_never_locks_out(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), time_scale=16, arrival_jitter_s=0.125)
    # CONTENT keeps 50 % of 30 plus the 1 jitter token: 14 calls, not 15
    op = ("amazon", "A1", "getOrderItems")
    assert [budget.try_acquire(*op, priority=Priority.CONTENT) for _ in range(14)] == [0] * 14
    assert budget.try_acquire(*op, priority=Priority.CONTENT) == 125
    # getInventorySummaries (2/s x 16, burst 2): the margin (4 tokens) is clamped so
    # that a call still runs on a full bucket
    inv = ("amazon", "A1", "getInventorySummaries")
    assert budget.try_acquire(*inv, priority=C) == 0
    assert budget.try_acquire(*inv, priority=C) == 32  # back to full: 1 token at 32/s


def test_arrival_jitter_on_every_store(store):
    # 0.05/s with 40 s of jitter: 2 tokens kept back of 5
    account = f"acct-{uuid.uuid4().hex[:8]}"
    budget = store.budget(plans={("test", "op"): UsagePlan(0.05, 5)}, arrival_jitter_s=40)
    assert [budget.try_acquire("test", account, "op", priority=C) for _ in range(3)] == [0] * 3
    wait_ms = budget.try_acquire("test", account, "op", priority=C)
    assert 19_000 <= wait_ms <= 20_000  # one token short at 0.05/s


def test_margins_are_validated_and_read_from_configuration():
    assert QuotaBudget(MemoryBackend()).arrival_jitter_s == 0.0  # exact unless asked
    configured = QuotaBudget(MemoryBackend(), overrides={"arrival_jitter_s": 0.25,
                                                         "rate_headroom": 0.9})
    assert (configured.arrival_jitter_s, configured.rate_headroom) == (0.25, 0.9)
    for bad in (-0.1, float("inf"), float("nan")):
        with pytest.raises(ConfigError):
            QuotaBudget(MemoryBackend(), arrival_jitter_s=bad)
    assert 0 < DEFAULT_ARRIVAL_JITTER_S <= 1 and 0.95 <= DEFAULT_RATE_HEADROOM < 1


def test_configured_budget_uses_the_default_margins():
    from types import SimpleNamespace

    from crossdock.ratelimit.wiring import budget_from_config

    cfg = SimpleNamespace(ratelimit_url="memory://", ratelimit_plans={}, time_scale=1.0)
    budget = budget_from_config(cfg)
    assert (budget.rate_headroom, budget.arrival_jitter_s) == (DEFAULT_RATE_HEADROOM,
                                                               DEFAULT_ARRIVAL_JITTER_S)


def test_a_bigger_bucket_reported_by_the_shop_is_usable_at_once(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock))
    shop = "s.example"
    # Given the planned 1,000-point bucket with 600 used
    assert budget.try_acquire("shopify", shop, "orders", cost=600, priority=C) == 0
    # When the shop says its bucket holds 2,000 (1,500 available now)
    budget.on_response("shopify", shop, "orders", status=200, cost_report={
        "requestedQueryCost": 600, "actualQueryCost": 600,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1500,
                           "restoreRate": 100.0}})
    # Then the 1,000 points of room the plan did not know about are there: 400 + 1000
    [entry] = budget.snapshot()
    assert (entry["burst"], entry["available"]) == (2000.0, 1400.0)
    assert budget.try_acquire("shopify", shop, "orders", cost=1000, priority=C) == 0
    # and a smaller bucket takes the same amount away (never below empty)
    budget.on_response("shopify", shop, "orders", status=200, cost_report={
        "requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 900,
                           "restoreRate": 100.0}})
    [entry] = budget.snapshot()
    assert (entry["burst"], entry["available"]) == (1000.0, 0.0)


def test_a_pinned_bucket_size_does_not_grow(clock):
    budget = QuotaBudget(MemoryBackend(clock=clock), overrides={
        "plans": {"shopify.graphql": {"burst": 1000}}})
    assert budget.try_acquire("shopify", "s", "orders", cost=600, priority=C) == 0
    budget.on_response("shopify", "s", "orders", status=200, cost_report={
        "requestedQueryCost": 600, "actualQueryCost": 600,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1500,
                           "restoreRate": 100.0}})
    [entry] = budget.snapshot()
    assert (entry["burst"], entry["available"]) == (1000.0, 400.0)
