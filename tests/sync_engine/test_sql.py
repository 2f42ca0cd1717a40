"""The bulk-write helpers of the order import store exactly what Core stores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from crossdock.db import models as m
from crossdock.sync_engine import _sql
from tests.sync_engine.support import NOW, seed

EVENTS = m.SyncEvent.__table__
PARIS = dt.timezone(dt.timedelta(hours=1))


def event_values(entity: str, *, at: dt.datetime, details) -> dict:
    return {"at": at, "correlation_id": "o123", "channel": "ebay-us", "entity_type": "order", "entity": entity,
            "operation": "order.import", "outcome": "ok", "code": None, "message": "Amélie → ok", "attempt": 1,
            "duration_ms": None, "details": details}


def stored_raw(db, table, columns: str, entity_col: str, entity: str) -> tuple:
    """The values as the database holds them (no result processing)."""
    with db.read() as s:
        conn = s.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        return tuple(conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} WHERE {entity_col} = {mark}",
                                          (entity,)).one())


@pytest.mark.parametrize("at, details", [
    (dt.datetime(2026, 3, 2, 13, 0, 0, 123456, tzinfo=PARIS), {"order_id": 7, "name": "Amélie \"D\"\n", "x": 1.5,
                                                                 "ok": True, "none": None, "lines": [1, "a"]}),
    (NOW, None),
    (NOW.replace(microsecond=0), []),
])
def test_insert_tuples_stores_what_core_stores(db, at, details):
    # Given the same event row written by Core and by the bulk helper (converted by it, or by the caller)
    with db.write() as s:
        s.execute(insert(EVENTS), [event_values("core", at=at, details=details)])
        _sql.insert_tuples(s, EVENTS, _sql.EVENT_COLS, [tuple(event_values("bulk", at=at, details=details).values())])
        at_b, js = _sql.binder(s, EVENTS.c.at), _sql.binder(s, EVENTS.c.details)
        row = event_values("bound", at=at, details=details)
        row.update(at=at_b(at), details=js(details))
        assert _sql.insert_tuples(s, EVENTS, _sql.EVENT_COLS, [tuple(row.values())], converted=True) == 1
    # Then the database holds the very same values
    cols = "at, correlation_id, message, attempt, details"
    core = stored_raw(db, EVENTS, cols, "entity", "core")
    assert stored_raw(db, EVENTS, cols, "entity", "bulk") == core
    assert stored_raw(db, EVENTS, cols, "entity", "bound") == core
    with db.read() as s:
        read = s.execute(select(m.SyncEvent.at, m.SyncEvent.details).where(m.SyncEvent.entity == "bulk")).one()
    assert read.at == at and read.details == details


def test_money_and_addresses_round_trip_through_the_bulk_insert(db):
    seed(db)
    with db.write() as s:
        orders_t = m.Order.__table__
        row = {"id": 41, "channel": "ebay-us", "platform_order_id": "P-1", "platform_status": "NOT_STARTED",
               "local_status": "unshipped", "purchased_at": NOW, "platform_updated_at": NOW, "ship_by": None,
               "total_amount": Decimal("19.98"), "currency": "USD", "shipping_address": {"city": "Zürich"},
               "flags": [], "imported_at": NOW, "updated_at": NOW, "status_changed_at": NOW}
        s.execute(insert(orders_t), [row])
        _sql.bulk_insert(s, orders_t, [dict(row, id=42, platform_order_id="P-2")])
    cols = "total_amount, shipping_address, flags, ship_by, purchased_at"
    assert (stored_raw(db, orders_t, cols, "platform_order_id", "P-2")
            == stored_raw(db, orders_t, cols, "platform_order_id", "P-1"))


def test_naive_datetimes_are_refused(db):
    with db.write() as s:
        with pytest.raises(ValueError, match="naive"):
            _sql.insert_tuples(s, EVENTS, _sql.EVENT_COLS,
                               [tuple(event_values("x", at=dt.datetime(2026, 3, 2, 12), details=None).values())])


def test_in_values_finds_exactly_the_listed_values(db):
    skus = ["A-1", "it's", 'quo"te', "Zürich-€", "50%", "a,b", "[x]"]
    seed(db, products=skus, stock={(sku, "DE"): 1 for sku in skus[:3]})
    with db.read() as s:
        def lookup(values):
            return set(s.execute(select(m.Product.sku).where(
                _sql.in_values(s, m.Product.sku, values))).scalars())

        assert lookup(skus) == set(skus)
        assert lookup(["it's", "50%", "missing"]) == {"it's", "50%"}
        assert lookup([]) == set()
        ids = sorted(s.execute(select(m.StockLevel.id)).scalars())
        assert set(s.execute(select(m.StockLevel.id).where(
            _sql.in_values(s, m.StockLevel.id, [ids[0], ids[2], 10**9]))).scalars()) == {ids[0], ids[2]}


def test_allocated_ids_are_fresh_and_distinct(db):
    seed(db)
    with db.write() as s:
        first = _sql.allocate_ids(s, m.Order.__table__, 3)
        assert len(set(first)) == 3 and _sql.allocate_ids(s, m.Order.__table__, 0) == []
        _sql.insert_tuples(s, m.Order.__table__, ("id", "channel", "platform_order_id", "platform_status",
                                                  "local_status", "purchased_at", "platform_updated_at", "flags",
                                                  "imported_at", "updated_at", "status_changed_at"),
                           [(oid, "ebay-us", f"P-{oid}", "x", "pending", NOW, NOW, [], NOW, NOW, NOW)
                            for oid in first])
        assert not set(_sql.allocate_ids(s, m.Order.__table__, 2)) & set(first)


def test_many_rows_keep_their_order_their_nulls_and_their_conflicts(db):
    # Given a batch of events (one statement over column arrays on PostgreSQL, an executemany on SQLite)
    rows = [tuple(event_values(f"e{i}", at=NOW + dt.timedelta(seconds=i),
                               details=None if i % 2 else {"i": i}).values()) for i in range(5)]
    with db.write() as s:
        assert _sql.insert_tuples(s, EVENTS, _sql.EVENT_COLS, rows) == 5
    # Then ids follow the rows' order, and a column of nothing but NULLs (code) stays NULL
    with db.read() as s:
        stored = s.execute(select(m.SyncEvent.entity, m.SyncEvent.code, m.SyncEvent.details)
                           .order_by(m.SyncEvent.id)).all()
    assert [tuple(r) for r in stored] == [(f"e{i}", None, None if i % 2 else {"i": i}) for i in range(5)]

    # Given dirty marks, one already there: ON CONFLICT applies per row, and only new rows count as inserted
    from crossdock.sync_engine.dirty import _MARK_COLS, _REMARK, DIRTY

    seed(db)
    marks = [("ebay-us", sku, 1, zero, NOW, NOW) for sku, zero in (("A-1", False), ("B-2", True))]
    with db.write() as s:
        _sql.insert_tuples(s, DIRTY, _MARK_COLS, marks[:1])
        _sql.insert_tuples(s, DIRTY, _MARK_COLS, marks, on_conflict_sql=_REMARK)
        assert _sql.insert_tuples(s, m.Order.__table__, ("id", "channel", "platform_order_id", "platform_status",
                                                         "local_status", "purchased_at", "platform_updated_at",
                                                         "flags", "imported_at", "updated_at", "status_changed_at"),
                                  [(oid, "ebay-us", pid, "x", "pending", NOW, NOW, [], NOW, NOW, NOW)
                                   for oid, pid in ((901, "P-1"), (902, "P-1"), (903, "P-2"))],
                                  conflict_do_nothing=("channel", "platform_order_id")) == 2
    with db.read() as s:
        got = sorted(tuple(r) for r in s.execute(select(DIRTY.c.sku, DIRTY.c.version, DIRTY.c.zero)))
    assert got == [("A-1", 2, False), ("B-2", 1, True)]


def test_a_column_of_mixed_python_types_is_stored_too(db):
    # Given amounts given as a Decimal in one row and an int in the next (no driver array holds both)
    seed(db)
    cols = ("id", "channel", "platform_order_id", "platform_status", "local_status", "purchased_at",
            "platform_updated_at", "total_amount", "flags", "imported_at", "updated_at", "status_changed_at")
    rows = [(801, "ebay-us", "P-801", "x", "pending", NOW, NOW, Decimal("1.5"), [], NOW, NOW, NOW),
            (802, "ebay-us", "P-802", "x", "pending", NOW, NOW, 2, [], NOW, NOW, NOW)]
    with db.write() as s:
        assert _sql.insert_tuples(s, m.Order.__table__, cols, rows) == 2
    with db.read() as s:
        got = s.execute(select(m.Order.id, m.Order.total_amount).order_by(m.Order.id)).all()
    assert [(i, Decimal(a)) for i, a in got] == [(801, Decimal("1.5")), (802, Decimal("2"))]
