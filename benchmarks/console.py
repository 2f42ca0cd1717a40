"""The support console on a large shop: p95 page time of the overview, order
search and an order page with 100,000 orders in the database.

    .venv/bin/python benchmarks/console.py [--orders 100000] [--backend sqlite|postgres] [--requests 40] [--json]

Fills a fresh database (a temporary SQLite file, or a temporary PostgreSQL
database dropped afterwards) with N orders of one to three lines each
(benchmarks/export.py's filler) and two sync-log events per order (import and
reservation, one correlation id each), then asks the console's ASGI app
(crossdock.console.app.build_app, in process through Starlette's TestClient:
routing, login check, queries and templates; no network) each page
``--requests`` times, logged in as a support user, and prints p50 and p95 in
milliseconds per page, and the first request's (the overview's doctor checks
are made then and kept for 30 s: crossdock/console/pages.py PROBLEMS_TTL_S).

Target (issue 14): p95 at most 150 ms for the overview, the order search (by
order id, by SKU and country, the first page of everything) and an order page
with its trace, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select  # noqa: E402

from crossdock.db import models as m  # noqa: E402
from crossdock.db.engine import Database  # noqa: E402
from crossdock.db.migrate import upgrade  # noqa: E402

TARGET_MS = 150.0
CHUNK = 5000


def fill_events(db: Database) -> int:
    """Two events per order (import, reserve), sharing the order's correlation id."""
    written = 0
    with db.read() as s:
        orders = s.execute(select(m.Order.platform_order_id, m.Order.purchased_at).order_by(m.Order.id)).all()
    for first in range(0, len(orders), CHUNK):
        rows = []
        for pid, at in orders[first:first + CHUNK]:
            cid = f"ord:shop-eu:{pid}"
            rows.append({"at": at, "correlation_id": cid, "channel": "shop-eu", "entity_type": "order",
                         "entity": pid, "operation": "order.import", "outcome": "ok", "attempt": 1,
                         "message": "imported: 37.50 EUR, FX 1.0000"})
            rows.append({"at": at, "correlation_id": cid, "channel": "shop-eu", "entity_type": "order",
                         "entity": pid, "operation": "order.reserve", "outcome": "ok", "attempt": 1,
                         "message": "reserved in DE"})
        with db.write() as s:
            s.execute(insert(m.SyncEvent), rows)
        written += len(rows)
    return written


def measure(db: Database, orders: int, requests: int) -> dict[str, dict[str, float]]:
    import warnings

    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

    from crossdock import config as config_mod
    from crossdock import secrets
    from crossdock.access.users import add_user
    from crossdock.console.app import build_app

    add_user(db, "bench", "support", "benchmark password")
    cfg = config_mod.parse({"channels": {"shop-eu": {"platform": "shopify", "account": "bench",
                                                    "currency": "EUR"}}})
    client = TestClient(build_app(cfg, db, secret_key=secrets.keys()[0]))
    form = client.get("/login").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "bench", "password": "benchmark password", "csrf": csrf},
                       follow_redirects=False).status_code == 303
    middle = f"#{100000 + orders // 2}"
    pages = {"overview": "/", "search: order id": f"/orders?q=%23{100000 + orders // 2}",
             "search: SKU + country": "/orders?sku=BM-0007&country=DE", "search: first page": "/orders",
             "search: page 20": "/orders?page=20", "order page": f"/orders/%23{middle[1:]}"}
    out = {}
    for name, url in pages.items():
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
        if name == "order page":
            assert "order.reserve" in r.text and middle in r.text
        first = times[0]
        times.sort()
        out[name] = {"first_ms": round(first, 1), "p50_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args()
    if not os.environ.get("CROSSDOCK_SECRET_KEY"):
        from cryptography.fernet import Fernet

        os.environ["CROSSDOCK_SECRET_KEY"] = Fernet.generate_key().decode()
    from benchmarks.export import fill

    with tempfile.TemporaryDirectory(prefix="crossdock-console-bench-") as tmp:
        pg = None
        if args.backend == "postgres":
            from tests.services import TempPostgresDatabase

            pg = TempPostgresDatabase()
            url = pg.url
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        try:
            db = Database(url)
            upgrade(db)
            t0 = time.perf_counter()
            lines = fill(db, args.orders)
            events = fill_events(db)
            fill_s = time.perf_counter() - t0
            # planner statistics, as a live database has them (PostgreSQL's autovacuum analyses a
            # table after bulk writes; a fresh fill has none, and the planner then skips partial indexes)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            pages = measure(db, args.orders, args.requests)
            db.dispose()
        finally:
            if pg is not None:
                pg.close()
    doc = {"backend": args.backend, "orders": args.orders, "lines": lines, "events": events,
           "fill_s": round(fill_s, 1), "requests": args.requests, "pages": pages, "target_p95_ms": TARGET_MS}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{args.backend}: {args.orders} orders, {lines} lines, {events} events (filled in {fill_s:.1f} s)")
    for name, t in pages.items():
        verdict = "ok" if t["p95_ms"] <= TARGET_MS else "OVER TARGET"
        print(f"  {name:<24} first {t['first_ms']:>7.1f} ms  p50 {t['p50_ms']:>7.1f} ms  p95 {t['p95_ms']:>7.1f} ms"
              f"  {verdict}")


if __name__ == "__main__":
    main()
