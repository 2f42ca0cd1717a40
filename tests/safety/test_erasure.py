"""``crossdock erase buyer``: no trace of the buyer's name, address or e-mail in
any table or label file; the order's amounts and SKUs stay; one audit record."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crossdock.audit import audit_rows
from crossdock.db.models import Order, OrderLine
from crossdock.db.schema import metadata
from crossdock.erasure import erase_buyer
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.carriers import SandboxCarrier
from crossdock.warehouse.shipping import ship_order
from tests.cli_run import crossdock
from tests.warehouse.db_support import BUYERS, T0, FakeClock, OrderSpec, add_order, receive, seed_catalogue


class Cfg:
    def __init__(self) -> None:
        from tests.warehouse.db_support import WAREHOUSES

        self.rules: dict = {}
        self.warehouses = WAREHOUSES


def _everything(db) -> str:
    """Every value of every row of every table, as text."""
    parts = []
    with db.read() as s:
        for table in metadata.sorted_tables:
            for row in s.execute(select(table)):
                parts.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(parts)


def _shop(db, tmp_path):
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "DE", 10, bin_code="R1-01")
    clock = FakeClock(T0)
    for pid, buyer in (("302-DE-1", "DE"), ("302-DE-2", "DE"), ("302-FR-1", "FR")):
        add_order(db, OrderSpec(pid, buyer=buyer, lines=[("TEE-BLK-M", 1, "20.00")]))
    labels = tmp_path / "labels"
    for pid in ("302-DE-1", "302-FR-1"):
        ship_order(db, pid, carrier=SandboxCarrier(seed=7, clock=clock), ledger=ENGINE_LEDGER, service="standard",
                   labels_dir=labels, clock=clock, cfg=Cfg())
    return labels


def test_erasure_leaves_no_trace_of_the_buyer_and_keeps_amounts_and_skus(db, tmp_path):
    labels = _shop(db, tmp_path)
    de = BUYERS["DE"]
    needles = [de["name"], de["line1"], de["postal_code"], "Müller"]
    # Given the buyer's data is in the orders and on the labels
    assert all(n in _everything(db) for n in needles)
    assert len(list(labels.rglob("*"))) >= 6
    assert any(de["postal_code"].encode() in f.read_bytes() for f in labels.rglob("*.zpl"))
    # When the buyer is erased by name (as the platform's deletion notice names them)
    doc = erase_buyer(db, channel="amazon-de", buyer="jürgen müller", who="support")
    # Then both of their orders were masked and their labels deleted, the other buyer's untouched
    assert doc["orders"] == ["302-DE-1", "302-DE-2"] and doc["label_files_deleted"] == 3
    assert {"name", "line1", "city", "postal_code"} <= set(doc["fields_masked"])
    everything = _everything(db)
    assert not [n for n in needles if n in everything]
    for f in labels.rglob("*"):
        if f.is_file():
            text = f.read_bytes().decode("latin-1")
            assert not [n for n in needles if n in text], f
    assert BUYERS["FR"]["name"] in everything and len([f for f in labels.rglob("*") if f.is_file()]) == 3
    # and the orders keep their amounts, SKUs, quantities and country
    with db.read() as s:
        kept = s.execute(select(Order.platform_order_id, Order.total_amount, Order.buyer_country,
                                Order.shipping_address, OrderLine.sku, OrderLine.quantity, OrderLine.unit_price)
                         .join(OrderLine, OrderLine.order_id == Order.id)
                         .where(Order.platform_order_id.in_(["302-DE-1", "302-DE-2"]))
                         .order_by(Order.platform_order_id)).all()
    assert [tuple(r) for r in kept] == [
        ("302-DE-1", Decimal("20.00"), "DE", {"country_code": "DE"}, "TEE-BLK-M", 1, Decimal("20.00")),
        ("302-DE-2", Decimal("20.00"), "DE", {"country_code": "DE"}, "TEE-BLK-M", 1, Decimal("20.00"))]
    # and the audit log says who erased what, without the erased values
    with db.read() as s:
        [entry] = audit_rows(s, action="erase.buyer")
    assert entry["actor"] == "support" and entry["after"]["orders"] == ["302-DE-1", "302-DE-2"]
    assert "Müller" not in json.dumps(entry, ensure_ascii=False)


def test_the_command_records_the_os_user_and_an_unknown_buyer_is_an_error(tmp_path):
    from crossdock.audit import actor
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    (tmp_path / "crossdock.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    db = Database(url)
    upgrade(db)
    _shop(db, tmp_path)
    ran = crossdock("erase", "buyer", "--channel", "amazon-de", "--buyer", "302-FR-1", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.doc["orders"] == ["302-FR-1"]
    with db.read() as s:
        assert [e["actor"] for e in audit_rows(s, action="erase.buyer")] == [actor()]
    assert BUYERS["FR"]["name"] not in _everything(db)
    ran = crossdock("erase", "buyer", "--channel", "amazon-de", "--buyer", "nobody@example.com", cwd=tmp_path)
    assert ran.returncode == 1 and "XD-ORD-005" in ran.stderr
    db.dispose()
    assert Path(url.removeprefix("sqlite:///")).exists()
