"""Migration 0011_order_details: what the platform gives beside the price, on
``orders`` and ``order_lines``, up and down, on SQLite and on PostgreSQL.
Orders imported before keep every value and read NULL in the new columns
("the platform gave none")."""

from __future__ import annotations

import sqlalchemy as sa

from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import current_revision, downgrade, upgrade

ORDER_COLUMNS = {"tax_amount", "shipping_amount", "shipping_tax_amount", "presentment_currency",
                 "presentment_total", "presentment_tax", "presentment_shipping"}
LINE_COLUMNS = {"shipping_amount", "shipping_tax_amount", "presentment_unit_price", "hs_code", "country_of_origin"}


def _columns(db: Database, table: str) -> set[str]:
    with db.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_order_detail_columns_up_and_down_keep_the_orders(database):
    # Given a database at 0010_access with one order of one line
    upgrade(database, "0010_access")
    with database.begin() as conn:
        conn.execute(sa.insert(m.Channel.__table__).values(name="shop", platform="shopify", account="a",
                                                           currency="EUR"))
        conn.execute(sa.text("INSERT INTO orders (id, channel, platform_order_id, platform_status, local_status, "
                             "purchased_at, platform_updated_at, currency, total_amount, flags, imported_at, "
                             "updated_at, status_changed_at) VALUES (1, 'shop', '1001', 'PAID', 'unshipped', "
                             "'2026-12-01 10:00:00', '2026-12-01 10:00:00', 'EUR', 59.80, '[]', "
                             "'2026-12-01 10:00:00', '2026-12-01 10:00:00', '2026-12-01 10:00:00')"))
        conn.execute(sa.text("INSERT INTO order_lines (order_id, platform_line_id, sku, title, quantity, "
                             "quantity_shipped, unit_price, currency) VALUES (1, '1', 'MUG', 'Mug', 2, 0, 12.50, "
                             "'EUR')"))
    # When it is upgraded
    upgrade(database, "0011_order_details")
    assert current_revision(database) == "0011_order_details"
    assert ORDER_COLUMNS <= _columns(database, "orders") and LINE_COLUMNS <= _columns(database, "order_lines")
    # Then the order is as it was, with nothing in the new columns
    with database.connect() as conn:
        order = conn.execute(sa.text("SELECT total_amount, presentment_currency, shipping_amount FROM orders")).one()
        line = conn.execute(sa.text("SELECT title, unit_price, hs_code, presentment_unit_price "
                                    "FROM order_lines")).one()
    assert (float(order[0]), order[1], order[2]) == (59.8, None, None)
    assert (line[0], float(line[1]), line[2], line[3]) == ("Mug", 12.5, None, None)
    # And downgraded again, the columns go and the order stays
    downgrade(database, "0010_access")
    assert not ORDER_COLUMNS & _columns(database, "orders") and not LINE_COLUMNS & _columns(database, "order_lines")
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM order_lines")).scalar_one() == 1
