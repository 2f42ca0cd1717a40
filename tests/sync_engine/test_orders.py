from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

from sqlalchemy import func, select, text

from crossdock.db import models as m
from crossdock.mapping.status import status_map_from_config
from crossdock.models import OrderStatus
from crossdock.sync_engine import inventory, orders
from crossdock.sync_engine.orders import merge_status
from crossdock.synclog import order_correlation
from tests.sync_engine.support import NOW, order, reserved_total, seed, stock_of

T = dt.timedelta


def upsert(db, *orders_, channel="ebay-us", **kw):
    with db.write() as s:
        return orders.upsert_orders(s, channel, list(orders_), now=kw.pop("now", NOW), **kw)


def stored(db, pid, channel="ebay-us"):
    with db.read() as s:
        return s.execute(select(m.Order).where(m.Order.channel == channel,
                                               m.Order.platform_order_id == pid)).scalar_one()


def test_new_orders_are_stored_with_lines_and_reserved(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 5})
    result = upsert(db, order("A1", [("SKU-1", 2), ("SKU-2", 1)]), order("A2", [("SKU-1", 1)]))
    assert (result.new, result.updated, result.unchanged) == (2, 0, 0)
    assert set(result.order_ids) == {"A1", "A2"} and result.short == []
    a1 = stored(db, "A1")
    assert (a1.local_status, a1.platform_status, a1.currency, a1.total_amount) == (
        "unshipped", "NOT_STARTED", "USD", Decimal("19.98"))
    assert a1.purchased_at == NOW and a1.status_changed_at == NOW
    with db.read() as s:
        lines = s.execute(select(m.OrderLine.platform_line_id, m.OrderLine.sku, m.OrderLine.quantity)
                          .where(m.OrderLine.order_id == a1.id).order_by(m.OrderLine.id)).all()
        assert [tuple(x) for x in lines] == [("A1-L1", "SKU-1", 2), ("A1-L2", "SKU-2", 1)]
        imports = s.scalars(select(m.SyncEvent).where(m.SyncEvent.operation == "order.import")
                            .order_by(m.SyncEvent.entity)).all()
        assert [e.entity for e in imports] == ["A1", "A2"]
        assert imports[0].details["reserved_lines"] == 2
        assert imports[0].message.endswith("reserved SKU-1 x2 @ DE, SKU-2 x1 @ DE")
        summary = s.scalars(select(m.SyncEvent).where(m.SyncEvent.operation == "orders.upsert")).one()
        assert summary.details == {"new": 2, "updated": 0, "unchanged": 0, "short": 0}
    assert stock_of(db, "SKU-1") == (5, 3) and stock_of(db, "SKU-2") == (5, 1)


def test_duplicates_in_a_page_and_across_imports_are_stored_once(db):
    seed(db)
    older = order("A1", updated_at=NOW - T(minutes=5))
    newer = order("A1", status=OrderStatus.CANCELLED, updated_at=NOW)
    result = upsert(db, newer, older, order("A2"))
    assert result.new == 2
    assert stored(db, "A1").local_status == "cancelled"           # the newest version of the page wins
    again = upsert(db, order("A2"), order("A3"), now=NOW + T(minutes=1))
    assert (again.new, again.updated, again.unchanged) == (1, 0, 1)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Order)) == 3
        assert s.scalar(select(func.count()).select_from(m.OrderLine)) == 3
    # same platform id on another channel is another order
    assert upsert(db, order("A2"), channel="shopify-eu").new == 1


def test_status_change_updates_and_cancel_releases(db):
    seed(db)
    first = upsert(db, order("A1", [("SKU-1", 2)]))
    oid = first.order_ids["A1"]
    assert stock_of(db, "SKU-1") == (5, 2)

    later = NOW + T(hours=1)
    result = upsert(db, order("A1", [("SKU-1", 2)], status=OrderStatus.CANCELLED, updated_at=later), now=later)

    assert (result.updated, result.status_changed) == (1, (oid,))
    assert result.released[oid].quantity == 2
    row = stored(db, "A1")
    assert (row.local_status, row.platform_status, row.status_changed_at, row.platform_updated_at) == (
        "cancelled", "CANCELLED", later, later)
    assert stock_of(db, "SKU-1") == (5, 0)
    # the same cancellation again changes nothing
    again = upsert(db, order("A1", [("SKU-1", 2)], status=OrderStatus.CANCELLED, updated_at=later),
                   now=later + T(minutes=1))
    assert (again.updated, again.unchanged) == (0, 1) and stored(db, "A1").status_changed_at == later


def test_stale_update_is_ignored(db):
    seed(db)
    upsert(db, order("A1", status=OrderStatus.CANCELLED, updated_at=NOW))
    result = upsert(db, order("A1", status=OrderStatus.UNSHIPPED, updated_at=NOW - T(minutes=10)))
    assert result.unchanged == 1 and stored(db, "A1").local_status == "cancelled"
    assert reserved_total(db, "SKU-1") == 0


def test_shipped_on_the_platform_consumes_and_local_status_never_moves_back(db):
    seed(db)
    oid = upsert(db, order("A1", [("SKU-1", 2)])).order_ids["A1"]
    t1 = NOW + T(hours=2)
    result = upsert(db, order("A1", [("SKU-1", 2)], status=OrderStatus.SHIPPED, updated_at=t1), now=t1)
    assert result.consumed[oid].quantity == 2
    assert stock_of(db, "SKU-1") == (3, 0)
    with db.read() as s:
        mv = s.execute(select(m.StockMovement.delta, m.StockMovement.reason, m.StockMovement.reference)).one()
    assert (mv.delta, mv.reason) == (-2, "shipped") and "reported by the platform" in mv.reference

    # crossdock shipped B1 itself; the platform still says unshipped: local stays shipped
    oid_b = upsert(db, order("B1")).order_ids["B1"]
    with db.write() as s:
        inventory.consume_order(s, oid_b, now=NOW)
        s.execute(m.Order.__table__.update().where(m.Order.id == oid_b).values(local_status="shipped"))
    t2 = NOW + T(hours=3)
    upsert(db, order("B1", platform_status="NOT_STARTED", updated_at=t2), now=t2)
    assert stored(db, "B1").local_status == "shipped"
    assert stock_of(db, "SKU-1") == (2, 0)                       # not reserved again


def test_lines_added_later_are_stored_and_reserved(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 5})
    upsert(db, order("A1", [("SKU-1", 1)]))
    t1 = NOW + T(minutes=5)
    result = upsert(db, order("A1", [("SKU-1", 1), ("SKU-2", 2)], updated_at=t1), now=t1)
    assert result.updated == 1 and result.status_changed == ()
    assert stock_of(db, "SKU-1") == (5, 1) and stock_of(db, "SKU-2") == (5, 2)


def test_platform_fulfilled_orders_reserve_nothing(db):
    seed(db)
    result = upsert(db, order("AFN-1", fulfillment_channel="AFN", platform="amazon"), channel="amazon-de")
    (r,) = result.reservations.values()
    assert "AFN" in r.skipped_reason and stock_of(db, "SKU-1") == (5, 0)


def test_status_map_with_seller_overrides(db):
    seed(db)
    smap = status_map_from_config("ebay", {"IN_PROGRESS": "unshipped"}, where="order_status")
    upsert(db, order("A1", platform_status="IN_PROGRESS", status=OrderStatus.PARTIALLY_SHIPPED),
           status_map=smap)
    assert stored(db, "A1").local_status == "unshipped"


def test_reserve_false_stores_without_touching_stock(db):
    seed(db)
    result = upsert(db, order("A1"), reserve=False)
    assert result.reservations == {} and stock_of(db, "SKU-1") == (5, 0)


def test_merge_status():
    assert merge_status(None, "pending") == "pending"
    assert merge_status("pending", "unshipped") == "unshipped"
    assert merge_status("shipped", "unshipped") == "shipped"
    assert merge_status("shipped", "cancelled") == "cancelled"
    assert merge_status("cancelled", "unshipped") == "unshipped"
    assert merge_status("shipped", "delivered") == "delivered"


def test_an_order_stored_by_a_concurrent_import_is_handled_as_known(db):
    # Given an import that stored A1 but has not committed yet
    seed(db, stock={("SKU-1", "DE"): 5})
    done: dict = {}

    def second_import():
        try:
            done["result"] = db.run_write(lambda s: orders.upsert_orders(
                s, "ebay-us", [order("A1", [("SKU-1", 1)]), order("A2", [("SKU-1", 1)])], now=NOW))
        except BaseException as exc:  # noqa: BLE001 - reported below
            done["error"] = exc

    with db.write() as s:
        first = orders.upsert_orders(s, "ebay-us", [order("A1", [("SKU-1", 1)])], now=NOW)
        # When a second import of A1 and A2 runs meanwhile (PostgreSQL: it inserts A2 and waits on A1's
        # unique key; SQLite: it waits for the write lock)
        worker = threading.Thread(target=second_import)
        worker.start()
        if db.dialect == "postgresql":
            _wait_until_blocked(db)
        else:
            worker.join(0.3)
    worker.join(30)

    # Then A1 is stored and reserved once: the second import found it stored and unchanged
    assert "error" not in done, done.get("error")
    second = done["result"]
    assert (second.new, second.unchanged) == (1, 1)
    assert second.order_ids["A1"] == first.order_ids["A1"]
    assert stock_of(db, "SKU-1") == (5, 2) and reserved_total(db, "SKU-1") == 2
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Order)) == 2
        assert s.scalar(select(func.count()).select_from(m.OrderLine)) == 2
        imports = s.scalars(select(m.SyncEvent.entity).where(m.SyncEvent.operation == "order.import")
                            .order_by(m.SyncEvent.id)).all()
    assert imports == ["A1", "A2"]


def _wait_until_blocked(db, timeout_s: float = 10.0) -> None:
    """Until another session of this database waits for a lock."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second import never waited for the first")


def test_import_events_carry_the_order_correlation(db):
    seed(db)
    with db.write() as s:
        orders.upsert_orders(s, "ebay-us", [order("A1"), order("A2", [("SKU-9", 1)])], now=NOW)
    with db.read() as s:
        rows = s.execute(select(m.SyncEvent.operation, m.SyncEvent.entity, m.SyncEvent.correlation_id,
                                m.SyncEvent.outcome, m.SyncEvent.message, m.SyncEvent.at, m.SyncEvent.details)
                         .where(m.SyncEvent.operation.in_(["order.import", "orders.upsert"]))
                         .order_by(m.SyncEvent.id)).all()
    assert [(r.operation, r.entity, r.correlation_id, r.outcome) for r in rows] == [
        ("order.import", "A1", order_correlation("ebay-us", "A1"), "ok"),
        ("order.import", "A2", order_correlation("ebay-us", "A2"), "ok"),
        ("orders.upsert", "ebay-us", None, "ok")]
    assert all(r.at == NOW for r in rows)
    assert rows[0].message == "NOT_STARTED → unshipped, 1 lines; reserved SKU-1 x1 @ DE"
    assert rows[1].details == {"order_id": rows[1].details["order_id"], "status": "unshipped", "lines": 1,
                               "reserved_lines": 0}
    assert rows[2].details == {"new": 2, "updated": 0, "unchanged": 0, "short": 0}
