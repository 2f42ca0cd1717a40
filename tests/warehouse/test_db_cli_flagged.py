"""``crossdock warehouse flagged`` and ``crossdock warehouse resolve`` as a
person runs them: the orders cancelled after they shipped, with their parcels
and what to do, and clearing one once its parcel is dealt with."""

from __future__ import annotations

from sqlalchemy import select

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from crossdock.db.models import Order
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.carriers import get_carrier
from crossdock.warehouse.shipping import ship_order
from tests.warehouse.db_support import OrderSpec, add_order, receive, seed_catalogue
from tests.warehouse.test_db_cli import CONFIG, _Cfg, run

PID = "302-7777777-7777777"


def test_flagged_lists_an_order_cancelled_after_it_shipped_until_it_is_resolved(tmp_path):
    (tmp_path / "crossdock.toml").write_text(CONFIG)
    db = Database(f"sqlite:///{tmp_path / 'xd.sqlite'}")
    upgrade(db)
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "CN", 5, bin_code="A-1-1")
    add_order(db, OrderSpec(PID, buyer="DE"), cfg=_Cfg())
    try:
        # Given an order shipped from the warehouse ...
        ship_order(db, PID, carrier=get_carrier("dhl"), ledger=ENGINE_LEDGER, tracking_number="JD014600007777",
                   labels_dir=tmp_path / "labels")
        # ... that the confirmation job found cancelled on the channel (it sets the flag)
        with db.write() as s:
            order = s.scalar(select(Order).where(Order.platform_order_id == PID))
            order.flags = [*order.flags, "XD-ORD-007"]
            order.local_status = "cancelled"
        proc, doc = run(["warehouse", "flagged", "--json"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        [row] = doc
        assert (row["code"], row["channel"], row["platform_order_id"], row["local_status"]) == \
            ("XD-ORD-007", "amazon-de", PID, "cancelled")
        assert row["parcels"] == [{"carrier": "dhl", "tracking_number": "JD014600007777", "status": "label_created",
                                   "warehouse": "CN", "confirmed": False}]
        assert "crossdock stock adjust" in row["remedy"] and row["title"] == "Order cancelled after it shipped"
        proc, _ = run(["warehouse", "flagged"], cwd=tmp_path)
        assert proc.returncode == 0 and "JD014600007777" in proc.stdout and "XD-ORD-007" in proc.stdout

        # When the parcel came back and a person resolves the order
        proc, doc = run(["warehouse", "resolve", PID, "--note", "returned, restocked", "--json"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert doc == {"channel": "amazon-de", "platform_order_id": PID, "code": "XD-ORD-007", "cleared": True}
        # Then it is no longer listed, and the trace says who resolved it and how
        proc, doc = run(["warehouse", "flagged", "--json"], cwd=tmp_path)
        assert proc.returncode == 0 and doc == []
        with db.read() as s:
            [event] = [e for e in synclog.trace(s, PID) if e.operation == "order.resolve"]
        assert event.message == "XD-ORD-007 resolved: returned, restocked"
        assert event.details["actor"].startswith("cli")
    finally:
        db.dispose()
