"""Waiting for quota on a real worker (Dramatiq's stub broker, the real
actor, the real engine against the sandbox): the worker thread is freed at
once, the outbox entry waits without using an attempt, however often, and
the relay wakes it when the quota is back."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select, update

from crossdock.db.base import utcnow
from crossdock.db.models import OutboxEntry
from crossdock.ratelimit import Priority
from crossdock.sync_engine import jobs, outbox
from tests.sync_engine.catalog_env import catalog_env

CHANNEL = "amazon-de"
KEY = "orders:amazon-de:quota-test"
WAITS = 5
#: real seconds for getOrders to refill one token here (one a minute, 60 times faster), with slack
REFILL_S = 1.2
#: runs the worker may win against the test's drain (see the loop) before the test gives up
RACES = 3


@pytest.fixture
def stub_worker():
    """The real ``process_outbox_entry`` on a stub broker with one worker thread."""
    from crossdock.sync_engine import actors

    previous = actors.process_outbox_entry.broker
    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    actors.bind(broker)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        yield broker, actors
    finally:
        worker.stop()
        actors.set_context(None)
        dramatiq.set_broker(previous)
        actors.bind(previous)


@contextlib.contextmanager
def _starved(budget, seller: str):
    """getOrders' bucket emptied now, and every token taken as soon as it refills until the block ends."""
    while budget.try_acquire("amazon", seller, "getOrders", priority=Priority.CRITICAL) == 0:
        pass
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            budget.try_acquire("amazon", seller, "getOrders", priority=Priority.CRITICAL)
            stop.wait(0.0002)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _entry(env) -> OutboxEntry:
    with env.db.read() as s:
        return s.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == KEY))


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def test_quota_waits_free_the_worker_and_use_no_attempt(sqlite_db, tmp_path, monkeypatch, stub_worker):
    broker, actors = stub_worker
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        actors.set_context(env.ctx)
        budget = env.ctx.connectors.budget
        seller = env.ctx.connectors.get(CHANNEL).settings.seller_id
        # not due yet: an entry due at once is woken as its transaction commits wherever a sender is
        # installed (wakeups), and the worker would run it before the quota is starved below
        with env.db.write() as s:
            outbox.enqueue(s, jobs.IMPORT_ORDERS, channel=CHANNEL, idempotency_key=KEY,
                           available_at=utcnow() + dt.timedelta(hours=1))
        entry_id = _entry(env).id

        waits = raced = 0
        while waits < WAITS:
            # Given getOrders' burst used up (one call a minute, 60 times faster here), and kept
            # used up while the worker runs: a slow machine must not let a token refill in between
            before = utcnow()
            with env.db.write() as s:
                s.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id)
                          .values(available_at=before, status="pending", done_at=None))
            with _starved(budget, seller):
                # When a wake-up runs the entry on the worker
                actors.process_outbox_entry.send(entry_id)
                broker.join(actors.QUEUE)
            entry = _entry(env)
            if entry.status == "done" and raced < RACES:
                # the drain lost a race the test sets up, not the engine: its quota decisions share the
                # database's write lock with the worker's, and SQLite's busy back-off can keep it asleep
                # while a token refills and the worker's one attempt takes it (the import then ran, as it
                # should with quota there). Not a wait: the entry is made pending again and tried again
                raced += 1
                continue
            waits += 1
            # Then the entry is handed back until the quota is there, with no attempt used …
            assert (entry.status, entry.attempts, entry.claimed_by) == ("pending", 0, None)
            # (as long as the budget's wait: at most one token at 0.0167/s x 60, about 1 s)
            wait_s = env.events("job.orders", channel=CHANNEL)[-1].details["retry_in_s"]
            delay_s = (_aware(entry.available_at) - before).total_seconds()
            # (due after the wait, not a retry back-off; 2 s of slack for a loaded machine, where the
            # worker thread may start a while after `before`)
            assert 0 < wait_s <= 1.2 and wait_s <= delay_s < wait_s + 2.0
            # … the message is done: Dramatiq neither retried, delayed nor dead-lettered it …
            assert broker.dead_letters == [] and broker.queues[actors.QUEUE].qsize() == 0
            assert broker.queues[f"{actors.QUEUE}.DQ"].qsize() == 0
            # … and the relay does not wake it before it is due
            woken: list[int] = []
            assert outbox.relay(env.db, lambda e: woken.append(e.id), now=before).sent == 0

        # Then every wait was logged with its code, none counted as a failure
        codes = [e.code for e in env.events("job.orders", channel=CHANNEL) if e.outcome != "ok"]
        assert codes == ["XD-QUOTA-003"] * WAITS

        # When the quota is back (the entry due, and a token refilled since the drain above took the
        # last one: the entry's due time was reckoned before the drain stopped)
        drained_until = utcnow()
        back = max(_aware(_entry(env).available_at), drained_until + dt.timedelta(seconds=REFILL_S))
        time.sleep(max(0.0, (back - utcnow()).total_seconds()) + 0.05)
        # the relay's wake-up runs the import through
        assert outbox.relay(env.db, lambda e: actors.process_outbox_entry.send(e.id)).sent == 1
        broker.join(actors.QUEUE)
        entry = _entry(env)
        assert (entry.status, entry.attempts) == ("done", 0)
