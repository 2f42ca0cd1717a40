"""Amazon marketplaces of one seller are read by one getOrders call.

getOrders' quota (one call a minute, burst 20) belongs to the seller and
application, not to a marketplace: polling Amazon US and DE separately every
minute asks for twice what Amazon restores, drains the burst in twenty
minutes, and from then on every import waits for quota.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from crossdock.db.models import Order, Schedule
from crossdock.demo import CHANNELS, DemoOptions
from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
from crossdock.sandbox.core import BuyerProfile, Sandbox
from crossdock.sync_engine import cursors, dirty
from crossdock.sync_engine.channels import order_import_group
from crossdock.sync_engine.engine import Engine, context_from_config
from crossdock.sync_engine.jobs import import_orders
from tests.sync_engine.support import demo_env


def _setup(tmp_path, monkeypatch, sb, opts):
    cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
    return cfg, db, channels


def _get_orders_calls(sb) -> int:
    stats = sb.stats.as_dict().get("amazon", {})
    return sum(ops.get("getOrders", {}).get("calls", 0) for ops in stats.values())


def test_group_is_the_sellers_marketplaces_in_one_region(tmp_path, monkeypatch):
    opts = DemoOptions(skus=2, time_scale=60, seed=3, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, _ = _setup(tmp_path, monkeypatch, sb, opts)
    assert order_import_group(cfg, "amazon-us") == ("amazon-de", "amazon-us")
    assert order_import_group(cfg, "amazon-de") == ("amazon-de", "amazon-us")
    assert order_import_group(cfg, "ebay-uk") == ("ebay-uk",)
    # production endpoints differ by region: US (NA) and DE (EU) are not one poll there
    for name in ("amazon-us", "amazon-de"):
        cfg.channels[name].base_url = None
    assert order_import_group(cfg, "amazon-us") == ("amazon-us",)
    cfg.sync["amazon_shared_order_poll"] = False
    assert order_import_group(cfg, "amazon-de") == ("amazon-de",)
    db.dispose()


def test_one_get_orders_call_imports_both_marketplaces_into_their_channels(tmp_path, monkeypatch):
    # Given Amazon US and DE of one seller, and buyers on both
    opts = DemoOptions(skus=6, time_scale=60, seed=11, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels = _setup(tmp_path, monkeypatch, sb, opts)
        for name in ("amazon-us", "amazon-de"):
            sb.set_buyers(channels[name], BuyerProfile(orders_per_min=20, max_qty=1, cancel_probability=0))
        sb.start_buyers()
        time.sleep(2.5)                                  # 2.5 sandbox minutes of buying
        sb.stop_buyers()
        time.sleep(2.2)                                  # past Amazon's 2-minute visibility rule
        ctx = context_from_config(cfg, db)
        try:
            before = _get_orders_calls(sb)
            # When one import runs for the US channel, by hand (about 100 new orders: more
            # getOrderItems calls than the burst, so the run waits for quota as a person's does)
            with inline_waits(PERSON_WAIT_S):
                result = import_orders(ctx, "amazon-us")
            calls = _get_orders_calls(sb) - before
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
        with sb.market.lock:
            placed = {s["order_id"]: s["channel"] for s in sb.market.sales}
    # Then both marketplaces' orders are stored, each under its own channel, from one call
    back = {v: k for k, v in channels.items()}
    with db.read() as s:
        stored = dict(s.execute(select(Order.platform_order_id, Order.channel)).all())
        us = cursors.get_cursor(s, "amazon-us", "orders")
        de = cursors.get_cursor(s, "amazon-de", "orders")
    assert {back[c] for c in placed.values()} == {"amazon-us", "amazon-de"}
    assert stored == {oid: back[ch] for oid, ch in placed.items()}
    assert calls == 1                                     # fewer than 100 orders: one page
    assert result["channels"] == ["amazon-de", "amazon-us"]
    assert us is not None and de is not None and us.position == de.position
    db.dispose()


def test_only_the_group_leader_has_an_import_schedule(tmp_path, monkeypatch):
    opts = DemoOptions(skus=2, time_scale=60, seed=3, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, _ = _setup(tmp_path, monkeypatch, sb, opts)
        ctx = context_from_config(cfg, db)
        try:
            Engine(ctx).ensure_schedules()
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
    with db.read() as s:
        enabled = dict(s.execute(select(Schedule.name, Schedule.enabled)
                                 .where(Schedule.job == "orders")).all())
    assert enabled == {f"orders:{c}": c != "amazon-us" for c in CHANNELS}
    db.dispose()
