"""eBay as crossdock sees it: the one :class:`~crossdock.platforms.PlatformSpec`
that declares everything the rest of the system needs to know (see
:mod:`crossdock.platforms.spec`)."""

from __future__ import annotations

from typing import Any

from crossdock.connectors.base import ConnectorDeps
from crossdock.connectors.channel import channel_secret, required
from crossdock.connectors.ebay import connect, hooks, options, quota
from crossdock.connectors.ebay.carriers import CARRIER_CODES
from crossdock.connectors.ebay.connector import EbayConnector
from crossdock.connectors.ebay.inspect import inspect_payload
from crossdock.connectors.ebay.marketplaces import EBAY_MARKETPLACES
from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.connectors.ebay.statuses import STATUSES
from crossdock.connectors.ebay.template import TEMPLATE
from crossdock.mapping.validation import PlatformRules
from crossdock.platforms.spec import BatchPolicy, CredentialLifetimes, ImportWindows, PlatformSpec

NAME = "ebay"
#: The seller's OAuth consent (refresh token) and a Trading API (Auth'n'Auth) token last about 18 months.
TOKEN_LIFE_S = 47_304_000


def settings(ch: Any) -> EbaySettings:
    """The settings of channel ``ch`` (a ChannelConfig), secrets revealed; no I/O. Without a configured
    refresh token the one stored by ``crossdock auth connect`` / ``auth set`` is used."""
    channel_secret(ch, "refresh_token", required=False)     # an unresolvable reference is still XD-CFG-005
    values: dict[str, Any] = {
        "channel": ch.name, "username": ch.account, "client_id": required(ch, ch.client_id, "client_id"),
        "client_secret": channel_secret(ch, "client_secret"),
        "trading_token": channel_secret(ch, "trading_token", required=False),
        "marketplace_id": ch.marketplace or "EBAY_GB", "currency": ch.currency}
    if ch.base_url:
        values["base_url"] = ch.base_url
    for key in ("trading_url", "token_url"):
        if key in ch.urls:
            values[key] = ch.urls[key]
    if ch.auth_url:
        values["token_url"] = ch.auth_url
    values.update(ch.options)
    return EbaySettings(**values)


def connector(s: EbaySettings, deps: ConnectorDeps) -> EbayConnector:
    return EbayConnector(s, token_store=deps.store, clock=deps.clock, budget=deps.budget)


PLATFORM = PlatformSpec(
    name=NAME,
    title="eBay",
    settings=settings,
    connector=connector,
    statuses=STATUSES,
    reads_returns=True,                                   # Post-Order return search
    # eBay advises polling up to now - 2 min; crossdock ends windows 5 s behind now and starts each
    # window 3 minutes back instead, so an order indexed late is still read (by the overlap,
    # deduplicated by order id) while new orders arrive within seconds.
    windows=ImportWindows(safety_lag_s=5.0, overlap_s=180.0),
    # Inventory API bulk_update_price_quantity: 25; Trading ReviseInventoryStatus: 4 (listings made
    # outside the Inventory API)
    batch_policy=BatchPolicy(max_items=25),
    kind_policies={"inventory": BatchPolicy(max_items=25), "trading": BatchPolicy(max_items=4)},
    usage_plans=quota.USAGE_PLANS,
    long_windows=quota.LONG_WINDOWS,
    fallback_plan=quota.fallback_plan,
    carrier_codes=CARRIER_CODES,
    listing_rules=PlatformRules(
        NAME, title_max_chars=80, min_images=1, max_images=24, min_image_px=500,
        required_attributes=("condition", "category_id"), category_attribute="category_id"),
    marketplaces=EBAY_MARKETPLACES,
    credentials=CredentialLifetimes(refresh_token_s=TOKEN_LIFE_S, extra_token="trading_token",
                                    extra_token_s=TOKEN_LIFE_S),
    options=options.OPTIONS,
    urls=options.URLS,
    channel_provided=options.CHANNEL_PROVIDED,
    not_options=options.NOT_OPTIONS,
    inspect=inspect_payload,
    config_template=TEMPLATE,
    events=hooks.receiver,
    # `crossdock auth connect`: the OAuth authorisation-code grant (redirect_uri: the RuName)
    connect=connect.connect,
)
