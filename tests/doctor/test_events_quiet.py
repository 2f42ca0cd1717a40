"""Doctor's events check: a channel whose events went quiet while polling
still imports new orders warns with XD-EVT-008; quiet with nothing to
announce, recent events, or no events ever are not warnings."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import update

from crossdock.db.models import Order
from crossdock.doctor.events import check_events_quiet
from crossdock.doctor.model import DoctorContext
from crossdock.events import accept
from crossdock.sync_engine import orders
from tests.sync_engine.support import order, seed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CH = "ebay-us"


def _ctx(db, now: dt.datetime) -> DoctorContext:
    cfg = SimpleNamespace(events={"quiet_after_s": 3600.0})
    return DoctorContext(cfg=cfg, db=db, now=now, platform_now=now)


def _polled(db, pid: str, at: dt.datetime) -> None:
    with db.write() as s:
        orders.upsert_orders(s, CH, [order(pid)], now=at)
        s.execute(update(Order).where(Order.platform_order_id == pid).values(imported_at=at))


def test_events_quiet_while_polling_finds_orders_warns_with_its_code(sqlite_db):
    seed(sqlite_db)
    # Given no event ever: the check has nothing to say (events not set up on the channel)
    assert check_events_quiet(_ctx(sqlite_db, T0), CH) is None
    # Given an event at T0
    accept(sqlite_db, channel=CH, source="ebay", topic="ORDER_CONFIRMATION", delivery_id="n-1", now=T0)
    # Then half an hour later all is well, and two hours later with no new order too
    assert check_events_quiet(_ctx(sqlite_db, T0 + dt.timedelta(minutes=30)), CH).status == "ok"
    assert check_events_quiet(_ctx(sqlite_db, T0 + dt.timedelta(hours=2)), CH).status == "ok"
    # When polling imports an order an hour after the last event
    _polled(sqlite_db, "P-1", T0 + dt.timedelta(hours=1))
    # Then events went quiet while polling finds orders: a warning with XD-EVT-008
    got = check_events_quiet(_ctx(sqlite_db, T0 + dt.timedelta(hours=2)), CH)
    assert (got.status, got.code, got.details["orders_polled_since"]) == ("warn", "XD-EVT-008", 1)
    assert "events setup" in (got.remedy or "")
