"""Stock on the database: warehouses and bins, adjustments with an audit
trail, stock files (all or nothing), the stock view, and routing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crossdock.db.models import Bin, OutboxEntry, Reservation, StockLevel, StockMovement, SyncEvent, Warehouse
from crossdock.errors import ConfigError, InventoryError, WarehouseError
from crossdock.sync_engine.dirty import DirtySku
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.stock import (
    adjust,
    movements,
    parse_delta,
    reserve_routed,
    stock_view,
    sync_warehouses,
    totals,
)
from crossdock.warehouse.stock_file import import_stock_rows, parse_stock_file
from tests.warehouse.db_support import WAREHOUSES, OrderSpec, add_order, count, receive, seed_catalogue


@pytest.fixture
def seeded(db):
    seed_catalogue(db)
    return db


def _level(db, sku, wh):
    with db.read() as s:
        row = s.scalar(select(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse == wh))
        return None if row is None else (row.on_hand, row.reserved, row.bin)


# ------------------------------------------------------------------ warehouses

def test_configured_warehouses_and_bins_are_created_once(db):
    with db.write() as s:
        created = sync_warehouses(s, WAREHOUSES)
    with db.write() as s:
        again = sync_warehouses(s, WAREHOUSES)
    assert created == ["CN", "DE"] and again == []
    with db.read() as s:
        assert {(w.code, w.country) for w in s.scalars(select(Warehouse))} == {("CN", "CN"), ("DE", "DE")}
        bins = sorted(s.scalars(select(Bin.code).where(Bin.warehouse == "DE")))
    assert bins == ["R1-01", "R1-02", "R2-01"]


# ------------------------------------------------------------------ adjustments

def test_receive_and_write_off_leave_an_audit_trail_and_reach_the_channel(seeded):
    db = seeded
    with db.write() as s:
        first = adjust(s, "TEE-BLK-M", "CN", "+12", ledger=ENGINE_LEDGER, reason="receive", reference="PO-1001", bin="A-1-2",
                       actor="cli:alice")
    with db.write() as s:
        second = adjust(s, "TEE-BLK-M", "CN", -2, ledger=ENGINE_LEDGER, reason="damage", actor="cli:bob")
    assert (first.on_hand, first.bin) == (12, "A-1-2")
    assert (second.on_hand, second.available, second.delta) == (10, 10, -2)
    with db.read() as s:
        trail = [(m.delta, m.reason, m.reference, m.actor) for m in movements(s, sku="TEE-BLK-M")]
        assert trail == [(-2, "damage", None, "cli:bob"), (12, "receive", "PO-1001", "cli:alice")]
        # the new availability flows to the channel: a dirty mark and a stock push in the outbox
        assert s.scalar(select(DirtySku.sku).where(DirtySku.channel == "amazon-de")) == "TEE-BLK-M"
        assert s.scalar(select(OutboxEntry.kind).where(OutboxEntry.channel == "amazon-de")) == "push_stock"
        ops = [e.operation for e in s.scalars(select(SyncEvent).where(SyncEvent.entity == "TEE-BLK-M"))]
    assert ops.count("stock.adjust") == 2 and "stock.bin" in ops


def test_a_change_below_what_is_reserved_is_refused_and_changes_nothing(seeded):
    db = seeded
    receive(db, "MUG-WHT", "DE", 3)
    add_order(db, OrderSpec("028-1", buyer="DE", lines=[("MUG-WHT", 2, "9.90")]))
    assert _level(db, "MUG-WHT", "DE") == (3, 2, None)
    with pytest.raises(InventoryError) as exc:
        with db.write() as s:
            adjust(s, "MUG-WHT", "DE", -2, ledger=ENGINE_LEDGER, reason="count")
    assert exc.value.code == "XD-INV-005"
    assert _level(db, "MUG-WHT", "DE") == (3, 2, None)
    assert count(db, StockMovement, StockMovement.reason == "count") == 0


@pytest.mark.parametrize("kwargs, code", [
    (dict(sku="TEE-BLK-M", warehouse="FR", delta=1), "XD-WH-001"),
    (dict(sku="NOPE", warehouse="CN", delta=1), "XD-INV-004"),
    (dict(sku="TEE-BLK-M", warehouse="CN", delta=1, bin="Z-9"), "XD-WH-004"),
    (dict(sku="TEE-BLK-M", warehouse="CN", delta=0), "XD-CFG-009"),
    (dict(sku="TEE-BLK-M", warehouse="CN", delta=1, reason="  "), "XD-CFG-009"),
])
def test_bad_adjustments_name_the_problem(seeded, kwargs, code):
    kwargs = {"reason": "receive", **kwargs}
    with pytest.raises((WarehouseError, InventoryError, ConfigError)) as exc:
        with seeded.write() as s:
            adjust(s, kwargs.pop("sku"), kwargs.pop("warehouse"), kwargs.pop("delta"), ledger=ENGINE_LEDGER, **kwargs)
    assert exc.value.code == code
    assert count(seeded, StockMovement) == 0


def test_delta_zero_with_a_bin_moves_the_sku_without_a_movement(seeded):
    receive(seeded, "TEE-BLK-M", "CN", 4, bin_code="A-1-1")
    with seeded.write() as s:
        moved = adjust(s, "TEE-BLK-M", "CN", "0", ledger=ENGINE_LEDGER, reason="relocate", bin="B-1-1")
    assert (moved.on_hand, moved.bin) == (4, "B-1-1")
    assert count(seeded, StockMovement) == 1


@pytest.mark.parametrize("text, value", [("+12", 12), ("-3", -3), ("7", 7), (" +0 ", 0)])
def test_parse_delta(text, value):
    assert parse_delta(text) == value


@pytest.mark.parametrize("text", ["12.5", "+", "ten", "", "1e3"])
def test_parse_delta_rejects_non_integers(text):
    with pytest.raises(ConfigError):
        parse_delta(text)


# ------------------------------------------------------------------ stock files

GOOD_FILE = """sku,warehouse,delta,on_hand,reason,reference,bin
TEE-BLK-M,CN,+20,,receive,PO-7,A-2-1
MUG-WHT,DE,,15,count,,R1-02
TEE-BLK-M,CN,-1,,damage,,
TEE-BLK-M,DE,5,,receive,,
"""


def test_a_stock_file_is_applied_with_reasons_and_references(seeded):
    rows = parse_stock_file(GOOD_FILE, path="stock/march.csv")
    with seeded.write() as s:
        result = import_stock_rows(s, rows, ledger=ENGINE_LEDGER, path="stock/march.csv", actor="cli:alice")
    assert result.to_dict()["applied"] == 4 and result.unchanged == 0
    assert _level(seeded, "TEE-BLK-M", "CN") == (19, 0, "A-2-1")
    assert _level(seeded, "MUG-WHT", "DE") == (15, 0, "R1-02")
    with seeded.read() as s:
        trail = {(m.sku, m.warehouse, m.delta, m.reason, m.reference, m.actor) for m in movements(s)}
    assert trail == {
        ("TEE-BLK-M", "CN", 20, "receive", "PO-7", "cli:alice"),
        ("MUG-WHT", "DE", 15, "count", "march.csv:3", "cli:alice"),
        ("TEE-BLK-M", "CN", -1, "damage", "march.csv:4", "cli:alice"),
        ("TEE-BLK-M", "DE", 5, "receive", "march.csv:5", "cli:alice"),
    }


def test_a_counted_quantity_that_matches_changes_nothing(seeded):
    receive(seeded, "MUG-WHT", "DE", 15)
    rows = parse_stock_file("sku;warehouse;on_hand;reason\nMUG-WHT;DE;15;count\n")   # ';' as some locales write
    with seeded.write() as s:
        result = import_stock_rows(s, rows, ledger=ENGINE_LEDGER)
    assert (len(result.changes), result.unchanged) == (0, 1)
    assert count(seeded, StockMovement) == 1


@pytest.mark.parametrize("text, fragment", [
    ("sku,warehouse,delta,reason\nTEE-BLK-M,CN,ten,receive\n", "line 2: delta 'ten' is not a whole number"),
    ("sku,warehouse,delta,reason\nTEE-BLK-M,CN,+1,receive\nMUG-WHT,DE,,receive\n", "line 3: no delta or on_hand"),
    ("sku,warehouse,delta,on_hand,reason\nTEE-BLK-M,CN,1,4,receive\n", "line 2: give delta or on_hand, not both"),
    ("sku,warehouse,delta\nTEE-BLK-M,CN,1\n", "no 'reason' column"),
    ("sku,delta,reason\nTEE-BLK-M,1,receive\n", "column 'warehouse' missing"),
    ("sku,warehouse,qty,reason\nTEE-BLK-M,CN,1,receive\n", "unknown column(s) 'qty'"),
    ("sku,warehouse,delta,reason\nTEE-BLK-M,CN,1\n", "line 2: 3 fields, the header has 4"),
    ("sku,warehouse,on_hand,reason\nTEE-BLK-M,CN,-4,count\n", "on_hand '-4' is not a whole number >= 0"),
    ("", "the file is empty"),
    ("sku,warehouse,delta,reason\n", "no rows after the header"),
])
def test_unreadable_rows_are_xd_wh_003_with_the_line(text, fragment):
    with pytest.raises(WarehouseError) as exc:
        parse_stock_file(text, path="bad.csv")
    assert exc.value.code == "XD-WH-003"
    assert fragment in exc.value.detail


def test_a_reason_for_the_whole_file_fills_empty_reasons():
    rows = parse_stock_file("sku,warehouse,delta\nTEE-BLK-M,CN,+3\n", default_reason="receive")
    assert rows[0].reason == "receive" and rows[0].delta == 3 and rows[0].line == 2


def test_a_bad_row_means_nothing_from_the_file_is_applied(seeded):
    # Given a file whose first rows are fine and whose last row names an unknown bin and SKU
    text = ("sku,warehouse,delta,reason,bin\n"
            "TEE-BLK-M,CN,+5,receive,A-1-1\n"
            "MUG-WHT,DE,+5,receive,\n"
            "GHOST-1,DE,+1,receive,\n"
            "MUG-WHT,DE,+1,receive,Z-404\n")
    rows = parse_stock_file(text, path="bad.csv")
    # When it is imported
    with pytest.raises(WarehouseError) as exc:
        with seeded.write() as s:
            import_stock_rows(s, rows, ledger=ENGINE_LEDGER, path="bad.csv")
    # Then every bad row is named, and nothing at all changed
    assert exc.value.code == "XD-WH-003"
    assert "line 4: [XD-INV-004]" in exc.value.detail and "line 5: [XD-WH-004]" in exc.value.detail
    assert count(seeded, StockLevel) == 0 and count(seeded, StockMovement) == 0


def test_a_row_refused_while_applying_rolls_back_the_whole_file(seeded):
    # Given 2 mugs on hand and a file that receives tees, then writes off 5 mugs
    receive(seeded, "MUG-WHT", "DE", 2)
    rows = parse_stock_file("sku,warehouse,delta,reason\nTEE-BLK-M,CN,+5,receive\nMUG-WHT,DE,-5,damage\n",
                            path="writeoff.csv")
    with pytest.raises(WarehouseError) as exc:
        with seeded.write() as s:
            import_stock_rows(s, rows, ledger=ENGINE_LEDGER, path="writeoff.csv")
    assert exc.value.code == "XD-WH-003" and "line 3: [XD-INV-005]" in exc.value.detail
    # Then the tees received on line 2 were not kept either
    assert _level(seeded, "TEE-BLK-M", "CN") is None
    assert _level(seeded, "MUG-WHT", "DE") == (2, 0, None)
    assert count(seeded, StockMovement) == 1


# ------------------------------------------------------------------ view

def test_stock_view_and_totals(seeded):
    receive(seeded, "TEE-BLK-M", "CN", 10, bin_code="A-1-1")
    receive(seeded, "TEE-BLK-M", "DE", 4, bin_code="R1-01")
    receive(seeded, "MUG-WHT", "DE", 6)
    add_order(seeded, OrderSpec("028-2", buyer="DE", lines=[("TEE-BLK-M", 3, "20.00")]))
    with seeded.read() as s:
        rows = stock_view(s)
        only_de = stock_view(s, warehouse="DE")
    assert [(r.sku, r.warehouse, r.bin, r.on_hand, r.reserved, r.available) for r in rows] == [
        ("MUG-WHT", "DE", None, 6, 0, 6),
        ("TEE-BLK-M", "CN", "A-1-1", 10, 0, 10),
        ("TEE-BLK-M", "DE", "R1-01", 4, 3, 1),
    ]
    assert totals(rows)["TEE-BLK-M"] == {"on_hand": 14, "reserved": 3, "available": 11}
    assert {r.warehouse for r in only_de} == {"DE"}


# ------------------------------------------------------------------ routing

class _Cfg:
    def __init__(self, routing):
        self.rules = {"routing": routing}


def _reserved_in(db, order_id):
    from crossdock.db.models import OrderLine

    with db.read() as s:
        return sorted(set(s.scalars(select(Reservation.warehouse).join(
            OrderLine, OrderLine.id == Reservation.order_line_id).where(OrderLine.order_id == order_id))))


@pytest.mark.parametrize("buyer, routing, expected", [
    ("DE", {}, "DE"),                                         # same country first
    ("FR", {}, "DE"),                                         # then the buyer's customs union
    ("US", {"fallback": ["CN", "DE"]}, "CN"),                 # configured fallback order
    ("FR", {"by_destination": {"FR": ["CN"]}}, "CN"),         # configured per destination
])
def test_orders_go_to_the_preferred_warehouse_that_can_fill_them(seeded, buyer, routing, expected):
    receive(seeded, "TEE-BLK-M", "CN", 10)
    receive(seeded, "TEE-BLK-M", "DE", 10)
    order_id = add_order(seeded, OrderSpec(f"R-{buyer}", buyer=buyer), cfg=_Cfg(routing))
    assert _reserved_in(seeded, order_id) == [expected]


def test_a_warehouse_that_cannot_fill_the_whole_order_is_passed_over(seeded):
    # Given DE (the buyer's country) has tees but no mugs, and CN has both
    receive(seeded, "TEE-BLK-M", "DE", 5)
    receive(seeded, "TEE-BLK-M", "CN", 5)
    receive(seeded, "MUG-WHT", "CN", 5)
    order_id = add_order(seeded, OrderSpec("R-split", buyer="DE",
                                           lines=[("TEE-BLK-M", 1, "20.00"), ("MUG-WHT", 1, "9.90")]))
    # Then the whole order goes to CN, never split
    assert _reserved_in(seeded, order_id) == ["CN"]
    assert _level(seeded, "TEE-BLK-M", "DE") == (5, 0, None)


def test_reserve_routed_after_a_restock_reserves_what_was_short(seeded):
    order_id = add_order(seeded, OrderSpec("R-late", buyer="DE"))
    assert _reserved_in(seeded, order_id) == []
    receive(seeded, "TEE-BLK-M", "DE", 2)
    with seeded.write() as s:
        result = reserve_routed(s, [order_id], ledger=ENGINE_LEDGER)
    assert result[order_id].fully_held
    assert _reserved_in(seeded, order_id) == ["DE"]


# ------------------------------------------------------------------ counts given twice, quantities that do not fit

def test_a_sku_counted_twice_is_refused_naming_both_lines(seeded):
    # Given 19 mugs on hand (the issue: counts 15 and 17 left 13, and exit 0)
    receive(seeded, "MUG-WHT", "DE", 19)
    text = ("sku,warehouse,on_hand,delta,reason\n"
            "MUG-WHT,DE,15,,count\n"
            "MUG-WHT,DE,17,,count\n"
            "TEE-BLK-M,CN,4,,count\n"
            "TEE-BLK-M,CN,,+2,receive\n")
    # When the file is read
    with pytest.raises(WarehouseError) as exc:
        parse_stock_file(text, path="count.csv")
    # Then both conflicts are named with both lines, and nothing changed
    assert exc.value.code == "XD-WH-003"
    problems = exc.value.context["problems"]
    assert problems[0].startswith("line 3: [XD-WH-006]") and "line 2" in problems[0]
    assert problems[1].startswith("line 5: [XD-WH-006]") and "line 4" in problems[1]
    assert _level(seeded, "MUG-WHT", "DE") == (19, 0, None)


def test_several_movements_of_one_sku_apply_in_file_order(seeded):
    receive(seeded, "MUG-WHT", "DE", 2)
    rows = parse_stock_file("sku,warehouse,delta,reason\nMUG-WHT,DE,+5,receive\nMUG-WHT,DE,-6,damage\n")
    with seeded.write() as s:
        import_stock_rows(s, rows, ledger=ENGINE_LEDGER)
    assert _level(seeded, "MUG-WHT", "DE") == (1, 0, None)


@pytest.mark.parametrize("row, words", [
    ("MUG-WHT,DE,2147483648,,count", "on_hand 2147483648 is beyond"),
    ("MUG-WHT,DE,,+99999999999,receive", "delta +99999999999 is beyond"),
    ("MUG-WHT,DE,,-2147483648,damage", "delta -2147483648 is beyond"),
])
def test_a_quantity_beyond_the_integer_column_is_a_bad_line(row, words):
    with pytest.raises(WarehouseError) as exc:
        parse_stock_file(f"sku,warehouse,on_hand,delta,reason\n{row}\n", path="big.csv")
    assert exc.value.code == "XD-WH-003" and f"line 2: [XD-WH-005] {words}" in exc.value.detail


def test_what_a_file_would_leave_on_hand_is_checked_before_sql_and_every_line_listed(seeded):
    # Given a stock level near the largest an INTEGER column holds (PostgreSQL would fail on more)
    receive(seeded, "MUG-WHT", "DE", 2_147_483_000)
    receive(seeded, "TEE-BLK-M", "CN", 3)
    text = ("sku,warehouse,delta,reason\n"
            "MUG-WHT,DE,+1000,receive\n"            # 2,147,484,000: beyond the column
            "TEE-BLK-M,CN,-5,damage\n"              # below zero
            "TEE-BLK-M,DE,ten,receive\n"            # not a number (found while parsing)
            "CAP-RED,DE,+1,receive\n")              # fine
    # When it is imported the way the CLI does (the file's problems and the database's together)
    from crossdock.warehouse.stock_file import parse_stock_rows

    rows, problems = parse_stock_rows(text, path="big.csv")
    with pytest.raises(WarehouseError) as exc:
        with seeded.write() as s:
            import_stock_rows(s, rows, ledger=ENGINE_LEDGER, path="big.csv", problems=problems)
    # Then every bad line is named in line order, and nothing was written
    lines = exc.value.context["problems"]
    assert [p.split(":")[0] for p in lines] == ["line 2", "line 3", "line 4"]
    assert "[XD-WH-005]" in lines[0] and "[XD-INV-005]" in lines[1] and "ten" in lines[2]
    assert _level(seeded, "MUG-WHT", "DE") == (2_147_483_000, 0, None)
    assert _level(seeded, "CAP-RED", "DE") is None


def test_adjust_up_to_the_largest_quantity_and_not_beyond(seeded):
    receive(seeded, "MUG-WHT", "DE", 2_147_483_000)
    with seeded.write() as s:
        assert adjust(s, "MUG-WHT", "DE", "+647", ledger=ENGINE_LEDGER, reason="receive").on_hand == 2_147_483_647
    for change in ("+1", "+99999999999", "-99999999999"):
        with pytest.raises(WarehouseError) as exc:
            with seeded.write() as s:
                adjust(s, "MUG-WHT", "DE", change, ledger=ENGINE_LEDGER, reason="receive")
        assert exc.value.code == "XD-WH-005", change
    assert _level(seeded, "MUG-WHT", "DE") == (2_147_483_647, 0, None)


def _statements_of_import(db, text: str, path: str) -> int:
    from sqlalchemy import event

    seen = []

    def on_execute(*_args):
        seen.append(1)

    rows = parse_stock_file(text, path=path)
    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        with db.write() as s:
            import_stock_rows(s, rows, ledger=ENGINE_LEDGER, path=path)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return len(seen)


def test_a_stock_take_is_written_in_statements_that_do_not_grow_with_its_rows(seeded):
    from crossdock.db.models import ChannelListing, Product

    # Given 60 more products listed on the channel, each with stock in CN
    skus = [f"BULK-{i:03d}" for i in range(60)]
    with seeded.write() as s:
        s.add_all(Product(sku=sku, title=sku) for sku in skus)
        s.flush()
        s.add_all(ChannelListing(channel="amazon-de", sku=sku) for sku in skus)
        s.add_all(StockLevel(sku=sku, warehouse="CN", on_hand=4, reserved=0) for sku in skus)
    entries_before = count(seeded, OutboxEntry, OutboxEntry.kind == "push_stock")
    with seeded.write() as s:
        s.query(DirtySku).delete()

    # When a count of 6 SKUs and then a count of all 60 (each different from what is on hand) are imported
    few = _statements_of_import(seeded, "sku,warehouse,on_hand,reason\n"
                                + "".join(f"{sku},CN,9,count\n" for sku in skus[:6]), "few.csv")
    many = _statements_of_import(seeded, "sku,warehouse,on_hand,reason\n"
                                 + "".join(f"{sku},CN,{10 + i},count\n" for i, sku in enumerate(skus)), "all.csv")

    # Then ten times the rows take no more statements (one pass, one mark for the file), and every
    # change still has its movement, its event and its dirty mark, and the channel one window entry
    assert many <= few
    assert [_level(seeded, sku, "CN")[0] for sku in skus[:3]] == [10, 11, 12]
    with seeded.read() as s:
        moves = s.scalars(select(StockMovement).where(StockMovement.reference.like("all.csv:%"))).all()
        events = s.scalars(select(SyncEvent).where(SyncEvent.operation == "stock.adjust",
                                                   SyncEvent.entity.like("BULK-%"))).all()
        dirty = set(s.scalars(select(DirtySku.sku).where(DirtySku.channel == "amazon-de")))
    assert sorted((m.sku, m.delta) for m in moves) == [(sku, 10 + i - (9 if i < 6 else 4))
                                                      for i, sku in enumerate(skus)]
    assert len(events) == 6 + 60
    assert dirty == set(skus)
    assert count(seeded, OutboxEntry, OutboxEntry.kind == "push_stock") - entries_before <= 2
