"""The events core: an accepted event makes crossdock read the orders it
names, through the polling path, against the real sandbox and database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crossdock.db.models import ChannelListing, Order, OutboxEntry, SyncEvent
from crossdock.demo import DemoOptions
from crossdock.events import READ, accept, refuse
from crossdock.events.tables import EventDelivery, EventRead
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import claim_and_process
from tests.sync_engine.support import demo_env

SHOP = "shopify-eu"


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path, monkeypatch):
    opts = DemoOptions(skus=4, time_scale=60, seed=7, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        if request.param == "postgres":
            cfg, db, channels = _pg_demo_env(request, tmp_path, sb, opts)
        else:
            cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        ctx = context_from_config(cfg, db)
        try:
            yield sb, ctx, channels
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def _pg_demo_env(request, tmp_path, sb, opts):
    """demo_env on the test PostgreSQL database (emptied first)."""
    from crossdock import config as config_mod
    from crossdock.db.engine import Database
    from crossdock.demo import _sandbox_channels, _seed, _write_config
    from tests.conftest import _truncate_all

    url = request.getfixturevalue("pg_database").url
    path = _write_config(tmp_path, sb.describe(), opts, {})
    path.write_text(path.read_text().replace('url = "sqlite:///crossdock.sqlite"', f'url = "{url}"', 1))
    cfg = config_mod.load(path, env={})
    db = Database(cfg.database_url)
    _truncate_all(db)
    channels = _sandbox_channels(sb.describe())
    _seed(db, sb, cfg, opts, channels)
    return cfg, db, channels


def _sell(sb, channels, qty=1) -> tuple[str, str]:
    sim = sb.sims["shopify"]
    sku = sorted(s for s, q in sim.listed(channels[SHOP]).items() if q >= qty)[0]
    oid = sim.place_order(channels[SHOP], [(sku, qty)], buyer_country="DE")
    assert oid
    return oid, sku


def _count(db, model, *where) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def test_an_event_reads_its_order_through_the_polling_path_and_the_stock_push_follows(env):
    sb, ctx, channels = env
    # Given a sale on the Shopify shop that no poll has seen
    oid, sku = _sell(sb, channels)
    assert _count(ctx.db, Order, Order.platform_order_id == oid) == 0
    # When an event names it and the read job runs
    got = accept(ctx.db, channel=SHOP, source="shopify", topic="orders/create", delivery_id="w-1", order_ids=[oid])
    assert (got.outcome, got.enqueued) == ("accepted", True)
    assert claim_and_process(ctx, kinds=[READ], limit=5) == ["done"]
    # Then the order is stored as a poll stores it, and the other channels' listings of its SKU are dirty
    with ctx.db.read() as s:
        stored = s.execute(select(Order.channel).where(Order.platform_order_id == oid)).one()
        others = set(s.scalars(select(ChannelListing.channel).where(ChannelListing.sku == sku,
                                                                     ChannelListing.channel != SHOP)))
        marked = set(s.scalars(select(dirty.DIRTY.c.channel).where(dirty.DIRTY.c.sku == sku)))
        pushes = set(s.scalars(select(OutboxEntry.channel).where(OutboxEntry.kind == dirty.PUSH_STOCK)))
    assert stored.channel == SHOP
    assert others and others <= marked
    assert others <= pushes
    assert _count(ctx.db, EventRead) == 0


def test_duplicates_and_many_events_share_one_read_and_a_forged_id_changes_nothing(env):
    sb, ctx, channels = env
    oid, _ = _sell(sb, channels)
    # Given three deliveries for the order (one of them delivered twice) and one naming a made-up order
    outcomes = [accept(ctx.db, channel=SHOP, source="shopify", topic=t, delivery_id=d, order_ids=ids).outcome
                for t, d, ids in (("orders/paid", "w-2", [oid]), ("orders/create", "w-1", [oid]),
                                  ("orders/create", "w-1", [oid]), ("orders/updated", "w-3", ["999999999"]))]
    refuse(ctx.db, source="shopify", code="XD-EVT-001", channel=SHOP, ref="w-4", detail="bad signature")
    # Then the second w-1 is a duplicate, and one read job is pending for the channel
    assert outcomes == ["accepted", "accepted", "duplicate", "accepted"]
    assert _count(ctx.db, OutboxEntry, OutboxEntry.kind == READ, OutboxEntry.status == "pending") == 1
    assert _count(ctx.db, EventRead) == 2
    with ctx.db.read() as s:
        rows = dict(s.execute(select(EventDelivery.outcome, func.count()).group_by(EventDelivery.outcome)).all())
    assert rows == {"accepted": 3, "duplicate": 1, "refused": 1}
    # When the read runs once
    assert claim_and_process(ctx, kinds=[READ], limit=5) == ["done"]
    # Then the real order is stored once, the made-up one is not, and it is logged with its code
    assert _count(ctx.db, Order, Order.channel == SHOP) == 1
    assert _count(ctx.db, Order, Order.platform_order_id == "999999999") == 0
    assert _count(ctx.db, SyncEvent, SyncEvent.code == "XD-EVT-010", SyncEvent.entity == "999999999") == 1
    assert _count(ctx.db, EventRead) == 0
    assert _count(ctx.db, OutboxEntry, OutboxEntry.kind == READ, OutboxEntry.status == "pending") == 0


def test_an_event_arriving_while_the_read_runs_gets_a_read_of_its_own(env):
    sb, ctx, channels = env
    first, _ = _sell(sb, channels)
    accept(ctx.db, channel=SHOP, source="shopify", topic="orders/create", delivery_id="w-1", order_ids=[first])
    # Given the read job claimed by a worker (running), and a second sale's event arriving meanwhile
    from crossdock.sync_engine import outbox

    (entry,) = outbox.claim(ctx.db, worker_id="w", kinds=[READ])
    second, _ = _sell(sb, channels)
    got = accept(ctx.db, channel=SHOP, source="shopify", topic="orders/create", delivery_id="w-2",
                 order_ids=[second])
    # Then a new read job is queued for it (the running one may have read its list already)
    assert got.enqueued
    outbox.release(ctx.db, entry.id, "w", available_at=entry.available_at)
    while claim_and_process(ctx, kinds=[READ], limit=5):
        pass
    assert _count(ctx.db, Order, Order.platform_order_id.in_([first, second])) == 2


def test_an_events_read_of_several_orders_is_one_request_to_the_shop(env):
    sb, ctx, channels = env
    # Given three sales no poll has seen, each named by its own event, and an id the shop never had
    sold = [_sell(sb, channels)[0] for _ in range(3)]
    for i, oid in enumerate([*sold, "999999998"]):
        accept(ctx.db, channel=SHOP, source="shopify", topic="orders/create", delivery_id=f"w-{i}", order_ids=[oid])
    seq = max((e["seq"] for e in sb.requests.since(0, limit=100000)), default=0)
    # When the read runs
    assert claim_and_process(ctx, kinds=[READ], limit=5) == ["done"]
    # Then the shop was asked once for all four, and the three orders are stored, the unknown one logged
    asked = sb.requests.since(seq, platform="shopify", operation="graphql", limit=1000)
    assert len(asked) == 1, asked
    assert _count(ctx.db, Order, Order.platform_order_id.in_(sold)) == 3
    assert _count(ctx.db, SyncEvent, SyncEvent.code == "XD-EVT-010", SyncEvent.entity == "999999998") == 1


def test_an_events_read_never_asks_for_more_than_one_request_may_cost(env):
    import dataclasses

    sb, ctx, channels = env
    conn = ctx.connectors.get(SHOP)
    # Given a shop read with 50 lines inline (618 points an order: one order a request fits 1,000)
    conn.settings = dataclasses.replace(conn.settings, line_items_page_size=50)
    sold = [_sell(sb, channels)[0] for _ in range(3)]
    for i, oid in enumerate(sold):
        accept(ctx.db, channel=SHOP, source="shopify", topic="orders/create", delivery_id=f"c-{i}", order_ids=[oid])
    seq = max((e["seq"] for e in sb.requests.since(0, limit=100000)), default=0)
    assert claim_and_process(ctx, kinds=[READ], limit=5) == ["done"]
    # Then each order is a request of its own, none refused for its cost, and all three are stored
    asked = sb.requests.since(seq, platform="shopify", operation="graphql", limit=1000)
    assert len(asked) == 3 and all(200 <= e["status"] < 300 for e in asked), asked
    assert _count(ctx.db, Order, Order.platform_order_id.in_(sold)) == 3
