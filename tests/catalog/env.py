"""The demo's four channels on a live in-process sandbox, with nothing linked
yet: the config ``crossdock demo`` writes, a migrated database, and helpers to
put listings on the platforms as a seller who sold there before crossdock
would have them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crossdock import config as config_mod
from crossdock.config import Config
from crossdock.db.engine import Database
from crossdock.db.models import ChannelListing, StockLevel, Warehouse
from crossdock.demo import DemoOptions, _sandbox_channels, _write_config
from crossdock.sandbox.core import CatalogueItem, Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import EngineContext


@dataclass
class ListingsEnv:
    sb: Sandbox
    cfg: Config
    db: Database
    ctx: EngineContext
    sb_channels: dict[str, str]
    config_path: Path

    def sim(self, channel: str):
        return self.sb.sims[self.cfg.channel(channel).platform]

    def put(self, channel: str, sku: str, qty: int, price: str = "10.00", *, title: str | None = None,
            legacy: bool = False) -> None:
        """A listing the seller made on the platform (title from the sandbox's catalogue)."""
        if title is not None:
            self.sb.market.seed_item(CatalogueItem(sku=sku, title=title, price=Decimal(price), currency="EUR",
                                                   physical_stock=qty))
        key = self.sb_channels[channel]
        if legacy:
            self.sim(channel).mark_legacy(key, sku)
        self.sim(channel).set_listing(key, sku, qty, Decimal(price))

    def put_twice_on_shopify(self, sku: str, qty: int) -> None:
        """A second Shopify product with the same SKU (a duplicate made in the admin)."""
        sim = self.sim("shopify-eu")
        shop = sim._shop_of(self.sb_channels["shopify-eu"])
        with sim.lock:
            now = sim.clock.timestamp()
            product = shop.create_product(title=f"{sku} (copy)", now=now, price=Decimal("9.00"), sku=sku)
            shop.set_available(shop.variants[product.variant_ids[0]].inventory_item_id, shop.primary_location_id,
                               qty, now)

    def listed(self, channel: str) -> dict[str, int]:
        return self.sim(channel).listed(self.sb_channels[channel])

    def item_id(self, sku: str) -> str:
        return self.sim("ebay-uk").listing_map(self.sb_channels["ebay-uk"])[sku]["item_id"]

    def stock(self, levels: dict[str, int], warehouse: str = "DE") -> None:
        with self.db.write() as s:
            if s.get(Warehouse, warehouse) is None:
                s.add(Warehouse(code=warehouse, name=warehouse, country="DE"))
                s.flush()
            for sku, qty in levels.items():
                s.add(StockLevel(sku=sku, warehouse=warehouse, on_hand=qty, reserved=0))

    def rows(self, channel: str) -> dict[str, ChannelListing]:
        with self.db.read() as s:
            return {r.sku: r for r in s.scalars(select(ChannelListing).where(ChannelListing.channel == channel))}

    def dirty(self) -> set[tuple[str, str]]:
        with self.db.read() as s:
            return {(c, k) for c, k in s.execute(select(dirty.DIRTY.c.channel, dirty.DIRTY.c.sku))}


@contextlib.contextmanager
def listings_env(tmp_path: Path, monkeypatch, db: Database) -> Iterator[ListingsEnv]:
    opts = DemoOptions(skus=1, time_scale=60, seed=5, folder=tmp_path, database_url=db.url)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        env: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, env)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        cfg = config_mod.load(path, env={})
        ctx = context_from_config(cfg, db)
        try:
            yield ListingsEnv(sb=sb, cfg=cfg, db=db, ctx=ctx, sb_channels=_sandbox_channels(sb.describe()),
                              config_path=path)
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
