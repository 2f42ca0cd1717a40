"""An order the import first sees after its units left the warehouse.

After a restore of an older backup (or on a fresh database), orders shipped
meanwhile are new to crossdock but already shipped: their units left, so they
are taken from stock like any other shipped order. Orders the platform
fulfils itself (Amazon AFN) and orders first seen cancelled take nothing.
``db check`` names shipped orders whose units stock never gave (XD-INV-012).
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, select, update

from crossdock.db import models as m
from crossdock.db.check import db_check_findings
from crossdock.models import OrderStatus
from crossdock.sync_engine import orders
from crossdock.sync_engine.availability import availability_snapshot
from tests.sync_engine.support import NOW, flags_by_pid, order, reserved_total, seed, stock_of


def upsert(db, *orders_, channel="ebay-us"):
    with db.write() as s:
        return orders.upsert_orders(s, channel, list(orders_), now=NOW)


def available(db, sku="SKU-1"):
    with db.read() as s:
        return availability_snapshot(s, [sku])[sku]


def taken_from_stock(db):
    with db.read() as s:
        return [(r.sku, r.delta, r.reason) for r in s.execute(
            select(m.StockMovement.sku, m.StockMovement.delta, m.StockMovement.reason).order_by(m.StockMovement.id))]


def finding(db, check="shipped_not_taken_from_stock"):
    return {f.check: f for f in db_check_findings(db, now=NOW)}.get(check)


def test_an_order_first_seen_shipped_takes_its_units_from_stock(db):
    # Given 5 units, and an order for 2 of them shipped before crossdock ever saw it
    seed(db)
    assert available(db) == 5
    # When the import stores it
    result = upsert(db, order("S1", [("SKU-1", 2)], status=OrderStatus.SHIPPED))
    # Then its 2 units are gone from stock, nothing stays reserved, availability dropped by 2
    oid = result.order_ids["S1"]
    assert stock_of(db, "SKU-1") == (3, 0) and available(db) == 3
    assert result.consumed[oid].quantity == 2 and result.short == []
    assert taken_from_stock(db) == [("SKU-1", -2, "shipped")]
    with db.read() as s:
        (status,) = s.scalars(select(m.Reservation.status)).all()
        event = s.scalars(select(m.SyncEvent).where(m.SyncEvent.operation == "order.import")).one()
    assert status == "consumed"
    assert event.details["taken_from_stock"] == 2 and "taken from stock: SKU-1 x2 @ DE" in event.message
    # and db check finds the books in order
    assert finding(db) is None


def test_delivered_and_partly_shipped_orders_first_seen_take_what_left(db):
    seed(db, stock={("SKU-1", "DE"): 10, ("SKU-2", "DE"): 10})
    delivered = order("D1", [("SKU-1", 1)], status=OrderStatus.DELIVERED)
    partly = order("P1", [("SKU-1", 3), ("SKU-2", 2)], status=OrderStatus.PARTIALLY_SHIPPED)
    # 1 of the 3 SKU-1 shipped, both SKU-2
    partly = dataclasses.replace(partly, lines=[dataclasses.replace(partly.lines[0], quantity_shipped=1),
                                                dataclasses.replace(partly.lines[1], quantity_shipped=2)])
    upsert(db, delivered, partly)
    # SKU-1: 1 delivered + 1 shipped of P1 left, P1's other 2 reserved; SKU-2: both left
    assert stock_of(db, "SKU-1") == (8, 2) and stock_of(db, "SKU-2") == (8, 0)
    assert available(db, "SKU-1") == 6 and available(db, "SKU-2") == 8

    # When P1 ships the rest on the platform, the 2 reserved are consumed as usual
    later = NOW + dt.timedelta(hours=1)
    rest = dataclasses.replace(partly, status=OrderStatus.SHIPPED, platform_status="FULFILLED", updated_at=later)
    with db.write() as s:
        orders.upsert_orders(s, "ebay-us", [rest], now=later)
    assert stock_of(db, "SKU-1") == (6, 0) and stock_of(db, "SKU-2") == (8, 0)


def test_platform_fulfilled_and_cancelled_orders_first_seen_take_nothing(db):
    seed(db)
    afn = order("AFN-1", [("SKU-1", 2)], status=OrderStatus.SHIPPED, platform="amazon",
                platform_status="Shipped", fulfillment_channel="AFN")
    result = upsert(db, afn, channel="amazon-de")
    assert "AFN" in result.reservations[result.order_ids["AFN-1"]].skipped_reason
    upsert(db, order("C1", [("SKU-1", 2)], status=OrderStatus.CANCELLED))
    assert stock_of(db, "SKU-1") == (5, 0) and available(db) == 5 and taken_from_stock(db) == []
    assert finding(db) is None


def test_a_shipped_order_the_free_stock_cannot_cover_is_flagged_and_named_by_db_check(db):
    # Given 2 units, both reserved by an open order
    seed(db, stock={("SKU-1", "DE"): 2})
    upsert(db, order("OPEN", [("SKU-1", 2)]))
    # When an order for 1 unit is first seen shipped
    result = upsert(db, order("S1", [("SKU-1", 1)], status=OrderStatus.SHIPPED))
    # Then nothing is taken (the open order keeps its units), the order is flagged XD-INV-012 ...
    assert stock_of(db, "SKU-1") == (2, 2) and result.consumed == {}
    assert flags_by_pid(db)["S1"] == ["XD-INV-012"]
    with db.read() as s:
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-INV-012")).one()
    assert ev.entity == "S1" and "shipped before the import" in ev.message
    # ... and db check names the SKU and its unit with the code and remedy
    f = finding(db)
    assert (f.code, f.severity, f.count) == ("XD-INV-012", "warning", 1)
    assert list(f.sample) == [{"sku": "SKU-1", "units": 1, "orders": 1, "e.g.": "ebay-us:S1"}]
    assert "stock adjust" in f.to_dict()["command"] and f.to_dict()["remedy"]


def test_db_check_flags_a_hand_broken_ledger(db):
    # Given a shipped order whose units were taken from stock ...
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 5})
    upsert(db, order("S1", [("SKU-1", 2), ("SKU-2", 1)], status=OrderStatus.SHIPPED),
           order("S2", [("SKU-1", 1)], status=OrderStatus.SHIPPED))
    assert finding(db) is None and reserved_total(db, "SKU-1") == 0
    # ... when someone puts SKU-1's units back by hand and drops the record of taking them
    with db.write() as s:
        s.execute(delete(m.Reservation).where(m.Reservation.sku == "SKU-1"))
        s.execute(update(m.StockLevel).where(m.StockLevel.sku == "SKU-1").values(on_hand=5))
    # Then db check names SKU-1 with its 3 units on 2 orders, and not SKU-2
    f = finding(db)
    assert f.code == "XD-INV-012"
    assert list(f.sample) == [{"sku": "SKU-1", "units": 3, "orders": 2, "e.g.": "ebay-us:S1"}]
