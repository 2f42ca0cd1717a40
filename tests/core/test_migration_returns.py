"""Migration 0019_returns: the ``returns`` and ``return_lines`` tables (RMAs), up and down, on SQLite and on
PostgreSQL: one RMA per channel and platform return id, lines gone with their return."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crossdock.db.migrate import current_revision, downgrade, upgrade

T = "'2026-12-07 04:00:00'"


def _tables(db) -> set[str]:
    with db.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_returns_tables_up_and_down(database):
    upgrade(database, "0018_fba")
    assert not {"returns", "return_lines"} & _tables(database)
    upgrade(database, "0019_returns")
    assert current_revision(database) == "0019_returns"
    with database.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO channels (name, platform, account, currency, created_at, updated_at) "
                             f"VALUES ('ebay-uk', 'ebay', 'seller', 'GBP', {T}, {T})"))
        conn.execute(sa.text(
            "INSERT INTO orders (channel, platform_order_id, platform_status, local_status, purchased_at, "
            f"platform_updated_at, imported_at, updated_at, status_changed_at, flags) VALUES ('ebay-uk', '1-2-3', "
            f"'FULFILLED', 'shipped', {T}, {T}, {T}, {T}, {T}, '[]')"))
        conn.execute(sa.text("INSERT INTO order_lines (order_id, platform_line_id, sku, quantity, quantity_shipped) "
                             "VALUES (1, 'L1', 'MUG', 2, 2)"))
    insert = ("INSERT INTO returns (rma, order_id, channel, platform_return_id, origin, reason, status, opened_at, "
              f"updated_at) VALUES ('{{rma}}', 1, 'ebay-uk', '5000000001', 'platform', 'damaged', 'open', {T}, {T})")
    with database.begin() as conn:
        conn.execute(sa.text(insert.format(rma="RMA-000001")))
        conn.execute(sa.text("INSERT INTO return_lines (return_id, order_line_id, sku, quantity) "
                             "VALUES (1, 1, 'MUG', 1)"))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:     # one RMA per platform return
        conn.execute(sa.text(insert.format(rma="RMA-000002")))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:     # a line holds units
        conn.execute(sa.text("INSERT INTO return_lines (return_id, order_line_id, sku, quantity) "
                             "VALUES (1, 1, 'MUG', 0)"))
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT rma, status FROM returns")).all() == [("RMA-000001", "open")]
    downgrade(database, "0018_fba")
    assert not {"returns", "return_lines"} & _tables(database)
