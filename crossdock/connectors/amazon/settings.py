"""Settings of one Amazon channel (one seller in one marketplace).

Secrets arrive already resolved as plain ``str`` (the caller reads them from
the environment or the encrypted store); they are excluded from ``repr`` and
never logged. Everything that Amazon may change per account (usage plans,
feed timings, the patch/feed threshold) is a setting, not a constant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from crossdock.clock import parse_iso
from crossdock.errors import ConfigError
from crossdock.connectors.amazon.marketplaces import find_amazon_marketplace

#: SP-API endpoints per region.
ENDPOINTS = MappingProxyType({
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
})
LWA_URL = "https://api.amazon.com/auth/o2/token"
#: A seller's authorisation of a public app lasts 365 days; an LWA client secret 180 days
#: (docs/platform-facts.md#amazon-credentials).
AUTHORISATION_DAYS = 365
CLIENT_SECRET_DAYS = 180

#: Published default usage plans (docs/platform-facts.md#amazon-usage-plans): operation -> (rate per second, burst).
USAGE_PLANS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "getListingsItem": (5.0, 10),
    "putListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "searchListingsItems": (5.0, 5),      # (uncertain) no public page confirms it
    "createRestrictedDataToken": (1.0, 10),
    # Notifications API v1: every operation 1 request/s, burst 5
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
})

#: Language tags for listing text by marketplace country (Amazon's locale spelling).
LANGUAGE_TAGS = MappingProxyType({
    "US": "en_US", "CA": "en_CA", "MX": "es_MX", "BR": "pt_BR", "GB": "en_GB", "IE": "en_IE", "DE": "de_DE",
    "FR": "fr_FR", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL", "BE": "fr_BE", "SE": "sv_SE", "PL": "pl_PL",
    "TR": "tr_TR", "JP": "ja_JP", "AU": "en_AU", "SG": "en_SG", "IN": "en_IN", "AE": "en_AE",
})


@dataclass(frozen=True, kw_only=True)
class AmazonSettings:
    """One channel. ``endpoint``/``lwa_url`` default to production and are
    overridden for the sandbox. Times are platform seconds (the connector's
    clock scales them when it waits)."""

    channel: str
    seller_id: str
    marketplace_id: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)     # "": the one in the token store
    endpoint: str = ""            # "": the marketplace region's production endpoint
    lwa_url: str = LWA_URL
    currency: str | None = None
    language_tag: str | None = None
    product_type: str = "PRODUCT"
    feed_threshold: int = 10             # more SKUs than this in one push -> JSON_LISTINGS_FEED
    # getOrders by creation time for new orders, by LastUpdated for changes this often (platform s; 0 = always
    # LastUpdated). Each changes run takes one of getOrders' one-a-minute calls from new-order polling.
    order_changes_every_s: float = 900.0
    max_feed_messages: int = 25_000
    max_feed_bytes: int = 10 * 1024 * 1024
    feed_poll_s: float = 30.0
    feed_timeout_s: float = 3600.0
    page_size: int = 100
    timeout_s: float = 30.0
    refresh_margin_s: float = 300.0
    max_throttle_retries: int = 3
    usage_plans: Mapping[str, tuple[float, float]] = field(default_factory=lambda: USAGE_PLANS, compare=False)
    carrier_overrides: Mapping[str, str] | None = field(default=None, compare=False)
    order_status_overrides: Mapping[str, Any] | None = field(default=None, compare=False)
    # Credential end dates, recorded in the token store with every refresh so they can be
    # warned about (XD-AUTH-005) and a lapsed authorisation told from a revoked one
    # (XD-AUTH-003). Give the end date, or the start date (authorised / secret rotated) and
    # the 365 / 180 days are added. datetime, date or ISO 8601 text (UTC when no offset).
    authorisation_expires_at: dt.datetime | None = None
    authorised_at: dt.datetime | None = None
    client_secret_expires_at: dt.datetime | None = None
    client_secret_rotated_at: dt.datetime | None = None
    application_id: str | None = None           # `auth connect`: the app's id in Seller Central (None: client_id)
    expiry_warning_days: float = 30.0           # log XD-AUTH-005 this long before an end date
    # SP-API notifications (issue 17): the SQS queue the seller's ORDER_CHANGE go to, read by
    # `crossdock worker`; the AWS keys come from the channel's secrets (None: boto3's own chain)
    events_queue_url: str | None = None
    events_region: str = "us-east-1"
    events_endpoint_url: str | None = None
    events_wait_s: int = 20
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("authorisation_expires_at", "authorised_at", "client_secret_expires_at",
                     "client_secret_rotated_at"):
            object.__setattr__(self, name, _as_utc(getattr(self, name), channel=self.channel, name=name))
        if self.authorisation_expires_at is None and self.authorised_at is not None:
            object.__setattr__(self, "authorisation_expires_at",
                               self.authorised_at + dt.timedelta(days=AUTHORISATION_DAYS))
        if self.client_secret_expires_at is None and self.client_secret_rotated_at is not None:
            object.__setattr__(self, "client_secret_expires_at",
                               self.client_secret_rotated_at + dt.timedelta(days=CLIENT_SECRET_DAYS))
        mp = find_amazon_marketplace(self.marketplace_id)
        if mp is None:
            raise ConfigError("XD-CFG-003", channel=self.channel,
                              detail=f"unknown Amazon marketplace id {self.marketplace_id!r}")
        object.__setattr__(self, "endpoint", (self.endpoint or ENDPOINTS[mp.region]).rstrip("/"))
        if self.currency is None:
            object.__setattr__(self, "currency", mp.currency)
        if self.language_tag is None:
            object.__setattr__(self, "language_tag", LANGUAGE_TAGS.get(mp.country, "en_US"))
        for name in ("client_id", "client_secret", "seller_id"):
            if not getattr(self, name):
                raise ConfigError("XD-CFG-004", channel=self.channel, detail=f"{name} is required")
        if not 1 <= self.page_size <= 100:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="page_size must be 1..100")
        if not 1 <= self.max_feed_messages <= 25_000:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="max_feed_messages must be 1..25000")
        if self.order_changes_every_s < 0:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="order_changes_every_s must be >= 0")
        if self.feed_threshold < 0:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="feed_threshold must be >= 0")
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ConfigError("XD-CFG-004", channel=self.channel,
                              detail="aws_access_key_id and aws_secret_access_key go together")

    @property
    def country(self) -> str:
        mp = find_amazon_marketplace(self.marketplace_id)
        assert mp is not None
        return mp.country

    def rate(self, operation: str) -> float | None:
        plan = self.usage_plans.get(operation)
        return plan[0] if plan else None


def _as_utc(value: Any, *, channel: str, name: str) -> dt.datetime | None:
    """A configured date as an aware UTC datetime (a bare date is midnight UTC)."""
    if value is None or isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc) if value is not None else None
    try:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.timezone.utc)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
        return parse_iso(str(value))
    except ValueError as exc:
        raise ConfigError("XD-CFG-003", channel=channel, detail=f"{name}: not a date: {value!r}") from exc
