"""Order ingest: normalised orders stored per second, against a raw Core bulk insert.

    .venv/bin/python benchmarks/ingest.py [--orders 20000] [--page 1000] [--backends sqlite,postgres]

Generates N synthetic normalised orders (two lines each) in memory, then for
each backend, on a fresh database each time, stores them page by page (one
transaction per page, as an import does) and prints orders/s for:

- ``raw core``: SQLAlchemy Core executemany INSERTs of the same order and line
  rows, nothing else (the ceiling);
- ``upsert, no stock``: :func:`crossdock.sync_engine.orders.upsert_orders`
  with ``reserve=False`` (dedupe check, inserts, sync events);
- ``upsert + reserve``: the full import: also reserves every line (stock rows
  locked in a fixed order, reservations inserted, SKUs marked dirty, outbox
  entries for the stock pushes);
- ``re-import``: the same pages again (every order already stored and
  unchanged: the dedupe path).

The target is ≥ 25,000 orders/s for the full import on SQLite. PostgreSQL runs
in a temporary database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from crossdock.db import models as m  # noqa: E402
from crossdock.db.engine import Database  # noqa: E402
from crossdock.db.migrate import upgrade  # noqa: E402
from crossdock.models import Address, Money, Order, OrderLine, OrderStatus, Platform, TaxInfo  # noqa: E402

PG_URL = os.environ.get("CROSSDOCK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHANNEL = "amazon-de"
SKUS = 500
UTC = dt.timezone.utc


def synthetic_orders(n: int) -> list[Order]:
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = base + dt.timedelta(seconds=i)
        out.append(Order(
            platform=Platform.AMAZON, platform_order_id=f"302-{i:07d}-{(i * 7919) % 10_000_000:07d}",
            platform_status="Unshipped", status=OrderStatus.UNSHIPPED, purchased_at=at, updated_at=at,
            total=Money(Decimal("39.98"), "EUR"), buyer_country="FR", marketplace_id="A1PA6795UKMFR9",
            tax=TaxInfo(model="MarketplaceFacilitator", ioss_number="IM2760000742", scheme="IOSS"),
            ship_by=at + dt.timedelta(days=2), fulfillment_channel="MFN",
            shipping_address=Address(country_code="FR", name="Amélie Dupont", line1="3 rue de Rivoli",
                                     city="Paris", postal_code="75001"),
            lines=[OrderLine(platform_line_id=f"{i}-{k}", sku=f"SKU-{(i * 2 + k) % SKUS:04d}", quantity=1,
                             unit_price=Money(Decimal("19.99"), "EUR"), title=f"Synthetic item {k}")
                   for k in range(2)]))
    return out


def seed(db: Database, units_per_sku: int) -> None:
    with db.write() as s:
        s.add(m.Channel(name=CHANNEL, platform="amazon", account="bench", currency="EUR", country="DE"))
        s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        s.flush()
        s.execute(insert(m.Product.__table__), [
            {"sku": f"SKU-{i:04d}", "title": f"Product {i}", "description": "", "attributes": {}, "images": [],
             "safety_stock": 0, "created_at": dt.datetime.now(UTC), "updated_at": dt.datetime.now(UTC)}
            for i in range(SKUS)])
        s.execute(insert(m.StockLevel.__table__), [
            {"sku": f"SKU-{i:04d}", "warehouse": "DE", "on_hand": units_per_sku, "reserved": 0,
             "updated_at": dt.datetime.now(UTC)} for i in range(SKUS)])
        s.execute(insert(m.ChannelListing.__table__), [
            {"channel": CHANNEL, "sku": f"SKU-{i:04d}", "platform_ids": {}, "status": "active",
             "last_pushed_qty": units_per_sku} for i in range(SKUS)])


def _without_id(row: dict) -> dict:
    row = dict(row)
    del row["id"]
    return row


def raw_core(db: Database, pages: list[list[Order]]) -> None:
    """Plain Core executemany of the same rows (ids from RETURNING), no checks."""
    from crossdock.sync_engine.orders import _line_rows, _order_row

    now = dt.datetime.now(UTC)
    orders_t, lines_t = m.Order.__table__, m.OrderLine.__table__
    for page in pages:
        with db.write() as s:
            ids = dict((pid, oid) for oid, pid in s.execute(
                insert(orders_t).returning(orders_t.c.id, orders_t.c.platform_order_id),
                [_without_id(_order_row(CHANNEL, o, "unshipped", now)) for o in page]))
            s.execute(insert(lines_t), [_without_id(row) for o in page
                                        for row in _line_rows(ids[o.platform_order_id], o)])


def upsert(db: Database, pages: list[list[Order]], *, reserve: bool) -> None:
    from crossdock.sync_engine.orders import upsert_orders

    for page in pages:
        with db.write() as s:
            upsert_orders(s, CHANNEL, page, reserve=reserve)


class Backend:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._pg_name: str | None = None

    def fresh(self) -> Database:
        self.close()
        if self.name == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="xd_ingest_")
            db = Database(f"sqlite:///{self._tmp.name}/bench.sqlite")
        else:
            import psycopg

            self._pg_name = f"xd_bench_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            db = Database(urlsplit(PG_URL)._replace(path="/" + self._pg_name).geturl())
        upgrade(db)
        return db

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._pg_name is not None:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            self._pg_name = None


def measure(backend: Backend, label: str, pages: list[list[Order]], n: int, fn, *, repeat_first: bool = False
            ) -> float:
    db = backend.fresh()
    try:
        seed(db, units_per_sku=n)      # enough stock: every line reserves
        if repeat_first:
            fn(db, pages)
        t0 = time.perf_counter()
        fn(db, pages)
        elapsed = time.perf_counter() - t0
    finally:
        db.dispose()
    rate = n / elapsed
    print(f"{backend.name:9s} {label:20s} {n:7d} orders in {elapsed:6.2f} s = {rate:9,.0f} orders/s", flush=True)
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--page", type=int, default=1_000, help="orders per transaction (an import page)")
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()

    orders = synthetic_orders(args.orders)
    pages = [orders[i:i + args.page] for i in range(0, len(orders), args.page)]
    # The generated orders stay alive for the whole run (an importer only holds one page): keep the
    # garbage collector from rescanning them on every collection, for every variant alike.
    gc.collect()
    gc.freeze()
    print(f"{args.orders} synthetic orders, 2 lines each, {len(pages)} pages of {args.page}")
    for name in args.backends.split(","):
        backend = Backend(name.strip())
        try:
            raw = measure(backend, "raw core", pages, args.orders, raw_core)
            plain = measure(backend, "upsert, no stock", pages, args.orders,
                            lambda db, p: upsert(db, p, reserve=False))
            full = measure(backend, "upsert + reserve", pages, args.orders,
                           lambda db, p: upsert(db, p, reserve=True))
            again = measure(backend, "re-import", pages, args.orders,
                            lambda db, p: upsert(db, p, reserve=True), repeat_first=True)
        except Exception as exc:  # noqa: BLE001 - e.g. PostgreSQL not running: report, go on
            print(f"{name:9s} skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        finally:
            backend.close()
        print(f"{name:9s} full import at {full / raw:.0%} of raw core "
              f"(store only {plain / raw:.0%}, re-import {again:,.0f} orders/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
