"""Stock pushes have worker threads of their own, one per channel: a push
never waits for a busy worker thread of the other jobs (an order import, a
prices run, an alerts round) nor for another channel's push."""

from __future__ import annotations

import threading
import time

import dramatiq
import pytest

from crossdock.db.base import utcnow
from crossdock.sync_engine import dirty
from crossdock.sync_engine import shown as shows
from crossdock.sync_engine.jobs.stock import expected_quantities
from crossdock.sync_engine.runtime import EngineRuntime
from tests.sync_engine.catalog_env import catalog_env


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_push_runs_while_every_thread_of_the_other_jobs_is_busy(db, tmp_path, monkeypatch):
    from crossdock.sync_engine import actors

    previous = actors.process_outbox_entry.broker
    with catalog_env(tmp_path, monkeypatch, db) as env:
        env.ctx.cfg.sync["oversell_guard"] = False
        runtime = EngineRuntime(env.cfg, db=db, threads=1).start()
        release = threading.Event()
        try:
            # Given the other jobs' only worker thread is busy with a long job
            @dramatiq.actor(queue_name=actors.QUEUE, broker=runtime.broker, actor_name="test_long_job")
            def long_job() -> None:
                release.wait(30)

            long_job.send()
            time.sleep(0.3)
            # When eBay shows 99 units of XD-0002 and the SKU is handed to the stock push
            env.sim("ebay-uk").set_listing(env.sb_channels["ebay-uk"], "XD-0002", 99, env.price("ebay-uk", "XD-0002"))
            with db.write() as s:
                read_at = utcnow()
                shows.adopt_listed(s, "ebay-uk", {"XD-0002": 99}, read_from=read_at, read_until=read_at)
                dirty.mark_dirty(s, ["XD-0002"])
            want = expected_quantities(runtime.ctx, "ebay-uk", ["XD-0002"])["XD-0002"]

            # Then the push reaches eBay while that thread is still busy
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and env.listed("ebay-uk")["XD-0002"] != want:
                time.sleep(0.05)
            assert env.listed("ebay-uk")["XD-0002"] == want
            assert not release.is_set()
        finally:
            release.set()
            runtime.stop()
            dramatiq.set_broker(previous)
            actors.bind(previous)


def test_an_event_read_runs_while_every_thread_of_the_other_jobs_is_busy(tmp_path, monkeypatch):
    """An event's read has the fast lane: a webhook's sale is read and stored while the common queue's
    only thread is busy (an order import, a label, a tracking round), also in a worker told to consume
    the jobs' queue only."""
    from sqlalchemy import select

    from crossdock.db.models import Order
    from crossdock.events import accept
    from crossdock.sync_engine import actors
    from tests.events.support import events_env

    previous = actors.process_outbox_entry.broker
    gen = events_env(tmp_path, monkeypatch)
    env = next(gen)
    runtime = EngineRuntime(env.ctx.cfg, db=env.ctx.db, threads=1, queues={actors.QUEUE}).start()
    release = threading.Event()
    try:
        # Given the jobs' only worker thread is busy with a long job
        @dramatiq.actor(queue_name=actors.QUEUE, broker=runtime.broker, actor_name="test_long_event_job")
        def long_job() -> None:
            release.wait(30)

        long_job.send()
        time.sleep(0.3)
        # When a sale on the shop is announced by its webhook
        shop = "shopify-eu"
        sim = env.sb.sims["shopify"]
        sku = sorted(k for k, q in sim.listed(env.channels[shop]).items() if q > 0)[0]
        oid = sim.place_order(env.channels[shop], [(sku, 1)], buyer_country="DE")
        accept(env.ctx.db, channel=shop, source="shopify", topic="orders/create", delivery_id="d-1", order_ids=[oid])
        # Then the order is read and stored while that thread is still busy
        stored = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not stored:
            with env.ctx.db.read() as s:
                stored = s.scalar(select(Order.id).where(Order.platform_order_id == oid))
            time.sleep(0.05)
        assert stored, "the event's read waited for the busy thread"
        assert not release.is_set()
    finally:
        release.set()
        runtime.stop()
        dramatiq.set_broker(previous)
        actors.bind(previous)
        next(gen, None)
