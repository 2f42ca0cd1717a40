from __future__ import annotations

import datetime as dt
import threading

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select, update

from crossdock.db import models as m
from crossdock.sync_engine import outbox
from tests.sync_engine.support import NOW, seed

T = dt.timedelta


def add(db, key: str, *, kind: str = "push_stock", channel: str | None = "ebay-us", priority: int = 5,
        available_at: dt.datetime | None = None) -> bool:
    with db.write() as s:
        return outbox.enqueue(s, kind, channel=channel, entity=f"e-{key}", payload={"key": key},
                              idempotency_key=key, priority=priority, available_at=available_at, now=NOW)


def status_of(db, key: str) -> tuple[str, int]:
    with db.read() as s:
        row = s.execute(select(m.OutboxEntry.status, m.OutboxEntry.attempts)
                        .where(m.OutboxEntry.idempotency_key == key)).one()
    return row.status, row.attempts


def test_enqueue_is_idempotent_on_the_key(db):
    seed(db)
    assert add(db, "push_stock:ebay-us:w1") is True
    assert add(db, "push_stock:ebay-us:w1") is False
    with db.write() as s:   # also within one transaction
        assert outbox.enqueue(s, "x", channel=None, idempotency_key="k2", now=NOW) is True
        assert outbox.enqueue(s, "x", channel=None, idempotency_key="k2", now=NOW) is False
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.OutboxEntry)) == 2


def test_enqueue_rolls_back_with_the_business_write(db):
    seed(db)
    with pytest.raises(RuntimeError):
        with db.write() as s:
            outbox.enqueue(s, "confirm_shipment", channel="ebay-us", idempotency_key="ship:1", now=NOW)
            raise RuntimeError("business write failed")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.OutboxEntry)) == 0


def test_claim_takes_due_entries_by_priority_and_filters(db):
    seed(db)
    add(db, "later", available_at=NOW + T(seconds=60))
    add(db, "normal")
    add(db, "urgent", priority=0)
    add(db, "other-kind", kind="import_orders")
    add(db, "other-channel", channel="amazon-de")

    got = outbox.claim(db, worker_id="w1", kinds=["push_stock"], channel="ebay-us", limit=10, now=NOW)

    assert [e.idempotency_key for e in got] == ["urgent", "normal"]
    assert all(e.claimed_by == "w1" and e.claimed_until == NOW + T(seconds=outbox.DEFAULT_LEASE_S) for e in got)
    assert status_of(db, "later") == ("pending", 0)
    assert [e.idempotency_key for e in outbox.claim(db, worker_id="w2", limit=10, now=NOW)] == [
        "other-kind", "other-channel"]                                       # same priority: oldest first
    assert outbox.claim(db, worker_id="w3", limit=10, now=NOW) == []


def test_concurrent_claimers_never_share_an_entry(db):
    seed(db)
    with db.write() as s:
        for i in range(40):
            outbox.enqueue(s, "push_stock", channel="ebay-us", idempotency_key=f"k{i}", now=NOW)
    claimed: dict[str, list[int]] = {}
    start = threading.Event()
    errors = []

    def work(name):
        try:
            start.wait(10)
            mine = claimed.setdefault(name, [])
            while batch := outbox.claim(db, worker_id=name, limit=3, now=NOW):
                mine.extend(e.id for e in batch)
                for e in batch:
                    assert outbox.complete(db, e.id, name, now=NOW)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    assert not errors
    ids = [i for mine in claimed.values() for i in mine]
    assert len(ids) == 40 and len(set(ids)) == 40
    with db.read() as s:
        assert set(s.scalars(select(m.OutboxEntry.status))) == {"done"}


def test_entry_of_a_killed_worker_is_reclaimed_after_its_lease(db):
    seed(db)
    add(db, "job")
    # Given worker A claimed the entry and then died without completing it
    (a_entry,) = outbox.claim(db, worker_id="A", lease_s=30, now=NOW)
    # When B looks before the lease ran out, nothing is available
    assert outbox.claim(db, worker_id="B", lease_s=30, now=NOW + T(seconds=29)) == []
    # Then after the lease B gets it, with the lost attempt counted
    (b_entry,) = outbox.claim(db, worker_id="B", lease_s=30, now=NOW + T(seconds=31))
    assert b_entry.id == a_entry.id and b_entry.attempts == 1
    # A (back from a long pause) can no longer report on the entry
    assert outbox.complete(db, a_entry.id, "A", now=NOW + T(seconds=32)) is False
    assert outbox.fail(db, a_entry.id, "A", "XD-NET-001", "late", retry_at=NOW, now=NOW) is None
    assert outbox.complete(db, b_entry.id, "B", now=NOW + T(seconds=33)) is True
    assert status_of(db, "job") == ("done", 1)


def test_fence_lets_only_the_current_holder_act_and_renews_its_lease(db):
    seed(db)
    add(db, "job")
    # Given A claimed the entry and stalled past its lease, and B took it over
    (a_entry,) = outbox.claim(db, worker_id="A", lease_s=30, now=NOW)
    (b_entry,) = outbox.claim(db, worker_id="B", lease_s=30, now=NOW + T(seconds=31))
    # Then A, back, may send nothing; B may, and its lease is renewed from the fence's time
    assert outbox.fence(db, a_entry, lease_s=30, now=NOW + T(seconds=40)) is False
    assert outbox.fence(db, b_entry, lease_s=30, now=NOW + T(seconds=40)) is True
    assert outbox.claim(db, worker_id="C", lease_s=30, now=NOW + T(seconds=65)) == []
    # And a lease that ran out with nobody taking the entry over is still the holder's (renewed
    # atomically: whoever reclaims after that finds it held)
    assert outbox.fence(db, b_entry, lease_s=30, now=NOW + T(seconds=100)) is True
    assert outbox.claim(db, worker_id="C", lease_s=30, now=NOW + T(seconds=110)) == []
    # And once the entry went back to pending (its worker declared dead), nobody's old claim acts
    with db.write() as s:
        s.execute(m.OutboxEntry.__table__.update().values(status="pending", claimed_by=None, claimed_until=None))
    assert outbox.fence(db, b_entry, lease_s=30, now=NOW + T(seconds=111)) is False


def test_an_entry_whose_workers_keep_dying_ends_in_the_failed_list(db):
    seed(db)
    add(db, "poison")
    at = NOW
    for _ in range(3):
        assert outbox.claim(db, worker_id="w", lease_s=10, max_attempts=3, now=at)
        at += T(seconds=11)
    assert outbox.reclaim_expired(db, max_attempts=3, now=at) == 1
    assert status_of(db, "poison") == ("failed", 3)
    with db.read() as s:
        assert [j.idempotency_key for j in outbox.failed_jobs(s)] == ["poison"]
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-SYNC-001")).one()
        assert ev.outcome == "failed" and ev.entity_type == "job"


def test_fail_retry_then_failed_list_and_replay(db):
    seed(db)
    add(db, "push")
    at = NOW
    for attempt in (1, 2):
        (e,) = outbox.claim(db, worker_id="w", now=at)
        status = outbox.fail(db, e.id, "w", "XD-NET-002", "timeout", retry_at=at + T(seconds=30),
                             max_attempts=3, now=at)
        assert status == "pending" and status_of(db, "push") == ("pending", attempt)
        assert outbox.claim(db, worker_id="w", now=at + T(seconds=29)) == []    # not before retry_at
        at += T(seconds=30)
    (e,) = outbox.claim(db, worker_id="w", now=at)
    assert outbox.fail(db, e.id, "w", "XD-NET-002", "timeout", retry_at=at, max_attempts=3, now=at) == "failed"

    with db.read() as s:
        (job,) = outbox.failed_jobs(s)
        assert (job.last_code, job.last_error, job.attempts) == ("XD-NET-002", "timeout", 3)
        outcomes = s.scalars(select(m.SyncEvent.outcome).order_by(m.SyncEvent.id)).all()
        assert outcomes == ["retry", "retry", "failed"]
        assert s.scalars(select(m.SyncEvent.code).order_by(m.SyncEvent.id.desc())).first() == "XD-SYNC-001"

    assert outbox.retry(db, [job.id], now=at) == [job.id]
    assert outbox.retry(db, [job.id], now=at) == []          # no longer failed
    assert status_of(db, "push") == ("pending", 0)
    (again,) = outbox.claim(db, worker_id="w", now=at)
    assert outbox.complete(db, again.id, "w", now=at)


def test_permanent_failure_goes_straight_to_failed_and_retry_all(db):
    seed(db)
    add(db, "a")
    add(db, "b", channel="amazon-de")
    for e in outbox.claim(db, worker_id="w", limit=5, now=NOW):
        outbox.fail(db, e.id, "w", "XD-MAP-001", "missing attribute", retry_at=None, now=NOW)
    assert status_of(db, "a") == ("failed", 1)
    assert len(outbox.retry(db, "all", channel="ebay-us", now=NOW)) == 1
    assert len(outbox.retry(db, "all", now=NOW)) == 1
    assert {status_of(db, k)[0] for k in "ab"} == {"pending"}


def test_release_gives_back_without_using_an_attempt(db):
    seed(db)
    add(db, "quota")
    (e,) = outbox.claim(db, worker_id="w", now=NOW)
    assert outbox.release(db, e.id, "w", available_at=NOW + T(seconds=5), now=NOW)
    assert status_of(db, "quota") == ("pending", 0)
    assert outbox.claim(db, worker_id="w", now=NOW) == []
    assert len(outbox.claim(db, worker_id="w", now=NOW + T(seconds=5))) == 1


def test_backlog_reports_count_and_oldest_age(db):
    seed(db)
    add(db, "a", available_at=NOW - T(seconds=100))
    add(db, "b", available_at=NOW - T(seconds=10))
    add(db, "c", kind="import_orders", channel="amazon-de", available_at=NOW)
    with db.read() as s:
        rows = outbox.backlog(s, now=NOW)
    assert [(r.channel, r.kind, r.status, r.count, r.oldest_age_s) for r in rows] == [
        ("amazon-de", "import_orders", "pending", 1, 0.0), ("ebay-us", "push_stock", "pending", 2, 100.0)]


# ------------------------------------------------------------------ relay and lost wake-ups
def test_relay_sends_due_entries_and_a_broker_failure_loses_nothing(db):
    seed(db)
    add(db, "a")
    add(db, "b", priority=0)
    add(db, "future", available_at=NOW + T(minutes=5))

    def down(_entry):
        raise ConnectionError("redis refused the connection")

    result = outbox.relay(db, down, now=NOW)
    assert (result.due, result.sent) == (2, 0) and "XD-SYNC-006" in result.error
    assert status_of(db, "a") == ("pending", 0)

    sent: list[str] = []
    tracker = outbox.WakeupTracker(resend_after_s=60)
    assert outbox.relay(db, lambda e: sent.append(e.idempotency_key), tracker=tracker, now=NOW).sent == 2
    assert sent == ["b", "a"]
    # the next tick does not resend; after resend_after_s it does (the first wake-up may be lost)
    assert outbox.relay(db, lambda e: sent.append(e.idempotency_key), tracker=tracker,
                        now=NOW + T(seconds=1)).sent == 0
    assert outbox.relay(db, lambda e: sent.append(e.idempotency_key), tracker=tracker,
                        now=NOW + T(seconds=61)).sent == 2


def test_a_relay_tick_with_every_entry_woken_loads_no_entry(db, monkeypatch):
    seed(db)
    add(db, "a")
    add(db, "b")
    tracker = outbox.WakeupTracker(resend_after_s=60)
    assert outbox.relay(db, lambda e: None, tracker=tracker, now=NOW).sent == 2
    # Given both woken, when the next ticks come, then no entry is loaded and none is sent again
    monkeypatch.setattr(db, "read", lambda: pytest.fail("entries loaded though every one was woken"))
    result = outbox.relay(db, lambda e: pytest.fail("sent again"), tracker=tracker, now=NOW + T(seconds=1))
    assert (result.due, result.sent) == (2, 0)
    # an entry no longer pending is forgotten by the tracker, exactly as the full relay forgets it
    with db.write() as s:
        s.execute(update(m.OutboxEntry).where(m.OutboxEntry.idempotency_key == "a").values(status="done"))
    assert outbox.relay(db, lambda e: None, tracker=tracker, now=NOW + T(seconds=2)).due == 1
    assert len(tracker._sent) == 1
    monkeypatch.undo()
    # and after resend_after_s the remaining one is woken again
    sent: list[str] = []
    assert outbox.relay(db, lambda e: sent.append(e.idempotency_key), tracker=tracker,
                        now=NOW + T(seconds=61)).sent == 1 and sent == ["b"]


def test_lost_wakeup_is_still_processed_from_the_table(db):
    seed(db)
    add(db, "never-announced")
    # no relay ran (the process crashed right after commit): a worker's poll claims it anyway
    (e,) = outbox.claim(db, worker_id="poller", now=NOW)
    assert e.idempotency_key == "never-announced"
    assert outbox.complete(db, e.id, "poller", now=NOW)


def test_lost_broker_message_is_recovered_by_the_outbox(db):
    """End to end on Dramatiq's stub broker: the wake-up message is lost in
    the broker, the work is not."""
    seed(db)
    broker = StubBroker()
    broker.emit_after("process_boot")
    processed: list[str] = []

    def work(entry_id: int) -> None:
        for e in outbox.claim(db, worker_id="dramatiq", ids=[entry_id], now=NOW + T(seconds=61)):
            processed.append(e.idempotency_key)
            outbox.complete(db, e.id, "dramatiq", now=NOW + T(seconds=61))

    actor = dramatiq.actor(work, broker=broker, actor_name="xd_test_outbox_work", max_retries=0)

    add(db, "confirm:113-1", kind="confirm_shipment")
    tracker = outbox.WakeupTracker(resend_after_s=60)
    assert outbox.relay(db, lambda e: actor.send(e.id), tracker=tracker, now=NOW).sent == 1
    broker.flush_all()                                # Given the message vanished (Redis restart)
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join(actor.queue_name)
        worker.join()
        assert processed == [] and status_of(db, "confirm:113-1") == ("pending", 0)
        # When the relay's next pass resends the wake-up
        assert outbox.relay(db, lambda e: actor.send(e.id), tracker=tracker, now=NOW + T(seconds=61)).sent == 1
        broker.join(actor.queue_name)
        worker.join()
        # And a duplicate wake-up does nothing more
        actor.send(1)
        broker.join(actor.queue_name)
        worker.join()
    finally:
        worker.stop()
    # Then the work ran exactly once
    assert processed == ["confirm:113-1"]
    assert status_of(db, "confirm:113-1") == ("done", 0)
