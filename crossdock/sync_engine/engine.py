"""The engine as a whole: schedules fire (in platform time), the relay sends
wake-ups for due outbox entries, actors run the jobs.

:class:`Engine` is used by ``crossdock sync run``, ``crossdock demo`` and the
scheduler loop of ``crossdock worker``; everything durable goes through the
database, so any number of these can run at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from crossdock.config import Config
from crossdock.db.engine import Database
from crossdock.sync_engine import dirty, outbox, scheduler
from crossdock.sync_engine import shipping_jobs  # noqa: F401 - registers the warehouse jobs
from crossdock.sync_engine import catalog_jobs  # noqa: F401 - registers the prices and listings jobs
from crossdock.sync_engine import housekeeping
from crossdock.sync_engine.channels import ConnectorPool, clock_from_config
from crossdock.sync_engine.jobs import EXTRA_JOBS, IMPORT_ORDERS, RECONCILE, STOCK_SWEEP, EngineContext, \
    claim_and_process

EXTRA_JOBS[housekeeping.HOUSEKEEPING] = housekeeping.housekeeping_job
EXTRA_JOBS[housekeeping.STUCK] = housekeeping.stuck_job

log = logging.getLogger(__name__)

# Jobs the scheduler fires per channel (config intervals_s, platform seconds).
# Prices run on their interval (a no-op making no call when nothing changed);
# publishing listings is opt-in ([sync] auto_publish = true): it creates
# listings for every catalogue product the channel lacks.
# Reconcile reads every listing back on its interval ([sync] reconcile = false turns it off);
# its first run waits one interval (a worker that just started has nothing to repair yet).
SCHEDULED_JOBS = (IMPORT_ORDERS, "prices", "listings", RECONCILE)
# Jobs that are the engine's own rounds, not work someone waits for (see Engine.idle).
ROUNDS = (IMPORT_ORDERS, STOCK_SWEEP, "shipments", "tracking", "prices", "listings", RECONCILE,
          housekeeping.HOUSEKEEPING, housekeeping.STUCK)


def context_from_config(cfg: Config | None = None, db: Database | None = None) -> EngineContext:
    from crossdock import config as config_mod
    from crossdock.db.migrate import ensure_current
    from crossdock.ratelimit.wiring import budget_from_config

    cfg = cfg or config_mod.load()
    if db is None:
        db = Database(cfg.database_url)
        ensure_current(db, auto_create=db.is_sqlite)
    clock = clock_from_config(cfg)
    budget = budget_from_config(cfg, db)
    pool = ConnectorPool(cfg, db, budget=budget, clock=clock)
    window = float(cfg.sync.get("coalesce_window_s", 10.0)) / cfg.time_scale
    dirty.set_window_s(max(0.02, window))
    return EngineContext(cfg=cfg, db=db, connectors=pool, clock=clock,
                         initial_lookback_s=float(cfg.sync.get("initial_lookback_s", 86_400)))


class Engine:
    def __init__(self, ctx: EngineContext, *, send=None) -> None:
        self.ctx = ctx
        self.send = send            # wake-up sender (actor.send); None = run due entries inline
        self.tracker = outbox.WakeupTracker()

    def ensure_schedules(self) -> None:
        with self.ctx.db.write() as s:
            scheduler.ensure_schedules(s, schedule_specs(self.ctx.cfg), now=self.ctx.clock.now(),
                                       disable_missing=True)

    def tick(self) -> int:
        """Fire due schedules and wake workers for due entries; returns wake-ups sent."""
        scheduler.fire_due(self.ctx.db, now=self.ctx.clock.now(), enqueue_fn=enqueue_unless_queued)
        if self.send is None:
            n = 0
            while claim_and_process(self.ctx, limit=1):
                n += 1
            return n
        result = outbox.relay(self.ctx.db, lambda e: self.send(e.id), tracker=self.tracker)
        return result.sent

    def run_for(self, seconds: float, *, interval_s: float = 0.05, until=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.tick()
            if until is not None and until():
                return
            time.sleep(interval_s)

    def idle(self) -> bool:
        """No pending or running outbox entry and no dirty SKU."""
        from sqlalchemy import func, select

        from crossdock.db.models import OutboxEntry
        from crossdock.sync_engine.dirty import DIRTY

        with self.ctx.db.read() as s:
            busy = s.scalar(select(func.count()).select_from(OutboxEntry)
                            .where(OutboxEntry.status.in_(("pending", "running")),
                                   OutboxEntry.kind.not_in(ROUNDS)))
            dirty_n = s.scalar(select(func.count()).select_from(DIRTY))
        return not busy and not dirty_n


def schedule_specs(cfg: Config) -> list[scheduler.ScheduleSpec]:
    """Every schedule the configuration asks for: per channel the order import
    (one per shared order poll), prices, listings (opt-in) and reconcile; the
    stock sweep, auto-ship (opt-in), tracking polls, stuck-order checks and
    housekeeping once for all."""
    from crossdock.sync_engine.channels import order_import_group

    specs: list[scheduler.ScheduleSpec] = []
    sync = cfg.sync
    for name, ch in sorted(cfg.channels.items()):
        for job in SCHEDULED_JOBS:
            every = ch.intervals_s[job]
            enabled = True
            first = 0
            if job == IMPORT_ORDERS:
                # channels sharing one order poll: the leader's schedule imports them all,
                # as often as the most frequent of them asks
                group = order_import_group(cfg, name)
                enabled = group[0] == name
                every = min(cfg.channel(c).intervals_s[job] for c in group)
            if job == "listings":
                enabled = bool(sync.get("auto_publish", False))
            if job == RECONCILE:
                enabled = bool(sync.get("reconcile", True))
                first = int(every)
            specs.append(scheduler.ScheduleSpec(name=f"{job}:{name}", job=job, channel=name,
                                                interval_s=int(every), enabled=enabled, first_after_s=first))
    specs.append(scheduler.ScheduleSpec(name="stock-sweep", job=STOCK_SWEEP, channel=None,
                                        interval_s=int(sync.get("stock_sweep_s", 30))))
    specs.append(scheduler.ScheduleSpec(name="auto-ship", job="shipments", channel=None,
                                        interval_s=int(sync.get("auto_ship_s", 60)),
                                        enabled=bool(sync.get("auto_ship", False))))
    specs.append(scheduler.ScheduleSpec(name="tracking", job="tracking", channel=None,
                                        interval_s=int(sync.get("tracking_s", 1800))))
    stuck_s = int(sync.get("stuck_s", housekeeping.DEFAULT_STUCK_S))
    specs.append(scheduler.ScheduleSpec(name="stuck-orders", job=housekeeping.STUCK, channel=None,
                                        interval_s=stuck_s, first_after_s=stuck_s))
    specs.append(scheduler.ScheduleSpec(name="housekeeping", job=housekeeping.HOUSEKEEPING, channel=None,
                                        interval_s=int(sync.get("housekeeping_s", housekeeping.DEFAULT_HOUSEKEEPING_S))))
    return specs


def enqueue_unless_queued(session, schedule, scheduled_for, missed_runs) -> bool:
    """A scheduled run is skipped while the same job for the same channel is
    still waiting to start: one queued import reads everything new anyway, so
    a slow worker never builds a backlog of identical runs."""
    from sqlalchemy import select

    from crossdock.db.models import OutboxEntry

    waiting = session.execute(
        select(OutboxEntry.id).where(OutboxEntry.kind == schedule.job, OutboxEntry.status == "pending",
                                     OutboxEntry.channel.is_(None) if schedule.channel is None
                                     else OutboxEntry.channel == schedule.channel).limit(1)).first()
    if waiting is not None:
        return False
    return scheduler.enqueue_run(session, schedule, scheduled_for, missed_runs)


def utc_in(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
