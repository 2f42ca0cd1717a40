from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

import pytest
from sqlalchemy import func, select, update

from crossdock.db import models as m
from crossdock.sync_engine import scheduler
from crossdock.sync_engine.scheduler import ScheduleSpec
from tests.sync_engine.support import NOW, fire_schedulers, seed

T = dt.timedelta


def setup(db, interval_s=60, *, next_run_at=NOW):
    seed(db)
    with db.write() as s:
        created = scheduler.ensure_schedules(s, [ScheduleSpec("orders:ebay-us", "import_orders", interval_s,
                                                              channel="ebay-us")], now=next_run_at)
    assert created == ["orders:ebay-us"]


def entries(db):
    with db.read() as s:
        return s.execute(select(m.OutboxEntry.kind, m.OutboxEntry.idempotency_key, m.OutboxEntry.payload)
                         .order_by(m.OutboxEntry.id)).all()


def schedule_row(db):
    with db.read() as s:
        return s.execute(select(m.Schedule)).scalar_one()


def test_ensure_schedules_creates_once_and_applies_changes(db):
    seed(db)
    specs = scheduler.specs_for({"ebay-us": {"import_orders": 900, "push_stock": 60}})
    assert [s.name for s in specs] == ["import_orders:ebay-us", "push_stock:ebay-us"]
    with db.write() as s:
        assert scheduler.ensure_schedules(s, specs, now=NOW) == ["import_orders:ebay-us", "push_stock:ebay-us"]
    with db.write() as s:
        assert scheduler.ensure_schedules(s, specs, now=NOW + T(hours=1)) == []
        assert scheduler.ensure_schedules(s, {"ebay-us": {"import_orders": 900}}, now=NOW) == []
    with db.read() as s:
        rows = {r.name: r for r in s.scalars(select(m.Schedule))}
    assert rows["push_stock:ebay-us"].next_run_at == NOW and rows["push_stock:ebay-us"].version == 0

    # a shorter interval pulls the next run in and bumps the version; dropping a schedule disables it
    with db.write() as s:
        s.execute(m.Schedule.__table__.update().values(last_run_at=NOW, next_run_at=NOW + T(seconds=900)))
        scheduler.ensure_schedules(s, [ScheduleSpec("import_orders:ebay-us", "import_orders", 120,
                                                    channel="ebay-us")], disable_missing=True, now=NOW)
    with db.read() as s:
        rows = {r.name: r for r in s.scalars(select(m.Schedule))}
    assert rows["import_orders:ebay-us"].next_run_at == NOW + T(seconds=120)
    assert rows["import_orders:ebay-us"].version == 1
    assert rows["push_stock:ebay-us"].enabled is False
    with pytest.raises(ValueError):
        ScheduleSpec("x", "y", 0)


def test_fire_due_enqueues_once_and_moves_next_run(db):
    setup(db)
    assert scheduler.fire_due(db, NOW - T(seconds=1)) == []
    (fired,) = scheduler.fire_due(db, NOW)
    assert (fired.scheduled_for, fired.next_run_at, fired.missed_runs, fired.enqueued) == (
        NOW, NOW + T(seconds=60), 0, True)
    assert scheduler.fire_due(db, NOW + T(seconds=30)) == []
    (kind, key, payload), = entries(db)
    assert kind == "import_orders" and key == f"orders:ebay-us:{NOW.isoformat()}"
    assert payload["channel"] == "ebay-us" and payload["missed_runs"] == 0
    row = schedule_row(db)
    assert (row.last_run_at, row.next_run_at, row.version) == (NOW, NOW + T(seconds=60), 1)


def test_an_idle_tick_asks_one_quick_question(db, monkeypatch):
    setup(db)
    # Given a schedule not due yet, when the engine ticks, then the schedules are not loaded at all
    monkeypatch.setattr(scheduler, "due", lambda *a, **k: pytest.fail("schedules loaded on an idle tick"))
    assert scheduler.fire_due(db, NOW - T(seconds=1)) == []
    # and once it is due, it fires as before
    monkeypatch.undo()
    assert [f.name for f in scheduler.fire_due(db, NOW)] == ["orders:ebay-us"]


def test_missed_runs_catch_up_with_one_run(db):
    setup(db)
    # Given no scheduler ran for 5.5 intervals
    late = NOW + T(seconds=330)
    (fired,) = scheduler.fire_due(db, late)
    # Then one run fires (not six), the grid phase is kept, and the lateness is logged
    assert fired.missed_runs == 5 and fired.next_run_at == NOW + T(seconds=360)
    assert scheduler.fire_due(db, late + T(seconds=1)) == []
    assert len(entries(db)) == 1
    with db.read() as s:
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-SYNC-004")).one()
        assert ev.entity == "orders:ebay-us" and ev.details["missed_runs"] == 5
    _finish_all(db)
    (nxt,) = scheduler.fire_due(db, NOW + T(seconds=360))
    assert nxt.missed_runs == 0 and len(entries(db)) == 2


def _finish_all(db) -> None:
    with db.write() as s:
        s.execute(update(m.OutboxEntry).values(status="done"))


def test_runs_of_one_schedule_never_overlap(db):
    # Given an order import run still waiting (for quota, say) when its schedule is due again
    setup(db)
    (first,) = scheduler.fire_due(db, NOW)
    assert first.enqueued
    # When the schedule comes round, twice: no second import of the same channel is queued (it would
    # read the same window again, on the same quota), though the schedule moves on
    (second,) = scheduler.fire_due(db, NOW + T(seconds=60))
    (third,) = scheduler.fire_due(db, NOW + T(seconds=120))
    assert (second.enqueued, third.enqueued) == (False, False)
    assert len(entries(db)) == 1 and schedule_row(db).next_run_at == NOW + T(seconds=180)
    # Then once it has run, the next slot queues the next run
    _finish_all(db)
    (fourth,) = scheduler.fire_due(db, NOW + T(seconds=180))
    assert fourth.enqueued and len(entries(db)) == 2


def test_a_late_run_is_logged_at_wall_clock_time_on_a_fast_platform_clock(db):
    """A sandbox's clock runs ahead of the wall (time scale K): the scheduler
    fires on platform time, but its sync event is stamped like every other one,
    with the wall clock, so `crossdock logs` has one time base (issue 19 §6)."""
    setup(db, next_run_at=dt.datetime.now(dt.timezone.utc))
    # Given the platforms' clock 30 minutes ahead of the wall (a demo at 30x for a minute)
    platform_now = dt.datetime.now(dt.timezone.utc) + T(minutes=30)
    before = dt.datetime.now(dt.timezone.utc)
    scheduler.fire_due(db, platform_now)
    after = dt.datetime.now(dt.timezone.utc)
    with db.read() as s:
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-SYNC-004")).one()
    at = ev.at if ev.at.tzinfo else ev.at.replace(tzinfo=dt.timezone.utc)
    assert before - T(seconds=1) <= at <= after + T(seconds=1)
    assert ev.details["fired_at_platform_time"] == platform_now.isoformat()


def test_two_schedulers_racing_in_threads_fire_once(db):
    setup(db)
    calls = []
    lock = threading.Lock()

    def counting(session, schedule, scheduled_for, missed):
        with lock:
            calls.append(threading.get_ident())
        return scheduler.enqueue_run(session, schedule, scheduled_for, missed)

    start = threading.Event()
    errors = []

    def run():
        try:
            start.wait(10)
            for _ in range(3):
                scheduler.fire_due(db, NOW, counting)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    assert not errors
    # compare-and-set: only one scheduler ever reached the enqueue step
    assert len(calls) == 1
    assert len(entries(db)) == 1 and schedule_row(db).version == 1


def test_two_schedulers_racing_in_processes_fire_once(db):
    setup(db)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=fire_schedulers, args=(db.url, 3, start)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(entries(db)) == 1 and schedule_row(db).version == 1


def test_stale_version_loses(db):
    setup(db)
    (seen,) = scheduler.due(db, NOW)
    scheduler.fire_due(db, NOW)                      # another scheduler won in between
    with db.write() as s:
        won = s.execute(m.Schedule.__table__.update()
                        .where(m.Schedule.name == seen.name, m.Schedule.version == seen.version)
                        .values(last_run_at=NOW)).rowcount
    assert won == 0


def test_next_slot_arithmetic():
    assert scheduler.next_slot(NOW, 60, NOW) == (NOW + T(seconds=60), 0)
    assert scheduler.next_slot(NOW, 60, NOW + T(seconds=59)) == (NOW + T(seconds=60), 0)
    assert scheduler.next_slot(NOW, 60, NOW + T(seconds=60)) == (NOW + T(seconds=120), 1)
    assert scheduler.next_slot(NOW, 60, NOW - T(seconds=5)) == (NOW, 0)


def test_disabled_schedule_never_fires(db):
    seed(db)
    with db.write() as s:
        scheduler.ensure_schedules(s, [ScheduleSpec("n", "job", 60, enabled=False)], now=NOW)
    assert scheduler.fire_due(db, NOW + T(hours=1)) == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.OutboxEntry)) == 0
