"""Heartbeats, dead workers and the relay lease (sync_engine/liveness.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crossdock.db.models import Channel, OutboxEntry, SyncEvent
from crossdock.sync_engine import dirty, liveness, outbox

T0 = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)   # after every entry enqueued here


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_one_lease_holder_at_a_time_and_takeover_after_expiry(db):
    # Given two workers asking for the relay lease at the same moment
    with db.write() as s:
        first = liveness.hold_lease(s, "relay", "host-a:1", ttl_s=10, now=at(0))
    with db.write() as s:
        second = liveness.hold_lease(s, "relay", "host-b:2", ttl_s=10, now=at(1))
    # Then only the first holds it, and may renew it
    assert (first, second) == (True, False)
    with db.write() as s:
        assert liveness.hold_lease(s, "relay", "host-a:1", ttl_s=10, now=at(9))
    # When the holder stops renewing, the other takes it over once it expired, not before
    with db.write() as s:
        assert not liveness.hold_lease(s, "relay", "host-b:2", ttl_s=10, now=at(18))
    with db.write() as s:
        assert liveness.hold_lease(s, "relay", "host-b:2", ttl_s=10, now=at(19.5))
    with db.read() as s:
        assert liveness.lease_holder(s, "relay", now=at(20)) == "host-b:2"
    # And a holder that drops it frees it at once
    with db.write() as s:
        liveness.drop_lease(s, "relay", "host-b:2")
        assert liveness.hold_lease(s, "relay", "host-a:1", ttl_s=10, now=at(21))


def _claimed_entry(db, worker_thread_id: str, now: dt.datetime) -> int:
    with db.write() as s:
        outbox.enqueue(s, "push_stock", channel="shop", entity="x", payload={}, idempotency_key=f"k-{worker_thread_id}")
    [entry] = outbox.claim(db, worker_id=worker_thread_id, lease_s=300, now=now)
    return entry.id


def test_a_silent_worker_is_declared_dead_and_its_claims_handed_back_at_once(db):
    # Given a worker process host-a:41 whose thread holds an outbox entry and a dirty SKU (lease 300 s)
    with db.write() as s:
        s.add(Channel(name="shop", platform="shopify", account="a", currency="EUR"))
        liveness.register(s, "host-a:41", info={"threads": 2}, now=at(0))
        liveness.register(s, "host-b:7", info={"threads": 2}, now=at(0))
    entry_id = _claimed_entry(db, "host-a:41:140001", at(1))
    with db.write() as s:
        s.execute(dirty.DIRTY.insert().values(channel="shop", sku="SKU-1", version=1, zero=False, dirty_since=at(1),
                                              marked_at=at(1), claimed_by="host-a:41:140001",
                                              claimed_until=at(301)))
    # and a claim of another process whose id shares the prefix (host-a:411) that must not be touched
    other_id = _claimed_entry(db, "host-a:411:9", at(1))
    # When host-b keeps beating and host-a falls silent for longer than dead_after_s
    with db.write() as s:
        assert liveness.heartbeat(s, "host-b:7", now=at(40))
        dead = liveness.reap_dead(s, dead_after_s=30, now=at(40))
    # Then host-a is dead, its entry is pending again without an attempt used, its SKU is free
    assert dead == ["host-a:41"]
    with db.read() as s:
        rows = {r.id: r for r in s.scalars(select(OutboxEntry))}
        sku_claim = s.execute(select(dirty.DIRTY.c.claimed_by)).scalar()
        events = s.scalars(select(SyncEvent).where(SyncEvent.operation == "worker.dead")).all()
        states = {w.id: w for w in liveness.workers(s)}
    assert (rows[entry_id].status, rows[entry_id].attempts, rows[entry_id].claimed_by) == ("pending", 0, None)
    assert rows[other_id].status == "running" and rows[other_id].claimed_by == "host-a:411:9"
    assert sku_claim is None
    assert [(e.code, e.entity) for e in events] == [("XD-SYNC-007", "host-a:41")]
    assert states["host-a:41"].status == "dead" and not states["host-a:41"].alive(at(40), 30)
    assert states["host-b:7"].alive(at(40), 30)
    # And when the stalled worker comes back, its heartbeat tells it so (it must register again)
    with db.write() as s:
        assert liveness.heartbeat(s, "host-a:41", now=at(41)) is False


def test_a_stopping_worker_hands_back_what_it_holds(db):
    with db.write() as s:
        liveness.register(s, "host-c:5", info={}, now=at(0))
    entry_id = _claimed_entry(db, "host-c:5:77", at(1))
    with db.write() as s:
        assert liveness.release_claims(s, "host-c:5", reason="worker host-c:5 stopped", now=at(2)) == 1
        liveness.stopped(s, "host-c:5", now=at(2))
    with db.read() as s:
        row = s.get(OutboxEntry, entry_id)
        [state] = liveness.workers(s)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "worker host-c:5 stopped")
    assert state.status == "stopped" and not state.alive(at(3))


def test_a_running_worker_hands_back_a_killed_workers_work_within_seconds(tmp_path):
    """The deployed path: no housekeeping run is due (it ran when the worker
    started, its interval is 60 s), yet a worker killed without a word — its
    outbox entry leased for 300 s, a SKU claimed — is declared dead and its
    work handed back within ``worker_dead_after_s`` + ``heartbeat_s``."""
    import time

    from crossdock import config as config_mod
    from crossdock.sync_engine.runtime import EngineRuntime

    url = f"sqlite:///{tmp_path / 'crossdock.sqlite'}"
    (tmp_path / "crossdock.toml").write_text(
        f'[database]\nurl = "{url}"\n\n[broker]\nurl = "stub://"\n\n'
        "[sync]\nheartbeat_s = 0.2\nworker_dead_after_s = 1\nhousekeeping_s = 60\n", encoding="utf-8")
    cfg = config_mod.load(tmp_path / "crossdock.toml", env={})
    runtime = EngineRuntime(cfg, threads=1).start()
    try:
        db = runtime.database
        # Given a worker that registered, claimed an entry and a SKU, and was killed (SIGKILL: no stop, no beat)
        with db.write() as s:
            now = dt.datetime.now(dt.timezone.utc)
            s.add(Channel(name="shop", platform="shopify", account="a", currency="EUR"))
            liveness.register(s, "killed-host:99", info={})
            entry = OutboxEntry(kind="push_stock", channel="shop", entity="x", payload={}, idempotency_key="k-killed",
                                status="running", claimed_by="killed-host:99:1",
                                claimed_until=now + dt.timedelta(seconds=300), available_at=now)
            s.add(entry)
            s.flush()
            entry_id = entry.id
            s.execute(dirty.DIRTY.insert().values(channel="shop", sku="SKU-1", version=1, zero=False,
                                                  dirty_since=now, marked_at=now, claimed_by="killed-host:99:1",
                                                  claimed_until=now + dt.timedelta(seconds=300)))
        started = time.monotonic()

        # When the running worker goes on beating
        def reaped() -> bool:
            with db.read() as s:
                return any(w.id == "killed-host:99" and w.status == liveness.DEAD for w in liveness.workers(s))

        while not reaped() and time.monotonic() - started < 15:
            time.sleep(0.1)
        took_s = time.monotonic() - started

        # Then within seconds the killed worker is dead and its entry and SKU are free for others
        assert reaped(), "the killed worker was not declared dead within 15 s"
        assert took_s < 5
        with db.read() as s:
            entry = s.get(OutboxEntry, entry_id)
            sku_claim = s.execute(select(dirty.DIRTY.c.claimed_by)).scalar()
            [event] = s.scalars(select(SyncEvent).where(SyncEvent.operation == "worker.dead")).all()
        assert entry.claimed_by != "killed-host:99:1" and sku_claim is None
        assert (event.entity, event.details) == ("killed-host:99", {"released_jobs": 1, "released_skus": 1})
    finally:
        runtime.stop()


def test_a_living_workers_running_job_keeps_its_lease_past_a_slow_platform_answer(db):
    # Given a worker whose thread runs a job claimed with a 20 s lease (a confirmation, say), waiting
    # on a platform that answers 30 s late
    with db.write() as s:
        s.add(Channel(name="shop", platform="shopify", account="a", currency="EUR"))
        liveness.register(s, "host-a:41", info={"threads": 2}, now=at(0))
    with db.write() as s:
        outbox.enqueue(s, "confirm_shipment", channel="shop", entity="o-1", payload={}, idempotency_key="k-slow")
    [entry] = outbox.claim(db, worker_id="host-a:41:140001", lease_s=20, now=at(1))
    # When its process keeps beating meanwhile (every 5 s)
    for t in range(5, 35, 5):
        with db.write() as s:
            assert liveness.heartbeat(s, "host-a:41", now=at(t))
            liveness.renew_claims(s, "host-a:41", lease_s=20, now=at(t))
    # Then another worker finds nothing to take over 30 s later (it would confirm the order twice)
    assert outbox.claim(db, worker_id="host-b:7:1", lease_s=20, now=at(31)) == []
    # and the job still holds its claim when the answer comes
    assert outbox.fence(db, entry, lease_s=20, now=at(31))
    # But once the process stops beating (SIGSTOP, a dead host), the lease runs out and the job moves on
    [taken] = outbox.claim(db, worker_id="host-b:7:1", lease_s=20, now=at(31 + 21))
    assert taken.id == entry.id
