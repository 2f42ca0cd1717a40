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

from sqlalchemy import bindparam, select

from crossdock.config import Config
from crossdock.db.engine import Database
from crossdock.sync_engine import dirty, outbox, scheduler
from crossdock.sync_engine.channels import ConnectorPool, clock_from_config
from crossdock.sync_engine.jobs import JOBS, EngineContext, JobSpec, claim_and_process

log = logging.getLogger(__name__)

# Jobs the scheduler fires per channel (config intervals_s, platform seconds): the job table's.
SCHEDULED_JOBS = tuple(kind for kind, spec in JOBS.items()
                       if spec.schedule is not None and spec.schedule.per_channel)


def rounds() -> tuple[str, ...]:
    """Jobs that are the engine's own rounds, not work someone waits for (see
    Engine.idle): read when asked, so a job registered later (crossdock.alerts) counts."""
    return tuple(kind for kind, spec in JOBS.items() if spec.round)


ROUNDS = rounds()       # the built-in ones, at import


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
                                   OutboxEntry.kind.not_in(rounds())))
            dirty_n = s.scalar(select(func.count()).select_from(DIRTY))
        return not busy and not dirty_n


def schedule_specs(cfg: Config) -> list[scheduler.ScheduleSpec]:
    """Every schedule the configuration asks for, from the job table
    (:data:`~crossdock.sync_engine.jobs.JOBS`, ``JobSpec.schedule``): per channel
    on its ``intervals_s`` (the order import once per shared order poll), the
    others once for all on their ``[sync]`` interval; opt-in jobs enabled by
    their ``[sync]`` switch."""
    specs: list[scheduler.ScheduleSpec] = []
    for kind, job in JOBS.items():
        if job.schedule is None:
            continue
        if job.schedule.per_channel:
            specs.extend(_channel_schedule(cfg, kind, job, name) for name in sorted(cfg.channels))
        else:
            specs.append(_global_schedule(cfg, kind, job))
    return specs


def _channel_interval_s(cfg: Config, channel: str, job: JobSpec) -> int:
    assert job.schedule is not None
    return int(cfg.channel(channel).intervals_s.get(job.schedule.interval_key, job.schedule.every_s))


def _channel_schedule(cfg: Config, kind: str, job: JobSpec, channel: str) -> scheduler.ScheduleSpec:
    sched = job.schedule
    assert sched is not None and sched.per_channel
    every = _channel_interval_s(cfg, channel, job)
    enabled = sched.enabled(cfg.sync) and (sched.for_channel is None or sched.for_channel(cfg, channel))
    if sched.shared_by is not None:
        # channels sharing one run: the leader's schedule serves them all,
        # as often as the most frequent of them asks
        group = sched.shared_by(cfg, channel)
        enabled = enabled and group[0] == channel
        every = min(_channel_interval_s(cfg, c, job) for c in group)
    return scheduler.ScheduleSpec(name=f"{kind}:{channel}", job=kind, channel=channel, interval_s=every,
                                  enabled=enabled, first_after_s=every if sched.first_after_interval else 0)


def _global_schedule(cfg: Config, kind: str, job: JobSpec) -> scheduler.ScheduleSpec:
    sched = job.schedule
    assert sched is not None and sched.name is not None
    if sched.interval_of is not None:
        configured = sched.interval_of(cfg)
        every, enabled = configured or sched.every_s, configured is not None
    else:
        every, enabled = int(cfg.sync.get(sched.interval_key, sched.every_s)), sched.enabled(cfg.sync)
    return scheduler.ScheduleSpec(name=sched.name, job=kind, channel=None, interval_s=every,
                                  enabled=enabled,
                                  first_after_s=every if sched.first_after_interval else 0)


# Asked for every fired schedule: built once (Core, not ORM: the ORM's statement set-up per call
# cost more than the query).
_PENDING_UNBOUND = (select(outbox.OUTBOX.c.id)
                    .where(outbox.OUTBOX.c.kind == bindparam("p_kind"), outbox.OUTBOX.c.status == outbox.PENDING,
                           outbox.OUTBOX.c.channel.is_(None)).limit(1))
_PENDING_OF_CHANNEL = (select(outbox.OUTBOX.c.id)
                       .where(outbox.OUTBOX.c.kind == bindparam("p_kind"), outbox.OUTBOX.c.status == outbox.PENDING,
                              outbox.OUTBOX.c.channel == bindparam("p_channel")).limit(1))


def enqueue_unless_queued(session, schedule, scheduled_for, missed_runs) -> bool:
    """A scheduled run is skipped while the same job for the same channel is
    still waiting to start: one queued import reads everything new anyway, so
    a slow worker never builds a backlog of identical runs."""
    if schedule.channel is None:
        waiting = session.execute(_PENDING_UNBOUND, {"p_kind": schedule.job}).first()
    else:
        waiting = session.execute(_PENDING_OF_CHANNEL, {"p_kind": schedule.job, "p_channel": schedule.channel}).first()
    if waiting is not None:
        return False
    return scheduler.enqueue_run(session, schedule, scheduled_for, missed_runs)


def utc_in(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
