"""Shopify quota: the GraphQL cost bucket (every query of a shop draws from
``graphql``), legacy REST, and what a response says about them.

* GraphQL ``extensions.cost`` = {requestedQueryCost, actualQueryCost,
  throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}; a
  throttled query answers ``errors[].extensions.code == "THROTTLED"`` with no
  actualQueryCost.
* REST (legacy): ``X-Shopify-Shop-Api-Call-Limit: 32/40``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.platforms.spec import QuotaReading
from crossdock.ratelimit.feedback import ServerQuota, number
from crossdock.ratelimit.plans import UsagePlan

_SHOPIFY = "Shopify Admin API (docs/platform-facts.md#shopify-cost-based-throttling)"

USAGE_PLANS: dict[str, UsagePlan] = {
    # GraphQL: one cost-weighted bucket per shop; every query draws from it.
    # Bucket size is read from throttleStatus.maximumAvailable at run time.
    "graphql": UsagePlan(100, 1000, bucket="graphql", max_cost=1000, source=_SHOPIFY),
    # Legacy REST: leaky bucket 40 requests, 2/s (standard plan).
    "rest": UsagePlan(2, 40, bucket="rest", source=_SHOPIFY),
    "token": UsagePlan(1, 10, uncertain=True,
                   source="crossdock pacing: Shopify publishes no token-endpoint limit"),
}


def fallback_plan(operation: str) -> str | None:
    """Every GraphQL query of a shop draws from the same cost bucket."""
    return "graphql"


def shopify_rest_call_limit(headers: Mapping[str, str] | None) -> tuple[float, float] | None:
    """(used, bucket size) from ``X-Shopify-Shop-Api-Call-Limit: 32/40``."""
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    raw = lowered.get("x-shopify-shop-api-call-limit")
    if not raw or "/" not in raw:
        return None
    used, size = (number(part) for part in raw.split("/", 1))
    if used is None or size is None or size <= 0:
        return None
    return used, size


def shopify_throttled(body: Mapping[str, Any] | None) -> bool:
    """True when a GraphQL response body carries a THROTTLED error."""
    for error in (body or {}).get("errors") or ():
        if isinstance(error, Mapping):
            ext = error.get("extensions") or {}
            if ext.get("code") == "THROTTLED" or error.get("message") == "Throttled":
                return True
    return False


def shopify_cost(cost: Mapping[str, Any] | None) -> ServerQuota:
    """What ``extensions.cost`` says: bucket size, restore rate, points available
    now, points to refund (requested - actual), and whether it was throttled."""
    if not cost:
        return ServerQuota()
    status = cost.get("throttleStatus") or {}
    requested = number(cost.get("requestedQueryCost"))
    actual = number(cost.get("actualQueryCost"))
    available = number(status.get("currentlyAvailable"))
    refund = max(0.0, requested - actual) if requested is not None and actual is not None else 0.0
    throttled = (actual is None and requested is not None and available is not None
                 and available < requested)
    return ServerQuota(rate_per_s=number(status.get("restoreRate")),
                       burst=number(status.get("maximumAvailable")),
                       available=available, refund=refund, throttled=throttled)


def read_quota(headers: Mapping[str, str], cost_report: Mapping[str, Any] | None) -> QuotaReading:
    """The GraphQL cost extension (``cost_report``), then the REST call-limit header."""
    rate = burst = available = None
    refund, throttled = 0.0, False
    if cost_report:
        sc = shopify_cost(cost_report)
        rate, burst, available, refund, throttled = sc.rate_per_s, sc.burst, sc.available, sc.refund, sc.throttled
    rest = shopify_rest_call_limit(headers)
    if rest is not None:
        used, size = rest
        burst, available = size, max(0.0, size - used)
    return QuotaReading(rate_per_s=rate, burst=burst, available=available, refund=refund, throttled=throttled)
