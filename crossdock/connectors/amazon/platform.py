"""Amazon as crossdock sees it: the one :class:`~crossdock.platforms.PlatformSpec`
that declares everything the rest of the system needs to know (see
:mod:`crossdock.platforms.spec`)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from crossdock.connectors.amazon import connect, notifications, options, quota
from crossdock.connectors.amazon.carriers import CARRIER_CODES
from crossdock.connectors.amazon.connector import AmazonConnector
from crossdock.connectors.amazon.inspect import inspect_payload
from crossdock.connectors.amazon.marketplaces import AMAZON_MARKETPLACES, find_amazon_marketplace
from crossdock.connectors.amazon.settings import AUTHORISATION_DAYS, CLIENT_SECRET_DAYS, ENDPOINTS, AmazonSettings
from crossdock.connectors.amazon.statuses import STATUSES
from crossdock.connectors.amazon.template import TEMPLATE
from crossdock.connectors.base import ConnectorDeps
from crossdock.connectors.channel import channel_secret, required
from crossdock.mapping.validation import PlatformRules
from crossdock.platforms.spec import BatchPolicy, CredentialLifetimes, ImportWindows, PlatformSpec

NAME = "amazon"


def settings(ch: Any) -> AmazonSettings:
    """The settings of channel ``ch`` (a ChannelConfig), secrets revealed; no I/O. Without a configured
    refresh token the one stored by ``crossdock auth connect`` / ``auth set`` is used."""
    refresh = channel_secret(ch, "refresh_token", required=False) or ""
    return AmazonSettings(
        channel=ch.name, seller_id=ch.account, marketplace_id=required(ch, ch.marketplace, "marketplace"),
        client_id=required(ch, ch.client_id, "client_id"), client_secret=channel_secret(ch, "client_secret"),
        refresh_token=refresh, currency=ch.currency,
        aws_access_key_id=channel_secret(ch, "aws_access_key_id", required=False),
        aws_secret_access_key=channel_secret(ch, "aws_secret_access_key", required=False),
        **({"endpoint": ch.base_url} if ch.base_url else {}), **({"lwa_url": ch.auth_url} if ch.auth_url else {}),
        **dict(ch.options))


def connector(s: AmazonSettings, deps: ConnectorDeps) -> AmazonConnector:
    return AmazonConnector(s, store=deps.store, clock=deps.clock, budget=deps.budget)


def order_group(cfg: Any, ch: Any) -> Hashable | None:
    """Amazon channels of one seller in one region (same account, application,
    endpoint and token URL) share getOrders' quota of one call a minute
    (the bucket is per selling partner + application + operation:
    docs/platform-facts.md#amazon-usage-plans),
    so one call names all their marketplaces: each channel is then read every
    minute instead of every ``n`` minutes. ``[sync] amazon_shared_order_poll =
    false`` turns it off."""
    if not cfg.sync.get("amazon_shared_order_poll", True):
        return None
    mp = find_amazon_marketplace(ch.marketplace or "")
    endpoint = ch.base_url or (ENDPOINTS.get(mp.region) if mp else None) or f"unknown:{ch.name}"
    return (ch.account, ch.client_id, endpoint.rstrip("/"), ch.auth_url)


PLATFORM = PlatformSpec(
    name=NAME,
    title="Amazon",
    settings=settings,
    connector=connector,
    statuses=STATUSES,
    # Orders only show 2 minutes late (the CreatedBefore/LastUpdatedBefore rule). getOrders gives a
    # seller one call a minute (burst 20) and pages with NextToken, so a wide window costs no more calls
    # for the same orders, and a quiet seller's day of history is one call instead of four: 24 h.
    windows=ImportWindows(safety_lag_s=120.0, overlap_s=60.0, max_window_s=86_400.0),
    # patchListingsItem one SKU per call up to 20 changes, above that a JSON_LISTINGS_FEED of up to 25,000
    batch_policy=BatchPolicy(max_items=1, bulk_threshold=20, bulk_max_items=25_000),
    usage_plans=quota.USAGE_PLANS,
    read_quota=quota.read_quota,
    carrier_codes=CARRIER_CODES,
    listing_rules=PlatformRules(
        NAME, title_max_chars=200, max_images=9,
        required_attributes=("brand", "item_name|title", "product_type", "condition_type|condition"),
        category_attribute="product_type"),
    marketplaces=AMAZON_MARKETPLACES,
    credentials=CredentialLifetimes(seller_authorisation_days=AUTHORISATION_DAYS,
                                    client_secret_days=CLIENT_SECRET_DAYS),
    options=options.OPTIONS,
    channel_provided=options.CHANNEL_PROVIDED,
    not_options=options.NOT_OPTIONS,
    order_group=order_group,
    inspect=inspect_payload,
    config_template=TEMPLATE,
    fulfilled_by_platform=frozenset({"AFN", "Amazon"}),   # FBA: Amazon ships it, nothing to pick
    reads_returns=True,                                   # the returns report (Reports API)
    holds_stock=True,                                     # FBA inventory: getInventorySummaries
    # SP-API notifications arrive on the seller's SQS queue, read by `crossdock worker`
    event_queues=notifications.event_queues,
    urls=options.URLS,
    # `crossdock auth connect`: Seller Central's website authorisation workflow
    connect=connect.connect,
)
