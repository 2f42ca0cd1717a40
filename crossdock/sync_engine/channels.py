"""Connectors for configured channels.

How a channel's configuration becomes a connector: its platform's
:class:`~crossdock.platforms.PlatformSpec` (settings from ``[channels.NAME]``,
secrets revealed from their references, the connector, the import window
policy), the shared token store (the database), the quota budget and the
clock (a sandbox's scaled clock when ``[sandbox.clock]`` is configured).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from crossdock.clock import Clock, ScaledClock
from crossdock.config import ChannelConfig, Config
from crossdock.connectors.base import Connector, ConnectorDeps
from crossdock.connectors.channel import channel_secret
from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
from crossdock.db.engine import Database
from crossdock.db.models import ChannelListing
from crossdock.platforms import platform
from crossdock.sync_engine import skumap

log = logging.getLogger(__name__)


def clock_from_config(cfg: Config) -> Clock:
    """The platforms' clock: real time, or the sandbox's scaled time."""
    return ScaledClock.from_description(cfg.sandbox.get("clock") or {})


def order_import_group(cfg: Config, channel: str) -> tuple[str, ...]:
    """The channels whose orders one import of ``channel`` reads, leader first.

    Channels of one platform whose ``PlatformSpec.order_group`` keys are equal
    share one read (Amazon marketplaces of one seller and region share
    getOrders' quota of one call a minute, so one call names all their
    marketplaces). Only the leader (first by name) has an import schedule.
    Every other channel is its own group."""
    ch = cfg.channel(channel)
    spec = platform(ch.platform)
    if spec.order_group is None:
        return (channel,)
    mine = spec.order_group(cfg, ch)
    if mine is None:
        return (channel,)
    members = sorted(name for name, c in cfg.channels.items()
                     if c.platform == ch.platform and spec.order_group(cfg, c) == mine)
    return tuple(members) if channel in members else (channel,)


def tune_windows(conn: Connector, ch: ChannelConfig) -> Connector:
    """The import window policy of ``conn``: the platform's, where the channel sets none."""
    windows = platform(ch.platform).windows
    conn.safety_lag_s = ch.safety_lag_s if ch.safety_lag_s is not None else windows.safety_lag_s
    conn.overlap_s = ch.overlap_s if ch.overlap_s is not None else windows.overlap_s
    if windows.max_window_s is not None:
        conn.max_window_s = windows.max_window_s
    return conn


def connector_settings(ch: ChannelConfig) -> Any:
    """The platform settings of channel ``ch``, secrets revealed; no I/O
    besides reading secrets (``crossdock config check`` builds them to find
    what a run would refuse)."""
    return platform(ch.platform).settings(ch)


def listing_bindings(db: Database, channel: str) -> dict[str, dict[str, Any]]:
    """SKU → ``platform_ids`` of the channel's listings, as their connector gave them (keyed by
    the SKU the channel lists them under: an alias where one holds, as the pushes name them)."""
    with db.read() as s:
        names = skumap.ChannelSkus.of(s, channel)
        return {names.out(sku): dict(ids) for sku, ids in s.execute(
            select(ChannelListing.sku, ChannelListing.platform_ids).where(ChannelListing.channel == channel))
            if ids}


def build_connector(ch: ChannelConfig, *, db: Database, budget: Any = None, clock: Clock | None = None,
                    store: SqlTokenStore | None = None) -> Connector:
    """The connector of channel ``ch``: its platform's settings and connector,
    the shared token store (seeded with the configured refresh token), and
    the bindings of the listings the channel already has."""
    spec = platform(ch.platform)
    store = store or SqlTokenStore(db)
    settings = spec.settings(ch)
    refresh = channel_secret(ch, "refresh_token", required=False)
    if refresh:
        store.seed_refresh_token(ch.name, refresh)
    conn = spec.connector(settings, ConnectorDeps(store=store, clock=clock or Clock(), budget=budget))
    conn.bind_listings(listing_bindings(db, ch.name))
    return conn


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
                conn = tune_windows(build_connector(self.cfg.channel(channel), db=self.db, budget=self.budget,
                                                    clock=self.clock, store=self.store), self.cfg.channel(channel))
                self._conns[channel] = conn
            return conn

    def close(self) -> None:
        for conn in self._conns.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing connector failed", exc_info=True)
        self._conns.clear()
