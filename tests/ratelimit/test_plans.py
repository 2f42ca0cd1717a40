"""Default usage plans are the published figures, and configuration overrides them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crossdock.errors import ConfigError
from crossdock.ratelimit.plans import (
    DEFAULT_PLANS,
    DEFAULT_WINDOWS,
    LongWindow,
    UsagePlan,
    plan_for,
    window_for,
)

SPECS = Path("/work/shared/specs/amazon")
FACTS_AMAZON = {
    "getOrders": (0.0167, 20), "getOrder": (0.5, 30), "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30), "confirmShipment": (2, 10), "searchOrders": (0.0056, 20),
    "createFeedDocument": (0.5, 15), "createFeed": (0.0083, 15), "getFeed": (2, 15),
    "getFeedDocument": (0.0222, 10), "getListingsItem": (5, 10), "putListingsItem": (5, 10),
    "patchListingsItem": (5, 5), "getInventorySummaries": (2, 2),
    "createRestrictedDataToken": (1, 10),
}


@pytest.mark.parametrize(("operation", "expected"), sorted(FACTS_AMAZON.items()))
def test_amazon_plans_match_facts(operation, expected):
    plan = plan_for("amazon", operation)
    assert (plan.rate_per_s, plan.burst, plan.bucket) == (*expected, operation)


def _spec_usage_plans() -> dict[str, tuple[float, float]]:
    found = {}
    for path in SPECS.glob("*.json"):
        for methods in json.loads(path.read_text()).get("paths", {}).values():
            for op in methods.values():
                if isinstance(op, dict) and "operationId" in op:
                    m = re.search(r"\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", op.get("description", ""))
                    if m:
                        found[op["operationId"]] = (float(m.group(1)), float(m.group(2)))
    return found


@pytest.mark.skipif(not SPECS.is_dir(), reason="official Amazon specs not present")
def test_amazon_plans_match_the_official_specs():
    spec = _spec_usage_plans()
    assert spec, "no usage plan tables found in the specs"
    ours = {op: (p.rate_per_s, p.burst) for (platform, op), p in DEFAULT_PLANS.items()
            if platform == "amazon" and op in spec}
    assert ours == {op: spec[op] for op in ours}
    assert set(FACTS_AMAZON) - {"searchOrders"} <= set(ours)


def test_ebay_plans_and_windows():
    assert plan_for("ebay", "GetOrders").windows == ("trading_daily",)
    assert plan_for("ebay", "GetSellerList").windows == ("trading_daily",)  # any Trading call
    assert "listing_revisions" in plan_for("ebay", "ReviseInventoryStatus").windows
    assert "listing_revisions" in plan_for("ebay", "bulkUpdatePriceQuantity").windows
    assert plan_for("ebay", "getOrders").windows == ("fulfillment_daily",)
    assert window_for("ebay", "trading_daily").limit == 5_000
    assert window_for("ebay", "inventory_daily").uncertain
    assert window_for("ebay", "fulfillment_daily").uncertain
    assert window_for("ebay", "listing_revisions") == DEFAULT_WINDOWS[("ebay", "listing_revisions")]
    assert window_for("ebay", "listing_revisions").limit == 250
    assert window_for("ebay", "oauth_refresh_daily").scope == "app"
    for plan in {p for (platform, _), p in DEFAULT_PLANS.items() if platform == "ebay"}:
        for name in plan.windows:
            assert ("ebay", name) in DEFAULT_WINDOWS


def test_shopify_plans():
    graphql = plan_for("shopify", "productVariantsBulkUpdate")
    assert (graphql.rate_per_s, graphql.burst, graphql.bucket, graphql.max_cost) == (
        100, 1000, "graphql", 1000)
    rest = plan_for("shopify", "rest")
    assert (rest.rate_per_s, rest.burst) == (2, 40)


def test_overrides():
    overrides = {
        "plans": {"amazon": {"getOrders": {"rate_per_s": 0.0334, "burst": 40}},
                  "ebay": {"getOrders": {"windows": []}}},
        "windows": {"ebay": {"trading_daily": {"limit": 1_500_000, "scope": "app"},
                             "nightly": {"limit": 10, "window_s": 3600}}},
    }
    plan = plan_for("amazon", "getOrders", overrides=overrides)
    assert plan == UsagePlan(0.0334, 40, bucket="getOrders", pinned_rate=True, pinned_burst=True,
                             source="configuration")
    assert plan_for("amazon", "getOrder", overrides=overrides) == plan_for("amazon", "getOrder")
    assert plan_for("ebay", "getOrders", overrides=overrides).windows == ()
    trading = window_for("ebay", "trading_daily", overrides=overrides)
    assert (trading.limit, trading.scope, trading.pinned, trading.tz) == (
        1_500_000, "app", True, "America/Los_Angeles")
    assert window_for("ebay", "nightly", overrides=overrides) == LongWindow(
        10, window_s=3600, pinned=True, source="configuration")


@pytest.mark.parametrize("entry", [
    {"rate_per_s": 0}, {"burst": "lots"}, {"rate_per_s": -1}, {"rte_per_s": 1},
])
def test_bad_overrides_are_config_errors(entry):
    with pytest.raises(ConfigError) as err:
        plan_for("amazon", "getOrders", overrides={"plans": {"amazon": {"getOrders": entry}}})
    assert err.value.code == "XD-CFG-003"


def test_new_operation_needs_rate_and_burst():
    with pytest.raises(ConfigError) as err:
        plan_for("amazon", "getShipments", overrides={
            "plans": {"amazon": {"getShipments": {"rate_per_s": 1}}}})
    assert err.value.code == "XD-CFG-004"


def test_flat_override_keys():
    plan = plan_for("shopify", "graphql", overrides={
        "plans": {"shopify.graphql": {"rate_per_s": 1000}}})
    assert (plan.rate_per_s, plan.burst, plan.pinned_rate, plan.pinned_burst) == (
        1000, 1000, True, False)


def test_operations_of_a_shared_bucket_follow_its_configuration():
    # Given Shopify Plus configured on the shop's one GraphQL bucket
    overrides = {"plans": {"shopify.graphql": {"rate_per_s": 1000, "burst": 2000}}}
    # When a query looks up its plan by its own name
    plan = plan_for("shopify", "productVariantsBulkUpdate", overrides=overrides)
    # Then it draws from that bucket with the configured (pinned) figures
    assert (plan.bucket, plan.rate_per_s, plan.burst, plan.pinned_rate, plan.pinned_burst) == (
        "graphql", 1000, 2000, True, True)
    assert plan_for("shopify", "orders", overrides=overrides) == plan_for(
        "shopify", "graphql", overrides=overrides)
