from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crossdock.db import models as m
from crossdock.models import OrderStatus
from crossdock.sync_engine import orders, stuck
from tests.sync_engine.support import NOW, flags_by_pid, order, seed

T = dt.timedelta
HOUR = 3600


def upsert(db, *orders_, channel="ebay-us", now=NOW):
    with db.write() as s:
        return orders.upsert_orders(s, channel, list(orders_), now=now)


def scan(db, now, **kw):
    kw.setdefault("status_threshold_s", 6 * HOUR)
    kw.setdefault("handling_time_h", {"ebay-us": 24, "amazon-de": 48})
    with db.write() as s:
        return stuck.find_stuck(s, now, **kw)


def mark_shipped_locally(db, pid):
    with db.write() as s:
        s.execute(m.Order.__table__.update().where(m.Order.platform_order_id == pid)
                  .values(local_status="shipped", status_changed_at=NOW))


def test_status_disagreement_past_the_threshold_is_flagged_once_and_cleared(db):
    seed(db, stock={("SKU-1", "DE"): 10})
    upsert(db, order("S1", purchased_at=NOW - T(hours=1)), order("OK1", purchased_at=NOW - T(hours=1)))
    # Given crossdock shipped S1, but the platform still says NOT_STARTED
    mark_shipped_locally(db, "S1")

    assert scan(db, NOW + T(hours=5)).stuck == ()                  # below the threshold
    report = scan(db, NOW + T(hours=7))
    assert [(s.platform_order_id, s.code) for s in report.stuck] == [("S1", "XD-ORD-002")]
    assert "crossdock says shipped" in report.stuck[0].detail
    assert flags_by_pid(db)["S1"] == ["XD-ORD-002"] and flags_by_pid(db)["OK1"] == []
    assert scan(db, NOW + T(hours=8)).newly_flagged == ()          # flagged once
    with db.read() as s:
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-ORD-002")).one()
        assert (ev.entity, ev.outcome) == ("S1", "failed")

    # When the platform catches up, the import clears the flag (status changed)
    t = NOW + T(hours=9)
    upsert(db, order("S1", status=OrderStatus.SHIPPED, updated_at=t), now=t)
    assert flags_by_pid(db)["S1"] == []
    assert [(x.platform_order_id, x.code) for x in scan(db, NOW + T(hours=30)).stuck] == [
        ("OK1", "XD-ORD-003")]                                     # OK1 is late by now, S1 is fine


def test_flag_is_cleared_by_the_scan_when_the_order_recovers_otherwise(db):
    seed(db)
    upsert(db, order("S1"))
    mark_shipped_locally(db, "S1")
    scan(db, NOW + T(hours=7))
    with db.write() as s:   # e.g. someone fixed the status by hand
        s.execute(m.Order.__table__.update().where(m.Order.platform_order_id == "S1")
                  .values(platform_status="FULFILLED"))
    report = scan(db, NOW + T(hours=8))
    assert report.cleared == ((report.cleared[0][0], "XD-ORD-002"),)
    assert flags_by_pid(db)["S1"] == []


def test_unshipped_past_handling_time_per_channel_and_ship_by(db):
    seed(db, stock={("SKU-1", "DE"): 10})
    upsert(db, order("E1", purchased_at=NOW - T(hours=25)), order("E2", purchased_at=NOW - T(hours=23)),
           order("E3", purchased_at=NOW - T(hours=1), ship_by=NOW - T(minutes=1)))
    upsert(db, order("A1", purchased_at=NOW - T(hours=30), platform="amazon",
                     platform_status="Unshipped"), channel="amazon-de")
    report = scan(db, NOW)
    assert sorted((s.platform_order_id, s.code) for s in report.stuck) == [("E1", "XD-ORD-003"),
                                                                         ("E3", "XD-ORD-003")]
    assert flags_by_pid(db)["E1"] == ["XD-ORD-003"]
    # a single figure for every channel
    report = scan(db, NOW, handling_time_h=12)
    assert sorted(s.platform_order_id for s in report.stuck) == ["A1", "E1", "E2", "E3"]
    # shipped orders are no longer late
    t = NOW + T(minutes=5)
    upsert(db, order("E1", status=OrderStatus.SHIPPED, updated_at=t), now=t)
    assert "E1" not in {s.platform_order_id for s in scan(db, t).stuck}
    assert flags_by_pid(db)["E1"] == []


def test_shipped_and_delivered_agree_and_unknown_statuses_are_reported(db):
    seed(db)
    upsert(db, order("D1", status=OrderStatus.SHIPPED))
    upsert(db, order("X1", platform_status="SOMETHING_NEW", status=OrderStatus.SHIPPED))
    with db.write() as s:
        s.execute(m.Order.__table__.update().values(local_status="delivered"))
    report = scan(db, NOW + T(days=2))
    assert report.stuck == () and len(report.unmapped) == 1
    assert stuck.statuses_agree("delivered", "shipped") and not stuck.statuses_agree("unshipped", "shipped")
