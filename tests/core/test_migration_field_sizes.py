"""Migration 0006_poison: identifier columns as long as the platforms allow.

A database at 0005_restore holding a whole order's chain (channel, product, listing,
stock, an imported order with its line and reservation, a shipment with a
tracking event, dirty marks, outbox and sync log rows) is upgraded: every row
is still there — on SQLite the tables are rebuilt, and rebuilding ``orders``
or ``products`` while foreign keys are enforced would cascade-delete or refuse
(crossdock.db.migrate switches them off around it) — and on PostgreSQL a
100-character SKU now fits. Downgrading gives the rows back too."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossdock.clock import Clock
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import current_revision, downgrade, head_revision, upgrade
from crossdock.sync_engine import orders
from tests.sync_engine.support import NOW, order, seed

TABLES = ("channels", "products", "channel_listings", "stock_levels", "stock_movements", "orders", "order_lines",
          "reservations", "shipments", "tracking_events", "dirty_skus", "outbox", "sync_events")
LONG_SKU = "LONG-" + "X" * 95


def _counts(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def test_upgrade_keeps_every_row_and_takes_long_skus(database):
    # Given a database at 0005_restore with an order's whole chain in it (written by today's code, so
    # at the head revision, then taken down to 0005_restore)
    upgrade(database)
    seed(database, stock={("SKU-1", "DE"): 5}, listings={"ebay-us": ["SKU-1"]}, last_pushed={("ebay-us", "SKU-1"): 5})
    with database.write() as s:
        stored = orders.store_orders(s, "ebay-us", [order("E-1", [("SKU-1", 2)])], Clock())
        oid = stored.order_ids["E-1"]
        shipment = m.Shipment(order_id=oid, warehouse="DE", carrier="dhl", tracking_number="JD0146000062")
        s.add(shipment)
        s.flush()
        s.add(m.TrackingEvent(shipment_id=shipment.id, occurred_at=NOW, status="in_transit"))
        s.add(m.StockMovement(sku="SKU-1", warehouse="DE", delta=5, reason="received", reference="PO-7"))
        s.add(m.OutboxEntry(kind="confirm_shipment", channel="ebay-us", entity="order E-1",
                            idempotency_key="confirm_shipment:ebay-us:E-1"))
    downgrade(database, "0005_restore")
    before = _counts(database)
    assert all(before.values()), before

    # When it is upgraded
    upgrade(database)

    # Then it is at the head revision with every row kept
    assert current_revision(database) == head_revision(database)
    assert _counts(database) == before
    # ... and an order line, a product and a listing take a 100-character SKU (PostgreSQL refused it before)
    with database.write() as s:
        s.add(m.Product(sku=LONG_SKU, title="Long SKU"))
        s.flush()
        s.add(m.ChannelListing(channel="ebay-us", sku=LONG_SKU, listing_id="9" * 100))
        s.add(m.OrderLine(order_id=oid, platform_line_id="L" * 100, sku=LONG_SKU, quantity=1, title="t" * 1000))
    with database.read() as s:
        assert s.scalar(sa.select(m.OrderLine.sku).where(m.OrderLine.platform_line_id == "L" * 100)) == LONG_SKU

    # When it is downgraded again, without the long values
    with database.write() as s:
        s.execute(sa.delete(m.OrderLine).where(m.OrderLine.sku == LONG_SKU))
        s.execute(sa.delete(m.ChannelListing).where(m.ChannelListing.sku == LONG_SKU))
        s.execute(sa.delete(m.Product).where(m.Product.sku == LONG_SKU))
    downgrade(database, "0005_restore")

    # Then the rows are still there
    assert current_revision(database) == "0005_restore"
    assert _counts(database) == before
    with database.connect() as conn:
        assert "quarantined_orders" not in sa.inspect(conn).get_table_names()


def test_a_sqlite_upgrade_leaves_foreign_keys_enforced(tmp_path):
    """Foreign keys are off only while the migration runs."""
    db = Database(f"sqlite:///{tmp_path / 'fk.sqlite'}")
    try:
        upgrade(db)
        seed(db)
        with pytest.raises(Exception, match="FOREIGN KEY"):
            with db.write() as s:
                s.add(m.StockLevel(sku="NOT-IN-CATALOGUE", warehouse="DE", on_hand=1, reserved=0))
    finally:
        db.dispose()
