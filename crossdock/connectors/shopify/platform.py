"""Shopify as crossdock sees it: the one :class:`~crossdock.platforms.PlatformSpec`
that declares everything the rest of the system needs to know (see
:mod:`crossdock.platforms.spec`)."""

from __future__ import annotations

from typing import Any

from crossdock.connectors.base import ConnectorDeps
from crossdock.connectors.channel import channel_secret, required
from crossdock.connectors.shopify import connect, hooks, options, quota
from crossdock.connectors.shopify.carriers import CARRIER_CODES
from crossdock.connectors.shopify.connector import ShopifyConnector
from crossdock.connectors.shopify.inspect import inspect_payload
from crossdock.connectors.shopify.settings import ShopifySettings
from crossdock.connectors.shopify.statuses import STATUSES
from crossdock.connectors.shopify.template import TEMPLATE
from crossdock.mapping.validation import PlatformRules
from crossdock.platforms.spec import BatchPolicy, CredentialLifetimes, ImportWindows, PlatformSpec

NAME = "shopify"


def settings(ch: Any) -> ShopifySettings:
    """The settings of channel ``ch`` (a ChannelConfig), secrets revealed; no I/O. Without a configured
    refresh token the one stored by ``crossdock auth connect`` / ``auth set`` is used."""
    channel_secret(ch, "refresh_token", required=False)     # an unresolvable reference is still XD-CFG-005
    return ShopifySettings(channel=ch.name, shop=ch.account, client_id=required(ch, ch.client_id, "client_id"),
                           client_secret=channel_secret(ch, "client_secret"), currency=ch.currency,
                           shop_url=ch.base_url, **dict(ch.options))


def connector(s: ShopifySettings, deps: ConnectorDeps) -> ShopifyConnector:
    return ShopifyConnector(s, token_store=deps.store, clock=deps.clock, budget=deps.budget)


PLATFORM = PlatformSpec(
    name=NAME,
    title="Shopify",
    settings=settings,
    connector=connector,
    statuses=STATUSES,
    reads_returns=True,                                   # orders' returns connection
    # The search index trails writes by a second or two; the lag matches it, and the 1-minute overlap
    # covers a slower index (an order indexed later is found one poll later through the overlap).
    windows=ImportWindows(safety_lag_s=2.0, overlap_s=60.0),
    batch_policy=BatchPolicy(max_items=250),      # inventorySetQuantities: 250 per call
    usage_plans=quota.USAGE_PLANS,
    fallback_plan=quota.fallback_plan,
    read_quota=quota.read_quota,
    carrier_codes=CARRIER_CODES,
    listing_rules=PlatformRules(NAME, title_max_chars=255, max_images=250),
    # refresh tokens rotate on every use: there is no consent date to track
    credentials=CredentialLifetimes(authorisation_dated=False),
    options=options.OPTIONS,
    urls=options.URLS,
    channel_provided=options.CHANNEL_PROVIDED,
    not_options=options.NOT_OPTIONS,
    inspect=inspect_payload,
    config_template=TEMPLATE,
    events=hooks.receiver,
    # `crossdock auth connect`: the app's authorisation-code grant (an expiring offline token)
    connect=connect.connect,
)
