"""The demo's four channels on a live sandbox, for the price and listing jobs'
tests: config (with price rules and listing rules), catalogue, stock and
listings seeded in crossdock and in the sandbox, FX rates stored."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update

from crossdock import config as config_mod
from crossdock.config import Config
from crossdock.db.engine import Database
from crossdock.db.models import ChannelListing, Product, SyncEvent
from crossdock.demo import DemoOptions, _sandbox_channels, _seed, _write_config
from crossdock.mapping.fx import FxRate
from crossdock.mapping.fx_store import load_into
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import EngineContext

CHANNELS = ("amazon-de", "amazon-us", "ebay-uk", "shopify-eu")

PRICE_RULES = """
[channels.amazon-us.price]
markup = "1.20"
rounding = "charm"

[channels.amazon-de.price]
markup = "1.10"
add = "0.50 EUR"

[channels.ebay-uk.price]
markup = "1.15"
rounding = "up_to:0.05"

[channels.shopify-eu.price]
rounding = "charm"
floor = "25 EUR"
"""

# eBay offers need business policies and a merchant location (any id: the sandbox only checks presence)
EBAY_OPTIONS = ('options = {merchant_location_key = "default", fulfillment_policy_id = "6196932000", '
                'payment_policy_id = "6196933000", return_policy_id = "6196934000", dev_id = ')

# The demo's base prices are drawn at random; these are the ones the tests compute with.
BASE_PRICES = {"XD-0001": ("24.00", "EUR"), "XD-0002": ("39.90", "EUR"), "XD-0003": ("12.00", "CHF"),
               "XD-0004": ("24.00", "EUR"), "XD-0005": ("39.90", "EUR")}
RATES = {("EUR", "USD"): "1.0850", ("EUR", "GBP"): "0.8550"}


@dataclass
class CatalogEnv:
    sb: Sandbox
    cfg: Config
    db: Database
    ctx: EngineContext
    sb_channels: dict[str, str]      # crossdock channel -> sandbox channel key
    config_path: Path
    env: dict[str, str]              # the secrets the config refers to

    def sim(self, channel: str):
        return self.sb.sims[self.cfg.channel(channel).platform]

    def price(self, channel: str, sku: str) -> Decimal | None:
        """What the sandbox itself holds as the listing's price."""
        platform, key = self.cfg.channel(channel).platform, self.sb_channels[channel]
        sim = self.sb.sims[platform]
        with sim.lock:
            if platform == "shopify":
                variant = sim.shops[key.split(":", 1)[1]].variant_by_sku(sku)
                return None if variant is None else Decimal(variant.price)
            listing = sim.listings[key].get(sku)
            return None if listing is None else Decimal(listing.price)

    def listed(self, channel: str) -> dict[str, int]:
        """SKU -> quantity buyers see on the channel (the sandbox's own view)."""
        return self.sim(channel).listed(self.sb_channels[channel])

    def calls(self) -> dict[tuple[str, str], int]:
        """(platform, operation) -> calls the sandbox answered so far."""
        out: dict[tuple[str, str], int] = {}
        for platform, accounts in self.sb.stats.as_dict().items():
            for ops in accounts.values():
                for op, c in ops.items():
                    out[(platform, op)] = out.get((platform, op), 0) + c["calls"]
        return out

    def listing(self, channel: str, sku: str) -> ChannelListing | None:
        with self.db.read() as s:
            return s.scalar(select(ChannelListing).where(ChannelListing.channel == channel,
                                                         ChannelListing.sku == sku))

    def events(self, operation: str, *, sku: str | None = None, channel: str | None = None) -> list[SyncEvent]:
        with self.db.read() as s:
            stmt = select(SyncEvent).where(SyncEvent.operation == operation).order_by(SyncEvent.id)
            if sku is not None:
                stmt = stmt.where(SyncEvent.entity == sku)
            if channel is not None:
                stmt = stmt.where(SyncEvent.channel == channel)
            return list(s.scalars(stmt))

    def dirty_count(self, channel: str, sku: str) -> int:
        with self.db.read() as s:
            return s.scalar(select(func.count()).select_from(dirty.DIRTY)
                            .where(dirty.DIRTY.c.channel == channel, dirty.DIRTY.c.sku == sku))


def store_rates(db: Database, on: dt.date, rates: dict[tuple[str, str], str] = RATES) -> None:
    load_into(db.engine, [FxRate(b, q, Decimal(r), on, "test") for (b, q), r in rates.items()])


@contextlib.contextmanager
def catalog_env(tmp_path: Path, monkeypatch, db: Database, *, extra_config: str = "",
                rates: bool = True) -> Iterator[CatalogEnv]:
    """Five demo SKUs (XD-0005 a legacy eBay listing) listed on every channel
    at 19.99 in the channel's currency, with :data:`BASE_PRICES` and, unless
    ``rates`` is False, :data:`RATES` valid from the platform's yesterday."""
    opts = DemoOptions(skus=5, time_scale=60, seed=11, folder=tmp_path, database_url=db.url)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        env: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, env)
        text = path.read_text().replace("options = {dev_id = ", EBAY_OPTIONS)
        path.write_text(text + PRICE_RULES + extra_config)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        cfg = config_mod.load(path, env={})
        channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, channels)
        with db.write() as s:
            for sku, (amount, currency) in BASE_PRICES.items():
                s.execute(update(Product).where(Product.sku == sku)
                          .values(base_price=Decimal(amount), base_currency=currency))
        ctx = context_from_config(cfg, db)
        if rates:
            store_rates(db, ctx.clock.now().date() - dt.timedelta(days=1))
        try:
            yield CatalogEnv(sb=sb, cfg=cfg, db=db, ctx=ctx, sb_channels=channels, config_path=path, env=env)
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
