"""Amazon SP-API quota: the published usage plans (docs/platform-facts.md#amazon-usage-plans,
from the official models) and what a response says about them
(``x-amzn-RateLimit-Limit``: the rate applied, best effort; a 429 has no Retry-After,
so the bucket waits one token's refill: docs/platform-facts.md#amazon-throttling-and-errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.platforms.spec import QuotaReading
from crossdock.ratelimit.feedback import number
from crossdock.ratelimit.plans import UsagePlan

_SOURCE = "Amazon SP-API usage plan (docs/platform-facts.md#amazon-usage-plans)"


def _amz(rate_per_s: float, burst: float) -> UsagePlan:
    return UsagePlan(rate_per_s, burst, source=_SOURCE)


USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": _amz(0.0167, 20),
    "searchOrders": _amz(0.0056, 20),
    "getOrder": _amz(0.5, 30),
    # Notifications API v1 (subscribing: crossdock events setup)
    "getDestinations": _amz(1, 5),
    "createDestination": _amz(1, 5),
    "getSubscription": _amz(1, 5),
    "createSubscription": _amz(1, 5),
    "deleteSubscriptionById": _amz(1, 5),
    "getOrderItems": _amz(0.5, 30),
    "getOrderAddress": _amz(0.5, 30),
    "getOrderBuyerInfo": _amz(0.5, 30),
    "getOrderItemsBuyerInfo": _amz(0.5, 30),
    "getOrderRegulatedInfo": _amz(0.5, 30),
    "updateVerificationStatus": _amz(0.5, 30),
    "updateShipmentStatus": _amz(5, 15),
    "confirmShipment": _amz(2, 10),
    "createFeedDocument": _amz(0.5, 15),
    "createFeed": _amz(0.0083, 15),
    "getFeed": _amz(2, 15),
    "getFeeds": _amz(0.0222, 10),
    "cancelFeed": _amz(2, 15),
    "getFeedDocument": _amz(0.0222, 10),
    # Reports API 2021-06-30: the returns report (connectors/amazon/returns.py)
    "createReport": _amz(0.0167, 15),
    "getReport": _amz(2, 15),
    "getReportDocument": _amz(0.0167, 15),
    "getListingsItem": _amz(5, 10),
    "putListingsItem": _amz(5, 10),
    "patchListingsItem": _amz(5, 5),
    "deleteListingsItem": _amz(5, 5),
    "searchListingsItems": _amz(5, 5),
    "getInventorySummaries": _amz(2, 2),
    "createRestrictedDataToken": _amz(1, 10),
    # Login with Amazon token endpoint: no published limit.
    "lwaToken": UsagePlan(1, 10, uncertain=True, source="crossdock pacing: LWA publishes no limit"),
}


def amazon_rate(headers: Mapping[str, str] | None) -> float | None:
    """The applied rate from ``x-amzn-RateLimit-Limit``, None if absent or unusable."""
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    rate = number(lowered.get("x-amzn-ratelimit-limit"))
    return rate if rate is not None and rate > 0 else None


def read_quota(headers: Mapping[str, str], cost_report: Mapping[str, Any] | None) -> QuotaReading:
    return QuotaReading(rate_per_s=amazon_rate(headers))
