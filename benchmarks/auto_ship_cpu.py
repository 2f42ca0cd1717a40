"""CPU seconds auto-ship spends per shipped order, and where they go.

    .venv/bin/python benchmarks/auto_ship_cpu.py [--orders 15] [--runs 2]

Per run: the demo's channels on the in-process sandbox (carrier failures off),
``--orders`` orders placed on each channel and imported until they are ready
to ship, then ONE :func:`~crossdock.sync_engine.jobs.auto_ship.auto_ship` run
in this thread, timed with the thread's own CPU clock (``time.thread_time``:
user + system CPU of this thread only, so what else the machine runs moves it
little, unlike a profile's share or the demo's total). Printed per shipped
order: auto-ship in all, and inside it the read-back before booking
(``look_before_booking``, the channel's HTTP call and storing the order as read),
``ship_order`` and its steps (find and identify the order, plan, the PDF and
ZPL labels, writing the three files, recording in the database). The sandbox
answers in this thread too, so its share of each HTTP call is counted, as in
the demo. The first order also pays for importing the PDF library.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHIP_STEPS = ("find_order", "order_ident", "plan_shipment", "render_pdf", "render_zpl", "write_label", "_record")


def _metered(cpu: Counter[str], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            cpu[name] += time.thread_time() - started
    return wrapped


def one_run(orders: int, seed: int) -> tuple[dict[str, Any], float, Counter[str]]:
    from crossdock import config as config_mod
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade
    from crossdock.demo import DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config
    from crossdock.sandbox.core import BuyerProfile, Sandbox
    from crossdock.sync_engine import jobs
    from crossdock.sync_engine.engine import context_from_config
    from crossdock.warehouse.picking import ready_orders

    auto_ship_mod = importlib.import_module("crossdock.sync_engine.jobs.auto_ship")
    shipping = importlib.import_module("crossdock.warehouse.shipping")
    ship_mod = importlib.import_module("crossdock.warehouse.shipping.ship")
    folder = Path(tempfile.mkdtemp(prefix="xd-autoship-"))
    db = Database(f"sqlite:///{folder / 'crossdock.sqlite'}")
    upgrade(db)
    cpu: Counter[str] = Counter()
    saved = {"ship_order": shipping.ship_order, "look_before_booking": auto_ship_mod.look_before_booking,
             **{name: getattr(ship_mod, name) for name in SHIP_STEPS}}
    with Sandbox(time_scale=120.0, seed=seed) as sb:
        opts = DemoOptions(skus=40, time_scale=120.0, seed=seed, folder=folder, database_url=db.url)
        secrets: dict[str, str] = {}
        cfg = config_mod.load(_write_config(folder, sb.describe(), opts, secrets), env={})
        os.environ.update(secrets)
        cfg.sandbox["carrier"]["failure_rate"] = 0.0          # every booking succeeds: nothing retried
        channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, channels)
        _load_sample_rates(db, sb.clock.now().date())
        ctx = context_from_config(cfg, db)
        for sim in sb.sims.values():                          # paid at once, where a platform may wait
            if hasattr(sim, "pending_payment_probability"):
                sim.pending_payment_probability = 0.0
        sims = sb.all_channels()
        for _ in range(orders):
            for name in channels:
                sb.buy_once(channels[name], sims[channels[name]], BuyerProfile(max_qty=1))
        for _ in range(60):
            for name in channels:
                try:
                    jobs.import_orders(ctx, name)
                except Exception:  # noqa: BLE001 - a quota wait: the next round reads on
                    pass
            with db.read() as s:
                if len(ready_orders(s)) >= len(channels) * orders * 0.9:
                    break
            time.sleep(0.5)
        try:
            shipping.ship_order = _metered(cpu, "ship_order", shipping.ship_order)
            auto_ship_mod.look_before_booking = _metered(cpu, "look_before_booking",
                                                         auto_ship_mod.look_before_booking)
            for name in SHIP_STEPS:
                setattr(ship_mod, name, _metered(cpu, name, getattr(ship_mod, name)))
            started = time.thread_time()
            result = auto_ship_mod.auto_ship(ctx, limit=10**6)
            total = time.thread_time() - started
        finally:
            shipping.ship_order = saved.pop("ship_order")
            auto_ship_mod.look_before_booking = saved.pop("look_before_booking")
            for name, fn in saved.items():
                setattr(ship_mod, name, fn)
            ctx.connectors.close()
    db.dispose()
    return dict(result), total, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=15, help="orders placed on each channel (default 15)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    for run in range(1, args.runs + 1):
        result, total, cpu = one_run(args.orders, seed=7 + run)
        shipped = int(result.get("shipped") or 0)
        if not shipped:
            print(f"run {run}: nothing shipped: {result}")
            continue
        per = {name: 1000 * s / shipped for name, s in cpu.items()}
        print(f"run {run}: auto_ship {1000 * total / shipped:6.2f} ms CPU per shipped order ({shipped} shipped, "
              f"{result.get('waiting', 0)} waiting)")
        print(f"       look_before_booking {per.get('look_before_booking', 0):5.2f} ms   "
              f"ship_order {per.get('ship_order', 0):5.2f} ms = "
              + "  ".join(f"{name.lstrip('_')} {per.get(name, 0):.2f}" for name in SHIP_STEPS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
