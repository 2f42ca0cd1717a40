"""Recurring jobs, scheduled in the database.

Each ``schedules`` row says "run ``job`` (for ``channel``) every
``interval_s``". Any number of schedulers (threads, processes, hosts) may
call :func:`fire_due`; each due row is claimed with compare-and-set::

    UPDATE schedules SET next_run_at = :next, last_run_at = :now, version = version + 1
     WHERE name = :name AND version = :seen_version

Only the scheduler whose UPDATE hit the row enqueues the run, in the same
transaction, as an outbox entry keyed ``{name}:{scheduled time}`` — so a run
fires once even if two schedulers race, and a crash between the two writes is
impossible (they commit together). PostgreSQL re-checks ``version`` after
waiting for a concurrent writer; SQLite runs writers one at a time.

Missed runs (no scheduler for a while) catch up with ONE run, not a burst;
``next_run_at`` moves to the first slot after now, keeping the phase. When a
run is more than one interval late the event carries XD-SYNC-004.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Schedule
from crossdock.sync_engine import outbox
from crossdock.sync_engine._sql import event_row, insert_events, now_or, upsert_insert

log = logging.getLogger(__name__)

SCHED: Table = Schedule.metadata.tables[Schedule.__tablename__]

__all__ = [
    "Fired",
    "ScheduleSpec",
    "ScheduleState",
    "due",
    "enqueue_run",
    "ensure_schedules",
    "fire_due",
    "fire_due_next",
    "next_slot",
    "specs_for",
]


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    name: str
    job: str
    interval_s: int
    channel: str | None = None
    enabled: bool = True
    first_after_s: int = 0            # a new schedule's first run: now + this (0 = now)

    def __post_init__(self) -> None:
        if self.interval_s < 1:
            raise ValueError(f"schedule {self.name}: interval_s must be at least 1")


@dataclass(frozen=True, slots=True)
class ScheduleState:
    name: str
    job: str
    channel: str | None
    interval_s: int
    next_run_at: dt.datetime
    last_run_at: dt.datetime | None
    enabled: bool
    version: int


@dataclass(frozen=True, slots=True)
class Fired:
    name: str
    job: str
    channel: str | None
    scheduled_for: dt.datetime
    missed_runs: int                  # slots skipped by the catch-up (0 when on time)
    next_run_at: dt.datetime
    enqueued: bool                    # False: an entry with the same key already existed


def specs_for(intervals: Mapping[str, Mapping[str, int]]) -> list[ScheduleSpec]:
    """``{"amazon-de": {"orders": 120, "stock": 60}}`` → schedules named
    ``orders:amazon-de``, ``stock:amazon-de``."""
    return [ScheduleSpec(name=f"{job}:{channel}", job=job, channel=channel, interval_s=int(every))
            for channel, jobs in sorted(intervals.items()) for job, every in sorted(jobs.items())]


def ensure_schedules(session: Session, specs: Iterable[ScheduleSpec] | Mapping[str, Mapping[str, int]], *,
                     disable_missing: bool = False, now: dt.datetime | None = None) -> list[str]:
    """Create missing schedules (first run due now) and apply changed
    settings to existing ones (bumping ``version``, so a scheduler holding the
    old row cannot fire it). ``specs`` may also be channel → job → interval
    (see :func:`specs_for`). Returns the names created."""
    at = now_or(now)
    specs = specs_for(specs) if isinstance(specs, Mapping) else list(specs)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("schedule names must be unique")
    current = {r.name: r for r in session.execute(select(SCHED))}
    created = []
    for spec in sorted(specs, key=lambda s: s.name):
        row = current.get(spec.name)
        if row is None:
            n = session.execute(upsert_insert(session, SCHED).values(
                name=spec.name, job=spec.job, channel=spec.channel, interval_s=spec.interval_s,
                next_run_at=at + dt.timedelta(seconds=spec.first_after_s), last_run_at=None, enabled=spec.enabled, version=0)
                .on_conflict_do_nothing(index_elements=["name"]).returning(SCHED.c.name)).first()
            if n is not None:
                created.append(spec.name)
            continue
        if (row.job, row.channel, row.interval_s, row.enabled) == (spec.job, spec.channel, spec.interval_s,
                                                                   spec.enabled):
            continue
        values: dict = dict(job=spec.job, channel=spec.channel, interval_s=spec.interval_s, enabled=spec.enabled,
                            version=SCHED.c.version + 1)
        if spec.interval_s != row.interval_s:
            base = row.last_run_at or at
            values["next_run_at"] = min(row.next_run_at, base + dt.timedelta(seconds=spec.interval_s))
        session.execute(update(SCHED).where(SCHED.c.name == spec.name).values(**values))
    if disable_missing:
        for name in sorted(set(current) - set(names)):
            if current[name].enabled:
                session.execute(update(SCHED).where(SCHED.c.name == name)
                                .values(enabled=False, version=SCHED.c.version + 1))
    if created:
        log.info("schedules created: %s", ", ".join(created))
    return created


# Statements the engine runs on every tick or every fired schedule, built once (building a
# Core statement costs more CPU than SQLite takes to run it).
_DUE = (select(SCHED).where(SCHED.c.enabled.is_(True), SCHED.c.next_run_at <= bindparam("at"))
        .order_by(SCHED.c.next_run_at, SCHED.c.name))
_WIN = (update(SCHED).where(SCHED.c.name == bindparam("p_name"), SCHED.c.version == bindparam("p_version"),
                            SCHED.c.enabled.is_(True))
        .values(next_run_at=bindparam("p_next"), last_run_at=bindparam("p_at"), version=SCHED.c.version + 1)
        .returning(SCHED.c.name))
_WAITING = (select(outbox.OUTBOX.c.id).where(outbox.OUTBOX.c.kind == bindparam("p_kind"),
                                             outbox.OUTBOX.c.entity == bindparam("p_entity"),
                                             outbox.OUTBOX.c.status.in_((outbox.PENDING, outbox.RUNNING))).limit(1))


def due(db: Database | Session, now: dt.datetime | None = None) -> list[ScheduleState]:
    """Enabled schedules whose next run is at or before ``now``, oldest first."""
    at = now_or(now)
    if isinstance(db, Session):
        rows = db.execute(_DUE, {"at": at}).all()
    else:
        with db.read() as session:
            rows = session.execute(_DUE, {"at": at}).all()
    return [ScheduleState(name=r.name, job=r.job, channel=r.channel, interval_s=r.interval_s,
                          next_run_at=r.next_run_at, last_run_at=r.last_run_at, enabled=r.enabled,
                          version=r.version) for r in rows]


def next_slot(scheduled: dt.datetime, interval_s: int, now: dt.datetime) -> tuple[dt.datetime, int]:
    """(first slot after ``now`` on the schedule's grid, slots skipped).
    A run due at ``scheduled`` fires once; the ``missed`` slots between it and
    now are not run separately."""
    if now < scheduled:
        return scheduled, 0
    steps = math.floor((now - scheduled).total_seconds() / interval_s) + 1
    return scheduled + dt.timedelta(seconds=steps * interval_s), steps - 1


EnqueueFn = Callable[[Session, ScheduleState, dt.datetime, int], bool]


def enqueue_run(session: Session, schedule: ScheduleState, scheduled_for: dt.datetime, missed_runs: int) -> bool:
    """The default action: an outbox entry of kind ``schedule.job`` — unless
    an earlier run of the same schedule is still queued or running (waiting
    for quota, say). Runs of one schedule never overlap: a second order
    import of the same channel would read the same window again on the same
    quota and fall further behind. Returns False when it was skipped."""
    entity = f"schedule {schedule.name}"
    waiting = session.execute(_WAITING, {"p_kind": schedule.job, "p_entity": entity}).first()
    if waiting is not None:
        log.debug("schedule %s: run %s still queued or running; not enqueued again", schedule.name, waiting.id)
        return False
    stamp = scheduled_for.astimezone(dt.timezone.utc).isoformat()
    return outbox.enqueue(
        session, schedule.job, channel=schedule.channel, entity=entity,
        payload={"schedule": schedule.name, "job": schedule.job, "channel": schedule.channel,
                 "scheduled_for": stamp, "missed_runs": missed_runs},
        idempotency_key=f"{schedule.name}:{stamp}")


# The earliest next run, and the earliest not due at ``at`` (asked on every look of the engine's loop:
# a prebuilt statement on a plain connection); after firing, the next due time is the second or a fired
# schedule's next slot, so no second look is needed
_NEXT_RUN = select(func.min(SCHED.c.next_run_at),
                   func.min(case((SCHED.c.next_run_at > bindparam("at"), SCHED.c.next_run_at)))
                   ).where(SCHED.c.enabled.is_(True))


def fire_due(db: Database, now: dt.datetime | None = None, enqueue_fn: EnqueueFn | None = None) -> list[Fired]:
    """Fire every due schedule this scheduler wins (see module doc). Each
    schedule is claimed and enqueued in its own short transaction;
    ``enqueue_fn(session, schedule, scheduled_for, missed_runs)`` runs only
    for the winner, inside that transaction (default :func:`enqueue_run`).
    A tick with nothing due costs one quick query."""
    return fire_due_next(db, now, enqueue_fn)[0]


def fire_due_next(db: Database, now: dt.datetime | None = None,
                  enqueue_fn: EnqueueFn | None = None) -> tuple[list[Fired], dt.datetime | None]:
    """:func:`fire_due`, and when the next schedule falls due as far as this
    look can tell: the earliest ``next_run_at`` after the firing (a schedule
    another scheduler fired: its next slot, as this one computed it), None
    with no enabled schedule.
    The engine's loop sleeps until then (or less: another process may add work)."""
    at = now_or(now)
    with db.glance() as conn:
        first, later = conn.execute(_NEXT_RUN, {"at": at}).one()
    if first is None or first > at:
        return [], first
    action = enqueue_fn or enqueue_run
    fired = []
    nexts = [later]
    for s in due(db, at):
        nxt, missed = next_slot(s.next_run_at, s.interval_s, at)
        nexts.append(nxt)
        with db.write() as session:
            won = session.execute(_WIN, {"p_name": s.name, "p_version": s.version, "p_next": nxt,
                                         "p_at": at}).first() is not None
            if not won:
                log.debug("schedule %s: another scheduler fired it", s.name)
                continue
            enqueued = bool(action(session, s, s.next_run_at, missed))
            late_s = (at - s.next_run_at).total_seconds()
            if late_s > s.interval_s:
                # ``at`` is the platforms' clock (a sandbox's runs faster); the sync log is wall-clock
                # time like every other event, the platform times go in the details
                insert_events(session, [event_row(
                    operation=f"schedule.{s.job}", outcome="ok", at=utcnow(), channel=s.channel, entity_type="job",
                    entity=s.name, code="XD-SYNC-004",
                    message=f"ran {late_s:.0f} s late; {missed} missed runs caught up by this one",
                    details={"scheduled_for": s.next_run_at.isoformat(), "fired_at_platform_time": at.isoformat(),
                             "missed_runs": missed})])
                log.warning("schedule %s ran %.0f s late (%d missed runs caught up once)", s.name, late_s, missed)
        fired.append(Fired(name=s.name, job=s.job, channel=s.channel, scheduled_for=s.next_run_at,
                           missed_runs=missed, next_run_at=nxt, enqueued=enqueued))
    return fired, min((t for t in nexts if t is not None), default=None)
