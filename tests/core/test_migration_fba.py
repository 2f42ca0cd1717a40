"""Migration 0018_fba: the ``platform_stock`` table (stock the platforms hold
themselves, Amazon FBA), up and down, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossdock.db.migrate import current_revision, downgrade, upgrade

T = "'2026-12-07 04:00:00'"


def _tables(db) -> set[str]:
    with db.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_platform_stock_table_up_and_down(database):
    upgrade(database, "0017_bundles")
    assert "platform_stock" not in _tables(database)
    upgrade(database, "0018_fba")
    assert current_revision(database) == "0018_fba"
    insert = ("INSERT INTO platform_stock (channel, platform_sku, sku, fulfillable, inbound, reserved, unfulfillable, "
              f"total, read_at) VALUES ('amazon-de', 'MUG-FBA', 'MUG', 40, 15, 2, 1, 58, {T})")
    with database.begin() as conn:
        conn.execute(sa.text(insert))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:      # one row per channel and platform SKU
        conn.execute(sa.text(insert))
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT sku, fulfillable FROM platform_stock")).all() == [("MUG", 40)]
    downgrade(database, "0017_bundles")
    assert "platform_stock" not in _tables(database)
