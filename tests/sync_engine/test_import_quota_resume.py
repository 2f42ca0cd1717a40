"""An order import window that needs more item reads than the quota allows at
once (Amazon: getOrderItems, burst 30) completes on the engine's worker path,
where nothing sleeps for quota: each run stores what it read before the quota
wait, the cursor stays, and the re-run skips the stored orders as known."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from crossdock.db.models import Order, OutboxEntry, SyncEvent
from crossdock.demo import DemoOptions
from crossdock.sandbox.core import BuyerProfile, Sandbox
from crossdock.sync_engine import dirty, jobs, outbox
from crossdock.sync_engine.engine import context_from_config
from tests.sync_engine.support import demo_env


def test_a_window_larger_than_the_item_burst_completes_without_sleeping_for_quota(tmp_path, monkeypatch):
    # Given more new Amazon orders in one window than getOrderItems' burst
    opts = DemoOptions(skus=6, time_scale=60, seed=11, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        try:
            for name in ("amazon-us", "amazon-de"):
                sb.set_buyers(channels[name], BuyerProfile(orders_per_min=20, max_qty=1, cancel_probability=0))
            sb.start_buyers()
            time.sleep(2.5)
            sb.stop_buyers()
            time.sleep(2.2)                       # past the connector's safety lag
            amazon_sales = {s["order_id"] for s in sb.market.sales
                            if s["channel"] in (channels["amazon-us"], channels["amazon-de"])}
            assert len(amazon_sales) > 30
            ctx = context_from_config(cfg, db)
            with db.write() as s:
                outbox.enqueue(s, jobs.IMPORT_ORDERS, channel="amazon-us", idempotency_key="big-window")
            # When workers process the entry (released during each quota wait, never sleeping)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                jobs.claim_and_process(ctx, kinds=[jobs.IMPORT_ORDERS])
                with db.read() as s:
                    entry = s.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == "big-window"))
                if entry.status == "done":
                    break
                time.sleep(0.02)
            # Then the entry is done without using an attempt, and every Amazon order is stored
            with db.read() as s:
                stored = set(s.scalars(select(Order.platform_order_id).where(
                    Order.channel.in_(("amazon-us", "amazon-de")))))
                parts = s.scalar(select(func.count()).select_from(SyncEvent).where(
                    SyncEvent.operation == "orders.import", SyncEvent.outcome == "partial"))
            assert entry.status == "done"
            assert entry.attempts <= 1
            assert amazon_sales <= stored
            # and the window was cut by quota and resumed from what it had stored
            assert parts >= 1
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()


def test_a_shopify_window_with_more_pages_than_the_cost_bucket_holds_is_read_in_parts(tmp_path, monkeypatch):
    # Given more Shopify orders in one window than pages the shop's cost bucket holds at once (one page
    # of orders costs about 700 points; the bucket holds 1,000 and refills slowly)
    opts = DemoOptions(skus=6, time_scale=60, seed=12, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        shop = sb.sims["shopify"]
        try:
            sb.set_buyers(channels["shopify-eu"], BuyerProfile(orders_per_min=25, max_qty=1, cancel_probability=0))
            sb.start_buyers()
            time.sleep(2.5)
            sb.stop_buyers()
            time.sleep(2.2)                       # past the connector's safety lag
            sales = {s["order_id"] for s in sb.market.sales if s["channel"] == channels["shopify-eu"]}
            assert len(sales) > 30
            shop.maximum_available, shop.restore_rate = 1000.0, 8.0
            ctx = context_from_config(cfg, db)
            with db.write() as s:
                outbox.enqueue(s, jobs.IMPORT_ORDERS, channel="shopify-eu", idempotency_key="big-shopify-window")
            # When workers process the import (released during each quota wait, never sleeping), with the
            # windows it queues after it, until every order is stored or a minute has passed
            deadline = time.monotonic() + 60
            stored: set[str] = set()
            while time.monotonic() < deadline and not {str(x) for x in sales} <= stored:
                jobs.claim_and_process(ctx, kinds=[jobs.IMPORT_ORDERS])
                with db.read() as s:
                    stored = {str(x) for x in s.scalars(select(Order.platform_order_id).where(
                        Order.channel == "shopify-eu"))}
                time.sleep(0.02)
            # Then every order is stored: each run kept its pages and read on after them, rather than
            # reading the window from its start again and waiting again after the same pages
            with db.read() as s:
                parts = [e.message for e in s.scalars(select(SyncEvent).where(
                    SyncEvent.operation == "orders.import", SyncEvent.outcome == "partial",
                    SyncEvent.channel == "shopify-eu"))]
                entry = s.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == "big-shopify-window"))
            assert {str(x) for x in sales} <= stored, parts
            assert entry.status == "done" and entry.attempts <= 1
            assert parts and all("the next read starts at" in m for m in parts)
            # and no part was read twice: each started where the one before it ended
            assert all("(0 new)" not in m for m in parts), parts
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
