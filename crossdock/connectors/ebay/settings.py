"""Settings of one eBay channel (one seller account on one marketplace).

Secrets (client secret, Auth'n'Auth token) arrive already resolved as plain
``str`` from the caller's credential references; they are kept out of
``repr`` and never logged. The refresh and access tokens live in the
:class:`~crossdock.connectors.base.TokenStore`, not here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from crossdock.clock import parse_iso
from crossdock.errors import ConfigError

PRODUCTION_BASE_URL = "https://api.ebay.com"
DEFAULT_SCOPES: tuple[str, ...] = (
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)
CONTENT_LANGUAGE = {"EBAY_GB": "en-GB", "EBAY_US": "en-US", "EBAY_AU": "en-AU", "EBAY_CA": "en-CA",
                    "EBAY_IE": "en-IE", "EBAY_DE": "de-DE", "EBAY_AT": "de-AT", "EBAY_CH": "de-CH",
                    "EBAY_FR": "fr-FR", "EBAY_IT": "it-IT", "EBAY_ES": "es-ES", "EBAY_NL": "nl-NL",
                    "EBAY_BE": "nl-BE", "EBAY_PL": "pl-PL"}


@dataclass(frozen=True, kw_only=True)
class EbaySettings:
    channel: str                                   # "ebay:<username>:<marketplace>"
    username: str                                  # the seller's eBay user id (quota account)
    client_id: str                                 # App ID
    client_secret: str = field(repr=False)         # Cert ID
    trading_token: str | None = field(default=None, repr=False)   # Auth'n'Auth; None → OAuth IAF token
    dev_id: str = ""                               # Dev ID (Trading header X-EBAY-API-DEV-NAME)
    marketplace_id: str = "EBAY_GB"
    currency: str | None = None                    # None → the marketplace's currency
    site_id: int | None = None                     # None → the marketplace's Trading site id
    content_language: str | None = None            # None → the marketplace's language
    base_url: str = PRODUCTION_BASE_URL
    trading_url: str = PRODUCTION_BASE_URL + "/ws/api.dll"
    token_url: str = PRODUCTION_BASE_URL + "/identity/v1/oauth2/token"
    compatibility_level: str = "1349"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    runame: str | None = None       # `auth connect`: the app's RuName, sent as redirect_uri (None: the loopback URL)
    timeout_s: float = 30.0
    refresh_margin_s: float = 300.0                # refresh the access token this long before expiry
    orders_page_size: int = 200                    # getOrders limit (eBay maximum 200)
    inventory_batch_size: int = 25                 # bulk_update_price_quantity (eBay maximum 25)
    trading_batch_size: int = 4                    # ReviseInventoryStatus (eBay maximum 4)
    # Publishing (Inventory API offers): business policies and the ship-from location.
    merchant_location_key: str | None = None
    fulfillment_policy_id: str | None = None
    payment_policy_id: str | None = None
    return_policy_id: str | None = None
    default_category_id: str | None = None
    carrier_overrides: Mapping[str, str] = field(default_factory=dict)
    # When the seller's consent (the refresh token, ~18 months) ends: eBay says it once, as
    # refresh_token_expires_in of the consent grant, never on a refresh. Recorded in the token
    # store for XD-AUTH-005 warnings and XD-AUTH-003. datetime, date or ISO 8601 text.
    refresh_token_expires_at: dt.datetime | None = None
    # A call-limit answer (429 errorId 2001, Trading 518) carries no wait: the Developer
    # Analytics API's ``reset`` gives it; without an answer from it, the daily limits reset at
    # midnight in this time zone (eBay's day is Pacific time) (uncertain).
    quota_reset_timezone: str = "America/Los_Angeles"
    throttle_wait_s: float = 60.0               # platform s; a 429 while calls remain (short-term limit)

    def __post_init__(self) -> None:
        from crossdock.connectors.ebay.marketplaces import find_ebay_marketplace

        object.__setattr__(self, "refresh_token_expires_at", _as_utc(self.refresh_token_expires_at,
                                                                     channel=self.channel))
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.quota_reset_timezone)
        except (ValueError, LookupError) as exc:
            raise ConfigError("XD-CFG-003", channel=self.channel,
                              detail=f"quota_reset_timezone {self.quota_reset_timezone!r} is not a time zone") from exc

        market = find_ebay_marketplace(self.marketplace_id)
        if market is None and (self.currency is None or self.site_id is None):
            raise ConfigError("XD-CFG-003", channel=self.channel,
                              detail=f"unknown eBay marketplace {self.marketplace_id!r}; set currency and site_id")
        if market is not None:      # else both are set (checked above)
            if self.currency is None:
                object.__setattr__(self, "currency", market.currency)
            if self.site_id is None:
                object.__setattr__(self, "site_id", market.site_id)
        if self.content_language is None:
            object.__setattr__(self, "content_language", CONTENT_LANGUAGE.get(self.marketplace_id, "en-US"))
        if not 1 <= self.orders_page_size <= 200:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="orders_page_size must be 1..200")
        if not 1 <= self.inventory_batch_size <= 25:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="inventory_batch_size must be 1..25")
        if not 1 <= self.trading_batch_size <= 4:
            raise ConfigError("XD-CFG-003", channel=self.channel, detail="trading_batch_size must be 1..4")


def _as_utc(value: Any, *, channel: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
        return parse_iso(str(value))
    except ValueError as exc:
        raise ConfigError("XD-CFG-003", channel=channel,
                          detail=f"refresh_token_expires_at: not a date: {value!r}") from exc
