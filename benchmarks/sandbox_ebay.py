"""eBay figures on the sandbox: order import rate, and calls/time to push stock
for a catalogue with a mix of Inventory-API and legacy listings.

    .venv/bin/python benchmarks/sandbox_ebay.py [--skus 500] [--legacy 0.2] [--orders 1000]

Prints one JSON document. Real seconds; the sandbox runs at --time-scale.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

from crossdock.connectors.base import OrderQuery
from crossdock.models import StockUpdate
from crossdock.rehearsal import sandbox_connector
from crossdock.sandbox.core import Sandbox


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--skus", type=int, default=500)
    p.add_argument("--legacy", type=float, default=0.2)
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--time-scale", type=float, default=600.0)
    args = p.parse_args()
    with Sandbox(platforms=("ebay",), time_scale=args.time_scale, seed=1) as sb:
        sim = sb.sims["ebay"]
        sim.configure(legacy_ratio=args.legacy)
        channel = sim.channels()[0]
        skus = [f"BENCH-{i:05d}" for i in range(args.skus)]
        for sku in skus:
            sim.set_listing(channel, sku, 10_000, Decimal("9.99"))
        conn = sandbox_connector(sb.describe(), "ebay", bindings=sim.listing_map(channel))
        start = conn.clock.now()
        countries = ("GB", "DE", "FR", "US", "NO", "AU")
        for i in range(args.orders):
            sim.place_order(channel, [(skus[i % len(skus)], 1)], buyer_country=countries[i % len(countries)])
        time.sleep(130 / args.time_scale)
        t0 = time.perf_counter()
        orders = conn.fetch_orders(OrderQuery(start=start, end=conn.window_end()))
        import_s = time.perf_counter() - t0
        updates = [StockUpdate(s, i % 50) for i, s in enumerate(skus)]
        seq = sb.requests.since(0)[-1]["seq"]
        t0 = time.perf_counter()
        results = conn.push_stock(updates)
        push_s = time.perf_counter() - t0
        calls = len(sb.requests.since(seq, platform="ebay", limit=1_000_000))
        conn.close()
    print(json.dumps({
        "orders_imported": len(orders), "import_s": round(import_s, 3),
        "orders_per_s": round(len(orders) / import_s, 1) if import_s else None,
        "skus": args.skus, "legacy_share": args.legacy, "stock_calls": calls,
        "stock_calls_predicted": conn.stock_calls_for(updates), "stock_push_s": round(push_s, 3),
        "stock_failures": sum(not r.ok for r in results),
    }, indent=2))


if __name__ == "__main__":
    main()
