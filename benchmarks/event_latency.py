"""Where the time goes between a sale and the other channels' listings, with events on.

    .venv/bin/python benchmarks/event_latency.py [--runs 1] [--time-scale 30] [--drop-events 0]
                                                 [--guard] [--minutes 30] [--event-delay amazon=20,…] [--json]

Runs :func:`crossdock.demo.run_demo` with ``--events`` (the same engine
``crossdock worker`` runs) in this process, and afterwards follows every
(sale, other channel) pair the demo's propagation figure measures
(:func:`crossdock.demo_propagation.propagation_pairs`) through the record
each step leaves — never through the engine's opinion of itself:

- the sale and the listing change: the sandbox's own record (sales, listed history);
- the delivery: ``event_deliveries.received_at`` (the first accepted delivery naming the order);
- the order stored: ``orders.imported_at``, and whether the event's targeted read or a poll stored it;
- every job run: when its worker started and ended it (this script wraps the job runner,
  ``jobs.runner.process``; the entry's due time is the outbox row's ``available_at``), and inside a
  stock push, when the read-back of unseen sales and the planning ended (wrapping their functions).

The stages, in sandbox seconds (time scale K: one real second is K of them):

  delivery     sale → the delivery accepted by crossdock (the platform's, plus the receiver's)
  read wait    delivery → the ``events.read`` job starts (outbox wake-up, a free worker thread)
  read         the targeted read's platform call(s)
  store        storing the order (reservations, dirty marks) and committing
  (poll)       sale → stored, for orders a poll stored before their event's read (or without one)
  window       stored → the push entry due (the coalescing window)
  push wait    due (or stored, when a run was due already) → the push run starts (wake-up, thread)
  unseen       the push run's read-back of the listings (unseen sales; guard off, Amazon-like)
  plan         taking the dirty SKUs and planning
  again        when that run did not send the SKU (a quota wait, a claim held by a run in flight): until
               the run that did planned it
  push         planned → the listing changed on the platform (the calls, the platform's processing)

Per source platform it prints p50 / p95 of each stage over the sales' slowest
pairs (the pair the propagation figure takes), and the load (``os.getloadavg``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

known_with: list[float] = []        # sale → stored, orders with an event received (the last run's)
known_without: list[float] = []     # … orders with none (dropped)
STAGES = ("delivery", "read wait", "read", "store", "(poll)", "window", "push wait", "unseen", "plan", "again",
          "push")


class JobTrace:
    """Every job run of the process: (entry id, kind, channel, start, end) in
    real seconds, and marks inside a run (``mark``) by the running thread."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap_process(self, fn: Callable[..., str]) -> Callable[..., str]:
        def process(ctx: Any, entry: Any, **kwargs: Any) -> str:
            run = {"id": entry.id, "kind": entry.kind, "channel": entry.channel, "start": time.time(),
                   "due": entry.available_at.timestamp()}
            self._local.run = run
            try:
                return fn(ctx, entry, **kwargs)
            finally:
                run["end"] = time.time()
                self._local.run = None
                with self._lock:
                    self.runs.append(run)
        return process

    def mark(self, name: str, **values: Any) -> None:
        run = getattr(self._local, "run", None)
        if run is not None:
            run[name] = time.time()
            run.update(values)


def install(trace: JobTrace) -> Callable[[], None]:
    """Wrap the job runner and the stock push's and the events read's steps;
    returns what puts them back."""
    from crossdock.events import reads
    from crossdock.sync_engine import stock_runs
    from crossdock.sync_engine.jobs import runner, stock

    saved = [(runner, "process", runner.process), (stock, "_find_unseen_sales", stock._find_unseen_sales),
             (stock_runs, "prepare_stock_push", stock_runs.prepare_stock_push), (reads, "_store", reads._store)]
    runner.process = trace.wrap_process(runner.process)
    find_unseen = stock._find_unseen_sales

    def _find_unseen_sales(ctx: Any, channel: str, conn: Any) -> Any:
        try:
            return find_unseen(ctx, channel, conn)
        finally:
            trace.mark("unseen_done")
    stock._find_unseen_sales = _find_unseen_sales
    prepare = stock_runs.prepare_stock_push

    def prepare_stock_push(*args: Any, **kwargs: Any) -> Any:
        push = prepare(*args, **kwargs)
        trace.mark("prepared", skus=sorted({u.sku for u in push.updates}))
        return push
    stock_runs.prepare_stock_push = prepare_stock_push
    store = reads._store

    def _store(ctx: Any, channel: str, orders: Any, missing: Any, **kwargs: Any) -> Any:
        trace.mark("fetched", orders=sorted(o.platform_order_id for o in orders))
        return store(ctx, channel, orders, missing, **kwargs)
    reads._store = _store

    def undo() -> None:
        for module, name, value in saved:
            setattr(module, name, value)
    return undo


def run_once(opts: Any, trace: JobTrace, *, event_delay: dict[str, float] | None = None) -> dict[str, Any]:
    """One demo run; returns its summary and the pairs' stages. ``event_delay``:
    platform → sandbox seconds every event of it is late (the sandbox's
    ``event_delay`` fault; by default it delivers at once)."""
    from crossdock import demo as demo_mod
    from crossdock.sandbox.core import Fault

    captured: dict[str, Any] = {}
    summarize = demo_mod.summarize
    drop = demo_mod.drop_events

    def drop_and_delay(sb: Any, probability: float) -> None:
        drop(sb, probability)
        for platform, delay_s in (event_delay or {}).items():
            sb.faults.add(Fault(kind="event_delay", platform=platform, delay_s=delay_s))
    demo_mod.drop_events = drop_and_delay

    def keep(db: Any, cfg: Any, sb: Any, ctx: Any, progress: Any, extra: Any) -> Any:
        captured.update(db=db, cfg=cfg, sb=sb)
        return summarize(db, cfg, sb, ctx, progress, extra)
    demo_mod.summarize = keep
    load = os.getloadavg()
    try:
        summary = demo_mod.run_demo(opts)
    finally:
        demo_mod.summarize, demo_mod.drop_events = summarize, drop
    return {"summary": summary, "load": [round(x, 2) for x in (*load, *os.getloadavg())],
            "stages": stages(captured["db"], captured["sb"], trace, guard=opts.guard)}


def _utc_s(value: dt.datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp()


def stages(db: Any, sb: Any, trace: JobTrace, *, guard: bool) -> list[dict[str, Any]]:
    """Each sale's slowest (sale, channel) pair, split into :data:`STAGES`: the
    share rule's pairs, or with the guard the pairs where a channel showed more
    than was left (the demo's measure for each)."""
    from sqlalchemy import select

    from crossdock.db.models import Order
    from crossdock.demo import SHARES, _sandbox_channels
    from crossdock.demo_propagation import left_pairs, propagation_pairs
    from crossdock.events.tables import EventDelivery

    desc = sb.describe()
    clock = desc["clock"]

    def sbx(real: float) -> float:
        return float(clock["origin_platform"]) + (real - float(clock["origin_real"])) * float(clock["time_scale"])

    ids = _sandbox_channels(desc)
    name_of = {sid: name for name, sid in ids.items()}
    pairs = left_pairs(sb) if guard else propagation_pairs(sb, {ids[n]: Decimal(s) for n, s in SHARES.items()})
    with db.read() as s:
        stored = {(c, o): sbx(_utc_s(at)) for c, o, at in s.execute(
            select(Order.channel, Order.platform_order_id, Order.imported_at))}
        received: dict[tuple[str, str], float] = {}
        for channel, order_ids, at in s.execute(select(EventDelivery.channel, EventDelivery.order_ids,
                                                       EventDelivery.received_at)
                                                .where(EventDelivery.outcome == "accepted")):
            for oid in order_ids or []:
                key = (channel, str(oid))
                received[key] = min(received.get(key, float("inf")), sbx(_utc_s(at)))
    known_with.clear(), known_without.clear()
    with sb.market.lock:
        first_sale = {}
        for sale in sb.market.sales:
            first_sale.setdefault(sale["order_id"], sale)
    for oid, sale in first_sale.items():
        src = name_of.get(sale["channel"])
        at = stored.get((src, oid))
        if at is not None:        # an order the sandbox lost every event of waits for a poll
            (known_with if (src, oid) in received else known_without).append(at - sale["at"])
    runs = sorted(trace.runs, key=lambda r: r["start"])
    reads = [r for r in runs if r["kind"] == "events.read" and "fetched" in r]
    pushes = [r for r in runs if r["kind"] == "push_stock" and "prepared" in r]
    worst: dict[int, dict[str, Any]] = {}
    for p in pairs:
        if p["withdrawn"] or p["reached_at"] is None:
            continue
        if p["sale"] in worst and worst[p["sale"]]["total"] >= p["reached_at"] - p["sold_at"]:
            continue
        src, dst = name_of[p["source"]], name_of[p["target"]]
        row: dict[str, Any] = {"source": src.split("-")[0], "target": dst, "order": p["order_id"],
                               "total": p["reached_at"] - p["sold_at"]}
        sold, reached = p["sold_at"], p["reached_at"]
        at_stored = stored.get((src, p["order_id"]))
        if at_stored is None:
            continue
        at_recv = received.get((src, p["order_id"]))
        read = next((r for r in reads if r["channel"] == src and p["order_id"] in r.get("orders", ())
                     and sbx(r["end"]) >= at_stored - 0.5), None)
        if read is not None and at_recv is not None and sbx(read["start"]) <= at_stored + 0.5:
            row.update({"delivery": at_recv - sold, "read wait": sbx(read["start"]) - at_recv,
                        "read": sbx(read["fetched"]) - sbx(read["start"]),
                        "store": sbx(read["end"]) - sbx(read["fetched"])})
            done = sbx(read["end"])
        else:
            row["(poll)"] = at_stored - sold
            done = at_stored
        mine = [r for r in pushes if r["channel"] == dst and p["sku"] in r["skus"]
                and sbx(r["prepared"]) >= at_stored and sbx(r["start"]) <= reached]
        if not mine:
            row["push"] = reached - done
        else:
            first, last = mine[0], mine[-1]      # a run stopped by a quota wait leaves the SKU to a later one
            start, due = sbx(first["start"]), sbx(first["due"])
            waited = max(0.0, start - done)
            row["window"] = min(waited, max(0.0, due - done))
            row["push wait"] = waited - row["window"]
            unseen = sbx(first.get("unseen_done", first["start"]))
            row["unseen"] = unseen - start
            row["plan"] = sbx(first["prepared"]) - unseen
            if last is not first:
                row["again"] = sbx(last["prepared"]) - sbx(first["prepared"])
            row["push"] = reached - sbx(last["prepared"])
        worst[p["sale"]] = row
    return list(worst.values())


def percentiles(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from crossdock.demo_propagation import pct

    out: dict[str, dict[str, Any]] = {}
    for source in sorted({r["source"] for r in rows}) + ["all"]:
        mine = [r for r in rows if source in ("all", r["source"])]
        out[source] = {"n": len(mine), "total": (pct([r["total"] for r in mine], 0.5),
                                                  pct([r["total"] for r in mine], 0.95))}
        for stage in STAGES:
            values = [r[stage] for r in mine if stage in r]
            if values:
                out[source][stage] = (pct(values, 0.5), pct(values, 0.95), len(values))
    return out


def main(argv: list[str] | None = None) -> int:
    from crossdock.demo import DemoOptions

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--drop-events", type=float, default=0.0)
    parser.add_argument("--guard", action="store_true", help="the oversell guard on (the demo's default)")
    parser.add_argument("--event-delay", default="", metavar="PLATFORM=S,…",
                        help="every event of a platform this many sandbox seconds late (amazon=20,ebay=3,shopify=1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for i in range(args.runs):
        trace = JobTrace()
        undo = install(trace)
        with tempfile.TemporaryDirectory(prefix="xd-latency-") as folder:
            opts = DemoOptions(events=True, guard=args.guard, drop_events=args.drop_events,
                               time_scale=args.time_scale, minutes=args.minutes, folder=Path(folder))
            delays = {p: float(v) for p, v in (x.split("=") for x in args.event_delay.split(",") if x)}
            result = run_once(opts, trace, event_delay=delays)
        undo()
        s = result["summary"]
        figures = {"run": i + 1, "load_before_after": result["load"], "time_scale": args.time_scale,
                   "orders": f"{s['orders_imported']}/{s['orders_placed']}", "oversold": s["oversold_units"],
                   "throttled": s["throttled"], "push_requests": s["stock_push_calls"],
                   "push_floor_15s": s["push_floor_15s"], "propagation_s": _short(s["propagation_s"]),
                   "propagation_left_s": _short(s["propagation_left_s"]), "order_known_s": _short(s["order_known_s"]), "over_exposed": s["over_exposed"],
                   "stages": percentiles(result["stages"]),
                   "order_known_by_event": _known()}
        results.append(figures)
        if not args.json:
            _print(figures)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _known() -> dict[str, Any]:
    from crossdock.demo_propagation import pct

    return {name: (pct(v, 0.5), pct(v, 0.95), len(v)) for name, v in
            (("event received", known_with), ("no event received", known_without))}


def _short(fig: dict[str, Any]) -> dict[str, Any]:
    return {"p50": fig["p50"], "p95": fig["p95"],
            "by_source": {k: (v["p50"], v["p95"], v["n"]) for k, v in fig["by_source"].items()}}


def _print(f: dict[str, Any]) -> None:
    print(f"run {f['run']}: time scale {f['time_scale']:g}, load {f['load_before_after']}, orders {f['orders']}, "
          f"oversold {f['oversold']}, throttled {f['throttled']}, push requests {f['push_requests']} "
          f"(floor 15 s {f['push_floor_15s']})")
    print(f"  propagation {json.dumps(f['propagation_s'])}")
    print(f"  propagation (no channel over what is left) {json.dumps(f['propagation_left_s'])}")
    print(f"  order known {json.dumps(f['order_known_s'])}")
    print(f"  order known by whether an event came {json.dumps(f['order_known_by_event'])}")
    print(f"  over exposed {json.dumps(f['over_exposed'])}")
    for source, st in f["stages"].items():
        print(f"  {source:8} n={st['n']:3} total p50/p95 {st['total']}")
        for stage in STAGES:
            if stage in st:
                p50, p95, n = st[stage]
                print(f"      {stage:10} p50 {p50!s:>6}  p95 {p95!s:>6}  (n={n})")


if __name__ == "__main__":
    raise SystemExit(main())
