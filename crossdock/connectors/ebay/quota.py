"""eBay quota: daily call limits per API (docs/platform-facts.md#ebay-call-limits),
paced by crossdock at a per-second rate eBay does not publish; revising calls also
count against a listing's 250 revisions a day
(docs/platform-facts.md#ebay-listing-revisions). Any Trading API call without a plan of its own
(CamelCase operation names) draws from the ``_trading`` plan."""

from __future__ import annotations

from crossdock.ratelimit.plans import LongWindow, UsagePlan

_PACING = "crossdock pacing: eBay publishes daily quotas, not a per-second rate"


def _ebay(*windows: str, rate_per_s: float = 10.0, burst: float = 20.0) -> UsagePlan:
    return UsagePlan(rate_per_s, burst, windows=windows, uncertain=True, source=_PACING)


_TRADING = ("trading_daily",)
_REVISES_TRADING = ("trading_daily", "listing_revisions")
_INVENTORY = ("inventory_daily",)
_REVISES_INVENTORY = ("inventory_daily", "listing_revisions")
_FULFILLMENT = ("fulfillment_daily",)

USAGE_PLANS: dict[str, UsagePlan] = {
    # Fulfillment API (REST)
    "getOrders": _ebay(*_FULFILLMENT),
    "getOrder": _ebay(*_FULFILLMENT),
    "createShippingFulfillment": _ebay(*_FULFILLMENT),
    "getShippingFulfillments": _ebay(*_FULFILLMENT),
    "getShippingFulfillment": _ebay(*_FULFILLMENT),
    "issueRefund": _ebay(*_FULFILLMENT),
    # Post-Order API (REST): a seller's cancellation (connectors/ebay/cancel.py); its daily limit is
    # not one crossdock tracks, paced only
    "createCancellation": _ebay(),
    # and its returns (connectors/ebay/returns.py), paced the same way
    "searchReturns": _ebay(),
    "markReturnReceived": _ebay(),
    "decideReturn": _ebay(),
    # Inventory API (REST); the revising calls also count per listing.
    "bulkUpdatePriceQuantity": _ebay(*_REVISES_INVENTORY),
    "updateOffer": _ebay(*_REVISES_INVENTORY),
    "createOrReplaceInventoryItem": _ebay(*_REVISES_INVENTORY),
    "bulkCreateOrReplaceInventoryItem": _ebay(*_REVISES_INVENTORY),
    "publishOffer": _ebay(*_REVISES_INVENTORY),
    "bulkPublishOffer": _ebay(*_REVISES_INVENTORY),
    "getInventoryItem": _ebay(*_INVENTORY),
    "getInventoryItems": _ebay(*_INVENTORY),
    "bulkGetInventoryItem": _ebay(*_INVENTORY),
    "getOffers": _ebay(*_INVENTORY),
    "getOffer": _ebay(*_INVENTORY),
    "createOffer": _ebay(*_INVENTORY),
    "bulkCreateOffer": _ebay(*_INVENTORY),
    "withdrawOffer": _ebay(*_INVENTORY),
    "getInventoryLocations": _ebay(*_INVENTORY),
    # Developer Analytics API: reports the real quotas at run time.
    "getRateLimits": _ebay("analytics_daily"),
    "getUserRateLimits": _ebay("analytics_daily"),
    # Trading API (XML). Any other CamelCase operation gets the "_trading" plan.
    "_trading": _ebay(*_TRADING),
    "GetOrders": _ebay(*_TRADING),
    "GetItem": _ebay(*_TRADING),
    # the Active list, 200 listings a page: read-backs of many SKUs (connectors/ebay/reads.py)
    "GetMyeBaySelling": _ebay(*_TRADING),
    "CompleteSale": _ebay(*_TRADING),
    "ReviseInventoryStatus": _ebay(*_REVISES_TRADING, "revise_inventory_status_15s"),
    "ReviseFixedPriceItem": _ebay(*_REVISES_TRADING),
    "ReviseItem": _ebay(*_REVISES_TRADING),
    # Notification API (REST): crossdock's events setup and the keys notifications are signed with.
    **{op: _ebay("notification_daily", rate_per_s=2, burst=10) for op in (
        "getTopics", "getDestinations", "createDestination", "updateDestination", "getSubscriptions",
        "createSubscription", "enableSubscription", "getPublicKey")},
    # OAuth token endpoint: per-application daily limits by grant type.
    "oauthRefreshToken": _ebay("oauth_refresh_daily", rate_per_s=1, burst=10),
    "oauthClientCredentials": _ebay("oauth_client_credentials_daily",
                                              rate_per_s=1, burst=10),
    "oauthAuthorizationCode": _ebay("oauth_authorization_code_daily",
                                              rate_per_s=1, burst=10),
}

LONG_WINDOWS: dict[str, LongWindow] = {
    "trading_daily": LongWindow(
        5_000, tz="America/Los_Angeles",
        source="eBay Trading API default call limit (docs/platform-facts.md#ebay-call-limits); day in Pacific time"),
    "inventory_daily": LongWindow(
        2_000_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Sell Inventory API daily limit (docs/platform-facts.md#ebay-call-limits, uncertain)"),
    "fulfillment_daily": LongWindow(
        100_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Sell Fulfillment API daily limit (docs/platform-facts.md#ebay-call-limits, uncertain)"),
    "analytics_daily": LongWindow(
        5_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Developer Analytics API daily limit (eBay call-limits page)"),
    "listing_revisions": LongWindow(
        250, tz="America/Los_Angeles", scope="listing", code="XD-QUOTA-004",
        source="eBay: a listing can be revised at most 250 times per calendar day "
               "(docs/platform-facts.md#ebay-listing-revisions)"),
    "revise_inventory_status_15s": LongWindow(
        6_000, window_s=15.0,
        source="eBay ReviseInventoryStatus: at most 6,000 calls per seller per 15 s "
               "(docs/platform-facts.md#ebay-listing-revisions)"),
    "notification_daily": LongWindow(
        10_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Notification API daily call limit (uncertain; the public call-limits page lists it per "
               "method)"),
    "oauth_refresh_daily": LongWindow(
        50_000, scope="app",
        source="eBay OAuth refresh_token grant: 50,000/day per app (docs/platform-facts.md#ebay-call-limits)"),
    "oauth_client_credentials_daily": LongWindow(
        1_000, scope="app", source="eBay OAuth client_credentials grant: 1,000/day per app"),
    "oauth_authorization_code_daily": LongWindow(
        10_000, scope="app", source="eBay OAuth authorization_code grant: 10,000/day per app"),
}


def fallback_plan(operation: str) -> str | None:
    """A Trading API call (CamelCase) without its own plan draws from ``_trading``."""
    return "_trading" if operation[:1].isupper() else None
