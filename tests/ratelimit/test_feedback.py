"""What responses say about quota: pure parsing, one response in, one reading out."""

from __future__ import annotations

import pytest

from crossdock.connectors.amazon.quota import amazon_rate
from crossdock.connectors.shopify.quota import shopify_cost, shopify_throttled
from crossdock.ratelimit.feedback import ServerQuota, parse_retry_after, read_response

# extensions.cost of a successful Shopify Admin GraphQL response
SHOPIFY_OK_COST = {
    "requestedQueryCost": 252,
    "actualQueryCost": 42,
    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1958,
                       "restoreRate": 100.0},
}
# a THROTTLED response body
SHOPIFY_THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {
        "code": "THROTTLED",
        "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
    "extensions": {"cost": {
        "requestedQueryCost": 752, "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 420,
                           "restoreRate": 50.0}}},
}
AMAZON_429_BODY = {"errors": [{"code": "QuotaExceeded",
                               "message": "You exceeded your quota for the requested resource.",
                               "details": ""}]}


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), ("1.5", 1.5), (" 0 ", 0.0), ("-3", 0.0), ("", None), (None, None),
    ("soon", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),  # relative to now_s below
])
def test_retry_after(value, expected):
    assert parse_retry_after(value, now_s=1445412420.0) == expected


def test_amazon_rate_header_case_insensitive():
    assert amazon_rate({"X-Amzn-RateLimit-Limit": "0.0167"}) == 0.0167
    assert amazon_rate({"x-amzn-ratelimit-limit": "garbage"}) is None
    assert amazon_rate({}) is None


def test_shopify_cost_refund_and_status():
    assert shopify_cost(SHOPIFY_OK_COST) == ServerQuota(
        rate_per_s=100.0, burst=2000.0, available=1958.0, refund=210.0, throttled=False)


def test_shopify_throttled_from_body_and_cost():
    assert shopify_throttled(SHOPIFY_THROTTLED)
    assert not shopify_throttled({"data": {}, "extensions": {"cost": SHOPIFY_OK_COST}})
    reading = shopify_cost(SHOPIFY_THROTTLED["extensions"]["cost"])
    assert reading.throttled and reading.refund == 0.0 and reading.available == 420.0


def test_read_response_per_platform():
    assert read_response("amazon", status=429, headers={}) == ServerQuota(throttled=True)
    assert read_response("amazon", status=200, headers={"x-amzn-RateLimit-Limit": "2"}) == \
        ServerQuota(rate_per_s=2.0)
    assert read_response("shopify", status=429, headers={
        "Retry-After": "2.0", "X-Shopify-Shop-Api-Call-Limit": "40/40"}) == ServerQuota(
        burst=40.0, available=0.0, throttled=True, retry_after_s=2.0)
    assert read_response("shopify", status=200, cost_report=SHOPIFY_OK_COST).refund == 210.0
    # Retry-After on a non-throttle answer is not about quota
    assert read_response("ebay", status=503, headers={"Retry-After": "30"}) == ServerQuota()
    assert read_response("ebay", status=200, throttled=True).throttled
