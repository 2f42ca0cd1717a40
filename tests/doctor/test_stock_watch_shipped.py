"""A shipment is explained stock: it must never raise the deviation hint (XD-INV-013).

Shipping an order consumes its reservation and writes a "shipped" stock
movement for the units that left; the deviation counts that change once."""

from __future__ import annotations

from sqlalchemy import select

from crossdock.db import models as m
from crossdock.doctor.stock_watch import deviations, rebaseline
from crossdock.sync_engine import orders
from crossdock.sync_engine.inventory import adjust_stock, consume_order
from tests.sync_engine.support import order, seed


def test_a_shipped_order_and_a_recorded_count_are_explained_a_raw_edit_is_not(db):
    seed(db, stock={("SKU-1", "DE"): 10, ("SKU-2", "DE"): 10}, listings={"ebay-us": ["SKU-1", "SKU-2"]})
    with db.write() as s:
        result = orders.upsert_orders(s, "ebay-us", [order("E-1", [("SKU-1", 2)]), order("E-2", [("SKU-2", 1)])])
    # Given a baseline taken while both orders are reserved
    with db.write() as s:
        rebaseline(s)
    # When both orders ship and a count is recorded through crossdock
    with db.write() as s:
        for oid in result.order_ids.values():
            consume_order(s, oid)
        adjust_stock(s, "SKU-2", "DE", -1, "count")
    with db.read() as s:
        found, baseline = deviations(s)
        on_hand = {r.sku: r.on_hand for r in s.execute(select(m.StockLevel.sku, m.StockLevel.on_hand))}
    # Then the stock moved (8 and 8 on hand) and every unit of it is explained
    assert baseline and on_hand == {"SKU-1": 8, "SKU-2": 8}
    assert found == {}
    # And a change behind crossdock's back is still found
    with db.write() as s:
        s.execute(m.StockLevel.__table__.update().where(m.StockLevel.sku == "SKU-1")
                  .values(on_hand=m.StockLevel.on_hand - 3))
    with db.read() as s:
        assert deviations(s)[0] == {("SKU-1", "DE"): -3}


def test_the_alerts_round_moves_a_catalogue_baseline_in_statements_that_do_not_grow_with_it(db):
    from sqlalchemy import event

    from crossdock.db.base import utcnow
    from crossdock.doctor.model import WARN, Result
    from crossdock.doctor.stock_watch import DEVIATION_CODE, StockWatch, refresh

    skus = [f"SKU-{i:04d}" for i in range(600)]
    seed(db, stock={(sku, wh): 10 for sku in skus for wh in ("DE", "CN")})
    with db.write() as s:
        rebaseline(s)
    with db.write() as s:
        adjust_stock(s, "SKU-0001", "DE", 5, "count")
        s.execute(m.StockLevel.__table__.update().where(m.StockLevel.sku == "SKU-0002", m.StockLevel.warehouse == "DE")
                  .values(on_hand=m.StockLevel.on_hand - 3))
    # When the alerts round moves the baseline on (SKU-0002 deviates and keeps its baseline)
    deviating = Result("stock deviation", WARN, "moved", code=DEVIATION_CODE, subject="SKU-0002",
                       details={"warehouse": "DE"})
    statements: list[str] = []
    listener = lambda *a: statements.append(a[2])      # noqa: E731 (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        refresh(db, [deviating], now=utcnow())
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # Then every other SKU's baseline is the level now, the deviating one's is the old one, and the
    # write is a few statements for 1,200 rows (two per row before: the database's write lock, held
    # meanwhile, is every push's and order import's)
    with db.read() as s:
        watch = {(w.sku, w.warehouse): w.on_hand for w in s.scalars(select(StockWatch))}
        assert deviations(s)[0] == {("SKU-0002", "DE"): -3}
    assert len(watch) == 2 * len(skus)
    assert watch[("SKU-0001", "DE")] == 15 and watch[("SKU-0002", "DE")] == 10 and watch[("SKU-0002", "CN")] == 10
    assert len(statements) < 20, len(statements)
