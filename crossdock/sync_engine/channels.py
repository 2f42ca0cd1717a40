"""Connectors for configured channels.

The only place that knows how a channel's configuration becomes a platform
connector: settings from ``[channels.NAME]``, secrets revealed from their
references, the shared token store (the database), the quota budget and the
clock (a sandbox's scaled clock when ``[sandbox.clock]`` is configured).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from crossdock.clock import Clock, ScaledClock
from crossdock.config import ChannelConfig, Config
from crossdock.connectors.base import Connector
from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
from crossdock.db.engine import Database
from crossdock.db.models import ChannelListing
from crossdock.errors import ConfigError

log = logging.getLogger(__name__)


def clock_from_config(cfg: Config) -> Clock:
    """The platforms' clock: real time, or the sandbox's scaled time."""
    return ScaledClock.from_description(cfg.sandbox.get("clock") or {})


def _secret(ch: ChannelConfig, name: str, *, required: bool = True) -> str | None:
    ref = ch.client_secret if name == "client_secret" else ch.refresh_token if name == "refresh_token" \
        else ch.secrets.get(name)
    if ref is None:
        if required:
            raise ConfigError("XD-CFG-004", channel=ch.name, detail=f"channels.{ch.name}.{name} is required")
        return None
    return ref.reveal()


def _need(ch: ChannelConfig, value: Any, key: str) -> Any:
    if not value:
        raise ConfigError("XD-CFG-004", channel=ch.name, detail=f"channels.{ch.name}.{key} is required")
    return value


# Order-import windows per platform: (safety lag, overlap) in platform seconds.
# Amazon: orders only show 2 minutes late (the CreatedBefore/LastUpdatedBefore
# rule). eBay advises polling up to now - 2 min; crossdock ends windows 5 s
# behind now and starts each window 3 minutes back instead, so an order that
# is indexed late is still read (by the overlap, deduplicated by order id)
# while new orders arrive within seconds. Shopify's search index trails
# writes by a second or two; the lag matches it, and the 1-minute overlap
# covers a slower index. A lag shorter than the index delay gains nothing:
# the order is then found one poll later through the overlap.
IMPORT_WINDOWS = {"amazon": (120.0, 60.0), "ebay": (5.0, 180.0), "shopify": (2.0, 60.0)}

# The widest import window per platform (platform seconds; others: jobs.MAX_WINDOW_S,
# 6 h). A window is read and stored whole before its cursor moves, so a narrow one
# loses little when it fails; but each window costs at least one call. Amazon's
# getOrders gives a seller one call a minute (burst 20) and pages with NextToken,
# so a wide window costs no more calls for the same orders, and a quiet seller's
# day of history is one call instead of four: 24 h.
MAX_IMPORT_WINDOW_S = {"amazon": 86_400.0}


def order_import_group(cfg: Config, channel: str) -> tuple[str, ...]:
    """The channels whose orders one import of ``channel`` reads, leader first.

    Amazon channels of one seller in one region (same account, application,
    endpoint and token URL) share getOrders' quota of one call a minute
    (FACTS.md: the bucket is per selling partner + application + operation),
    so one call names all their marketplaces: each channel is then read every
    minute instead of every ``n`` minutes. Only the leader (first by name) has
    an import schedule. ``[sync] amazon_shared_order_poll = false`` turns it off.
    Every other channel is its own group."""
    ch = cfg.channel(channel)
    if ch.platform != "amazon" or not cfg.sync.get("amazon_shared_order_poll", True):
        return (channel,)

    from crossdock.connectors.amazon.settings import ENDPOINTS
    from crossdock.mapping.marketplaces import find_amazon_marketplace

    def key(c: ChannelConfig) -> tuple:
        mp = find_amazon_marketplace(c.marketplace or "")
        endpoint = c.base_url or (ENDPOINTS.get(mp.region) if mp else None) or f"unknown:{c.name}"
        return (c.platform, c.account, c.client_id, endpoint.rstrip("/"), c.auth_url)

    mine = key(ch)
    members = sorted(name for name, c in cfg.channels.items() if key(c) == mine)
    return tuple(members) if channel in members else (channel,)


def _tune_windows(conn: Connector, ch: ChannelConfig) -> Connector:
    lag, overlap = IMPORT_WINDOWS.get(ch.platform, (120.0, 120.0))
    if ch.platform == "amazon":
        lag = max(lag, float(getattr(conn, "safety_lag_s", lag)))  # never below Amazon's own rule
    conn.safety_lag_s = ch.safety_lag_s if ch.safety_lag_s is not None else lag
    conn.overlap_s = ch.overlap_s if ch.overlap_s is not None else overlap
    if ch.platform in MAX_IMPORT_WINDOW_S:
        conn.max_window_s = MAX_IMPORT_WINDOW_S[ch.platform]
    return conn


def connector_settings(ch: ChannelConfig) -> Any:
    """The platform settings of channel ``ch``, secrets revealed; no I/O
    besides reading secrets (``crossdock config check`` builds them to find
    what a run would refuse)."""
    refresh = _secret(ch, "refresh_token", required=ch.platform != "ebay" or "trading_token" not in ch.secrets)
    opts = dict(ch.options)
    if ch.platform == "amazon":
        from crossdock.connectors.amazon import AmazonSettings

        return AmazonSettings(
            channel=ch.name, seller_id=ch.account, marketplace_id=_need(ch, ch.marketplace, "marketplace"),
            client_id=_need(ch, ch.client_id, "client_id"), client_secret=_secret(ch, "client_secret"),
            refresh_token=refresh, currency=ch.currency,
            **({"endpoint": ch.base_url} if ch.base_url else {}), **({"lwa_url": ch.auth_url} if ch.auth_url else {}),
            **opts)
    if ch.platform == "ebay":
        from crossdock.connectors.ebay.settings import EbaySettings

        values: dict[str, Any] = {
            "channel": ch.name, "username": ch.account, "client_id": _need(ch, ch.client_id, "client_id"),
            "client_secret": _secret(ch, "client_secret"), "trading_token": _secret(ch, "trading_token", required=False),
            "marketplace_id": ch.marketplace or "EBAY_GB", "currency": ch.currency}
        if ch.base_url:
            values["base_url"] = ch.base_url
        for key in ("trading_url", "token_url"):
            if key in ch.urls:
                values[key] = ch.urls[key]
        if ch.auth_url:
            values["token_url"] = ch.auth_url
        values.update(opts)
        return EbaySettings(**values)
    if ch.platform == "shopify":
        from crossdock.connectors.shopify import ShopifySettings

        return ShopifySettings(channel=ch.name, shop=ch.account, client_id=_need(ch, ch.client_id, "client_id"),
                               client_secret=_secret(ch, "client_secret"), currency=ch.currency,
                               shop_url=ch.base_url, **opts)
    raise ConfigError("XD-CFG-003", channel=ch.name, detail=f"unknown platform {ch.platform!r}")


def build_connector(ch: ChannelConfig, *, db: Database, budget=None, clock: Clock | None = None,
                    store: SqlTokenStore | None = None) -> Connector:
    clock = clock or Clock()
    store = store or SqlTokenStore(db)
    settings = connector_settings(ch)
    refresh = _secret(ch, "refresh_token", required=False)
    if refresh:
        store.seed_refresh_token(ch.name, refresh)
    if ch.platform == "amazon":
        from crossdock.connectors.amazon import AmazonConnector

        return AmazonConnector(settings, store=store, clock=clock, budget=budget)
    if ch.platform == "ebay":
        from crossdock.connectors.ebay.connector import EbayConnector

        conn = EbayConnector(settings, token_store=store, clock=clock, budget=budget)
        conn.update_listing_map(_ebay_listing_map(db, ch.name))
        return conn
    from crossdock.connectors.shopify import ShopifyConnector

    return ShopifyConnector(settings, token_store=store, clock=clock, budget=budget)


def _ebay_listing_map(db: Database, channel: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with db.read() as s:
        for row in s.scalars(select(ChannelListing).where(ChannelListing.channel == channel)):
            if row.kind == "trading" and row.listing_id:
                out[row.sku] = {"kind": "trading", "item_id": row.listing_id}
            elif row.offer_id or row.kind == "inventory":
                ref = {"kind": "inventory"}
                if row.offer_id:
                    ref["offer_id"] = row.offer_id
                if row.listing_id:
                    ref["item_id"] = row.listing_id
                out[row.sku] = ref
    return out


class ConnectorPool:
    """One connector per channel per process, built on first use."""

    def __init__(self, cfg: Config, db: Database, *, budget=None, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.db = db
        self.budget = budget
        self.clock = clock or clock_from_config(cfg)
        self.store = SqlTokenStore(db)
        self._conns: dict[str, Connector] = {}
        self._lock = threading.Lock()
        ensure_channels(db, cfg.channels.values())

    def get(self, channel: str) -> Connector:
        with self._lock:
            conn = self._conns.get(channel)
            if conn is None:
                conn = _tune_windows(build_connector(self.cfg.channel(channel), db=self.db, budget=self.budget,
                                                     clock=self.clock, store=self.store), self.cfg.channel(channel))
                self._conns[channel] = conn
            return conn

    def close(self) -> None:
        for conn in self._conns.values():
            close = getattr(conn, "close", None)
            if close:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    log.debug("closing connector failed", exc_info=True)
        self._conns.clear()
