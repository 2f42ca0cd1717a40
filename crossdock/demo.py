"""``crossdock demo``: the whole engine on the embedded default.

A SQLite file in a demo folder, the Dramatiq stub broker with in-process
worker threads, and the in-process marketplace sandbox: four channels (Amazon
US and DE, eBay UK, Shopify in EUR), a catalogue with stock in two
warehouses, scripted buyers on every channel at once for M sandbox minutes,
and the engine keeping every channel right. It ends with a summary built from
the sandbox's own record (what buyers bought, what each channel showed when)
and the database — never from the engine's opinion of itself.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, select

from crossdock import config as config_mod
from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.db.models import ChannelListing, Order, Product, StockLevel, Warehouse
from crossdock.demo_events import EventsServer, drop_events, event_counts, free_port, order_known_figures, \
    subscribe_all
from crossdock.demo_propagation import exposure_figures, figures_of, left_pairs, propagation_figures
from crossdock.sandbox.push_floor import listing_reads, push_floors, stock_requests
from crossdock.demo_shipping import shipping_summary as _shipping_summary
from crossdock.sandbox.scenario import DEMO_CHANNELS, sandbox_ids, seed_listing

# The rehearsal's channels, shares, buyers and polling intervals are sandbox data
# (crossdock.sandbox.scenario): the demo itself names no platform.
CHANNELS = tuple(ch.name for ch in DEMO_CHANNELS)
# Share of available stock each channel may list: the shares add up to 1, so the
# channels together never show more than there is.
SHARES = {ch.name: ch.share for ch in DEMO_CHANNELS}
BUYER_COUNTRIES = {ch.name: ch.buyer_countries for ch in DEMO_CHANNELS}
INTERVALS = {ch.name: ch.orders_every_s for ch in DEMO_CHANNELS}   # with events: config init's (a safety net)
_SCENARIO = {ch.name: ch for ch in DEMO_CHANNELS}
# channels whose listing SKUs the demo renames with aliases, and how ("legacy" first: it takes a bundle's)
ALIAS_STYLES = {ch.name: ch.alias_style for ch in sorted(DEMO_CHANNELS, key=lambda c: c.alias_style != "legacy")
                if ch.alias_style}


@dataclass
class DemoOptions:
    skus: int = 40
    minutes: float = 30.0
    time_scale: float = 30.0
    seed: int = 7
    folder: Path = Path("crossdock-demo")
    orders_per_min: float = 1.5          # per channel, sandbox minutes
    threads: int = 4
    database_url: str | None = None      # None: a SQLite file in the demo folder (the embedded default)
    events: bool = False                 # the platforms' events on (crossdock.demo_events), polling as well
    drop_events: float = 0.0             # the share of events the sandbox loses (with ``events``)
    guard: bool = True                   # [sync] oversell_guard (docs/overselling.md)
    bundles: int = 0                     # bundles in the catalogue (crossdock.demo_kits; the command: 3)
    aliases: bool = False                # SKU aliases on the channels that rename SKUs (the command: on)
    seller_cancels: int = 0              # orders the seller cancels while buyers buy (crossdock.demo_seller)
    seller_returns: int = 0              # shipped units returned, received and refunded (crossdock.demo_returns)
    kits: Any = None                     # set by the seeding: the bundles and aliases (crossdock.demo_kits.KitPlan)


def _sandbox_channels(desc: dict) -> dict[str, str]:
    """Demo channel name → the sandbox's id of that channel."""
    return sandbox_ids(desc)


def _write_config(folder: Path, desc: dict, opts: DemoOptions, env: dict[str, str] | None = None, *,
                  note: str = "", events_url: str | None = None) -> Path:
    """The demo's configuration, written by the same template as `crossdock
    config init --from-sandbox` (crossdock.config_init.render_config): the
    sandbox's channels under the demo's names, with the demo's stock shares and
    polling intervals, two warehouses, and every secret encrypted with the key
    in the folder's key file — so `crossdock --config FOLDER/crossdock.toml …`
    works after the demo with no environment variable set. ``env`` is kept for
    callers that pass one; nothing needs to be exported any more."""
    import dataclasses

    from cryptography.fernet import Fernet

    from crossdock.config_init import DEFAULT_KEY_FILE, Warehouse, render_config, sandbox_channels
    from crossdock.secrets import KEY_ENV, parse_keys, read_key_file, write_key_file

    key_path = folder / DEFAULT_KEY_FILE
    key = next(iter(parse_keys(os.environ.get(KEY_ENV) or "")), None) \
        or (read_key_file(key_path) if key_path.exists() else None)
    if not key_path.exists() or read_key_file(key_path) != key:
        key_path.unlink(missing_ok=True)
        key = write_key_file(key_path, key)
    fernet = Fernet(key.encode())
    names = {ident: name for name, ident in _sandbox_channels(desc).items()}
    channels = []
    for ch in sandbox_channels(desc, events=bool(events_url)):
        if ch.sandbox_channel not in names:
            continue
        name = names[ch.sandbox_channel]
        options = {**ch.options, **_SCENARIO[name].options}
        channels.append(dataclasses.replace(ch, name=name, options=options, stock={"share": SHARES[name]},
                                            intervals_s=None if events_url else {"orders": INTERVALS[name]}))
    text = render_config(
        desc, encrypt=lambda v: fernet.encrypt(v.encode()).decode(),
        database_url=opts.database_url or "sqlite:///crossdock.sqlite", channels=channels,
        warehouses=(Warehouse("CN", "Shenzhen", "CN", ("A-01", "A-02", "B-01")),
                    Warehouse("DE", "Leipzig", "DE", ("R1-01", "R1-02", "R2-01"))),
        sync={"coalesce_window_s": 2, "stock_sweep_s": 30, "initial_lookback_s": 600, "auto_ship": True,
              "auto_ship_s": 120, "tracking_s": 120, **({} if opts.guard else {"oversell_guard": False})},
        extra_tables=["[sandbox.carrier]", "# the sandbox carrier: labels and tracking for auto-ship",
                      f"seed = {opts.seed}", "failure_rate = 0.02", "", "[labels]", 'dir = "labels"', ""],
        events_url=events_url)
    path = folder / "crossdock.toml"
    path.write_text("# Written by `crossdock demo`: the embedded default against the in-process sandbox.\n"
                    + note + text, encoding="utf-8")
    return path


def _clock_stopped(folder: Path, desc: dict, opts: DemoOptions) -> None:
    """The sandbox stops with the demo, and so does its fast clock: the
    configuration is written again with the sandbox clock running at real
    speed from where the demo left it (``time_scale`` 1). Commands run after
    the demo see time pass as it does (``sync status``' lag grows a second
    per second), while the demo's platform timestamps stay on one line with
    the ones after it."""
    import datetime as dt

    clock = desc["clock"]
    now = time.time()
    platform_now = float(clock["origin_platform"]) + (now - float(clock["origin_real"])) * float(clock["time_scale"])
    stopped = {"time_scale": 1.0, "origin_real": now, "origin_platform": platform_now}
    ended = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_config(folder, {**desc, "time_scale": 1.0, "clock": stopped}, opts,
                  note=f"# The demo ran the sandbox at time scale {opts.time_scale:g} until {ended}; it has stopped, "
                       "so from then on its\n# clock runs at real speed (time_scale = 1) from where the demo "
                       "left it.\n")


def _seed(db: Database, sb, cfg, opts: DemoOptions, sb_channels: dict[str, str]) -> dict[str, int]:
    """Catalogue and stock in crossdock; the same catalogue, physical stock and
    initial listings in the sandbox; with ``opts.bundles``/``opts.aliases``,
    bundles and aliases in both (:mod:`crossdock.demo_kits`, its plan kept as
    ``opts.kits``)."""
    from crossdock.demo_kits import plan_kits, seed_kit_shares, seed_kits

    from crossdock.mapping.allocation import fair_shares
    from crossdock.mapping.inventory_rules import listed_quantity, stock_rule_from_config
    from crossdock.sandbox.core import CatalogueItem
    from crossdock.sync_engine.exposure import guard_on
    from crossdock.sync_engine.shown import seed as seed_shown

    from crossdock.connectors.tokens import ensure_channels

    ensure_channels(db, cfg.channels.values())
    rng = random.Random(opts.seed)
    hs = ["691200", "420292", "610910", "851830", "950300", "392410"]
    stock: dict[str, int] = {}
    with db.write() as s:
        for code, w in cfg.warehouses.items():
            s.add(Warehouse(code=code, name=w.name, country=w.country))
        s.flush()
        for i in range(opts.skus):
            sku = f"XD-{i + 1:04d}"
            price = Decimal(rng.choice(["9.99", "14.50", "19.99", "24.00", "39.90"]))
            s.add(Product(sku=sku, title=f"Demo product {i + 1}", base_price=price, base_currency="EUR",
                          hs_code=rng.choice(hs), country_of_origin="CN", weight_g=rng.randint(80, 900)))
        s.flush()
        for i in range(opts.skus):
            sku = f"XD-{i + 1:04d}"
            cn, de = rng.randint(4, 30), rng.randint(0, 20)
            s.add(StockLevel(sku=sku, warehouse="CN", bin=rng.choice(cfg.warehouses["CN"].bins), on_hand=cn))
            s.add(StockLevel(sku=sku, warehouse="DE", bin=rng.choice(cfg.warehouses["DE"].bins), on_hand=de))
            stock[sku] = cn + de
        plan = opts.kits = plan_kits(list(stock), opts.seed, bundles=opts.bundles, aliases=opts.aliases,
                                     alias_channels=ALIAS_STYLES)
        seed_kits(s, plan, sb, sb_channels)
    for sku, qty in stock.items():
        sb.market.seed_item(CatalogueItem(sku=sku, title=sku, price=Decimal("19.99"), currency="EUR",
                                          physical_stock=qty, hs_code="691200", country_of_origin="CN"))
    rules = {name: stock_rule_from_config(cfg.channel(name).stock, where=f"channels.{name}.stock")
             for name in CHANNELS}
    # the listings start as the stock push would leave them: with the oversell guard, shared
    shares = {sku: fair_shares(qty, {name: listed_quantity(qty, rules[name]) for name in CHANNELS})
              if guard_on(cfg) else {name: listed_quantity(qty, rules[name]) for name in CHANNELS}
              for sku, qty in stock.items()}
    with db.write() as s:
        for name in CHANNELS:
            ch = cfg.channel(name)
            seeded: dict[str, int] = {}
            for index, sku in enumerate([*stock, *plan.bundles]):
                # a bundle and its components start at 0 here, then at the engine's own shares (below)
                shown = seeded[sku] = shares[sku][name] if sku in shares and sku not in plan.components else 0
                price = Decimal("19.99") if ch.currency != "JPY" else Decimal("2999")
                listing_id, ids = seed_listing(sb, _SCENARIO[name], sb_channels[name], plan.listing_sku(name, sku),
                                               index, shown, price)
                s.add(ChannelListing(channel=name, sku=sku, status="active",
                                     last_pushed_price=price, last_pushed_currency=ch.currency,
                                     listing_id=listing_id, platform_ids=ids))
            s.flush()
            seed_shown(s, name, {sku: q for sku, q in seeded.items() if sku in shares and sku not in plan.components})
    for name, kit_shares in seed_kit_shares(db, cfg, plan, CHANNELS).items():
        for sku, qty in kit_shares.items():
            sb.sims[_SCENARIO[name].platform].set_listing(sb_channels[name], plan.listing_sku(name, sku), qty)
    return stock


def _load_sample_rates(db: Database, today) -> None:
    """The shipped SAMPLE rates (made up, not market data), dated to the
    sandbox's today so customs values convert; a real installation loads its
    own with `crossdock fx load FILE`."""
    from dataclasses import replace

    from crossdock.mapping.fx_files import load_rates, sample_rates_path
    from crossdock.mapping.fx_store import load_into

    latest: dict[tuple[str, str], Any] = {}
    for rate in load_rates(sample_rates_path()):
        key = (rate.base, rate.quote)
        if key not in latest or rate.valid_on > latest[key].valid_on:
            latest[key] = rate
    load_into(db.engine, [replace(r, valid_on=today, source="crossdock demo sample (not market data)")
                          for r in latest.values()])


def run_demo(opts: DemoOptions, *, progress: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    from crossdock.ratelimit.backends.sql_file import quota_file
    from crossdock.sandbox.core import Sandbox

    folder = opts.folder.resolve()
    if folder.exists():
        for base in ("crossdock.sqlite", quota_file("crossdock.sqlite")):     # the database, the quota store's file
            for end in ("", "-wal", "-shm"):
                (folder / f"{base}{end}").unlink(missing_ok=True)
        shutil.rmtree(folder / "labels", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sb = Sandbox(time_scale=opts.time_scale, seed=opts.seed).start()
    db: Database | None = None
    try:
        desc = sb.describe()
        env: dict[str, str] = {}
        events_url = f"http://127.0.0.1:{free_port()}" if opts.events else None
        cfg_path = _write_config(folder, desc, opts, env, events_url=events_url)
        os.environ.update(env)
        cfg = config_mod.load(cfg_path, env={})
        db = Database(cfg.database_url)
        upgrade(db)
        sb_channels = _sandbox_channels(desc)
        stock = _seed(db, sb, cfg, opts, sb_channels)
        _load_sample_rates(db, sb.clock.now().date())
        if opts.events:
            drop_events(sb, opts.drop_events)
        progress(f"sandbox up, {opts.skus} SKUs ({sum(stock.values())} units) listed on {len(CHANNELS)} channels")
        summary = _run_engine(db, cfg, sb, opts, sb_channels, progress)
        _clock_stopped(folder, desc, opts)
    finally:
        sb.stop()
        if db is not None:
            db.dispose()            # its connections (PostgreSQL: a pool) end with the demo
        from crossdock.sync_engine import dirty

        dirty.set_window_s(dirty.DEFAULT_WINDOW_S)   # the demo's window is for its time scale only
    summary["demo_folder"] = str(folder)
    summary["config"] = str(folder / "crossdock.toml")
    summary["wall_s"] = round(time.monotonic() - started, 1)
    return summary


def _run_engine(db: Database, cfg, sb, opts: DemoOptions, sb_channels: dict[str, str],
                progress: Callable[[str], None]) -> dict[str, Any]:
    """The engine runs exactly as `crossdock worker` runs it (EngineRuntime);
    the demo only adds buyers, waits and counts."""
    from crossdock.sync_engine.runtime import EngineRuntime

    K = opts.time_scale
    server = EventsServer(cfg, db, port=int(cfg.events["public_url"].rsplit(":", 1)[1])).start() \
        if opts.events else None
    runtime = EngineRuntime(cfg, db=db, threads=opts.threads, on_status=progress,
                            companions=_queue_consumers if opts.events else None).start()
    ctx, engine = runtime.ctx, runtime.engine
    if opts.events:
        subscribed = subscribe_all(ctx, CHANNELS)
        progress(f"events on: {server.url if server else ''} and the platforms' queues, "
                 f"{sum(len(d['subscriptions']) for d in subscribed.values())} subscriptions"
                 + (f"; the sandbox drops {opts.drop_events:.0%} of them" if opts.drop_events else ""))
    with synclog.correlation("demo"):
        synclog.record_now(db, operation="demo.start", outcome="ok", entity_type="job", entity="demo",
                           message=f"{opts.skus} SKUs, {opts.minutes} sandbox minutes at time scale {K}")
    from crossdock.demo_kits import kit_figures
    from crossdock.demo_returns import SellerReturns
    from crossdock.demo_seller import SellerActions

    plan = opts.kits
    returns = SellerReturns(cfg, db, count=opts.seller_returns, sb=sb, sb_channels=sb_channels)
    seller = SellerActions(cfg, db, cancels=opts.seller_cancels, prefer=plan.bundles if plan else (),
                           alias_skus=plan.aliases if plan else {}, returns=returns)
    try:
        drive_buyers(sb, db, opts, engine.idle, progress, seller=seller)
    finally:
        runtime.stop()
        if server is not None:
            server.stop()
    events: dict[str, Any] = {"events": {"drop_probability": opts.drop_events, "received": event_counts(db, CHANNELS)}} \
        if opts.events else {"events": None}
    if plan is not None:
        events["kits"] = kit_figures(db, sb, plan, sb_channels)
    events["seller_cancels"] = seller.figures(sb, sb_channels)
    events["seller_returns"] = returns.figures()
    return summarize(db, cfg, sb, ctx, progress, {**events,
        "stock_changes": sum(ctx.stats.stock_changes.values()),
        # crossdock's own count of its push batches, and those batches re-packed by the planner's own
        # rule: it cannot show waste (the independent floor is "stock_push", from the sandbox's record)
        "own_stock_push_calls": sum(ctx.stats.stock_push_calls.values()),
        "own_push_batches_repacked_calls": sum(ctx.stats.stock_push_min_calls.values()),
        "time_scale": opts.time_scale, "sandbox_minutes": opts.minutes, "skus": opts.skus})


def drive_buyers(sb, db: Database, opts: DemoOptions, idle: Callable[[], bool],
                 progress: Callable[[str], None], *, seller: Any = None) -> None:
    """Buyers buy for ``opts.minutes`` sandbox minutes, and the ``seller``
    (:class:`crossdock.demo_seller.SellerActions`) acts as its actions fall
    due; then wait until every order placed is imported and the engine is
    ``idle`` (nothing queued, no dirty SKU), within a bounded time."""
    from crossdock.sandbox.core import BuyerProfile

    K = opts.time_scale
    sb_channels = _sandbox_channels(sb.describe())
    for name in CHANNELS:
        sb.set_buyers(sb_channels[name], BuyerProfile(orders_per_min=opts.orders_per_min, max_qty=2,
                                                      cancel_probability=0.02,
                                                      countries=BUYER_COUNTRIES[name]))
    sb.start_buyers()
    real_s = opts.minutes * 60.0 / K
    t0 = time.monotonic()
    while time.monotonic() - t0 < real_s:
        time.sleep(min(2.0, max(0.0, real_s - (time.monotonic() - t0))))
        if seller is not None:
            seller.step((time.monotonic() - t0) / real_s)
        progress(f"t+{(time.monotonic() - t0) * K / 60:5.1f} sandbox min: {_placed(sb)} orders placed, "
                 f"{_imported(db)} imported")
    if seller is not None:      # a slow step may have run past the end: what is due by then is done now
        seller.step(1.0)
    sb.stop_buyers()
    progress("buyers stopped; importing the last orders (Amazon shows orders 2 minutes late)")
    settle_deadline = time.monotonic() + max(30.0, 8 * 60.0 / K)
    while time.monotonic() < settle_deadline and not (_imported(db) >= _placed(sb) and idle()):
        time.sleep(0.2)
    # one last import round on every channel, then let stock pushes finish
    last_round = time.monotonic() + max(2.0, 70.0 / K)
    while time.monotonic() < last_round and not (_imported(db) >= _placed(sb) and idle()):
        time.sleep(0.1)
    drain_deadline = time.monotonic() + 60
    while time.monotonic() < drain_deadline and not idle():
        time.sleep(0.1)


def summarize(db: Database, cfg, sb, ctx, progress: Callable[[str], None], extra: dict[str, Any]) -> dict[str, Any]:
    from crossdock.sync_engine.exposure import guard_on

    """The figures of a finished run, from the sandbox's own record and the
    database: the last tracking poll and a final reconcile (repair, then
    check) run here, with ``ctx`` (an EngineContext on the same database)."""
    from crossdock.demo_seller import cancels_not_imported
    from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
    from crossdock.sync_engine.jobs import reconcile
    from crossdock.sync_engine.jobs.tracking import poll_tracking_job

    sb_channels = _sandbox_channels(sb.describe())
    reads = listing_reads(sb)      # the engine's own, before the final reconcile reads every listing

    with inline_waits(PERSON_WAIT_S):   # run here, not on a worker: a quota wait is waited out
        poll_tracking_job(ctx)   # the parcels shipped in the last minutes get their first events too
        progress("final reconcile on every channel")
        unimported_cancels = cancels_not_imported(db, sb)
        repaired = {name: reconcile(ctx, name, apply=True) for name in CHANNELS}
        after = {name: reconcile(ctx, name, apply=False) for name in CHANNELS}
    stats = sb.stats.as_dict()
    api_calls = {p: sum(op["calls"] for acct in accts.values() for op in acct.values()) for p, accts in stats.items()}
    throttled = sum(op["throttled"] for accts in stats.values() for acct in accts.values() for op in acct.values())
    market = sb.market.summary()
    ctx.connectors.close()
    with db.read() as s:
        imported = s.scalar(select(func.count()).select_from(Order))
        have = set(s.scalars(select(Order.platform_order_id)))
    with sb.market.lock:
        placed_by: dict[str, str] = {}
        for sale in sb.market.sales:
            placed_by.setdefault(sale["order_id"], sale["channel"])
    missing = {oid: ch for oid, ch in placed_by.items() if oid not in have}
    shipping = _shipping_summary(db, sb, cfg)
    shares = {sb_channels[name]: Decimal(SHARES[name]) for name in CHANNELS}
    # What a sale must reach: without the guard each channel shows its share of what is left, so a
    # sale lowers the others' share (the share rule); with it each shows a disjoint part and a sale
    # elsewhere need not lower it at all — what propagation then protects is that no channel shows
    # more than is left in all (docs/events.md#propagation-with-the-oversell-guard)
    within_left = figures_of(left_pairs(sb))
    propagation = {**(within_left if guard_on(cfg) else propagation_figures(sb, shares)),
                   "measure": "left" if guard_on(cfg) else "share"}
    stock_push = push_efficiency(sb, shares, sb_channels)
    imported_at = _imported_at(db, sb)
    _when_imported(propagation["slowest"], imported_at)
    with sb.market.lock:
        sales = list(sb.market.sales)
    return {
        **shipping,
        "orders_missing": dict(list(missing.items())[:20]),
        "orders_placed": _placed(sb),
        "orders_imported": imported,
        "units_sold": market["units_sold"],
        "units_cancelled": market["units_cancelled"],
        "units_returned_to_stock": market["units_returned_to_stock"],
        "oversold_units": market["oversold_units"],
        "drift_skus": len({d["sku"] for r in after.values() for d in r["drift"]}),
        "drift_repaired_at_end": sum(r["repaired"] for r in repaired.values()),
        # cancellations the platforms had made (the listing given its units back) that crossdock had not
        # imported yet when the final reconcile read the listings
        "cancels_not_imported_at_end": unimported_cancels,
        # what the final reconcile found (first 20): the SKUs it repaired, and any left after it
        "drift_found_at_end": [dict(d, channel=name) for name, r in repaired.items() for d in r["drift"]][:20],
        "drift_left": [dict(d, channel=name) for name, r in after.items() for d in r["drift"]][:20],
        "api_calls": api_calls,
        "throttled": throttled,
        "propagation_s": propagation,
        # guard-neutral: sale → no other channel shows more than is left (the share rule's sales are a superset)
        "propagation_left_s": within_left,
        "over_exposed": exposure_figures(sb),
        "oversell_guard": guard_on(cfg),
        "order_known_s": order_known_figures(sales, imported_at),
        **extra,
        "stock_push": stock_push,
        "stock_push_calls": sum(c["stock_push_calls"] for c in stock_push.values()),
        "push_floor_15s": sum(c["push_floor_15s"] for c in stock_push.values()),
        "push_floor_60s": sum(c["push_floor_60s"] for c in stock_push.values()),
        "listing_reads": reads,
    }


def push_efficiency(sb, shares: dict[str, Decimal], sb_channels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per channel: the stock-setting HTTP requests the platform received
    (its own count) against the independent floor for delivering every
    required change within 15, 30 and 60 sandbox seconds
    (:mod:`crossdock.sandbox.push_floor`)."""
    floors = push_floors(sb, shares)
    sent = stock_requests(sb)
    out: dict[str, dict[str, Any]] = {}
    for name in CHANNELS:
        sid = sb_channels[name]
        row: dict[str, Any] = {"stock_push_calls": sent.get(sid, 0), **floors.get(sid, {})}
        for w in ("15s", "60s"):
            floor = row.get(f"push_floor_{w}", 0)
            row[f"ratio_{w}"] = round(row["stock_push_calls"] / floor, 2) if floor else None
        out[name] = row
    return out


def _queue_consumers(cfg, db: Database, stop) -> list:
    """The queue consumers ``crossdock worker`` starts beside the engine."""
    from crossdock.events.queue_consumer import start_consumers

    return list(start_consumers(cfg, db, stop=stop))


def _imported_at(db: Database, sb) -> dict[str, float]:
    """Order id → when crossdock stored it, in sandbox seconds."""
    clock = sb.describe()["clock"]
    with db.read() as s:
        rows = s.execute(select(Order.platform_order_id, Order.imported_at)).all()
    return {oid: clock["origin_platform"] + (at.timestamp() - clock["origin_real"]) * clock["time_scale"]
            for oid, at in rows}


def _when_imported(slowest: list[dict[str, Any]], imported: dict[str, float]) -> None:
    """Add to each of the slowest sales how long after it crossdock imported
    its order (sandbox seconds; ``imported``: :func:`_imported_at`): the
    import's share of the delay; the rest is the push to the other channel."""
    for x in slowest:
        at = imported.get(x["order_id"])
        if at is not None:
            x["imported_after_s"] = round(at - x["sold_at"], 1)


def _placed(sb) -> int:
    with sb.market.lock:
        return len({s["order_id"] for s in sb.market.sales})


def _imported(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def to_json(summary: dict) -> str:
    return json.dumps(summary, indent=2, default=str)
