"""The engine against the sandbox: a revoked credential stops only its channel."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from crossdock.db.models import Channel, Order
from crossdock.demo import CHANNELS, DemoOptions
from crossdock.sandbox.core import BuyerProfile, Sandbox
from crossdock.sync_engine import dirty
from crossdock.sync_engine.engine import Engine, context_from_config
from tests.sync_engine.support import demo_env


def test_revoked_refresh_token_pauses_that_channel_and_the_others_keep_importing(tmp_path, monkeypatch):
    # Given four channels on the sandbox, and the eBay seller's refresh token revoked
    opts = DemoOptions(skus=8, time_scale=60, seed=5, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, channels, _ = demo_env(tmp_path, monkeypatch, sb, opts)
        sb.sims["ebay"].auth_scenario("revoke_refresh_token", None)
        for name in CHANNELS:
            sb.set_buyers(channels[name], BuyerProfile(orders_per_min=6, max_qty=1, cancel_probability=0))
        sb.start_buyers()
        ctx = context_from_config(cfg, db)
        try:
            engine = Engine(ctx)                      # no broker: due entries run inline
            engine.ensure_schedules()
            # When the engine runs for a few sandbox minutes
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                engine.tick()
                time.sleep(0.05)
        finally:
            sb.stop_buyers()
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
    # Then eBay is paused with the refresh-token code, and Shopify still imported its orders
    with db.read() as s:
        paused = dict(s.execute(select(Channel.name, Channel.paused_code)).all())
        imported = dict(s.execute(select(Order.channel, func.count()).group_by(Order.channel)).all())
    assert paused["ebay-uk"] == "XD-AUTH-002"
    assert {paused[c] for c in ("amazon-us", "amazon-de", "shopify-eu")} == {None}
    assert imported.get("shopify-eu", 0) > 0
    assert "ebay-uk" not in imported
    db.dispose()
