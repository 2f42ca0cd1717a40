"""``crossdock logs trace TRACKING_NUMBER`` finds the shipment by its tracking
number and shows the whole chain of the order it belongs to, oldest first."""

from __future__ import annotations

import json

import pytest

from crossdock import synclog
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.carriers import ManualCarrier, SandboxCarrier
from crossdock.warehouse.shipping import ship_order
from tests.warehouse.db_support import T0, FakeClock, OrderSpec, add_order, receive, seed_catalogue


class Cfg:
    """The parts of crossdock.config.Config shipping reads."""

    def __init__(self):
        from tests.warehouse.db_support import WAREHOUSES

        self.rules = {}
        self.warehouses = WAREHOUSES


@pytest.fixture
def shipped(db, tmp_path):
    """Two orders shipped through the warehouse code: one with a manual carrier
    and a typed tracking number, one with the sandbox carrier."""
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "DE", 10, bin_code="R1-01")
    clock = FakeClock(T0)
    add_order(db, OrderSpec("302-7000001-0000001", buyer="DE"))
    add_order(db, OrderSpec("302-7000002-0000002", buyer="DE"))
    manual = ship_order(db, "302-7000001-0000001", carrier=ManualCarrier("dhl", clock=clock), ledger=ENGINE_LEDGER,
                        service="standard",
                        tracking_number="JD014600006281", labels_dir=tmp_path / "labels", clock=clock, cfg=Cfg())
    other = ship_order(db, "302-7000002-0000002", carrier=SandboxCarrier(seed=7, clock=clock), ledger=ENGINE_LEDGER,
                       service="standard",
                       labels_dir=tmp_path / "labels", clock=clock, cfg=Cfg())
    assert manual.tracking_number == "JD014600006281" and other.tracking_number != manual.tracking_number
    return db, manual, other


def test_trace_by_tracking_number_is_the_chain_of_the_shipped_order(shipped):
    db, manual, other = shipped
    with db.read() as s:
        by_tracking = synclog.trace(s, manual.tracking_number)
        by_order = synclog.trace(s, "302-7000001-0000001")
    # the order's whole chain, oldest first: import, reservation, label, shipment, confirmation queued
    ops = [e.operation for e in by_tracking]
    assert ops[0] == "orders.import"
    for earlier, later in [("orders.import", "stock.reserve"), ("stock.reserve", "label.create"),
                           ("label.create", "shipment.create"), ("shipment.create", "shipment.confirm.queued")]:
        assert ops.index(earlier) < ops.index(later)
    assert [e.id for e in by_tracking] == [e.id for e in by_order]
    assert [(e.at, e.id) for e in by_tracking] == sorted((e.at, e.id) for e in by_tracking)
    # ... and nothing of the other order
    assert {e.entity for e in by_tracking} == {"302-7000001-0000001"}
    with db.read() as s:
        assert [e.entity for e in synclog.trace(s, other.tracking_number)][0] == "302-7000002-0000002"
        assert synclog.trace(s, "NO-SUCH-TRACKING") == []


def test_logs_trace_command_takes_a_tracking_number(shipped, tmp_path, monkeypatch, capsys):
    from crossdock.cli import main

    db, manual, _ = shipped
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    monkeypatch.delenv("CROSSDOCK_DATABASE_URL", raising=False)
    config = tmp_path / "crossdock.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n')

    assert main(["--config", str(config), "logs", "trace", manual.tracking_number, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["entity"] == manual.tracking_number
    assert doc["events"][0]["operation"] == "orders.import"
    assert any(e["operation"] == "shipment.create" and e["details"]["tracking_number"] == manual.tracking_number
               for e in doc["events"])

    assert main(["--config", str(config), "logs", "trace", manual.tracking_number]) == 0
    text = capsys.readouterr().out
    assert f"trace of {manual.tracking_number} ({len(doc['events'])} events, oldest first)" in text
