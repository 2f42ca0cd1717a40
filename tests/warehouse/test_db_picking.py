"""Pick lists: ready orders batched per warehouse, rows sorted by bin."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from crossdock.warehouse.picking import build_picklists, ready_orders, write_picklist_pdf
from tests.warehouse.db_support import T0, OrderSpec, add_order, receive, seed_catalogue

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def shop(db):
    # Given two warehouses; in CN the tees sit in bin A-10-1 and the mugs in A-2-1
    # (natural order: A-2 before A-10), in DE the tees sit in R1-02
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "CN", 50, bin_code="A-10-1")
    receive(db, "MUG-WHT", "CN", 50, bin_code="A-2-1")
    receive(db, "TEE-BLK-M", "DE", 5, bin_code="R1-02")
    # US and GB buyers go to CN (fallback), DE buyers to DE
    cfg = type("Cfg", (), {"rules": {"routing": {"fallback": ["CN", "DE"]}}})()
    add_order(db, OrderSpec("US-1", buyer="US", lines=[("TEE-BLK-M", 2, "20.00"), ("MUG-WHT", 1, "9.90")],
                            ship_by=T0 + dt.timedelta(days=2)), cfg=cfg)
    add_order(db, OrderSpec("US-2", buyer="US", lines=[("TEE-BLK-M", 1, "20.00")],
                            ship_by=T0 + dt.timedelta(days=1)), cfg=cfg)
    add_order(db, OrderSpec("GB-1", buyer="GB", lines=[("CAP-RED", 1, "12.00")]), cfg=cfg)       # no stock
    add_order(db, OrderSpec("DE-1", buyer="DE", lines=[("TEE-BLK-M", 1, "20.00")]), cfg=cfg)
    add_order(db, OrderSpec("DE-2", buyer="DE", status="cancelled"), cfg=cfg)
    add_order(db, OrderSpec("DE-3", buyer="DE", status="pending"), cfg=cfg)
    return db


def test_only_fully_reserved_open_orders_are_ready_most_urgent_first(shop):
    with shop.read() as s:
        ready = ready_orders(s)
    assert [(o.platform_order_id, o.warehouse) for o in ready] == [("US-2", "CN"), ("US-1", "CN"), ("DE-1", "DE")]


def test_picklist_batches_orders_per_warehouse_sorted_by_bin(shop):
    with shop.read() as s:
        lists = build_picklists(s, now=NOW)
    assert [p.warehouse for p in lists] == ["CN", "DE"]
    cn = lists[0]
    assert [(r.bin, r.sku, r.quantity, r.orders) for r in cn.rows] == [
        ("A-2-1", "MUG-WHT", 1, ("amazon-de/US-1",)),
        ("A-10-1", "TEE-BLK-M", 3, ("amazon-de/US-2", "amazon-de/US-1")),
    ]
    assert cn.units == 4 and cn.batch_id.startswith("PL-CN-20260302-")
    doc = cn.to_dict()
    assert doc["order_count"] == 2 and [r["bin"] for r in doc["rows"]] == ["A-2-1", "A-10-1"]


def test_picklist_for_one_warehouse(shop):
    with shop.read() as s:
        lists = build_picklists(s, now=NOW, warehouse="DE")
    assert [(p.warehouse, [(r.bin, r.sku, r.quantity) for r in p.rows]) for p in lists] == [
        ("DE", [("R1-02", "TEE-BLK-M", 1)])]


def test_picklist_pdf_lists_the_bins_in_walking_order(shop, tmp_path):
    with shop.read() as s:
        (cn,) = build_picklists(s, now=NOW, warehouse="CN")
    path = write_picklist_pdf(cn, tmp_path / "out" / "picklist.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert cn.batch_id in text and "warehouse CN" in text
    assert text.index("A-2-1") < text.index("A-10-1")
    assert "MUG-WHT" in text and "TEE-BLK-M" in text and "amazon-de/US-2" in text
    assert "2 lines, 4 units, 2 orders" in text
