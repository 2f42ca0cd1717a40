"""A worker killed mid-batch loses nothing and confirms nothing twice.

The acceptance test of the issue: ``crossdock worker`` processes on Redis and
PostgreSQL, the in-process sandbox with scripted buyers on four channels,
auto-ship on. The workers run the whole engine; this process also ticks an
engine of its own (a second scheduler and relay, as a second worker machine
would), so the in-flight requests can be timed. The worker is killed with
SIGKILL while an Amazon shipment confirmation and
an eBay stock push are inside the sandbox, which answers both slowly (a
slow-response fault) and so carries them out only *after* the worker died: the
confirmation is on Amazon but ``shipments.confirmed_at`` is not written, the
quantities are on eBay but crossdock never recorded them. A new worker takes
over once the dead worker's leases ([sync] lease_s) run out, or its missed
heartbeats hand its claims back, whichever comes first. Everything is
judged from the sandbox's own record: every placed order imported, every
shipped order confirmed exactly once, every listing showing what crossdock
expects (reconcile drift 0).

The second test makes the confirmation gap deterministic on each platform in
one process: a "worker" sends the confirmation and dies before recording it,
and a Shopify confirmation arrives by another way; the entries' next runs must
not confirm again.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import select

from crossdock import config as config_mod
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.db.models import Order, OutboxEntry, Shipment, SyncEvent
from crossdock.demo import CHANNELS, DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config
from crossdock.sandbox.core import BuyerProfile, Fault, Sandbox
from crossdock.sandbox.scenario import confirmations_per_order
from crossdock.sync_engine import dirty, outbox
from tests.deploy.harness import Process
from tests.services import REDIS_URL, TempPostgresDatabase, require_postgres, require_redis

# What the test itself runs in its own thread (imports, reconcile) sleeps through short quota
# waits as a person's command does; the workers under test are processes of their own and never do.
pytestmark = pytest.mark.usefixtures("quota_waits_slept")

TIME_SCALE = 60.0          # one real second is one sandbox minute
SEED = 23
SKUS = 12
LEASE_S = 8.0              # [sync] lease_s: longer than any job here, short enough to wait for
SLOW_S = 3.0               # the requests in flight at the kill are answered this late
RESEND_S = 2.0             # relay: wake-ups of entries still pending are re-sent after this


# ---------------------------------------------------------------- helpers
def _configure(path: Path, sections: dict[str, dict[str, str]]) -> None:
    """Set ``key = literal`` in ``[section]`` of the config `_write_config` wrote
    (replacing the key where it is set, else adding it under the header)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for section, values in sections.items():
        header = lines.index(f"[{section}]")
        end = next((i for i in range(header + 1, len(lines)) if lines[i].startswith("[")), len(lines))
        for key, literal in values.items():
            at = next((i for i in range(header + 1, end) if re.match(rf"{re.escape(key)}\s*=", lines[i])), None)
            if at is None:
                lines.insert(header + 1, f"{key} = {literal}")
                end += 1
            else:
                lines[at] = f"{key} = {literal}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class WorkerProcess(Process):
    """``python -m crossdock worker --threads 2`` in its own session, output in a
    log file; :meth:`stop` is SIGTERM and a wait, :meth:`kill` is SIGKILL."""

    def __init__(self, env: dict[str, str], cwd: Path, log_path: Path) -> None:
        super().__init__(["worker", "--threads", "2"], cwd=cwd, env=env, log_path=log_path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.terminate(timeout_s=30)
                return
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def _worker_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (config_mod.ENV_DATABASE, config_mod.ENV_BROKER, config_mod.ENV_RATELIMIT)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _placed(sb) -> set[str]:
    with sb.market.lock:
        return {s["order_id"] for s in sb.market.sales}


def _order_of(path: str) -> str:
    """The order id in an Amazon or eBay order path (``…/orders/ID/…``, ``…/order/ID/…``)."""
    return path.split("/order")[-1].split("/")[1]


def _platform_confirmations(sb) -> Counter:
    """Shipment confirmations per platform order id, from the sandbox's own record
    (:func:`crossdock.sandbox.scenario.confirmations_per_order`); 0 for an order never confirmed."""
    return Counter(confirmations_per_order(sb))


def _payload(db: Database, entry_id: int) -> dict:
    with db.read() as s:
        return dict(s.scalar(select(OutboxEntry.payload).where(OutboxEntry.id == entry_id)))


def _wait(what: str, cond: Callable[[], bool], *, timeout_s: float, tick: Callable[[], Any] | None = None,
          info: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if tick is not None:
            tick()
        if cond():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{info()}")
        time.sleep(0.05)


class _State:
    """What the database says, for the waits and the failure messages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def imported(self) -> set[str]:
        with self.db.read() as s:
            return set(s.scalars(select(Order.platform_order_id)))

    def shipments(self) -> list[Any]:
        with self.db.read() as s:
            return list(s.execute(select(Shipment.id, Shipment.confirmed_at, Shipment.tracking_number,
                                         Order.platform_order_id, Order.channel)
                                  .join(Order, Order.id == Shipment.order_id)))

    def confirmed(self) -> int:
        return sum(1 for r in self.shipments() if r.confirmed_at is not None)

    def ready(self) -> list[Any]:
        from crossdock.warehouse.picking import ready_orders

        with self.db.read() as s:
            return ready_orders(s)

    def outbox(self, *statuses: str) -> list[Any]:
        with self.db.read() as s:
            return list(s.execute(select(OutboxEntry.id, OutboxEntry.kind, OutboxEntry.channel,
                                         OutboxEntry.entity, OutboxEntry.status, OutboxEntry.attempts,
                                         OutboxEntry.last_code, OutboxEntry.last_error)
                                  .where(OutboxEntry.status.in_(statuses))))

    def summary(self, sb) -> str:
        ships = self.shipments()
        open_ = [(r.id, r.kind, r.channel, r.status, r.attempts) for r in self.outbox("pending", "running")]
        failed = [(r.id, r.kind, r.last_code, (r.last_error or "")[:80]) for r in self.outbox("failed")]
        return (f"placed {len(_placed(sb))}, imported {len(self.imported())}, shipments {len(ships)}, "
                f"confirmed {sum(1 for r in ships if r.confirmed_at is not None)}, ready {len(self.ready())}, "
                f"open entries {open_[:20]}, failed {failed[:10]}")


class _InFlight:
    """Slow-answer faults on an Amazon confirmation and an eBay stock push,
    re-armed until both requests are inside the sandbox at the same time
    (each with at least ``margin_s`` of its delay left)."""

    TARGETS = {"confirm": ("amazon", "confirmShipment"), "push": ("ebay", "bulkUpdatePriceQuantity")}

    def __init__(self, sb, tick: Callable[[], Any], info: Callable[[], str], *, delay_s: float = SLOW_S,
                 margin_s: float = 1.0) -> None:
        self.sb, self.tick, self.info = sb, tick, info
        self.delay_s, self.margin_s = delay_s, margin_s
        self.faults: dict[str, Fault] = {}
        self.armed_seq: dict[str, int] = {}
        self.taken_at: dict[str, float] = {}
        for key in self.TARGETS:
            self._arm(key)

    def _arm(self, key: str) -> None:
        platform, operation = self.TARGETS[key]
        old = self.faults.get(key)
        if old is not None:
            self.sb.faults.clear(old.id)
        self.armed_seq[key] = _last_seq(self.sb)
        self.taken_at.pop(key, None)
        self.faults[key] = self.sb.faults.add(Fault(kind="slow", platform=platform, operation=operation,
                                                    count=1, delay_s=self.delay_s))

    def _slowed(self, key: str, after_seq: int) -> list[dict]:
        platform, operation = self.TARGETS[key]
        return [e for e in self.sb.requests.since(after_seq, platform=platform, operation=operation, limit=10**9)
                if e["ms"] >= self.delay_s * 1000 * 0.9]

    def _both(self) -> bool:
        now = time.monotonic()
        for key, fault in self.faults.items():
            if fault.count == 0:
                self.taken_at.setdefault(key, now)
                if self._slowed(key, self.armed_seq[key]):     # answered before the other one came
                    self._arm(key)
        return len(self.taken_at) == len(self.TARGETS) and \
            all(now - t < self.delay_s - self.margin_s for t in self.taken_at.values())

    def wait_both(self, *, timeout_s: float) -> None:
        _wait("an Amazon confirmation and an eBay stock push in flight together", self._both,
              timeout_s=timeout_s, tick=self.tick, info=self.info)

    def wait_landed(self, *, after_seq: int, timeout_s: float) -> dict[str, dict]:
        """The two slowed requests, answered after ``after_seq`` (the kill)."""
        _wait("the sandbox to carry out the requests of the killed worker",
              lambda: all(self._slowed(key, after_seq) for key in self.TARGETS), timeout_s=timeout_s,
              tick=self.tick, info=self.info)
        return {key: self._slowed(key, after_seq)[0] for key in self.TARGETS}


def _last_seq(sb) -> int:
    last = sb.requests.since(0, limit=10**9)
    return last[-1]["seq"] if last else 0


def _drift_story(db: Database, sb, drift: dict[str, list[dict]]) -> str:
    """For a failed drift check: each drifted SKU's listings as crossdock holds them,
    its stock pushes and order imports, and the sandbox's sales of it."""
    from crossdock.db.models import ChannelListing

    skus = sorted({d["sku"] for ds in drift.values() for d in ds})
    lines = [repr(drift)]
    with db.read() as s:
        for row in s.execute(select(ChannelListing.channel, ChannelListing.sku, ChannelListing.last_pushed_qty,
                                    ChannelListing.last_pushed_at, ChannelListing.exposure_qty,
                                    ChannelListing.held_qty, ChannelListing.held_since)
                             .where(ChannelListing.sku.in_(skus)).order_by(ChannelListing.channel)):
            lines.append(f"listing {tuple(row)}")
        for ev in s.execute(select(SyncEvent.at, SyncEvent.operation, SyncEvent.channel,
                                   SyncEvent.message, SyncEvent.details)
                            .where(SyncEvent.operation == "stock.push").order_by(SyncEvent.id)):
            pushed = (ev.details or {}).get("pushed", {})
            if any(sku in pushed for sku in skus):
                lines.append(f"push {ev.at} {ev.channel} {({k: pushed[k] for k in skus if k in pushed})}")
    with sb.market.lock:
        lines += [f"sale {sale}" for sale in sb.market.sales if sale.get("sku") in skus]
    return "\n".join(lines)


# ---------------------------------------------------------------- the acceptance test
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_worker_killed_mid_batch_loses_nothing_and_confirms_nothing_twice(tmp_path, monkeypatch):
    require_redis()
    require_postgres()
    import dramatiq
    import dramatiq.broker
    import redis

    from crossdock.runtime import ENV_BROKER_NAMESPACE, make_broker
    from crossdock.sync_engine.engine import Engine, context_from_config
    from crossdock.sync_engine.jobs import reconcile

    namespace = f"xd-test-kill-{uuid.uuid4().hex[:12]}"
    pg = TempPostgresDatabase()
    previous_broker = dramatiq.broker.global_broker
    sb = broker = ctx = db = None
    workers: list[WorkerProcess] = []
    try:
        db = Database(pg.url)
        upgrade(db)
        sb = Sandbox(time_scale=TIME_SCALE, seed=SEED).start()
        desc = sb.describe()
        opts = DemoOptions(skus=SKUS, time_scale=TIME_SCALE, seed=SEED, folder=tmp_path)
        secrets: dict[str, str] = {}
        path = _write_config(tmp_path, desc, opts, secrets)
        # Given the engine on PostgreSQL and Redis, with short leases and auto-ship on
        _configure(path, {"database": {"url": f'"{pg.url}"'}, "broker": {"url": f'"{REDIS_URL}"'},
                          "sync": {"lease_s": str(LEASE_S), "auto_ship": "true", "auto_ship_s": "30",
                                   "stock_sweep_s": "30", "tracking_s": "600"}})
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv(ENV_BROKER_NAMESPACE, namespace)
        cfg = config_mod.load(path, env={})
        assert cfg.database_url.startswith("postgresql") and cfg.broker_url == REDIS_URL
        channels = _sandbox_channels(desc)
        _seed(db, sb, cfg, opts, channels)
        _load_sample_rates(db, sb.clock.now().date())

        # this process ticks an engine too (schedules are claimed in the database: never fired twice)
        broker = make_broker(cfg.broker_url)
        dramatiq.set_broker(broker)
        from crossdock.sync_engine import actors

        actors.bind(broker)
        ctx = context_from_config(cfg, db)
        engine = Engine(ctx, send=actors.process_outbox_entry.send)
        # the killed worker's prefetched messages stay in its Redis ack set until dramatiq's
        # heartbeat timeout (60 s): re-send wake-ups of entries still pending sooner
        engine.tracker = outbox.WakeupTracker(resend_after_s=RESEND_S)
        engine.ensure_schedules()
        state = _State(db)
        worker_env = _worker_env({**secrets, "CROSSDOCK_CONFIG": str(path), ENV_BROKER_NAMESPACE: namespace})

        def info() -> str:
            return state.summary(sb) + "".join(f"\n--- worker {i} log ---\n{w.tail()}" for i, w in enumerate(workers))

        workers.append(WorkerProcess(worker_env, tmp_path, tmp_path / "worker-1.log"))
        for name in CHANNELS:
            sb.set_buyers(channels[name], BuyerProfile(orders_per_min=1.0, max_qty=2, cancel_probability=0))
        sb.start_buyers()

        # When the worker is busy shipping and confirming ...
        _wait("the first worker to confirm shipments", lambda: state.confirmed() >= 4, timeout_s=30,
              tick=engine.tick, info=info)
        # ... and both an Amazon confirmation and an eBay stock push are in flight (the sandbox
        # answers them slowly), the worker's process group is killed with SIGKILL
        inflight = _InFlight(sb, engine.tick, info)
        inflight.wait_both(timeout_s=80)
        kill_seq = _last_seq(sb)        # the requests in flight are logged when they are answered
        workers[0].kill()
        running_at_kill = state.outbox("running")
        assert {("confirm_shipment", "amazon"), ("push_stock", "ebay")} <= \
            {(r.kind, (r.channel or "").split("-")[0]) for r in running_at_kill}, running_at_kill

        # the sandbox carries both out after the worker died: the confirmation is on Amazon and the
        # quantities on eBay, but crossdock recorded neither
        landed = inflight.wait_landed(after_seq=kill_seq, timeout_s=10)
        assert {e["status"] for e in landed.values()} <= {200, 204}, landed
        gap_order = _order_of(landed["confirm"]["path"])
        gap = [r for r in state.shipments() if r.platform_order_id == gap_order]
        assert len(gap) == 1 and gap[0].confirmed_at is None, gap

        # And a new worker is started while buyers keep buying
        workers.append(WorkerProcess(worker_env, tmp_path, tmp_path / "worker-2.log"))
        buy_until = time.monotonic() + 3.0
        _wait("more buying", lambda: time.monotonic() >= buy_until, timeout_s=10, tick=engine.tick, info=info)
        sb.stop_buyers()

        def settled() -> bool:
            placed = _placed(sb)
            ships = state.shipments()
            return (placed <= state.imported() and not state.ready() and bool(ships)
                    and all(r.confirmed_at is not None for r in ships) and engine.idle())

        _wait("every order imported, shipped and confirmed, every stock push done", settled, timeout_s=90,
              tick=engine.tick, info=info)
        workers[-1].stop()

        # Then nothing is lost: every placed order imported, every shipment confirmed, nothing failed
        placed = _placed(sb)
        assert placed and placed <= state.imported(), info()
        ships = state.shipments()
        assert len(ships) >= 10, f"too little work to prove anything: {info()}"
        assert all(r.confirmed_at is not None for r in ships), info()
        assert state.outbox("failed") == [], info()
        # and the sandbox saw each shipped order confirmed exactly once, and no other order confirmed
        confirms = _platform_confirmations(sb)
        shipped = {r.platform_order_id for r in ships}
        per_order = {pid: confirms.get(pid, 0) for pid in shipped}
        assert {pid: n for pid, n in per_order.items() if n != 1} == {}, per_order
        assert {pid for pid, n in confirms.items() if n and pid in placed} <= shipped
        # the confirmation that landed after the kill was found on Amazon, not sent again
        with db.read() as s:
            entry = s.execute(select(OutboxEntry.status, OutboxEntry.attempts)
                              .where(OutboxEntry.idempotency_key == f"confirm_shipment:{gap[0].id}")).one()
            event = s.scalars(select(SyncEvent.details).where(SyncEvent.operation == "shipment.confirm",
                                                              SyncEvent.entity == gap_order)).all()
        assert entry.status == "done" and entry.attempts >= 1, entry
        assert [d.get("already_on_channel") for d in event] == [True], event
        # and every channel lists what crossdock expects (no stale push won a race)
        drift = {name: reconcile(ctx, name, apply=False)["drift"] for name in CHANNELS}
        assert drift == {name: [] for name in CHANNELS}, _drift_story(db, sb, drift)
    finally:
        for w in workers:
            w.stop()
        if sb is not None:
            sb.stop_buyers()
        if ctx is not None:
            ctx.connectors.close()
        if sb is not None:
            sb.stop()
        if broker is not None:
            broker.close()
            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()
        dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
        if previous_broker is not None:
            dramatiq.set_broker(previous_broker)
            from crossdock.sync_engine import actors

            actors.bind(previous_broker)
        if db is not None:
            db.dispose()
        pg.close()


# ---------------------------------------------------------------- the gap, deterministic, per platform
# ---------------------------------------------------------------- one process: a "worker" the test plays
@contextlib.contextmanager
def _one_process(tmp_path, monkeypatch) -> Iterator[tuple[Any, Database, Any, _State, dict[str, str]]]:
    """The sandbox, a seeded SQLite database with auto-ship and short leases,
    and an engine context the test drives itself: (sandbox, db, ctx, state,
    crossdock channel → sandbox channel)."""
    from crossdock.sync_engine.engine import context_from_config

    opts = DemoOptions(skus=6, time_scale=TIME_SCALE, seed=SEED, folder=tmp_path)
    with Sandbox(time_scale=TIME_SCALE, seed=SEED) as sb:
        secrets: dict[str, str] = {}
        path = _write_config(tmp_path, sb.describe(), opts, secrets)
        _configure(path, {"database": {"url": f'"sqlite:///{tmp_path / "crossdock.sqlite"}"'},
                          "sync": {"lease_s": "5", "auto_ship": "true"}})
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        cfg = config_mod.load(path, env={})
        db = Database(cfg.database_url)
        upgrade(db)
        channels = _sandbox_channels(sb.describe())
        _seed(db, sb, cfg, opts, channels)
        _load_sample_rates(db, sb.clock.now().date())
        ctx = context_from_config(cfg, db)
        try:
            yield sb, db, ctx, _State(db), channels
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def _confirm_behind_crossdocks_back(ctx, channel: str, payload: dict, **extra: Any) -> None:
    """The confirmation of an outbox entry's ``payload`` reaches the channel
    without crossdock recording it (a worker that died right after, a
    restored database)."""
    from crossdock.models import ShipmentConfirmation

    p = payload
    ctx.connectors.get(channel).confirm_shipment(ShipmentConfirmation(
        platform_order_id=p["platform_order_id"], carrier=p["carrier"], tracking_number=p["tracking_number"],
        shipped_at=ctx.clock.now(), lines=tuple((str(a), int(b)) for a, b in p["lines"]), **extra))


def test_confirmation_accepted_before_a_crash_is_not_sent_again(tmp_path, monkeypatch):
    from crossdock.sync_engine import jobs
    from crossdock.sync_engine.jobs.auto_ship import auto_ship

    with _one_process(tmp_path, monkeypatch) as (sb, db, ctx, state, channels):
        # Given one order on each platform, and a second Shopify order, imported and shipped
        names = ("amazon-us", "ebay-uk", "shopify-eu", "shopify-eu")
        sb.sims["shopify"].pending_payment_probability = 0.0    # paid at once: ready to ship
        sims = sb.all_channels()
        placed = {sb.buy_once(channels[n], sims[channels[n]], BuyerProfile(max_qty=1)) for n in names}
        assert None not in placed and len(placed) == len(names)

        def import_and_ship() -> None:
            for name in sorted(set(names)):
                jobs.import_orders(ctx, name)
            auto_ship(ctx)

        _wait("the orders to be imported and shipped",
              lambda: {r.platform_order_id for r in state.shipments()} >= placed, timeout_s=20,
              tick=import_and_ship, info=lambda: state.summary(sb))
        with db.read() as s:
            entries = {r.entity: r.id for r in s.execute(select(OutboxEntry.entity, OutboxEntry.id)
                                                         .where(OutboxEntry.kind == "confirm_shipment"))}
        by_channel: dict[str, list[str]] = {}
        for r in state.shipments():
            by_channel.setdefault(r.channel, []).append(r.platform_order_id)
        crashed = [by_channel["amazon-us"][0], by_channel["ebay-uk"][0], by_channel["shopify-eu"][0]]
        restored = by_channel["shopify-eu"][1]

        # When a worker sends each of the first three confirmations and dies before recording it
        for pid in crashed:
            [entry] = outbox.claim(db, worker_id="dead-worker", ids=[entries[pid]], lease_s=0.3)
            _confirm_behind_crossdocks_back(ctx, entry.channel, entry.payload, service=entry.payload.get("service"),
                                            tracking_url=entry.payload.get("tracking_url"))
        # and the fourth reaches Shopify by another way (a database restored from an older backup)
        _confirm_behind_crossdocks_back(ctx, "shopify-eu", _payload(db, entries[restored]))
        before = _platform_confirmations(sb)
        assert all(before[pid] == 1 for pid in [*crashed, restored]), before

        # and the entries run again once the dead worker's lease ran out
        _wait("the dead worker's leases to expire and the entries to run",
              lambda: state.confirmed() == len(placed), timeout_s=10,
              tick=lambda: jobs.claim_and_process(ctx, kinds=["confirm_shipment"], limit=10),
              info=lambda: state.summary(sb))

        # Then every order is confirmed exactly once on its platform, and crossdock knows it
        after = _platform_confirmations(sb)
        assert {pid: after[pid] for pid in placed} == {pid: 1 for pid in placed}, after
        with db.read() as s:
            rows = s.execute(select(OutboxEntry.entity, OutboxEntry.status, OutboxEntry.attempts)
                             .where(OutboxEntry.kind == "confirm_shipment")).all()
            events = {e: d for e, d in s.execute(select(SyncEvent.entity, SyncEvent.details)
                                                 .where(SyncEvent.operation == "shipment.confirm"))}
        assert {r.entity: (r.status, r.attempts) for r in rows} == {
            **{pid: ("done", 1) for pid in crashed}, restored: ("done", 0)}
        assert {pid: events[pid]["already_on_channel"] for pid in placed} == {pid: True for pid in placed}
        assert state.outbox("failed") == []


def test_lease_comes_from_sync_lease_s():
    from crossdock.config import Config
    from crossdock.errors import ConfigError
    from crossdock.sync_engine.jobs import configured_lease_s

    assert configured_lease_s(Config()) == outbox.DEFAULT_LEASE_S
    assert configured_lease_s(Config(sync={"lease_s": 7})) == 7.0
    for bad in (0, -1, "soon"):
        with pytest.raises(ConfigError) as err:
            configured_lease_s(Config(sync={"lease_s": bad}))
        assert err.value.code == "XD-CFG-003"


def test_a_confirmation_that_may_have_landed_is_not_sent_blind_when_the_check_fails(tmp_path, monkeypatch):
    """Found by benchmarks/chaos.py (seed 2: two orders confirmed twice): a
    worker sent an eBay confirmation and died; the entry's next run could not
    read the order back (a 503 storm) and confirmed again, blind. Now a read
    that may work later makes the entry wait for it."""
    from crossdock.sync_engine import jobs
    from crossdock.sync_engine.jobs.auto_ship import auto_ship

    with _one_process(tmp_path, monkeypatch) as (sb, db, ctx, state, channels):
        # Given an eBay order imported and shipped
        sims = sb.all_channels()
        pid = sb.buy_once(channels["ebay-uk"], sims[channels["ebay-uk"]], BuyerProfile(max_qty=1))
        assert pid is not None
        _wait("the order to be imported and shipped", lambda: {r.platform_order_id for r in state.shipments()}
              >= {pid}, timeout_s=20, tick=lambda: (jobs.import_orders(ctx, "ebay-uk"), auto_ship(ctx)),
              info=lambda: state.summary(sb))
        with db.read() as s:
            entry_id = s.scalar(select(OutboxEntry.id).where(OutboxEntry.kind == "confirm_shipment",
                                                             OutboxEntry.entity == pid))
        # and a worker that sent its confirmation and died before recording it
        [entry] = outbox.claim(db, worker_id="dead-worker", ids=[entry_id], lease_s=0.3)
        _confirm_behind_crossdocks_back(ctx, "ebay-uk", entry.payload)
        assert _platform_confirmations(sb)[pid] == 1

        # When its next run cannot read the order back (eBay answers 503 to every getOrder)
        storm = sb.faults.add(Fault(kind="html_503", platform="ebay", operation="getOrder"))
        time.sleep(0.4)
        jobs.claim_and_process(ctx, ids=[entry_id])
        # Then nothing was sent: the entry waits to ask again
        assert _platform_confirmations(sb)[pid] == 1
        with db.read() as s:
            row = s.execute(select(OutboxEntry.status, OutboxEntry.last_code)
                            .where(OutboxEntry.id == entry_id)).one()
        assert row.status == "pending", row

        # And once eBay answers again, the run finds the confirmation there and only records it
        sb.faults.clear(storm.id)
        _wait("the entry to run again", lambda: state.confirmed() == 1, timeout_s=30,
              tick=lambda: jobs.claim_and_process(ctx, ids=[entry_id], lease_s=5),
              info=lambda: state.summary(sb))
        assert _platform_confirmations(sb)[pid] == 1
        with db.read() as s:
            details = s.scalar(select(SyncEvent.details).where(SyncEvent.operation == "shipment.confirm",
                                                               SyncEvent.entity == pid))
        assert details["already_on_channel"] is True
