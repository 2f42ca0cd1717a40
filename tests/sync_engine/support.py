"""Seeding and worker functions for the sync engine tests. Worker functions
live here (an importable module) so ``multiprocessing`` spawn children can
load them."""

from __future__ import annotations

import sqlalchemy as sa

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from decimal import Decimal

from sqlalchemy import func, select

from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.models import Money, Order, OrderLine, OrderStatus, Platform

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

CHANNELS = {"amazon-de": ("amazon", "EUR", "DE"), "ebay-us": ("ebay", "USD", "US"),
            "shopify-eu": ("shopify", "EUR", "DE")}
WAREHOUSES = {"DE": "DE", "CN": "CN", "GB": "GB"}


def seed(db: Database, *, stock: Mapping[tuple[str, str], int] | None = None,
         products: Iterable[str] | None = None, safety: Mapping[str, int] | None = None,
         listings: Mapping[str, Iterable[str]] | None = None,
         last_pushed: Mapping[tuple[str, str], int] | None = None) -> None:
    """Channels, warehouses, products, stock levels and channel listings."""
    stock = dict(stock if stock is not None else {("SKU-1", "DE"): 5})
    skus = sorted(set(products or ()) | {sku for sku, _ in stock})
    with db.write() as s:
        for name, (platform, currency, country) in CHANNELS.items():
            s.add(m.Channel(name=name, platform=platform, account=f"acct-{name}", currency=currency,
                            country=country))
        for code, country in WAREHOUSES.items():
            s.add(m.Warehouse(code=code, name=f"Warehouse {code}", country=country))
        for sku in skus:
            s.add(m.Product(sku=sku, title=f"Product {sku}", safety_stock=(safety or {}).get(sku, 0),
                            base_price=Decimal("10.00"), base_currency="EUR"))
        s.flush()
        for (sku, wh), qty in sorted(stock.items()):
            s.add(m.StockLevel(sku=sku, warehouse=wh, on_hand=qty, reserved=0))
        for channel, listed in (listings or {}).items():
            for sku in listed:
                # only the columns every revision has (migration tests seed old schemas with this)
                s.execute(sa.insert(m.ChannelListing).values(
                    channel=channel, sku=sku, listing_id=f"{channel}-{sku}",
                    last_pushed_qty=(last_pushed or {}).get((channel, sku))))


def order(pid: str, lines: Iterable[tuple[str | None, int]] = (("SKU-1", 1),), *,
          status: OrderStatus = OrderStatus.UNSHIPPED, platform_status: str | None = None,
          platform: Platform = "ebay", updated_at: dt.datetime = NOW, purchased_at: dt.datetime | None = None,
          ship_by: dt.datetime | None = None, fulfillment_channel: str | None = None,
          buyer_country: str = "US") -> Order:
    default_status = {OrderStatus.UNSHIPPED: "NOT_STARTED", OrderStatus.CANCELLED: "CANCELLED",
                      OrderStatus.SHIPPED: "FULFILLED", OrderStatus.PENDING: "NOT_STARTED"}
    return Order(platform=platform, platform_order_id=pid,
                 platform_status=platform_status or default_status.get(status, status.value),
                 status=status, purchased_at=purchased_at or updated_at, updated_at=updated_at,
                 total=Money(Decimal("19.98"), "USD"), buyer_country=buyer_country, ship_by=ship_by,
                 fulfillment_channel=fulfillment_channel,
                 lines=[OrderLine(platform_line_id=f"{pid}-L{i}", sku=sku, quantity=qty,
                                  unit_price=Money(Decimal("9.99"), "USD"), title=f"Item {sku}")
                        for i, (sku, qty) in enumerate(lines, start=1)])


def stock_of(db: Database, sku: str, warehouse: str = "DE") -> tuple[int, int]:
    with db.read() as s:
        row = s.execute(select(m.StockLevel.on_hand, m.StockLevel.reserved)
                        .where(m.StockLevel.sku == sku, m.StockLevel.warehouse == warehouse)).one()
    return int(row.on_hand), int(row.reserved)


def reserved_total(db: Database, sku: str) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.coalesce(func.sum(m.Reservation.quantity), 0))
                            .where(m.Reservation.sku == sku, m.Reservation.status == "active")))


def flags_by_pid(db: Database, channel: str = "ebay-us") -> dict[str, list[str]]:
    with db.read() as s:
        return {pid: list(flags or []) for pid, flags in s.execute(
            select(m.Order.platform_order_id, m.Order.flags).where(m.Order.channel == channel))}


# ------------------------------------------------------------------ worker functions
def import_orders(url: str, channel: str, pids: list[str], mode: str, start=None) -> None:
    """Import one order per transaction. ``mode`` "bulk": upsert_orders
    reserves (row locks in a fixed order); "conditional": store without
    reserving, then reserve_order (one conditional UPDATE per line)."""
    from crossdock.sync_engine import inventory, orders

    db = Database(url)
    try:
        if start is not None:
            start.wait(30)
        for pid in pids:
            if mode == "bulk":
                db.run_write(lambda s, pid=pid: orders.upsert_orders(s, channel, [order(pid)], now=NOW))
            else:
                def store_and_reserve(s, pid=pid):
                    res = orders.upsert_orders(s, channel, [order(pid)], reserve=False, now=NOW)
                    inventory.reserve_order(s, res.order_ids[pid], now=NOW)
                db.run_write(store_and_reserve)
    finally:
        db.dispose()


def fire_schedulers(url: str, rounds: int, start=None) -> None:
    from crossdock.sync_engine import scheduler

    db = Database(url)
    try:
        if start is not None:
            start.wait(30)
        for _ in range(rounds):
            scheduler.fire_due(db, NOW)
    finally:
        db.dispose()


def demo_env(tmp_path, monkeypatch, sb, opts):
    """The demo's four channels against sandbox ``sb``: its config written in
    ``tmp_path`` (secrets as environment variables set through
    ``monkeypatch``), a migrated database, catalogue and listings seeded.
    Returns (config, database, channel name → sandbox channel key, stock)."""
    from crossdock import config as config_mod
    from crossdock.demo import _sandbox_channels, _seed, _write_config
    from tests.db_template import migrate

    env: dict[str, str] = {}
    path = _write_config(tmp_path, sb.describe(), opts, env)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = config_mod.load(path, env={})
    db = Database(cfg.database_url)
    migrate(db)
    channels = _sandbox_channels(sb.describe())
    stock = _seed(db, sb, cfg, opts, channels)
    return cfg, db, channels, stock


def wait_ticking(what: str, cond: Callable[[], bool], *, tick: Callable[[], Any], timeout_s: float = 20) -> None:
    """Call ``tick`` (jobs the test runs itself) until ``cond`` holds, or fail after ``timeout_s``."""
    import pytest

    deadline = time.monotonic() + timeout_s
    while True:
        tick()
        if cond():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def sync_channels(config_path: str, url: str, channels: list[str], seconds: float, start=None) -> None:
    """A worker's stock loop for ``seconds``: each channel's order import then its
    stock push, again and again (errors a worker retries — quota, network — are
    skipped). For the bundle race: threads and spawned processes alike."""
    from crossdock import config as config_mod
    from crossdock.errors import CrossdockError
    from crossdock.sync_engine.engine import context_from_config
    from crossdock.sync_engine.jobs import import_orders, push_stock

    db = Database(url)
    ctx = context_from_config(config_mod.load(config_path), db)
    try:
        if start is not None:
            start.wait(30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for channel in channels:
                for job in (import_orders, push_stock):
                    try:
                        job(ctx, channel)
                    except CrossdockError:
                        pass
            time.sleep(0.02)
    finally:
        ctx.connectors.close()
        db.dispose()


def made_envs(make_env: Callable[..., Any], tmp_path, monkeypatch, db) -> Any:
    """A fixture's body: yields ``make(sb, seed=…)``, which builds ``make_env(tmp_path,
    monkeypatch, sb, db, seed=…)``, and closes every one made when the test ends."""
    made: list[Any] = []

    def make(sb: Any, *, seed: int) -> Any:
        e = make_env(tmp_path, monkeypatch, sb, db, seed=seed)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def raised_code(fn: Callable[[], Any]) -> str:
    """The code of the CrossdockError ``fn()`` raises (it must raise one)."""
    import pytest

    from crossdock.errors import CrossdockError

    with pytest.raises(CrossdockError) as info:
        fn()
    return info.value.code
