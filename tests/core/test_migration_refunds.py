"""Migration 0020_refunds: the ``refunds`` table and ``orders.refunded_amount``
(issue 18), up and down, on SQLite and on PostgreSQL; an order stored before
it has refunded 0."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crossdock.db.migrate import current_revision, downgrade, upgrade

T = "'2026-12-07 04:00:00'"


def _tables(db) -> set[str]:
    with db.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_refunds_table_and_refunded_amount_up_and_down(database):
    upgrade(database, "0019_returns")
    with database.begin() as conn:
        conn.execute(sa.text("INSERT INTO channels (name, platform, account, currency, created_at, updated_at) "
                             "VALUES ('shop', 'shopify', 'a', 'EUR', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO orders (id, channel, platform_order_id, platform_status, local_status, purchased_at, "
            f"platform_updated_at, flags, imported_at, updated_at, status_changed_at, currency, total_amount) "
            f"VALUES (1, 'shop', '1001', 'PAID', 'unshipped', {T}, {T}, '[]', {T}, {T}, {T}, 'EUR', 30)"))
    upgrade(database, "0020_refunds")
    assert current_revision(database) == "0020_refunds"
    with database.connect() as conn:         # an order stored before: nothing refunded
        assert Decimal(conn.execute(sa.text("SELECT refunded_amount FROM orders")).scalar_one()) == 0
    insert = ("INSERT INTO refunds (order_id, channel, platform_refund_id, amount, currency, lines, source, status, "
              f"refunded_at, recorded_at) VALUES (1, 'shop', 'R1', 10.5, 'EUR', '[]', 'crossdock', 'refunded', {T}, {T})")
    with database.begin() as conn:
        conn.execute(sa.text(insert))
    with pytest.raises(sa.exc.IntegrityError), database.begin() as conn:      # one row per channel and refund id
        conn.execute(sa.text(insert))
    downgrade(database, "0019_returns")
    assert "refunds" not in _tables(database)
    with database.connect() as conn:
        assert "refunded_amount" not in {c["name"] for c in sa.inspect(conn).get_columns("orders")}
