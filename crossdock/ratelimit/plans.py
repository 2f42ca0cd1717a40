"""Default usage plans: the published rate limits of each platform, as data.

A :class:`UsagePlan` is a token bucket (``rate_per_s`` tokens restored per second,
``burst`` = bucket size) plus the long-window budgets (:class:`LongWindow`, e.g.
eBay's daily call limits) that the same call is charged against.

Figures come from ``FACTS.md`` and the official specs beside it. Figures marked
``uncertain=True`` could not be confirmed from an official page; they are
defaults only, and every plan and window can be overridden in configuration::

    overrides = {
        "plans": {
            "amazon": {"getOrders": {"rate_per_s": 0.0334, "burst": 40}},
            "ebay": {"GetOrders": {"windows": ["trading_daily"]}},
            "shopify.graphql": {"rate_per_s": 1000},   # flat keys work too
        },
        "windows": {
            "ebay": {"trading_daily": {"limit": 1_500_000, "scope": "app"}},
        },
    }

A rate, burst or limit set in configuration is *pinned*: what the platform
reports at run time (``x-amzn-RateLimit-Limit``, Shopify ``throttleStatus``,
eBay Developer Analytics) may lower it, never raise it. Defaults follow the
platform's report in both directions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from crossdock.errors import ConfigError

Scope = Literal["account", "app", "listing"]

_AMAZON = "Amazon SP-API usage plan (FACTS.md, specs/amazon)"
_EBAY_PACING = "crossdock pacing: eBay publishes daily quotas, not a per-second rate"
_SHOPIFY = "Shopify Admin API (FACTS.md)"


@dataclass(frozen=True)
class LongWindow:
    """A fixed-window call budget: at most ``limit`` units per ``window_s``.

    ``tz`` aligns day-long windows to that zone's midnight (eBay counts its day
    in Pacific time). ``scope`` says who shares the budget: one ``account``,
    every account of the platform (``app``: limits per application keyset), or
    one ``listing`` (eBay: 250 revisions per listing per day).
    """

    limit: float
    window_s: float = 86_400.0
    tz: str = "UTC"
    scope: Scope = "account"
    code: str = "XD-QUOTA-002"
    pinned: bool = False
    uncertain: bool = False
    source: str = ""


@dataclass(frozen=True)
class UsagePlan:
    """Token bucket for one operation. ``bucket`` names the bucket when several
    operations share one (Shopify GraphQL: every query draws from ``graphql``);
    empty means the operation's own bucket. ``max_cost`` caps a single call's
    cost (Shopify: 1,000 points, above is XD-QUOTA-005)."""

    rate_per_s: float
    burst: float
    bucket: str = ""
    max_cost: float | None = None
    windows: tuple[str, ...] = ()
    pinned_rate: bool = False
    pinned_burst: bool = False
    uncertain: bool = False
    source: str = ""

    @property
    def pinned(self) -> bool:
        """True when configuration set the rate or the burst."""
        return self.pinned_rate or self.pinned_burst


def _amz(rate_per_s: float, burst: float) -> UsagePlan:
    return UsagePlan(rate_per_s, burst, source=_AMAZON)


def _ebay(*windows: str, rate_per_s: float = 10.0, burst: float = 20.0) -> UsagePlan:
    return UsagePlan(rate_per_s, burst, windows=windows, uncertain=True, source=_EBAY_PACING)


_TRADING = ("trading_daily",)
_REVISES_TRADING = ("trading_daily", "listing_revisions")
_INVENTORY = ("inventory_daily",)
_REVISES_INVENTORY = ("inventory_daily", "listing_revisions")
_FULFILLMENT = ("fulfillment_daily",)

DEFAULT_PLANS: Mapping[tuple[str, str], UsagePlan] = MappingProxyType({
    # ------------------------------------------------------------- Amazon
    ("amazon", "getOrders"): _amz(0.0167, 20),
    ("amazon", "searchOrders"): _amz(0.0056, 20),
    ("amazon", "getOrder"): _amz(0.5, 30),
    ("amazon", "getOrderItems"): _amz(0.5, 30),
    ("amazon", "getOrderAddress"): _amz(0.5, 30),
    ("amazon", "getOrderBuyerInfo"): _amz(0.5, 30),
    ("amazon", "getOrderItemsBuyerInfo"): _amz(0.5, 30),
    ("amazon", "getOrderRegulatedInfo"): _amz(0.5, 30),
    ("amazon", "updateVerificationStatus"): _amz(0.5, 30),
    ("amazon", "updateShipmentStatus"): _amz(5, 15),
    ("amazon", "confirmShipment"): _amz(2, 10),
    ("amazon", "createFeedDocument"): _amz(0.5, 15),
    ("amazon", "createFeed"): _amz(0.0083, 15),
    ("amazon", "getFeed"): _amz(2, 15),
    ("amazon", "getFeeds"): _amz(0.0222, 10),
    ("amazon", "cancelFeed"): _amz(2, 15),
    ("amazon", "getFeedDocument"): _amz(0.0222, 10),
    ("amazon", "getListingsItem"): _amz(5, 10),
    ("amazon", "putListingsItem"): _amz(5, 10),
    ("amazon", "patchListingsItem"): _amz(5, 5),
    ("amazon", "deleteListingsItem"): _amz(5, 5),
    ("amazon", "searchListingsItems"): _amz(5, 5),
    ("amazon", "getInventorySummaries"): _amz(2, 2),
    ("amazon", "createRestrictedDataToken"): _amz(1, 10),
    # Login with Amazon token endpoint: no published limit.
    ("amazon", "lwaToken"): UsagePlan(1, 10, uncertain=True,
                                      source="crossdock pacing: LWA publishes no limit"),
    # --------------------------------------------------------------- eBay
    # Fulfillment API (REST)
    ("ebay", "getOrders"): _ebay(*_FULFILLMENT),
    ("ebay", "getOrder"): _ebay(*_FULFILLMENT),
    ("ebay", "createShippingFulfillment"): _ebay(*_FULFILLMENT),
    ("ebay", "getShippingFulfillments"): _ebay(*_FULFILLMENT),
    ("ebay", "getShippingFulfillment"): _ebay(*_FULFILLMENT),
    ("ebay", "issueRefund"): _ebay(*_FULFILLMENT),
    # Inventory API (REST); the revising calls also count per listing.
    ("ebay", "bulkUpdatePriceQuantity"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "updateOffer"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "createOrReplaceInventoryItem"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "bulkCreateOrReplaceInventoryItem"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "publishOffer"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "bulkPublishOffer"): _ebay(*_REVISES_INVENTORY),
    ("ebay", "getInventoryItem"): _ebay(*_INVENTORY),
    ("ebay", "getInventoryItems"): _ebay(*_INVENTORY),
    ("ebay", "bulkGetInventoryItem"): _ebay(*_INVENTORY),
    ("ebay", "getOffers"): _ebay(*_INVENTORY),
    ("ebay", "getOffer"): _ebay(*_INVENTORY),
    ("ebay", "createOffer"): _ebay(*_INVENTORY),
    ("ebay", "bulkCreateOffer"): _ebay(*_INVENTORY),
    ("ebay", "withdrawOffer"): _ebay(*_INVENTORY),
    ("ebay", "getInventoryLocations"): _ebay(*_INVENTORY),
    # Developer Analytics API: reports the real quotas at run time.
    ("ebay", "getRateLimits"): _ebay("analytics_daily"),
    ("ebay", "getUserRateLimits"): _ebay("analytics_daily"),
    # Trading API (XML). Any other CamelCase operation gets the "_trading" plan.
    ("ebay", "_trading"): _ebay(*_TRADING),
    ("ebay", "GetOrders"): _ebay(*_TRADING),
    ("ebay", "GetItem"): _ebay(*_TRADING),
    ("ebay", "CompleteSale"): _ebay(*_TRADING),
    ("ebay", "ReviseInventoryStatus"): _ebay(*_REVISES_TRADING, "revise_inventory_status_15s"),
    ("ebay", "ReviseFixedPriceItem"): _ebay(*_REVISES_TRADING),
    ("ebay", "ReviseItem"): _ebay(*_REVISES_TRADING),
    # OAuth token endpoint: per-application daily limits by grant type.
    ("ebay", "oauthRefreshToken"): _ebay("oauth_refresh_daily", rate_per_s=1, burst=10),
    ("ebay", "oauthClientCredentials"): _ebay("oauth_client_credentials_daily",
                                              rate_per_s=1, burst=10),
    ("ebay", "oauthAuthorizationCode"): _ebay("oauth_authorization_code_daily",
                                              rate_per_s=1, burst=10),
    # ------------------------------------------------------------ Shopify
    # GraphQL: one cost-weighted bucket per shop; every query draws from it.
    # Bucket size is read from throttleStatus.maximumAvailable at run time.
    ("shopify", "graphql"): UsagePlan(100, 1000, bucket="graphql", max_cost=1000, source=_SHOPIFY),
    # Legacy REST: leaky bucket 40 requests, 2/s (standard plan).
    ("shopify", "rest"): UsagePlan(2, 40, bucket="rest", source=_SHOPIFY),
    ("shopify", "token"): UsagePlan(1, 10, uncertain=True,
                                    source="crossdock pacing: Shopify publishes no token-endpoint limit"),
})

DEFAULT_WINDOWS: Mapping[tuple[str, str], LongWindow] = MappingProxyType({
    ("ebay", "trading_daily"): LongWindow(
        5_000, tz="America/Los_Angeles",
        source="eBay Trading API default call limit (FACTS.md); day in Pacific time"),
    ("ebay", "inventory_daily"): LongWindow(
        2_000_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Sell Inventory API daily limit (FACTS.md, uncertain)"),
    ("ebay", "fulfillment_daily"): LongWindow(
        100_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Sell Fulfillment API daily limit (FACTS.md, uncertain)"),
    ("ebay", "analytics_daily"): LongWindow(
        5_000, tz="America/Los_Angeles", uncertain=True,
        source="eBay Developer Analytics API daily limit (eBay call-limits page)"),
    ("ebay", "listing_revisions"): LongWindow(
        250, tz="America/Los_Angeles", scope="listing", code="XD-QUOTA-004",
        source="eBay: a listing can be revised at most 250 times per calendar day (FACTS.md)"),
    ("ebay", "revise_inventory_status_15s"): LongWindow(
        6_000, window_s=15.0,
        source="eBay ReviseInventoryStatus: at most 6,000 calls per seller per 15 s (FACTS.md)"),
    ("ebay", "oauth_refresh_daily"): LongWindow(
        50_000, scope="app", source="eBay OAuth refresh_token grant: 50,000/day per app (FACTS.md)"),
    ("ebay", "oauth_client_credentials_daily"): LongWindow(
        1_000, scope="app", source="eBay OAuth client_credentials grant: 1,000/day per app"),
    ("ebay", "oauth_authorization_code_daily"): LongWindow(
        10_000, scope="app", source="eBay OAuth authorization_code grant: 10,000/day per app"),
})

_PLAN_KEYS = {f.name for f in dataclasses.fields(UsagePlan)} - {"pinned_rate", "pinned_burst"}
_WINDOW_KEYS = {f.name for f in dataclasses.fields(LongWindow)} - {"pinned"}
_SCOPES = ("account", "app", "listing")


def _positive(value: Any, *, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigError("XD-CFG-003", detail=f"{key} must be a positive number, got {value!r}")
    return number


def _section(overrides: Mapping[str, Any] | None, kind: str, platform: str, name: str
             ) -> Mapping[str, Any] | None:
    if not overrides:
        return None
    table = overrides.get(kind) or {}
    entry = table.get(f"{platform}.{name}")  # flat "amazon.getOrders" keys work too
    if entry is None:
        nested = table.get(platform)
        entry = nested.get(name) if isinstance(nested, Mapping) else None
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ConfigError("XD-CFG-003",
                          detail=f"ratelimit.{kind}.{platform}.{name} must be a table")
    return entry


def _default_plan(platform: str, operation: str,
                  plans: Mapping[tuple[str, str], UsagePlan]) -> UsagePlan | None:
    plan = plans.get((platform, operation))
    if plan is not None:
        return plan
    if platform == "shopify" and ("shopify", "graphql") in plans:
        # Every GraphQL query of a shop draws from the same cost bucket.
        return plans[("shopify", "graphql")]
    if platform == "ebay" and operation[:1].isupper() and ("ebay", "_trading") in plans:
        return plans[("ebay", "_trading")]
    return None


def plan_for(platform: str, operation: str, *, overrides: Mapping[str, Any] | None = None,
             plans: Mapping[tuple[str, str], UsagePlan] = DEFAULT_PLANS) -> UsagePlan:
    """The usage plan for ``(platform, operation)`` with config overrides applied.

    Raises ConfigError XD-CFG-004 for an operation without a plan (a connector
    calling an operation nobody has given a rate: add it to the plans or to
    ``[ratelimit.plans.<platform>.<operation>]``), XD-CFG-003 for a bad value.
    """
    base = _default_plan(platform, operation, plans)
    entry = _section(overrides, "plans", platform, operation)
    section = operation
    if entry is None and base is not None and base.bucket and base.bucket != operation:
        # An operation drawing from a shared bucket (every Shopify GraphQL query
        # from "graphql") follows the configuration of that bucket.
        section = base.bucket
        entry = _section(overrides, "plans", platform, section)
    if base is None and entry is None:
        raise ConfigError(
            "XD-CFG-004",
            detail=f"no usage plan for {platform}/{operation}; set rate_per_s and burst in "
                   f"[ratelimit.plans.{platform}.{operation}]")
    if entry is not None:
        unknown = set(entry) - _PLAN_KEYS
        if unknown:
            raise ConfigError("XD-CFG-003", detail=f"ratelimit.plans.{platform}.{section}: "
                                                   f"unknown keys {sorted(unknown)}")
        changes: dict[str, Any] = {"pinned_rate": "rate_per_s" in entry,
                                   "pinned_burst": "burst" in entry}
        if "rate_per_s" in entry or "burst" in entry:
            changes.update(uncertain=False, source="configuration")
        key = f"ratelimit.plans.{platform}.{section}"
        for name in ("rate_per_s", "burst", "max_cost"):
            if name in entry:
                changes[name] = _positive(entry[name], key=f"{key}.{name}")
        if "windows" in entry:
            changes["windows"] = tuple(str(w) for w in entry["windows"])
        if "bucket" in entry:
            changes["bucket"] = str(entry["bucket"])
        if base is None:
            if "rate_per_s" not in changes or "burst" not in changes:
                raise ConfigError("XD-CFG-004",
                                  detail=f"{key} needs both rate_per_s and burst")
            base = UsagePlan(changes.pop("rate_per_s"), changes.pop("burst"))
        base = dataclasses.replace(base, **changes)
    assert base is not None
    if not base.bucket:
        base = dataclasses.replace(base, bucket=operation)
    return base


def window_for(platform: str, name: str, *, overrides: Mapping[str, Any] | None = None,
               windows: Mapping[tuple[str, str], LongWindow] = DEFAULT_WINDOWS) -> LongWindow:
    """The long-window budget ``name`` of ``platform`` with config overrides applied."""
    base = windows.get((platform, name))
    entry = _section(overrides, "windows", platform, name)
    key = f"ratelimit.windows.{platform}.{name}"
    if base is None and entry is None:
        raise ConfigError("XD-CFG-004", detail=f"no long-window budget {platform}/{name}; "
                                               f"set limit in [{key}]")
    if entry is None:
        assert base is not None
        return base
    unknown = set(entry) - _WINDOW_KEYS
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{key}: unknown keys {sorted(unknown)}")
    changes: dict[str, Any] = {"pinned": "limit" in entry}
    if "limit" in entry:
        changes.update(uncertain=False, source="configuration")
    for num in ("limit", "window_s"):
        if num in entry:
            changes[num] = _positive(entry[num], key=f"{key}.{num}")
    if "scope" in entry:
        if entry["scope"] not in _SCOPES:
            raise ConfigError("XD-CFG-003", detail=f"{key}.scope must be one of {_SCOPES}")
        changes["scope"] = entry["scope"]
    if "tz" in entry:
        changes["tz"] = str(entry["tz"])
    if "code" in entry:
        changes["code"] = str(entry["code"])
    if base is None:
        if "limit" not in changes:
            raise ConfigError("XD-CFG-004", detail=f"{key} needs limit")
        base = LongWindow(changes.pop("limit"))
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class ReservePolicy:
    """How far each priority may drain a bucket / a long window.

    ``bucket[p] = 0.5`` means priority ``p`` is refused once taking its cost
    would leave less than 50 % of the bucket; the rest is kept for more
    important work. Keys are :class:`~crossdock.ratelimit.budget.Priority` names.
    """

    bucket: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({
        "CRITICAL": 0.0, "STOCK": 0.10, "NORMAL": 0.20, "PRICE": 0.30, "CONTENT": 0.50}))
    window: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({
        "CRITICAL": 0.0, "STOCK": 0.05, "NORMAL": 0.10, "PRICE": 0.15, "CONTENT": 0.20}))
