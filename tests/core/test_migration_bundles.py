"""Migration 0017_bundles: SKU aliases, bundle components, and reservations
unique per (order line, SKU) — a line of a bundle reserves each component —
up and down, on SQLite and on PostgreSQL, keeping the reservations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossdock.db import models as m
from crossdock.db.migrate import current_revision, downgrade, upgrade

T = "'2026-12-01 10:00:00'"


def _tables(db) -> set[str]:
    with db.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_bundle_tables_and_reservations_per_line_and_sku_up_and_down(database):
    # Given a database at 0016_listing_customs with a reserved order line
    upgrade(database, "0016_listing_customs")
    with database.begin() as conn:
        conn.execute(sa.insert(m.Channel.__table__).values(name="shop", platform="shopify", account="a",
                                                           currency="EUR"))
        conn.execute(sa.text("INSERT INTO warehouses (code, name, country, address) VALUES ('DE', 'DE', 'DE', '{}')"))
        for sku in ("KIT", "X", "Y"):
            conn.execute(sa.text(f"INSERT INTO products (sku, title, description, attributes, images, safety_stock, "
                                 f"created_at, updated_at) VALUES ('{sku}', '{sku}', '', '{{}}', '[]', 0, {T}, {T})"))
        conn.execute(sa.text("INSERT INTO orders (id, channel, platform_order_id, platform_status, local_status, "
                             "purchased_at, platform_updated_at, currency, total_amount, flags, imported_at, "
                             f"updated_at, status_changed_at) VALUES (1, 'shop', '1001', 'PAID', 'unshipped', {T}, "
                             f"{T}, 'EUR', 10, '[]', {T}, {T}, {T})"))
        conn.execute(sa.text("INSERT INTO order_lines (id, order_id, platform_line_id, sku, title, quantity, "
                             "quantity_shipped) VALUES (1, 1, '1', 'X', 'X', 2, 0)"))
        conn.execute(sa.text("INSERT INTO reservations (order_line_id, sku, warehouse, quantity, status, "
                             f"created_at, updated_at) VALUES (1, 'X', 'DE', 2, 'active', {T}, {T})"))
    # When it is upgraded
    upgrade(database, "0017_bundles")
    assert current_revision(database) == "0017_bundles"
    assert {"sku_aliases", "bundle_components"} <= _tables(database)
    # Then a line may hold one reservation per SKU (a bundle's components), still one per SKU
    with database.begin() as conn:
        conn.execute(sa.text("INSERT INTO reservations (order_line_id, sku, warehouse, quantity, status, "
                             f"created_at, updated_at) VALUES (1, 'Y', 'DE', 1, 'active', {T}, {T})"))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:
        conn.execute(sa.text("INSERT INTO reservations (order_line_id, sku, warehouse, quantity, status, "
                             f"created_at, updated_at) VALUES (1, 'Y', 'DE', 1, 'active', {T}, {T})"))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:
        conn.execute(sa.text("INSERT INTO bundle_components (bundle, component, quantity) VALUES ('KIT', 'X', 0)"))
    # And downgraded again (one reservation per line), the tables go and the line's first reservation stays
    with database.begin() as conn:
        conn.execute(sa.text("DELETE FROM reservations WHERE sku = 'Y'"))
    downgrade(database, "0016_listing_customs")
    assert not {"sku_aliases", "bundle_components"} & _tables(database)
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT sku, quantity FROM reservations")).all() == [("X", 2)]
