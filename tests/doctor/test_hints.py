"""Anomaly hints (issue 15 §4): buyers on one channel stop while its token
is revoked; within two alert rounds the orders-drop hint fires and names
the revoked authorisation as the likely cause — in doctor, in an alert and
in the sync log."""

from __future__ import annotations

import datetime as dt
import time

import httpx
from sqlalchemy import select

from crossdock.alerts.rounds import alerts_round
from crossdock.alerts.table import Alert
from crossdock.db.models import SyncEvent
from crossdock.models import Platform
from crossdock.sync_engine import orders as order_store
from crossdock.sync_engine import outbox
from crossdock.sync_engine.jobs import IMPORT_ORDERS, claim_and_process
from tests.doctor.support import doctor, one, worker_alive
from tests.sync_engine.catalog_env import catalog_env
from tests.sync_engine.support import order

WINDOW_H = 0.05                  # 3 platform minutes: 3 s on the sandbox's 60x clock


def _history(env, channel: str, platform: Platform, per_hour: int, hours: int) -> None:
    """Orders crossdock imported over the past ``hours`` (platform time), ``per_hour`` an hour."""
    now = env.ctx.clock.now()
    past = [order(f"hist-{i}", (("XD-0001", 1),), platform=platform,
                  updated_at=now - dt.timedelta(minutes=0.5 + i * 60 / per_hour))
            for i in range(per_hour * hours)]
    with env.db.write() as s:
        order_store.upsert_orders(s, channel, past, reserve=False)


def test_buyers_stop_while_the_token_is_revoked_the_hint_names_the_authorisation(sqlite_db, tmp_path, monkeypatch):
    extra = f"\n[alerts]\ndrop_window_h = {WINDOW_H}\ndrop_min_expected = 2\n"
    with catalog_env(tmp_path, monkeypatch, sqlite_db, extra_config=extra) as env:
        worker_alive(env)
        # Given eBay UK sold an order a minute for the last 6 hours
        _history(env, "ebay-uk", "ebay", per_hour=60, hours=6)
        assert one(doctor(env, channel="ebay-uk"), "orders drop", "ebay-uk").status == "ok"

        # When its buyers stop (sandbox admin) and its refresh token is revoked
        admin = env.sb.admin_url
        httpx.post(f"{admin}/buyers", json={"channels": {env.sb_channels["ebay-uk"]: {"orders_per_min": 0}},
                                            "running": False}).raise_for_status()
        httpx.post(f"{admin}/auth/ebay/revoke_refresh_token", json={}).raise_for_status()
        with env.db.write() as s:       # the access token crossdock holds is refused from now on
            from crossdock.db.models import Credential
            from sqlalchemy import update

            s.execute(update(Credential).where(Credential.channel == "ebay-uk").values(access_expires_at=None))
        # and the engine runs the channel's order import (the refusal pauses the channel)
        with env.db.write() as s:
            outbox.enqueue(s, IMPORT_ORDERS, channel="ebay-uk", idempotency_key="orders:ebay-uk:hint")
        assert claim_and_process(env.ctx) == ["paused"]

        # Then once a window has passed, within two alert rounds the hint fires, naming the revoked authorisation
        time.sleep(WINDOW_H * 3600 / env.cfg.time_scale + 0.5)
        found = None
        for _ in range(2):
            alerts_round(env.cfg, env.db)
            with env.db.read() as s:
                found = s.scalar(select(Alert).where(Alert.code == "XD-ORD-011", Alert.channel == "ebay-uk"))
            if found is not None:
                break
        assert found is not None
        assert "channel paused or authorisation failed" in found.found and "XD-AUTH-002" in found.found
        hint = one(doctor(env, channel="ebay-uk"), "orders drop", "ebay-uk")
        assert (hint.status, hint.code) == ("warn", "XD-ORD-011")
        assert [c["cause"] for c in hint.details["causes"]][:2] == ["channel paused or authorisation failed",
                                                                     "import lag"]
        assert hint.details["causes"][0]["likely"] and hint.details["causes"][0]["code"] == "XD-AUTH-002"
        with env.db.read() as s:
            assert s.scalar(select(SyncEvent.id).where(SyncEvent.operation == "alert.open",
                                                       SyncEvent.code == "XD-ORD-011")) is not None
        # the other channels, with no history, give no hint
        assert one(doctor(env, channel="shopify-eu"), "orders drop", "shopify-eu").status == "ok"


def test_stock_that_moves_without_a_reason_raises_a_deviation_hint_until_acknowledged(db, tmp_path, monkeypatch):
    from sqlalchemy import update

    from crossdock.db.models import StockLevel
    from crossdock.sync_engine.inventory import adjust_stock
    from tests.cli_run import crossdock

    with catalog_env(tmp_path, monkeypatch, db) as env:
        worker_alive(env)
        assert one(doctor(env, channel="ebay-uk"), "stock deviation").status == "ok"     # no baseline yet
        alerts_round(env.cfg, env.db)
        # Given a count recorded through crossdock: explained, no hint
        with env.db.write() as s:
            adjust_stock(s, "XD-0001", "DE", 3, "count")
        assert one(doctor(env, channel="ebay-uk"), "stock deviation").status == "ok"
        # When the stock table is changed behind crossdock's back
        with env.db.write() as s:
            s.execute(update(StockLevel).where(StockLevel.sku == "XD-0002", StockLevel.warehouse == "DE")
                      .values(on_hand=StockLevel.on_hand - 4))
        # Then doctor and the next round's alert name it, and it stays while nobody acts
        hint = one(doctor(env, channel="ebay-uk"), "stock deviation")
        assert (hint.status, hint.code, hint.subject, hint.details) == (
            "warn", "XD-INV-013", "XD-0002", {"warehouse": "DE", "units": -4})
        alerts_round(env.cfg, env.db)
        alerts_round(env.cfg, env.db)
        with env.db.read() as s:
            [alert] = s.scalars(select(Alert).where(Alert.code == "XD-INV-013")).all()
        assert alert.state == "open" and alert.subject == "XD-0002"
        # When it is acknowledged, the level is accepted and the alert resolves
        ran = crossdock("--config", str(env.config_path), "alerts", "ack", str(alert.id))
        assert ran.returncode == 0, ran.stderr
        alerts_round(env.cfg, env.db)
        with env.db.read() as s:
            assert s.scalar(select(Alert.state).where(Alert.id == alert.id)) == "resolved"
