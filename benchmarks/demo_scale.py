"""The demo's figures at a larger size, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/demo_scale.py [--skus 200] [--minutes 60] [--time-scale 30]
                                              [--orders-per-min 4] [--db sqlite|postgres|both]

Prints one line of figures per database: orders placed/imported, oversold,
drift, throttled, stock push calls vs the fewest possible, propagation p50/p95
(sandbox seconds) overall and by source platform, shipments, and wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def line(name: str, s: dict) -> str:
    p = s["propagation_s"]
    src = ", ".join(f"{k} p50 {v['p50']} p95 {v['p95']} (n={v['n']})" for k, v in sorted(p["by_source"].items()))
    return (f"[{name}] placed {s['orders_placed']} imported {s['orders_imported']} oversold {s['oversold_units']} "
            f"drift {s['drift_skus']} throttled {s['throttled']} push requests {s['stock_push_calls']} "
            f"(floor 15 s {s['push_floor_15s']}) shipments {s['shipments_created']} confirmed once "
            f"{s['shipped_orders_confirmed_once_on_platform']} | propagation p50 {p['p50']} p95 {p['p95']} s | "
            f"{src} | wall {s['wall_s']} s")


def main() -> int:
    import os

    from cryptography.fernet import Fernet

    from crossdock.demo import DemoOptions, run_demo

    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--time-scale", type=float, default=30)
    ap.add_argument("--orders-per-min", type=float, default=4)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = ap.parse_args()
    os.environ.setdefault("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())
    base = dict(skus=args.skus, minutes=args.minutes, time_scale=args.time_scale, orders_per_min=args.orders_per_min)
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as d:
            print(line("sqlite", run_demo(DemoOptions(folder=Path(d), **base))), flush=True)
    if args.db in ("postgres", "both"):
        from tests.services import TempPostgresDatabase

        tmp = TempPostgresDatabase()
        try:
            with tempfile.TemporaryDirectory() as d:
                print(line("postgres", run_demo(DemoOptions(folder=Path(d), database_url=tmp.url, **base))),
                      flush=True)
        finally:
            tmp.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
