"""Shopify through the connector, against the sandbox: what the cost-based
throttle allows, and what the connector plus sandbox cost per order.

    .venv/bin/python benchmarks/sandbox_shopify.py [--orders 500] [--skus 300] [--time-scale 60]

Figures printed:

- order import with Shopify's standard plan (bucket 2,000 points, 100
  points/s restored): orders per platform minute, pages, requested vs actual
  points of a page. The client paces itself from each response's
  ``throttleStatus``, so it waits instead of being THROTTLED; each page needs
  its *requested* cost available before it is sent, but only the *actual*
  cost stays spent (Shopify refunds the difference) — that, not the request
  count, sets the ceiling;
- order import with the throttle off (a bucket nobody can empty): orders per
  real second — the connector's and sandbox's own cost;
- stock push of ``--skus`` SKUs: calls (≤ 250 quantities per
  ``inventorySetQuantities``) and SKUs per real second, SKU resolution
  included on the first run, from the cache on the second.

The "engine" here retries a window that hit THROTTLED after the wait the
response names (``retry_after_s``), as the sync engine does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crossdock.clock import ScaledClock  # noqa: E402
from crossdock.connectors.base import MemoryTokenStore, OrderQuery  # noqa: E402
from crossdock.connectors.shopify import ShopifyConnector  # noqa: E402
from crossdock.rehearsal import sandbox_settings, sandbox_token_state  # noqa: E402
from crossdock.errors import QuotaError  # noqa: E402
from crossdock.models import StockUpdate  # noqa: E402
from crossdock.sandbox.core import CatalogueItem, Sandbox  # noqa: E402

CHANNEL = "shopify:crossdock-eu"


def setup(time_scale: float, skus: int, *, throttle: bool):
    sb = Sandbox(platforms=("shopify",), time_scale=time_scale, seed=3).start()
    sim = sb.sims["shopify"]
    sim.configure(pending_payment_probability=0.0)
    if not throttle:
        sim.configure(maximum_available=1e12, restore_rate=1e12)
    for i in range(skus):
        sku = f"B-{i:05d}"
        sb.market.seed_item(CatalogueItem(sku, f"Item {i}", Decimal("9.90"), "EUR", 10_000))
        sim.set_listing(CHANNEL, sku, 1000)
    desc = sb.describe()
    clock = ScaledClock.from_description(desc["clock"])
    conn = ShopifyConnector(sandbox_settings(desc, "shopify"),
                            token_store=MemoryTokenStore([sandbox_token_state(desc, "shopify")]), clock=clock)
    return sb, sim, clock, conn


def import_orders(sb, sim, clock, conn, n: int) -> dict:
    start = clock.now() - dt.timedelta(minutes=5)
    for i in range(n):
        sim.place_order(CHANNEL, [(f"B-{i % 50:05d}", 1), (f"B-{(i + 7) % 50:05d}", 2)],
                        buyer_country=("DE", "FR", "IT", "CH", "GB")[i % 5])
    time.sleep(clock.to_real_s(conn.safety_lag_s + 5))
    until = conn.window_end()
    calls_before = len(sb.requests.since(0, platform="shopify", operation="graphql", limit=10**6))
    t0_real, t0_platform = time.perf_counter(), clock.timestamp()
    got: dict[str, object] = {}
    while True:
        try:
            orders = conn.fetch_orders(OrderQuery(start=start, end=until))
            break
        except QuotaError as exc:
            time.sleep(exc.retry_after_s or 0.1)   # retry_after_s is in real seconds
    for o in orders:
        got[o.platform_order_id] = o
    real_s = time.perf_counter() - t0_real
    platform_s = clock.timestamp() - t0_platform
    log = sb.requests.since(0, platform="shopify", operation="graphql", limit=10**6)[calls_before:]
    cost = conn.client.last_cost or {}
    requested, actual = cost.get("requestedQueryCost", 0), cost.get("actualQueryCost", 0)
    return {"orders": len(got), "calls": len(log), "real_s": real_s, "platform_s": platform_s,
            "last_requested": requested, "last_actual": actual}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=500)
    ap.add_argument("--skus", type=int, default=300)
    ap.add_argument("--time-scale", type=float, default=60.0)
    args = ap.parse_args()

    sb, sim, clock, conn = setup(args.time_scale, max(args.skus, 50), throttle=True)
    try:
        r = import_orders(sb, sim, clock, conn, args.orders)
        per_min = r["orders"] / max(r["platform_s"], 1e-9) * 60
        stats = sb.stats.as_dict()["shopify"]["crossdock-eu"]["graphql"]
        print(f"import, standard plan:  {r['orders']} orders in {r['calls']} calls "
              f"({stats['throttled']} THROTTLED), {per_min:,.0f} orders per platform minute; "
              f"last page requested {r['last_requested']} / actual {r['last_actual']} points")
    finally:
        conn.close()
        sb.stop()

    sb, sim, clock, conn = setup(args.time_scale, max(args.skus, 50), throttle=False)
    try:
        r = import_orders(sb, sim, clock, conn, args.orders)
        print(f"import, throttle off:    {r['orders'] / r['real_s']:,.0f} orders per real second "
              f"({r['calls']} calls, {r['real_s'] * 1000 / max(r['calls'], 1):.1f} ms a call)")
        updates = [StockUpdate(f"B-{i:05d}", 500 + i % 7) for i in range(args.skus)]
        for label in ("first (resolves SKUs)", "second (cached ids)"):
            before = len(sb.requests.since(0, platform="shopify", operation="graphql", limit=10**6))
            t0 = time.perf_counter()
            results = conn.push_stock(updates)
            took = time.perf_counter() - t0
            calls = len(sb.requests.since(0, platform="shopify", operation="graphql", limit=10**6)) - before
            ok = sum(1 for x in results if x.ok)
            print(f"stock push, {label}: {ok}/{len(updates)} SKUs in {calls} calls "
                  f"(stock_calls_needed={conn.stock_calls_needed(len(updates))}), {len(updates) / took:,.0f} SKUs/s")
    finally:
        conn.close()
        sb.stop()


if __name__ == "__main__":
    main()
