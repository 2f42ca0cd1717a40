from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

import pytest
from sqlalchemy import func, select

from crossdock.db import models as m
from crossdock.errors import InventoryError, OrderError, WarehouseError
from crossdock.sync_engine import inventory, orders
from crossdock.sync_engine.dirty import DirtySku
from crossdock.warehouse.routing import WarehouseSite
from tests.sync_engine.support import (
    NOW,
    flags_by_pid,
    import_orders,
    order,
    reserved_total,
    seed,
    stock_of,
)


def store(db, *orders_, channel="ebay-us"):
    """Store orders without reserving; returns platform id → local id."""
    with db.write() as s:
        return orders.upsert_orders(s, channel, list(orders_), reserve=False, now=NOW).order_ids


# ------------------------------------------------------------------ reserve
def test_reserve_order_reserves_each_line_and_is_idempotent(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 3}, listings={"ebay-us": ["SKU-1", "SKU-2"]})
    ids = store(db, order("O1", [("SKU-1", 2), ("SKU-2", 1)]))

    with db.write() as s:
        first = inventory.reserve_order(s, ids["O1"], now=NOW)
    with db.write() as s:
        again = inventory.reserve_order(s, ids["O1"], now=NOW)

    assert [(o.sku, o.warehouse, o.quantity, o.status) for o in first.lines] == [
        ("SKU-1", "DE", 2, "reserved"), ("SKU-2", "DE", 1, "reserved")]
    assert [o.status for o in again.lines] == ["already_reserved", "already_reserved"]
    assert stock_of(db, "SKU-1") == (5, 2) and stock_of(db, "SKU-2") == (3, 1)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Reservation)) == 2
        assert inventory.available(s, "SKU-1") == 3
        assert inventory.availability_snapshot(s, ["SKU-1", "SKU-2", "NOPE"]) == {"SKU-1": 3, "SKU-2": 2,
                                                                                  "NOPE": 0}
        # every availability change marked the SKU dirty for the channel listing it
        assert sorted(s.scalars(select(DirtySku.sku))) == ["SKU-1", "SKU-2"]


def test_short_line_reserves_nothing_flags_the_order_and_a_restock_clears_it(db):
    seed(db, stock={("SKU-1", "DE"): 2, ("SKU-2", "DE"): 5})
    ids = store(db, order("O1", [("SKU-1", 3), ("SKU-2", 1)]))

    with db.write() as s:
        result = inventory.reserve_order(s, ids["O1"], now=NOW)

    assert [o.status for o in result.lines] == ["insufficient", "reserved"]
    assert result.flags_added == ("XD-INV-001",)
    assert stock_of(db, "SKU-1") == (2, 0)           # nothing reserved for the short line
    assert flags_by_pid(db) == {"O1": ["XD-INV-001"]}
    with db.read() as s:
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-INV-001")).one()
        assert (ev.entity, ev.outcome, ev.channel) == ("O1", "partial", "ebay-us")
        assert "SKU-1 x3" in ev.message

    # When stock arrives and the order is reserved again
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-1", "DE", 5, "received", "PO-7", now=NOW)
    with db.write() as s:
        again = inventory.reserve_order(s, ids["O1"], now=NOW)
    assert [o.status for o in again.lines] == ["reserved", "already_reserved"]
    assert again.flags_removed == ("XD-INV-001",) and again.fully_held
    assert flags_by_pid(db) == {"O1": []}
    assert stock_of(db, "SKU-1") == (7, 3)


def test_lines_without_sku_or_with_unknown_sku_are_flagged(db):
    seed(db)
    ids = store(db, order("O1", [(None, 1), ("GHOST", 1), ("SKU-1", 1)]))
    with db.write() as s:
        result = inventory.reserve_order(s, ids["O1"], now=NOW)
    assert [o.status for o in result.lines] == ["no_sku", "unknown_sku", "reserved"]
    assert set(flags_by_pid(db)["O1"]) == {"XD-ORD-004", "XD-INV-004"}
    with pytest.raises(OrderError) as exc:
        with db.write() as s:
            inventory.reserve_order(s, 999_999)
    assert exc.value.code == "XD-ORD-005"


def test_warehouse_choice_most_free_stock_by_default_and_injectable(db):
    seed(db, stock={("SKU-1", "DE"): 2, ("SKU-1", "CN"): 9, ("SKU-1", "GB"): 4})
    ids = store(db, order("O1", [("SKU-1", 1)]), order("O2", [("SKU-1", 1)], buyer_country="FR"))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
        # Routing (destination first) replaces the default: a French buyer ships from the EU warehouse
        chooser = inventory.routing_chooser([WarehouseSite("DE", "DE"), WarehouseSite("CN", "CN"),
                                             WarehouseSite("GB", "GB")])
        inventory.reserve_order(s, ids["O2"], chooser=chooser, now=NOW)
    assert stock_of(db, "SKU-1", "CN") == (9, 1)
    assert stock_of(db, "SKU-1", "DE") == (2, 1)


def test_reservation_uses_the_order_warehouse_when_set(db):
    seed(db, stock={("SKU-1", "DE"): 1, ("SKU-1", "CN"): 9})
    ids = store(db, order("O1", [("SKU-1", 2)]))
    with db.write() as s:
        s.execute(orders.ORDERS.update().where(orders.ORDERS.c.id == ids["O1"]).values(warehouse="DE"))
        result = inventory.reserve_order(s, ids["O1"], now=NOW)
    assert result.short and result.short[0].warehouse == "DE"      # not silently moved to CN
    assert stock_of(db, "SKU-1", "CN") == (9, 0)


def test_cancelled_and_platform_fulfilled_orders_reserve_nothing(db):
    seed(db)
    from crossdock.models import OrderStatus

    ids = store(db, order("C1", status=OrderStatus.CANCELLED), order("F1", fulfillment_channel="AFN"))
    with db.write() as s:
        assert inventory.reserve_order(s, ids["C1"]).skipped_reason == "order is cancelled"
        assert "AFN" in inventory.reserve_order(s, ids["F1"]).skipped_reason
    assert stock_of(db, "SKU-1") == (5, 0)


# ------------------------------------------------------------------ release / consume / adjust
def test_release_returns_units_once(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 5})
    ids = store(db, order("O1", [("SKU-1", 2), ("SKU-2", 3)]))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
    with db.write() as s:
        released = inventory.release_order(s, ids["O1"], now=NOW)
    with db.write() as s:
        twice = inventory.release_order(s, ids["O1"], now=NOW)
    assert released.quantity == 5 and twice.quantity == 0
    assert stock_of(db, "SKU-1") == (5, 0) and stock_of(db, "SKU-2") == (5, 0)
    with db.read() as s:
        assert set(s.scalars(select(m.Reservation.status))) == {"released"}
        skipped = s.scalars(select(m.SyncEvent).where(m.SyncEvent.code == "XD-INV-006")).one()
        assert skipped.outcome == "skipped"
    # a released line is not reserved again by a stray reserve call
    with db.write() as s:
        assert [o.status for o in inventory.reserve_order(s, ids["O1"]).lines] == ["already_reserved"] * 2
    assert stock_of(db, "SKU-1") == (5, 0)


def test_consume_ships_reserved_units_with_a_movement(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 4})
    ids = store(db, order("O1", [("SKU-1", 2), ("SKU-2", 3)]))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
        line_ids = dict(s.execute(select(m.OrderLine.sku, m.OrderLine.id)).all())

    # a partial shipment of one line, then the rest of the order
    with db.write() as s:
        part = inventory.consume_line(s, line_ids["SKU-2"], quantity=1, reference="parcel 1", now=NOW)
    assert part.quantity == 1 and stock_of(db, "SKU-2") == (3, 2)
    with db.write() as s:
        rest = inventory.consume_order(s, ids["O1"], now=NOW)
    assert sorted((x.sku, x.quantity) for x in rest.settled) == [("SKU-1", 2), ("SKU-2", 2)]
    assert stock_of(db, "SKU-1") == (3, 0) and stock_of(db, "SKU-2") == (1, 0)
    with db.read() as s:
        moves = s.execute(select(m.StockMovement.sku, m.StockMovement.delta, m.StockMovement.reason)
                          .order_by(m.StockMovement.id)).all()
        assert [tuple(x) for x in moves] == [("SKU-2", -1, "shipped"), ("SKU-1", -2, "shipped"),
                                             ("SKU-2", -2, "shipped")]
        assert set(s.scalars(select(m.Reservation.status))) == {"consumed"}
    with db.write() as s:
        assert inventory.consume_order(s, ids["O1"]).quantity == 0      # duplicate ship event
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            inventory.consume_line(s, 424242)
    assert exc.value.code == "XD-INV-006"


def test_consume_more_than_reserved_is_refused(db):
    seed(db)
    ids = store(db, order("O1", [("SKU-1", 2)]))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
        line_id = s.scalar(select(m.OrderLine.id))
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            inventory.consume_line(s, line_id, quantity=3)
    assert exc.value.code == "XD-INV-005"
    assert stock_of(db, "SKU-1") == (5, 2)


def test_adjust_stock_refuses_negative_or_below_reserved(db):
    seed(db)
    ids = store(db, order("O1", [("SKU-1", 3)]))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            inventory.adjust_stock(s, "SKU-1", "DE", -3, "damaged")     # 5 - 3 = 2 < 3 reserved
    assert exc.value.code == "XD-INV-005" and "reserved 3" in exc.value.detail
    with db.write() as s:
        state = inventory.adjust_stock(s, "SKU-1", "DE", -2, "damaged", "RMA-1", actor="alice")
    assert (state.on_hand, state.reserved) == (3, 3)
    with db.write() as s:
        new = inventory.adjust_stock(s, "SKU-1", "GB", 4, "received")   # creates the stock row
    assert (new.on_hand, new.reserved) == (4, 0)
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            inventory.adjust_stock(s, "SKU-1", "CN", -1, "count")          # no row: would go negative
    assert exc.value.code == "XD-INV-005"
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            inventory.adjust_stock(s, "NOPE", "DE", 1, "count")
    assert exc.value.code == "XD-INV-004"
    with pytest.raises(WarehouseError):
        with db.write() as s:
            inventory.adjust_stock(s, "SKU-1", "XX", 1, "count")
    with db.read() as s:
        assert s.scalars(select(m.StockMovement.delta).order_by(m.StockMovement.id)).all() == [-2, 4]


def test_available_subtracts_safety_stock_across_warehouses(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-1", "CN"): 4}, safety={"SKU-1": 2})
    ids = store(db, order("O1", [("SKU-1", 3)]))
    with db.write() as s:
        inventory.reserve_order(s, ids["O1"], now=NOW)
    with db.read() as s:
        assert inventory.available(s, "SKU-1") == 5 - 3 + 4 - 2


# ------------------------------------------------------------------ concurrency
LAST_UNITS = 5


def _race(db, mode: str, *, threads: int, per_worker: int, processes: bool) -> None:
    pids = [[f"{mode}-{w}-{i}" for i in range(per_worker)] for w in range(threads)]
    if processes:
        ctx = mp.get_context("spawn")
        start = ctx.Event()
        workers = [ctx.Process(target=import_orders, args=(db.url, "ebay-us", p, mode, start)) for p in pids]
    else:
        start = threading.Event()
        errors: list[BaseException] = []

        def run(p):
            try:
                import_orders(db.url, "ebay-us", p, mode, start)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=run, args=(p,)) for p in pids]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(timeout=120)
    if processes:
        assert [w.exitcode for w in workers] == [0] * len(workers)
    else:
        assert not errors, errors


@pytest.mark.parametrize("mode", ["bulk", "conditional"])
@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_concurrent_imports_reserve_exactly_the_last_units(db, mode, processes):
    # Given 5 units left and several workers importing 12 one-unit orders at once
    seed(db, stock={("SKU-1", "DE"): LAST_UNITS}, listings={"ebay-us": ["SKU-1"]})
    workers, per_worker = (3, 4) if processes else (4, 3)

    _race(db, mode, threads=workers, per_worker=per_worker, processes=processes)

    # Then exactly 5 are reserved, never more, and every other order is flagged
    total = workers * per_worker
    assert stock_of(db, "SKU-1") == (LAST_UNITS, LAST_UNITS)
    assert reserved_total(db, "SKU-1") == LAST_UNITS
    flags = flags_by_pid(db)
    assert len(flags) == total
    assert sum(1 for f in flags.values() if f == ["XD-INV-001"]) == total - LAST_UNITS
    assert sum(1 for f in flags.values() if f == []) == LAST_UNITS
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Reservation)) == LAST_UNITS
        assert s.scalar(select(func.count()).select_from(m.SyncEvent)
                        .where(m.SyncEvent.code == "XD-INV-001")) == total - LAST_UNITS
        # the SKU reached zero: one dirty row (coalesced), marked zero for an urgent push
        assert s.execute(select(DirtySku.channel, DirtySku.zero)).all() == [("ebay-us", True)]


def test_the_same_order_reserved_concurrently_is_reserved_once(db):
    seed(db, stock={("SKU-1", "DE"): 10})
    ids = store(db, order("O1", [("SKU-1", 2)]))
    start = threading.Event()
    errors = []

    def reserve():
        try:
            start.wait(10)
            db.run_write(lambda s: inventory.reserve_order(s, ids["O1"], now=NOW))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert stock_of(db, "SKU-1") == (10, 2)
    assert reserved_total(db, "SKU-1") == 2


def test_bulk_reservation_is_first_come_first_served(db):
    seed(db, stock={("SKU-1", "DE"): 3})
    early = [order(f"E{i}", [("SKU-1", 1)], purchased_at=NOW - dt.timedelta(hours=3 - i)) for i in range(3)]
    late = [order("L0", [("SKU-1", 1)], purchased_at=NOW)]
    with db.write() as s:
        result = orders.upsert_orders(s, "ebay-us", late + early, now=NOW)
    assert [pid for pid, f in sorted(flags_by_pid(db).items()) if f] == ["L0"]
    assert len(result.short) == 1
