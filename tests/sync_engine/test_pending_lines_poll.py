"""An Amazon order stored while Pending (an ORDER_CHANGE's read at purchase:
no ItemPrice yet) gets its line amounts from the poll that finds it paid.

The poll reads a known order without its items when only its status moved
(getOrderItems is 0.5/s); a Pending order's lines are not known yet, so it is
read whole. Before this, a poll that saw the payment first stored the order
Unshipped with unpriced lines, the payment event's read at the same update
time changed nothing, and auto-ship failed the order for want of a declared
value (XD-SHIP-004) — seen in ``crossdock demo --events`` on a busy machine.
Against the in-process sandbox: its getOrder, getOrders and getOrderItems."""

from __future__ import annotations

import time

from sqlalchemy import select

from crossdock.db import models as m
from crossdock.demo import DemoOptions
from crossdock.models import OrderStatus
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs.orders import import_orders
from crossdock.sync_engine.quarantine import store_window
from tests.sync_engine.support import demo_env

SCALE = 600          # a sandbox minute is 0.1 real s


def _lines(db, oid):
    with db.read() as s:
        status = s.scalar(select(m.Order.local_status).where(m.Order.platform_order_id == oid))
        prices = list(s.scalars(select(m.OrderLine.unit_price).join(m.Order, m.Order.id == m.OrderLine.order_id)
                                .where(m.Order.platform_order_id == oid)))
    return status, prices


def test_a_pending_order_the_poll_finds_paid_gets_its_line_prices(tmp_path, monkeypatch):
    opts = DemoOptions(skus=4, time_scale=SCALE, seed=7, folder=tmp_path)
    with Sandbox(time_scale=SCALE, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        name = next(n for n, key in channels.items() if key.startswith("amazon:"))
        sim = sb.sims["amazon"]
        monkeypatch.setattr(sim, "pending_s", 60.0)
        ctx = context_from_config(cfg, db)
        try:
            conn = ctx.connectors.get(name)
            # Given an Amazon sale read by id at purchase, as an event's read does: Pending, no prices
            sku = sorted(s for s, q in sim.listed(channels[name]).items() if q > 0)[0]
            oid = sim.place_order(channels[name], [(sku, 1)], buyer_country=cfg.channels[name].country or "US")
            assert oid
            missing: list = []
            (pending,) = list(conn.fetch_orders_by_id([oid], missing=lambda *a: missing.append(a)))
            assert pending.status == OrderStatus.PENDING and not missing
            with db.write() as s:
                store_window(s, name, [pending], conn.clock)
            assert _lines(db, oid) == (OrderStatus.PENDING.value, [None])
            # When the poll finds it paid (getOrders shows an order two sandbox minutes late)
            deadline = time.monotonic() + 30
            while _lines(db, oid)[0] == OrderStatus.PENDING.value:
                assert time.monotonic() < deadline, "the poll never stored the payment"
                import_orders(ctx, name)
                time.sleep(0.05)
            # Then its lines carry the price the buyer paid
            status, prices = _lines(db, oid)
            assert status != OrderStatus.PENDING.value
            assert len(prices) == 1 and prices[0] is not None and prices[0] > 0, prices
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
            db.dispose()
