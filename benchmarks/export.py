"""Exports of a large shop: seconds and peak memory of `crossdock export`.

    .venv/bin/python benchmarks/export.py [--orders 100000] [--backend sqlite|postgres]
                                          [--kinds orders,customers] [--format csv] [--json]

Fills a fresh database (a temporary SQLite file, or a temporary PostgreSQL
database dropped afterwards) with N orders of one to three lines each and
their buyers' addresses (SQLAlchemy Core executemany: the filling is not what
is measured), writes a config file for it, then runs `crossdock export KIND
--out FILE` as a subprocess, exactly as an operator would, and prints for
each kind: rows, seconds (wall clock, process start included) and the
child's peak RSS (``wait4`` rusage).

Target (issue 16): 100,000 orders export in at most 60 s with peak RSS at
most 200 MB — the export streams a page of rows at a time, so memory does
not grow with the shop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from crossdock.db import models as m  # noqa: E402
from crossdock.db.engine import Database  # noqa: E402
from crossdock.db.migrate import upgrade  # noqa: E402

CHUNK = 5000
SKUS = [f"BM-{i:04d}" for i in range(200)]


def fill(db: Database, orders: int, seed: int = 16) -> int:
    """N orders, 1-3 lines each; returns the lines written."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with db.write() as s:
        s.add(m.Channel(name="shop-eu", platform="shopify", account="bench", currency="EUR", country="DE"))
        s.add(m.Warehouse(code="DE", name="Main", country="DE"))
        s.flush()
        s.execute(insert(m.Product), [{"sku": sku, "title": f"Product {sku}", "base_price": Decimal("12.50"),
                                       "base_currency": "EUR"} for sku in SKUS])
    lines_total = 0
    order_id = 0
    for first in range(0, orders, CHUNK):
        order_rows, line_rows = [], []
        for i in range(first, min(orders, first + CHUNK)):
            order_id += 1
            at = start + dt.timedelta(minutes=i)
            order_rows.append({
                "id": order_id, "channel": "shop-eu", "platform_order_id": f"#{100000 + i}",
                "platform_status": "UNFULFILLED", "local_status": "reserved", "purchased_at": at,
                "platform_updated_at": at, "buyer_country": "DE", "currency": "EUR",
                "total_amount": Decimal("37.50"), "warehouse": "DE", "flags": [], "imported_at": at,
                "updated_at": at, "status_changed_at": at,
                "shipping_address": {"name": f"Buyer {i}", "line1": f"{i} Hauptstrasse", "city": "Berlin",
                                     "postal_code": "10115", "country_code": "DE"}})
            for n in range(rng.randint(1, 3)):
                line_rows.append({"order_id": order_id, "platform_line_id": f"{i}-{n}", "sku": rng.choice(SKUS),
                                  "title": "Benchmark item", "quantity": rng.randint(1, 3), "quantity_shipped": 0,
                                  "unit_price": Decimal("12.50"), "currency": "EUR"})
        with db.write() as s:
            s.execute(insert(m.Order), order_rows)
            s.execute(insert(m.OrderLine), line_rows)
        lines_total += len(line_rows)
    return lines_total


def run_export(folder: Path, kind: str, fmt: str) -> dict:
    out = folder / f"{kind}.{fmt}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crossdock", "export", kind, "--format", fmt, "--out", str(out),
                             "--json"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = proc.stdout.read(), proc.stderr.read()     # type: ignore[union-attr]
    proc.stdout.close()                                          # type: ignore[union-attr]
    proc.stderr.close()                                          # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"crossdock export {kind} failed: {stderr.decode()[-2000:]}")
    rows = json.loads(stdout)["rows"]
    return {"kind": kind, "format": fmt, "rows": rows, "seconds": round(seconds, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--kinds", default="orders,customers")
    ap.add_argument("--format", default="csv", choices=("csv", "json"))
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossdock-export-bench-") as tmp:
        folder = Path(tmp)
        pg = None
        if args.backend == "postgres":
            sys.path.insert(0, str(REPO))
            from tests.services import TempPostgresDatabase

            pg = TempPostgresDatabase()
            url = pg.url
        else:
            url = f"sqlite:///{folder / 'bench.sqlite'}"
        try:
            db = Database(url)
            upgrade(db)
            t0 = time.perf_counter()
            lines = fill(db, args.orders)
            fill_s = time.perf_counter() - t0
            db.dispose()
            (folder / "crossdock.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
            results = [run_export(folder, kind, args.format) for kind in args.kinds.split(",")]
        finally:
            if pg is not None:
                pg.close()
    doc = {"backend": args.backend, "orders": args.orders, "lines": lines, "fill_s": round(fill_s, 1),
           "exports": results, "target": {"seconds": 60, "peak_rss_mb": 200}}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{args.backend}: {args.orders} orders, {lines} lines (filled in {fill_s:.1f} s)")
    for r in results:
        ok = r["seconds"] <= 60 and r["peak_rss_mb"] <= 200
        print(f"  export {r['kind']:<10} {r['rows']:>7} rows  {r['seconds']:>6.2f} s  peak RSS "
              f"{r['peak_rss_mb']:>6.1f} MB  {r['bytes'] / 1e6:.1f} MB written  {'ok' if ok else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
