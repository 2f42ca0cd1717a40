"""The engine with events: a Shopify sale reaches crossdock by webhook, is
read and stored long before the next poll, and the stock push to the other
channels follows — the engine running inline against the sandbox."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from crossdock.db.models import Order, OutboxEntry, SyncEvent
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import Engine
from tests.events.support import events_env

SHOP = "shopify-eu"


@pytest.fixture
def env(tmp_path, monkeypatch):
    yield from events_env(tmp_path, monkeypatch)


def test_a_shopify_sale_is_stored_by_its_webhook_and_pushed_before_the_next_poll(env):
    # Given the shop polled once an hour, its webhooks subscribed, and the first poll done
    env.ctx.cfg.channels[SHOP].intervals_s["orders"] = 3600
    engine = Engine(env.ctx)                     # no broker: due entries run inline
    engine.ensure_schedules()
    engine.tick()
    env.ctx.connectors.get(SHOP).setup_events(endpoint=f"{env.base}/hooks/shopify", secret="")
    polls = env.count(SyncEvent, SyncEvent.operation == "orders.import", SyncEvent.channel == SHOP)
    # When a buyer buys on the shop
    sim = env.sb.sims["shopify"]
    sku = sorted(s for s, q in sim.listed(env.channels[SHOP]).items() if q > 0)[0]
    started = time.monotonic()
    oid = sim.place_order(env.channels[SHOP], [(sku, 1)], buyer_country="DE")
    pushed = None
    while time.monotonic() - started < 10:
        engine.tick()
        with env.ctx.db.read() as s:
            stored = s.scalar(select(Order.id).where(Order.platform_order_id == oid))
            pushed = s.scalar(select(OutboxEntry.id).where(OutboxEntry.kind == dirty.PUSH_STOCK,
                                                           OutboxEntry.status == "done",
                                                           OutboxEntry.channel != SHOP))
        if stored and pushed:
            break
        time.sleep(0.05)
    # Then the order was stored by the events' read, not a poll, and another channel's push ran, in seconds
    assert stored and pushed, "the sale did not travel by its webhook"
    assert env.count(SyncEvent, SyncEvent.operation == "orders.import", SyncEvent.channel == SHOP) == polls
    assert env.count(SyncEvent, SyncEvent.operation == "events.read", SyncEvent.channel == SHOP) >= 1
