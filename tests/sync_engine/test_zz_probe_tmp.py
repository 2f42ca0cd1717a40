"""Probe (not part of the branch): does an import window with more new orders than
getOrderItems' burst complete on the engine path (no inline waits)?"""
import time, datetime as dt
from sqlalchemy import select
from crossdock.db.base import utcnow
from crossdock.db.models import OutboxEntry, Order
from crossdock.demo import DemoOptions
from crossdock.sandbox.core import BuyerProfile, Sandbox
from crossdock.sync_engine import jobs, outbox, dirty
from crossdock.sync_engine.engine import context_from_config
from tests.sync_engine.support import demo_env


def test_probe(tmp_path, monkeypatch):
    opts = DemoOptions(skus=6, time_scale=60, seed=11, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        for name in ("amazon-us", "amazon-de"):
            sb.set_buyers(channels[name], BuyerProfile(orders_per_min=20, max_qty=1, cancel_probability=0))
        sb.start_buyers(); time.sleep(2.5); sb.stop_buyers(); time.sleep(2.2)
        ctx = context_from_config(cfg, db)
        with db.write() as s:
            outbox.enqueue(s, jobs.IMPORT_ORDERS, channel="amazon-us", idempotency_key="probe")
        outcomes = []
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            ran = jobs.claim_and_process(ctx, kinds=[jobs.IMPORT_ORDERS])
            outcomes += ran
            with db.read() as s:
                e = s.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == "probe"))
                n = len(list(s.scalars(select(Order.id))))
            if e.status == "done":
                break
            time.sleep(0.005)
        from collections import Counter
        print("\nPROBE", e.status, e.attempts, Counter(outcomes), "orders stored", n,
              "placed", len(sb.market.sales))
        ctx.connectors.close(); dirty.set_window_s(dirty.DEFAULT_WINDOW_S); db.dispose()
