"""Work due at once is woken when its transaction commits, not at the next relay tick.

An event's read and the stock push its order causes each used to wait for the
scheduler's relay to find them (every ``[sync] tick_s``); in the engine's
process they now start as their transaction commits. The relay stays what
never loses one."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from crossdock.db.models import Order, OutboxEntry
from crossdock.sync_engine import dirty, outbox, wakeups
from tests.sync_engine.support import NOW

T = __import__("datetime").timedelta


@pytest.fixture
def sent():
    got: list[tuple[int, str]] = []

    def sender(entry_id, kind, due):
        got.append((entry_id, kind))
    wakeups.install(sender)
    yield got
    wakeups.uninstall(sender)


def _ids(db, key):
    with db.read() as s:
        return s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key))


def test_an_entry_due_at_once_is_woken_after_its_commit_and_only_then(db, sent):
    # Given a sender installed (a process running the engine)
    with db.write() as s:
        assert outbox.enqueue(s, "events.read", channel=None, idempotency_key="now", now=NOW)
        assert outbox.enqueue(s, "push_stock", channel=None, idempotency_key="later", now=NOW,
                              available_at=NOW + T(seconds=10))
        # When the transaction has not committed yet, Then nothing is sent: a worker would not find it
        assert sent == []
    # Then after the commit the entry due at once is woken, the one due later is left to the relay
    assert sent == [(_ids(db, "now"), "events.read")]
    # and a duplicate enqueue (nothing new) wakes nothing
    with db.write() as s:
        assert not outbox.enqueue(s, "events.read", channel=None, idempotency_key="now", now=NOW)
    assert len(sent) == 1


def test_a_rolled_back_transaction_wakes_nothing(db, sent):
    with pytest.raises(RuntimeError):
        with db.write() as s:
            outbox.enqueue(s, "events.read", channel=None, idempotency_key="gone", now=NOW)
            raise RuntimeError("the business write failed")
    with db.write() as s:
        outbox.enqueue(s, "x", channel=None, idempotency_key="later", now=NOW, available_at=NOW + T(seconds=5))
    assert sent == [] and _ids(db, "gone") is None


def test_without_a_sender_nothing_is_noted(db):
    assert not wakeups.installed()
    with db.write() as s:
        outbox.enqueue(s, "events.read", channel=None, idempotency_key="k", now=NOW)
        assert "crossdock.wakeups" not in s.info


@pytest.mark.slow
def test_in_the_worker_runtime_a_webhook_sale_is_read_and_pushed_without_a_relay_tick(tmp_path, monkeypatch):
    """The engine as `crossdock worker` runs it, its scheduler ticking once an hour: the webhook's read
    and the stock push that follows start from their commits alone."""
    from crossdock.db.models import SyncEvent
    from crossdock.sync_engine.runtime import EngineRuntime
    from tests.events.support import events_env

    env = next(gen := events_env(tmp_path, monkeypatch))
    try:
        shop = "shopify-eu"
        cfg = env.ctx.cfg
        cfg.channels[shop].intervals_s["orders"] = 3600
        cfg.sync["tick_s"] = 3600 * cfg.time_scale          # one tick at start, the next in an hour
        runtime = EngineRuntime(cfg, db=env.ctx.db, threads=2).start()
        try:
            deadline = time.monotonic() + 20       # the first tick's runs done: the shop's first poll
            while time.monotonic() < deadline and not env.count(
                    SyncEvent, SyncEvent.operation == "orders.import", SyncEvent.channel == shop):
                time.sleep(0.05)
            env.ctx.connectors.get(shop).setup_events(endpoint=f"{env.base}/hooks/shopify", secret="")
            with env.ctx.db.read() as s:
                before = s.scalar(select(OutboxEntry.id).order_by(OutboxEntry.id.desc()).limit(1)) or 0
            sim = env.sb.sims["shopify"]
            sku = sorted(k for k, q in sim.listed(env.channels[shop]).items() if q > 0)[0]
            oid = sim.place_order(env.channels[shop], [(sku, 1)], buyer_country="DE")
            stored = pushed = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (stored and pushed):
                with env.ctx.db.read() as s:
                    stored = s.scalar(select(Order.id).where(Order.platform_order_id == oid))
                    pushed = s.scalar(select(OutboxEntry.id).where(
                        OutboxEntry.kind == dirty.PUSH_STOCK, OutboxEntry.status == "done",
                        OutboxEntry.channel != shop, OutboxEntry.id > before))
                time.sleep(0.05)
            assert runtime.ticks == 1
            assert stored, "the webhook's read did not start without a relay tick"
            assert pushed, "the stock push did not start without a relay tick"
            assert env.count(SyncEvent, SyncEvent.operation == "events.read", SyncEvent.channel == shop) >= 1
        finally:
            runtime.stop()
        assert not wakeups.installed()
    finally:
        next(gen, None)
