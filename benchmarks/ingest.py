"""Order ingest: normalised orders stored per second, against the driver-level floor.

    .venv/bin/python benchmarks/ingest.py [--orders 20000] [--page 1000] [--backends sqlite,postgres]
                                          [--repeat 1] [--normalise]

The network is taken out: N synthetic orders (two lines each) are generated in
memory as normalised :class:`crossdock.models.Order` objects, exactly what a
connector's pure mapping hands the engine. For each backend, on a fresh
database for every measurement, they are stored page by page (one transaction
per page, as an import does) and the script prints orders/s for:

- ``driver floor``: the same ``orders`` and ``order_lines`` rows, ids drawn
  and values bound before the clock starts, stored by the engine's own driver
  connection (sqlite3 / psycopg) and nothing else: no SQLAlchemy, no dedupe, no
  stock, no events. Per page one transaction (SQLite: ``BEGIN IMMEDIATE``, as
  the engine's write transactions; the driver is in autocommit mode, so without
  it every row was its own transaction) of two statements: SQLite an
  ``executemany`` each, PostgreSQL one ``INSERT … SELECT FROM unnest(arrays)``
  each (the fastest way psycopg stores rows short of COPY, and the one the
  import uses);
- ``write floor``: every statement the full import runs (captured from one
  full import on another fresh database), replayed with the same parameters
  by the driver, page by page in the same transactions: what the database
  and the driver cost for exactly the import's writes and reads, with none of
  crossdock's Python around them. ``full import`` / ``write floor`` is the
  share of the database work in the import;
- ``raw core``: SQLAlchemy Core executemany INSERTs of the same order and line
  rows (order ids by RETURNING), rows built from the orders inside the clock;
- ``store only``: :func:`crossdock.sync_engine.orders.upsert_orders` with
  ``reserve=False``: dedupe (in the page, and against stored orders), order
  and line inserts, sync events (one ``order.import`` per new order, one
  ``orders.upsert`` summary per page);
- ``full import``: ``upsert_orders(reserve=True)``, what the import job runs:
  all of the above, plus every line reserved (stock rows locked in a fixed
  order, allocated first come first served, conditional UPDATEs checked,
  reservation rows), SKUs marked dirty and outbox entries for the stock pushes;
- ``re-import``: the full import of the same pages again (every order already
  stored and unchanged: the dedupe path only).

With ``--normalise`` it also measures the normalisation it leaves out: the
same number of raw Amazon SP-API payloads (order + two order items) mapped by
:func:`crossdock.connectors.amazon.mapping.parse_order` (pure, no database),
and ``payloads → full import`` (mapping plus full import, per page).

Targets (issue 13): full import >= 36,000 orders/s on SQLite and >= 12,000/s
on PostgreSQL; the table puts it beside the driver floor.
PostgreSQL runs in a temporary database that is dropped afterwards.
``--repeat N`` measures every variant N times and prints the median (and best).
Rates are wall-clock; the CPU time of this process is printed beside them, and
the rate per CPU second (with SQLite it is nearly all the work, so on a busy
machine it shows what a quiet one would do; PostgreSQL's own work runs in the
server, not counted). Before measuring, the process loads what a running
engine has loaded (the import modules, the platform registry).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from crossdock.db import models as m  # noqa: E402
from crossdock.db.engine import Database  # noqa: E402
from crossdock.db.migrate import upgrade  # noqa: E402
from crossdock.models import Address, Money, Order, OrderLine, OrderStatus, TaxInfo  # noqa: E402

PG_URL = os.environ.get("CROSSDOCK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHANNEL = "amazon-de"
SKUS = 500
UTC = dt.timezone.utc
TARGETS = {"sqlite": 36_000, "postgres": 12_000}

VARIANTS = (
    ("driver floor", "the driver storing the same order + line rows, already bound (the driver floor)"),
    ("write floor", "the driver replaying the full import's own statements (the database's share)"),
    ("raw core", "Core executemany INSERT of the same order + line rows only (the floor)"),
    ("store only", "upsert_orders(reserve=False): dedupe, orders + lines, sync events"),
    ("full import", "upsert_orders(reserve=True): + reservations, dirty marks, outbox"),
    ("re-import", "full import of pages already stored: dedupe only, nothing written"),
)
NORMALISE_VARIANTS = (
    ("normalise", "amazon mapping.parse_order of raw payloads, no database"),
    ("payloads → full", "mapping + full import, page by page"),
)


def synthetic_orders(n: int) -> list[Order]:
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = base + dt.timedelta(seconds=i)
        out.append(Order(
            platform="amazon", platform_order_id=f"302-{i:07d}-{(i * 7919) % 10_000_000:07d}",
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


# An ordersV0 Order and OrderItem as getOrders / getOrderItems return them (cross-border, IOSS).
_AMAZON_ORDER = {
    "AmazonOrderId": "", "PurchaseDate": "", "LastUpdateDate": "", "OrderStatus": "Unshipped",
    "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.de", "ShipServiceLevel": "Std Intl",
    "OrderTotal": {"CurrencyCode": "EUR", "Amount": "39.98"}, "NumberOfItemsShipped": 0,
    "NumberOfItemsUnshipped": 2, "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"],
    "IsReplacementOrder": False, "MarketplaceId": "A1PA6795UKMFR9", "ShipmentServiceLevelCategory": "Expedited",
    "OrderType": "StandardOrder", "EarliestShipDate": "", "LatestShipDate": "", "IsBusinessOrder": False,
    "IsPrime": False, "IsPremiumOrder": False, "IsGlobalExpressEnabled": True, "IsSoldByAB": False,
    "ShippingAddress": {"City": "Paris", "StateOrRegion": "Ile-de-France", "PostalCode": "75001",
                        "CountryCode": "FR"},
}
_AMAZON_ITEM = {
    "ASIN": "B0WM9P24V7", "SellerSKU": "", "OrderItemId": "", "Title": "Synthetic item", "QuantityOrdered": 1,
    "QuantityShipped": 0, "ProductInfo": {"NumberOfItems": "1"},
    "ItemPrice": {"CurrencyCode": "EUR", "Amount": "19.99"}, "ShippingPrice": {"CurrencyCode": "EUR", "Amount": "0.00"},
    "ItemTax": {"CurrencyCode": "EUR", "Amount": "3.33"}, "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "0.00"},
    "IsGift": "false", "ConditionId": "New", "TaxCollection": {"Model": "MarketplaceFacilitator"},
    "DeemedResellerCategory": "IOSS", "IossNumber": "IM2760000742",
}


def amazon_payloads(n: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The raw payloads (order, items) of the same orders as :func:`synthetic_orders`."""
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = base + dt.timedelta(seconds=i)
        order = copy.deepcopy(_AMAZON_ORDER)
        order.update(AmazonOrderId=f"302-{i:07d}-{(i * 7919) % 10_000_000:07d}",
                     PurchaseDate=at.strftime("%Y-%m-%dT%H:%M:%SZ"), LastUpdateDate=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     EarliestShipDate=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     LatestShipDate=(at + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        items = []
        for k in range(2):
            item = copy.deepcopy(_AMAZON_ITEM)
            item.update(SellerSKU=f"SKU-{(i * 2 + k) % SKUS:04d}", OrderItemId=f"{i}-{k}", Title=f"Synthetic item {k}")
            items.append(item)
        out.append((order, items))
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
    from crossdock.sync_engine.order_rows import line_rows as _line_rows, order_row as _order_row

    now = dt.datetime.now(UTC)
    orders_t, lines_t = m.Order.__table__, m.OrderLine.__table__
    for page in pages:
        with db.write() as s:
            ids = dict((pid, oid) for oid, pid in s.execute(
                insert(orders_t).returning(orders_t.c.id, orders_t.c.platform_order_id),
                [_without_id(_order_row(CHANNEL, o, "unshipped", now)) for o in page]))
            s.execute(insert(lines_t), [_without_id(row) for o in page
                                        for row in _line_rows(ids[o.platform_order_id], o)])


def driver_rows(db: Database, pages: list[list[Order]]) -> list[tuple[str, list[tuple], str, list[tuple]]]:
    """Per page: the INSERT statements and the bound ``orders`` / ``order_lines``
    tuples the import would store (ids drawn in advance, values converted the
    way Core binds them), built before the clock starts."""
    from crossdock.sync_engine._sql import _insert_sql, _unnest_sql
    from crossdock.sync_engine.order_rows import LINE_COLS, NO_FLAGS, ORDER_COLS, binds, line_values, order_values

    orders_t, lines_t = m.Order.__table__, m.OrderLine.__table__
    dialect = db.engine.dialect
    pg = dialect.name == "postgresql"
    make_sql = _unnest_sql if pg else _insert_sql
    order_sql = make_sql(dialect, orders_t, ORDER_COLS, None, None)
    line_sql = make_sql(dialect, lines_t, LINE_COLS, None, None)
    with db.read() as s:
        b = binds(s)
    at_b, flags_b = b.at(dt.datetime.now(UTC)), b.json(NO_FLAGS)
    out, oid, lid = [], 0, 0
    for page in pages:
        order_rows, line_rows = [], []
        for o in page:
            oid += 1
            order_rows.append(order_values(CHANNEL, o, "unshipped", oid, b, at_b, flags_b))
            ids = list(range(lid + 1, lid + 1 + len(o.lines)))
            lid += len(o.lines)
            line_rows.extend(line_values(oid, o, ids, b))
        if pg:      # one array per column, one statement per table
            out.append((order_sql, [tuple(list(c) for c in zip(*order_rows))],
                        line_sql, [tuple(list(c) for c in zip(*line_rows))]))
        else:
            out.append((order_sql, order_rows, line_sql, line_rows))
    return out


def driver_floor(db: Database, prepared: list[tuple[str, list[tuple], str, list[tuple]]]) -> None:
    """The driver itself: per page one transaction of the two inserts (orders,
    lines) on the engine's own driver connection; no SQLAlchemy, no checks, rows
    already bound."""
    sqlite = db.engine.dialect.name == "sqlite"
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for order_sql, order_rows, line_sql, line_rows in prepared:
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")    # the pool's sqlite3 connection is in autocommit mode
            for sql, rows in ((order_sql, order_rows), (line_sql, line_rows)):
                if len(rows) == 1:
                    cur.execute(sql, rows[0])
                else:
                    cur.executemany(sql, rows)
            raw.commit()
        cur.close()
    finally:
        raw.close()


# one captured page: (statement, parameters, executemany?) as the engine handed them to the driver
Captured = list[tuple[str, Any, bool]]


def captured_import(db: Database, pages: list[list[Order]]) -> list[Captured]:
    """Run the full import on ``db`` (not timed) and record, page by page, every
    statement it hands the driver, with its parameters."""
    from sqlalchemy import event

    log: Captured = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not statement.startswith("BEGIN"):     # the replay opens its own transactions
            log.append((statement, parameters, executemany))

    out = []
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for page in pages:
            upsert(db, [page], reserve=True)
            out.append(log[:])
            log.clear()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return out


def write_floor(db: Database, captured: list[Captured]) -> None:
    """The captured statements replayed by the driver, one transaction per page."""
    sqlite = db.engine.dialect.name == "sqlite"
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for page in captured:
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")
            for statement, parameters, many in page:
                if many:
                    cur.executemany(statement, parameters)
                else:
                    cur.execute(statement, parameters)
                    if cur.description is not None:
                        cur.fetchall()
            raw.commit()
        cur.close()
    finally:
        raw.close()


def upsert(db: Database, pages: list[list[Order]], *, reserve: bool) -> None:
    from crossdock.sync_engine.orders import upsert_orders

    for page in pages:
        with db.write() as s:
            upsert_orders(s, CHANNEL, page, reserve=reserve)


def normalise(payload_pages: list[list[tuple[dict, list[dict]]]]) -> list[list[Order]]:
    from crossdock.connectors.amazon.mapping import parse_order

    return [[parse_order(raw, items, channel=CHANNEL) for raw, items in page] for page in payload_pages]


def payloads_full(db: Database, payload_pages: list[list[tuple[dict, list[dict]]]]) -> None:
    from crossdock.connectors.amazon.mapping import parse_order
    from crossdock.sync_engine.orders import upsert_orders

    for page in payload_pages:
        orders = [parse_order(raw, items, channel=CHANNEL) for raw, items in page]
        with db.write() as s:
            upsert_orders(s, CHANNEL, orders, reserve=True)


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


class Rate(NamedTuple):
    wall: float        # orders per wall-clock second (median)
    cpu: float         # orders per CPU second of this process (median)


def _report(where: str, label: str, n: int, seconds: list[float], cpu_s: list[float]) -> Rate:
    rates = [n / s for s in seconds]
    rate = statistics.median(rates)
    cpu = statistics.median(cpu_s)
    extra = f"  (best {max(rates):,.0f}, {len(rates)} runs)" if len(rates) > 1 else ""
    print(f"{where:9s} {label:16s} {n:7d} orders in {statistics.median(seconds):6.2f} s "
          f"(this process's CPU {cpu:5.2f} s = {n / cpu if cpu else 0:9,.0f}/s) = {rate:9,.0f} orders/s{extra}",
          flush=True)
    return Rate(rate, n / cpu if cpu else 0.0)


def measure(backend: Backend, label: str, pages: Any, n: int, fn: Callable[[Database, Any], None], *,
            repeat: int, repeat_first: bool = False,
            prepare: Callable[[Database, Any], Any] | None = None) -> Rate:
    seconds, cpu_s = [], []
    for _ in range(repeat):
        db = backend.fresh()
        try:
            seed(db, units_per_sku=n)      # enough stock: every line reserves
            if repeat_first:
                fn(db, pages)
            work = prepare(db, pages) if prepare is not None else pages
            t0, c0 = time.perf_counter(), time.process_time()
            fn(db, work)
            seconds.append(time.perf_counter() - t0)
            cpu_s.append(time.process_time() - c0)
        finally:
            db.dispose()
            backend.close()
    return _report(backend.name, label, n, seconds, cpu_s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--page", type=int, default=1_000, help="orders per transaction (an import page)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--repeat", type=int, default=1, help="measure each variant this many times (median printed)")
    ap.add_argument("--normalise", action="store_true",
                    help="also measure mapping raw Amazon payloads to orders, alone and with the full import")
    args = ap.parse_args()

    orders = synthetic_orders(args.orders)
    pages = [orders[i:i + args.page] for i in range(0, len(orders), args.page)]
    payload_pages = []
    if args.normalise:
        payloads = amazon_payloads(args.orders)
        payload_pages = [payloads[i:i + args.page] for i in range(0, len(payloads), args.page)]
    # The generated orders stay alive for the whole run (an importer only holds one page): keep the
    # garbage collector from rescanning them on every collection, for every variant alike.
    gc.collect()
    gc.freeze()
    # A running engine has its modules and the platform registry loaded: so does this process before it measures.
    from crossdock.platforms.registry import platforms
    import crossdock.sync_engine.orders  # noqa: F401  (loaded, as in a running engine)

    platforms()
    print(f"{args.orders} synthetic normalised orders (crossdock.models.Order, 2 lines each), "
          f"{len(pages)} pages of {args.page}, one transaction per page; no network")
    for label, what in VARIANTS + (NORMALISE_VARIANTS if args.normalise else ()):
        print(f"  {label:16s} {what}")
    if args.normalise:
        t, c = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            normalise(payload_pages)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        _report("-", "normalise", args.orders, t, c)

    summary = []
    for name in args.backends.split(","):
        backend = Backend(name.strip())
        try:
            floor = measure(backend, "driver floor", pages, args.orders, driver_floor, repeat=args.repeat,
                            prepare=driver_rows)
            with_capture = Backend(backend.name)
            try:
                capture_db = with_capture.fresh()
                seed(capture_db, units_per_sku=args.orders)
                captured = captured_import(capture_db, pages)
                capture_db.dispose()
            finally:
                with_capture.close()
            writes = measure(backend, "write floor", captured, args.orders, write_floor, repeat=args.repeat)
            raw = measure(backend, "raw core", pages, args.orders, raw_core, repeat=args.repeat)
            plain = measure(backend, "store only", pages, args.orders,
                            lambda db, p: upsert(db, p, reserve=False), repeat=args.repeat)
            full = measure(backend, "full import", pages, args.orders,
                           lambda db, p: upsert(db, p, reserve=True), repeat=args.repeat)
            again = measure(backend, "re-import", pages, args.orders,
                            lambda db, p: upsert(db, p, reserve=True), repeat=args.repeat, repeat_first=True)
            from_payloads = (measure(backend, "payloads → full", payload_pages, args.orders, payloads_full,
                                     repeat=args.repeat) if args.normalise else None)
        except Exception as exc:  # noqa: BLE001 - e.g. PostgreSQL not running: report, go on
            print(f"{name:9s} skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        finally:
            backend.close()
        summary.append((name, floor, writes, raw, plain, full, again, from_payloads))

    print()
    print("orders/s (wall clock; in brackets per CPU second of this process)")
    print(f"{'':9s} {'driver floor':>20s} {'write floor':>20s} {'full import':>20s} {'full/floor':>11s} "
          f"{'full/writes':>11s} {'raw core':>9s} "
          f"{'store only':>11s} {'re-import':>10s}" + (f" {'payloads→full':>14s}" if args.normalise else ""))
    for name, floor, writes, raw, plain, full, again, from_payloads in summary:
        print(f"{name:9s} {floor.wall:9,.0f} ({floor.cpu:8,.0f}) {writes.wall:9,.0f} ({writes.cpu:8,.0f}) "
              f"{full.wall:9,.0f} ({full.cpu:8,.0f}) {full.wall / floor.wall:11.0%} {full.wall / writes.wall:11.0%} "
              f"{raw.wall:9,.0f} {plain.wall:11,.0f} {again.wall:10,.0f}"
              + (f" {from_payloads.wall:14,.0f}" if from_payloads is not None else ""))
    for name, floor, writes, _, _, full, _, _ in summary:
        target = TARGETS.get(name)
        if target:
            print(f"{name} full import: {full.wall:,.0f} orders/s, {full.cpu:,.0f} per CPU second (target >= "
                  f"{target:,}: {'met' if full.wall >= target else 'not met'}); {full.wall / floor.wall:.0%} of the "
                  f"driver floor, {full.wall / writes.wall:.0%} of the write floor (its own statements, replayed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
