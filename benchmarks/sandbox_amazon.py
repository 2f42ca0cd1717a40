"""Amazon order ingest through the connector, against the sandbox.

    .venv/bin/python benchmarks/sandbox_amazon.py [--orders 200] [--time-scale 60]

Two figures:

- with Amazon's usage plans enforced (getOrders 0.0167/s burst 20,
  getOrderItems 0.5/s burst 30): orders imported per platform minute. After
  the getOrderItems burst this approaches 30/min — one getOrderItems call per
  order at 0.5/s is the ingest ceiling for a busy seller, not getOrders
  (100 orders per page).
- with rate limits switched off: orders per real second, the connector plus
  sandbox cost of one order (a getOrders share plus one getOrderItems call).

The connector waits out 429s itself (one token's time at the published rate);
when it gives up the "engine" here retries the window, skipping orders already
stored (``known_updates``), as the sync engine does.
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
from crossdock.connectors.amazon import AmazonConnector  # noqa: E402
from crossdock.connectors.base import OrderQuery  # noqa: E402
from crossdock.errors import CrossdockError  # noqa: E402
from crossdock.rehearsal import sandbox_settings
from crossdock.sandbox.core import Sandbox  # noqa: E402

US = "ATVPDKIKX0DER"


def run(n_orders: int, time_scale: float, *, limits: bool) -> tuple[int, float, float, int]:
    with Sandbox(platforms=("amazon",), time_scale=time_scale, seed=101) as sb:
        sb.limits.enabled = limits
        desc = sb.describe()
        clock = ScaledClock.from_description(desc["clock"])
        sim = sb.sims["amazon"]
        sim.pending_s = 0
        channel = sim.channels()[0]
        sim.set_listing(channel, "BENCH-1", n_orders * 2, Decimal("9.99"))
        start = clock.now() - dt.timedelta(minutes=1)
        for _ in range(n_orders):
            sim.place_order(channel, [("BENCH-1", 1)], buyer_country="US")
        time.sleep(125 / time_scale)
        settings = sandbox_settings(desc, "amazon", marketplace=US)
        stored: dict[str, dt.datetime] = {}
        retries = 0
        with AmazonConnector(settings, clock=clock) as conn:
            end = conn.latest_window_end()
            t0_real, t0_platform = time.perf_counter(), clock.timestamp()
            while True:
                try:
                    for order in conn.fetch_orders(OrderQuery(start=start, end=end, known_updates=stored)):
                        stored[order.platform_order_id] = order.updated_at
                    break
                except CrossdockError as exc:
                    if not exc.retryable:
                        raise
                    retries += 1
                    time.sleep(exc.retry_after_s or 0.01)
            real_s = time.perf_counter() - t0_real
            platform_s = clock.timestamp() - t0_platform
        return len(stored), real_s, platform_s, retries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--time-scale", type=float, default=60.0)
    args = ap.parse_args()
    n, real_s, platform_s, retries = run(args.orders, args.time_scale, limits=True)
    print(f"usage plans enforced: {n} orders in {platform_s:.0f} platform s ({real_s:.1f} real s at x{args.time_scale:g}):"
          f" {60 * n / platform_s:.1f} orders per platform minute; {retries} window retries"
          f" (ceiling after the burst: 30/min from getOrderItems at 0.5/s)")
    n, real_s, _, _ = run(args.orders, 600.0, limits=False)
    print(f"rate limits off: {n} orders in {real_s:.2f} s = {n / real_s:.0f} orders/s through connector + sandbox")


if __name__ == "__main__":
    main()
