"""A stock-take: ``stock import`` of a count for every SKU, then the push to every channel.

    .venv/bin/python benchmarks/stocktake.py [--import-rows 1000,100000] [--db sqlite|postgres|both]
                                             [--push-skus 1000] [--time-scale 30]

Part 1, the import alone (``crossdock stock import FILE``, what the CLI runs:
:func:`crossdock.warehouse.operations.import_stock` with the engine's ledger) of a
file counting every SKU of a catalogue listed on the demo's four channels, each
count different from what is on hand: wall time, SQL statements sent to the
database (``executemany`` counts once), ``mark_dirty`` calls, coalescing-window
enqueues and outbox entries created.

Part 2, the push (``--push-skus`` SKUs, 0 to skip): the demo's engine
(:class:`~crossdock.sync_engine.runtime.EngineRuntime`, four worker threads, the
in-process sandbox at ``--time-scale``) idle after its first runs; then the import
and the time until each channel shows what crossdock expects for every SKU (the
sandbox's own view, sandbox seconds from the import's commit), against the channel's
time floor, and the HTTP requests each platform account received since the import
(the sandbox's record), against the call floor:

The floors come from the platforms' limits (docs/platform-facts.md) and the sandbox's
record alone — what each channel showed before the import, what it must show after,
the sandbox's feed times — never from what crossdock sent:

- Amazon: a seller's feeds are processed one at a time, ``feed_queue_s`` after they
  are created and ``feed_processing_s`` each. A JSON_LISTINGS_FEED carries at most
  25,000 messages and sets the same quantity in every marketplace it names, so the
  seller needs ``g`` feeds: its changed marketplaces grouped where they must show the
  same quantities (fewest groups), each group ``ceil(SKUs / 25,000)`` feeds. However
  they are ordered, the i-th of the seller's ``m`` changed channels to be right is right
  at the earliest ``feed_queue_s + max(1, g - (m - i)) × feed_processing_s``; the
  last one at ``feed_queue_s + g × feed_processing_s``. Requests per feed: document,
  upload, createFeed, one getFeed, getFeedDocument, download.
- eBay: ``bulkUpdatePriceQuantity`` 25 SKUs a call, ``ReviseInventoryStatus`` 4;
  no per-second limit is published (docs/platform-facts.md#ebay-call-limits), so the
  time floor is 0 and the floor is the calls alone; crossdock's own pacing (10/s,
  burst 20) is shown beside it, not counted.
- Shopify: ``inventorySetQuantities`` 250 a call, 10 points each against a bucket of
  1,000 restored at 100 points/s. The inventory item ids are the listing's (known
  from when it was linked or pulled): a connector that looks them up again does so
  by its own choice (its ``sku_cache_ttl_s``), so the lookups are not in the floor.

Each channel's line also gives when its listed quantities first changed after the
import (the sandbox's view): channels that never wait on each other start together.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ---------------------------------------------------------------------------- part 1: the import
def _config(folder: Path, database_url: str | None):
    from crossdock import config as config_mod
    from crossdock.demo import DemoOptions, _write_config
    from crossdock.sandbox.core import Sandbox

    with Sandbox(time_scale=30, seed=7) as sb:       # only for the demo's configuration (its channels)
        opts = DemoOptions(folder=folder, database_url=database_url)
        return config_mod.load(_write_config(folder, sb.describe(), opts, {}), env={})


def _seed_catalogue(db, cfg, n: int) -> None:
    """n products, on hand in both warehouses, listed on every channel (bulk inserts)."""
    import datetime as dt

    from sqlalchemy import insert

    from crossdock.connectors.tokens import ensure_channels
    from crossdock.db.models import ChannelListing, Product, StockLevel
    from crossdock.sync_engine import shown
    from crossdock.warehouse.stock import sync_warehouses

    ensure_channels(db, cfg.channels.values())
    now = dt.datetime.now(dt.timezone.utc)
    rng = random.Random(5)
    with db.write() as s:
        sync_warehouses(s, cfg.warehouses)
        skus = [f"XD-{i + 1:06d}" for i in range(n)]
        s.execute(insert(Product), [{"sku": k, "title": k, "base_price": Decimal("9.99"), "base_currency": "EUR",
                                     "created_at": now, "updated_at": now} for k in skus])
        s.execute(insert(StockLevel), [{"sku": k, "warehouse": w, "on_hand": rng.randint(1, 30), "reserved": 0,
                                        "updated_at": now} for k in skus for w in ("CN", "DE")])
        for name in cfg.channels:
            s.execute(insert(ChannelListing), [{"channel": name, "sku": k, "status": "active", "platform_ids": {},
                                                "last_pushed_qty": 5} for k in skus])
            shown.seed(s, name, {k: 5 for k in skus})


def _count_file(path: Path, db, warehouse: str = "CN") -> int:
    """A count of every SKU in ``warehouse``, each different from what is on hand."""
    from sqlalchemy import select

    from crossdock.db.models import StockLevel

    with db.read() as s:
        levels = {sku: on_hand for sku, on_hand in s.execute(
            select(StockLevel.sku, StockLevel.on_hand).where(StockLevel.warehouse == warehouse))}
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "warehouse", "on_hand", "reason"])
        for sku, on_hand in sorted(levels.items()):
            w.writerow([sku, warehouse, on_hand * 2 + 7, "count"])
    return len(levels)


class _Counting:
    """SQL statements on ``db``'s engine, mark_dirty calls and window enqueues while active."""

    def __init__(self, db) -> None:
        from sqlalchemy import event

        from crossdock.sync_engine import dirty

        self.counts: Counter[str] = Counter()
        self._db, self._dirty = db, dirty
        self._mark, self._window = dirty.mark_dirty, dirty._enqueue_window

        def on_execute(conn, cursor, statement, parameters, context, executemany):
            self.counts["sql"] += 1

        self._listener = on_execute
        event.listen(db.engine, "before_cursor_execute", on_execute)

        def mark(*a: Any, **k: Any):
            self.counts["mark_dirty"] += 1
            return self._mark(*a, **k)

        def window(*a: Any, **k: Any):
            self.counts["window_enqueues"] += 1
            return self._window(*a, **k)

        dirty.mark_dirty, dirty._enqueue_window = mark, window

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._db.engine, "before_cursor_execute", self._listener)
        self._dirty.mark_dirty, self._dirty._enqueue_window = self._mark, self._window


def import_figures(n: int, database_url: str | None) -> dict[str, Any]:
    from sqlalchemy import func, select

    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade
    from crossdock.sync_engine import outbox
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.operations import import_stock

    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        cfg = _config(folder, database_url)
        db = Database(cfg.database_url)
        try:
            upgrade(db)
            _seed_catalogue(db, cfg, n)
            rows = _count_file(folder / "count.csv", db)
            with db.read() as s:
                entries0 = s.scalar(select(func.count()).select_from(outbox.OUTBOX))
            counting = _Counting(db)
            t0 = time.perf_counter()
            try:
                result = import_stock(db, folder / "count.csv", actor="bench", ledger=ENGINE_LEDGER)
            finally:
                wall = time.perf_counter() - t0
                counting.close()
            with db.read() as s:
                entries = s.scalar(select(func.count()).select_from(outbox.OUTBOX)) - entries0
            return {"rows": rows, "applied": len(result.changes), "wall_s": wall, **counting.counts,
                    "outbox_entries": entries}
        finally:
            db.dispose()


# ---------------------------------------------------------------------------- part 2: the push
_PUSH_OPS = ("createFeed", "patchListingsItem", "bulkUpdatePriceQuantity", "ReviseInventoryStatus", "graphql")


def _ops(sb) -> dict[tuple[str, str], int]:
    out: Counter[tuple[str, str]] = Counter()
    for platform, accounts in sb.stats.as_dict().items():
        for ops in accounts.values():
            for op, c in ops.items():
                out[(platform, op)] += c["calls"]
    return dict(out)


def _listed(sb, cfg, sb_channels, channel: str) -> dict[str, int]:
    sim = sb.sims[cfg.channel(channel).platform]
    if hasattr(sim, "advance"):
        # the Amazon sim applies a feed when a request comes in after its processing time (computed,
        # not sampled): without this, a feed done between two of crossdock's requests looked late
        sim.advance()
    return dict(sim.listed(sb_channels[channel]))


def _right_since(history: list[tuple[float, dict[str, int]]], expected: dict[str, int]) -> float | None:
    """The first time from which the channel showed ``expected`` for every SKU and kept showing it."""
    since = None
    for t, listed in history:
        ok = all(listed.get(sku) == qty for sku, qty in expected.items())
        since = (since if since is not None else t) if ok else None
    return since


def _trace_jobs(trace: list[str], t0: list[float]) -> None:
    """--verbose: every job the workers run, with its thread, start and end (real s after the import)."""
    import threading

    from crossdock.sync_engine.jobs import runner

    run = runner.run_entry

    def traced(ctx, entry):
        start = time.monotonic()
        try:
            return run(ctx, entry)
        finally:
            if t0:
                trace.append(f"{start - t0[0]:7.2f}-{time.monotonic() - t0[0]:6.2f} s "
                             f"{threading.current_thread().name[-12:]:12s} {entry.kind} {entry.channel or ''}")

    runner.run_entry = traced


def push_figures(n: int, time_scale: float, *, verbose: bool = False, guard: bool = True) -> dict[str, Any]:
    from crossdock import config as config_mod
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade
    from crossdock.demo import CHANNELS, DemoOptions, _sandbox_channels, _seed, _write_config
    from crossdock.sandbox.core import Sandbox
    from crossdock.sync_engine.jobs.stock import expected_quantities
    from crossdock.sync_engine.runtime import EngineRuntime
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.operations import import_stock

    K = time_scale
    with tempfile.TemporaryDirectory() as d, Sandbox(time_scale=K, seed=7) as sb:
        folder = Path(d)
        opts = DemoOptions(skus=n, time_scale=K, folder=folder)
        cfg = config_mod.load(_write_config(folder, sb.describe(), opts, {}), env={})
        cfg.sync["oversell_guard"] = guard
        db = Database(cfg.database_url)
        upgrade(db)
        sb_channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, sb_channels)
        trace: list[str] = []
        t0_trace: list[float] = []
        if verbose:
            _trace_jobs(trace, t0_trace)
        runtime = EngineRuntime(cfg, db=db, threads=opts.threads).start()
        try:
            ctx, engine = runtime.ctx, runtime.engine
            settle = time.monotonic() + 60
            time.sleep(2.0)
            # idle after its first runs: the start's price push (the seeded listings' prices differ from
            # the rules') is a feed in the Amazon seller's queue, which a stock feed would wait behind
            while time.monotonic() < settle and not (engine.idle() and _first_runs_done(db, sb, CHANNELS)):
                time.sleep(0.1)
            _count_file(folder / "count.csv", db)
            stats0 = _ops(sb)
            seq0 = sb.requests.since(0, limit=10**9)[-1]["seq"]
            t0, t0_wall, t0_sandbox = time.monotonic(), time.time(), sb.clock.timestamp()
            t0_trace.append(t0)
            import_stock(db, folder / "count.csv", actor="bench", ledger=ENGINE_LEDGER)
            import_s = time.monotonic() - t0
            t0 = time.monotonic()
            before = {name: _listed(sb, cfg, sb_channels, name) for name in CHANNELS}
            history: dict[str, list[tuple[float, dict[str, int]]]] = {name: [(0.0, before[name])] for name in CHANNELS}
            expected = {name: expected_quantities(ctx, name) for name in CHANNELS}
            deadline = t0 + max(60.0, 900.0 / K)
            while time.monotonic() < deadline:
                now = (time.monotonic() - t0) * K
                for name in CHANNELS:
                    listed = _listed(sb, cfg, sb_channels, name)
                    if listed != history[name][-1][1]:
                        history[name].append((now, listed))
                if all(_right_since(history[name], expected[name]) is not None for name in CHANNELS) \
                        and engine.idle():
                    break
                time.sleep(0.05)
            expected = {name: expected_quantities(ctx, name) for name in CHANNELS}    # after everything settled
            right = {name: t for name in CHANNELS if (t := _right_since(history[name], expected[name])) is not None}
            first_change = {name: history[name][1][0] for name in CHANNELS if len(history[name]) > 1}
            changed = {name: {sku for sku, q in expected[name].items() if before[name].get(sku) != q}
                       for name in CHANNELS}
            pushes = _push_events(db, t0_wall) + (_push_entries(db) if verbose else [])
            if verbose:         # how many SKUs each channel showed right, whenever that changed
                for name in CHANNELS:
                    pushes.append(f"{name} right: " + ", ".join(
                        f"{t:.0f}s {sum(1 for sku, q in expected[name].items() if listed.get(sku) == q)}"
                        for t, listed in history[name]))
            wrong = {name: sum(1 for sku, q in expected[name].items() if history[name][-1][1].get(sku) != q)
                     for name in CHANNELS}
        finally:
            runtime.stop()
            ctx.connectors.close()
        ops = {key: c - stats0.get(key, 0) for key, c in _ops(sb).items() if c - stats0.get(key, 0)}
        if verbose:             # when the push requests reached each platform (sandbox s after the import)
            for platform in ("amazon", "ebay", "shopify"):
                times = [f"{e['at'] - t0_sandbox:.0f}" for e in sb.requests.since(seq0, platform=platform, limit=10**9)
                         if e["operation"] in _PUSH_OPS]
                trace.append(f"{platform} push requests at: {' '.join(times)}")
        amazon = sb.sims["amazon"]
        sales = sum(1 for sale in sb.market.sales if sale["at"] >= t0_sandbox)
        stats = sb.stats.as_dict()
        db.dispose()
    by_platform: dict[str, Counter[str]] = {}
    for (platform, op), c in ops.items():
        if op not in ("lwaToken", "oauth", "token"):
            by_platform.setdefault(platform, Counter())[op] += c
    throttled = sum(op["throttled"] for accts in stats.values() for acct in accts.values() for op in acct.values())
    return {"skus": n, "import_s": import_s, "right_s": right, "changed": changed, "pushes": pushes + trace, "wrong": wrong,
            "requests": by_platform,
            "expected": expected, "first_change": first_change, "sales": sales,
            "seller": {name: sb_channels[name].rsplit(":", 1)[0] for name in CHANNELS},
            "feed_queue_s": amazon.feed_queue_s, "feed_processing_s": amazon.feed_processing_s,
            "throttled": throttled, "channels": CHANNELS, "time_scale": K,
            "legacy": {name: {sku for sku, ids in sb.sims["ebay"].listing_map(sb_channels[name]).items()
                              if ids.get("kind") == "trading"}
                       for name in CHANNELS if cfg.channel(name).platform == "ebay"},
            "platforms": {name: cfg.channel(name).platform for name in CHANNELS}}


def _first_runs_done(db, sb, channels) -> bool:
    """Every channel's first price run finished, none running, no feed waiting at the sandbox."""
    from sqlalchemy import select

    from crossdock.db.models import OutboxEntry

    with db.read() as s:
        prices = s.execute(select(OutboxEntry.channel, OutboxEntry.status).where(OutboxEntry.kind == "prices")).all()
    amazon = sb.sims["amazon"]
    with amazon.lock:
        feeds = sum(1 for f in amazon.feeds.values() if f.status in ("IN_QUEUE", "IN_PROGRESS"))
    return not feeds and not any(status == "running" for _, status in prices) \
        and set(channels) <= {channel for channel, status in prices if status in ("done", "failed")}


def _push_events(db, since: float) -> list[str]:
    """The stock push runs after the import: when (real s after it), channel, what."""
    import datetime as dt

    from sqlalchemy import select

    from crossdock.db.models import SyncEvent

    start = dt.datetime.fromtimestamp(since, dt.timezone.utc)
    with db.read() as s:
        rows = s.execute(select(SyncEvent.at, SyncEvent.channel, SyncEvent.operation, SyncEvent.message)
                         .where(SyncEvent.at >= start, SyncEvent.operation.like("stock.push%"))
                         .order_by(SyncEvent.id)).all()
    return [f"{(at.timestamp() - since):7.2f} s {channel} {op}: {message}" for at, channel, op, message in rows]


def _push_entries(db) -> list[str]:
    from sqlalchemy import select

    from crossdock.db.models import OutboxEntry

    with db.read() as s:
        return [f"entry {e.id} {e.kind} {e.channel} {e.status} attempts {e.attempts} due {e.available_at:%H:%M:%S} "
                f"{(e.last_error or '')[:120]}"
                for e in s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "push_stock")
                                   .order_by(OutboxEntry.id))]


def _fewest_groups(channels: list[str], must: dict[str, dict[str, int]],
                   expected: dict[str, dict[str, int]]) -> list[list[str]]:
    """The fewest groups of ``channels`` that must show the same quantity for every SKU
    either of them must change (one multi-marketplace feed sets them all alike);
    exact search, a seller has a handful of marketplaces."""
    def agree(a: str, b: str) -> bool:
        return all(expected[a].get(sku) == expected[b].get(sku) for sku in must[a].keys() | must[b].keys())

    best: list[list[str]] = [[c] for c in channels]

    def place(i: int, groups: list[list[str]]) -> None:
        nonlocal best
        if len(groups) >= len(best):
            return
        if i == len(channels):
            best = [list(g) for g in groups]
            return
        c = channels[i]
        for g in groups:
            if all(agree(c, o) for o in g):
                g.append(c)
                place(i + 1, groups)
                g.pop()
        place(i + 1, groups + [[c]])

    place(0, [])
    return best


def floors(r: dict[str, Any]) -> dict[str, tuple[float, int, str]]:
    """Per channel: (time floor in sandbox s, request floor, how), for the SKUs whose listed
    quantity had to change on that channel — from the platforms' limits and the sandbox's
    record only (what each channel showed before, what it must show, the feed times)."""
    out: dict[str, tuple[float, int, str]] = {}
    sellers: dict[str, list[str]] = {}
    for name in r["channels"]:
        if r["platforms"][name] == "amazon" and r["changed"][name]:
            sellers.setdefault(r["seller"][name], []).append(name)
    for names in sellers.values():
        must = {name: {sku: r["expected"][name][sku] for sku in r["changed"][name]} for name in names}
        groups = _fewest_groups(sorted(names), must, r["expected"])
        g = sum(math.ceil(len(set().union(*(must[c] for c in grp))) / 25_000) for grp in groups)
        m = len(names)
        # the i-th of the seller's channels to be right, whichever that is (order statistics)
        order = sorted(names, key=lambda c: (r["right_s"].get(c, math.inf), c))
        for i, name in enumerate(order, start=1):
            k = max(1, g - (m - i))
            out[name] = (r["feed_queue_s"] + k * r["feed_processing_s"], 0,
                         f"{len(must[name])} SKUs: {i}. of the seller's {m} changed channels, {g} feed(s) needed")
        for grp in groups:      # the requests of the group's feeds, on its first channel
            n = len(set().union(*(must[c] for c in grp)))
            t, _, how = out[grp[0]]
            out[grp[0]] = (t, 6 * math.ceil(n / 25_000), how)
    for name in r["channels"]:
        platform, n = r["platforms"][name], len(r["changed"][name])
        if not n:
            out[name] = (0.0, 0, "nothing to change")
        elif platform == "amazon":
            continue
        elif platform == "ebay":
            legacy = len(r["changed"][name] & r["legacy"][name])
            calls = math.ceil((n - legacy) / 25) + math.ceil(legacy / 4)
            out[name] = (0.0, calls, f"{n} SKUs, {calls} calls, no published rate; at crossdock's pacing "
                                     f"{max(0.0, (calls - 20) / 10):.1f} s")
        else:
            sets = math.ceil(n / 250)
            out[name] = (max(0.0, (10 * sets - 1000) / 100), sets, f"{n} SKUs: {sets} sets")
    return out


def main() -> int:
    from cryptography.fernet import Fernet

    ap = argparse.ArgumentParser()
    ap.add_argument("--import-rows", default="1000,100000")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    ap.add_argument("--push-skus", type=int, default=1000)
    ap.add_argument("--time-scale", type=float, default=30)
    ap.add_argument("--verbose", action="store_true", help="list the stock push runs after the import")
    ap.add_argument("--no-guard", action="store_true",
                    help="[sync] oversell_guard = false: every channel lists its rule's quantity, uncoupled")
    args = ap.parse_args()
    os.environ.setdefault("CROSSDOCK_SECRET_KEY", Fernet.generate_key().decode())
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        for n in (int(x) for x in args.import_rows.split(",") if x):
            tmp = None
            if kind == "postgres":
                from tests.services import TempPostgresDatabase

                tmp = TempPostgresDatabase()
            try:
                f = import_figures(n, tmp.url if tmp else None)
            finally:
                if tmp is not None:
                    tmp.close()
            print(f"== stock import [{kind}] {f['rows']} rows: {f['wall_s']:.2f} s, {f['sql']} SQL statements, "
                  f"{f.get('mark_dirty', 0)} mark_dirty, {f.get('window_enqueues', 0)} window enqueues, "
                  f"{f['outbox_entries']} outbox entries, {f['applied']} applied", flush=True)
    if args.push_skus:
        r = push_figures(args.push_skus, args.time_scale, verbose=args.verbose, guard=not args.no_guard)
        fl = floors(r)
        print(f"== stock-take push{' (oversell guard off)' if args.no_guard else ''}, {r['skus']} SKUs x "
              f"{len(r['channels'])} channels (time scale "
              f"{r['time_scale']:g}; import {r['import_s']:.2f} s; throttled {r['throttled']}; "
              f"{r['sales']} sales meanwhile):", flush=True)
        for name in r["channels"]:
            t = r["right_s"].get(name)
            floor_s, _, how = fl[name]
            ratio = f"{t / floor_s:.2f}x" if t is not None and floor_s > 0 else "-"
            first = r["first_change"].get(name)
            print(f"   {name:11s} right after {('%.0f' % t) if t is not None else 'NEVER':>5s} sandbox s "
                  f"(first change {('%.0f' % first) if first is not None else '-':>4s} s); floor "
                  f"{floor_s:5.0f} s ({how}); {ratio}; wrong at the end {r['wrong'][name]}", flush=True)
        slowest = max((t for t in r["right_s"].values()), default=float("nan"))
        floor_all = max(f[0] for f in fl.values())
        print(f"   stock-take right after {slowest:.0f} sandbox s, floor {floor_all:.0f} s "
              f"({slowest / floor_all:.2f}x)", flush=True)
        if args.verbose:
            for line in r["pushes"]:
                print("     " + line, flush=True)
        for platform, ops in sorted(r["requests"].items()):
            want = sum(fl[name][1] for name in r["channels"] if r["platforms"][name] == platform)
            print(f"   {platform:8s} {sum(ops.values()):5d} requests (call floor {want}) | "
                  + ", ".join(f"{op} {c}" for op, c in sorted(ops.items())), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
