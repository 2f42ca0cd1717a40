"""A bundle (kit) shipped end to end on the database: reserved, picked,
shipped and declared for customs as its components."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from crossdock.db.models import Reservation, StockLevel
from tests.warehouse.db_support import OrderSpec, add_order, receive, seed_catalogue
from tests.warehouse.test_db_shipping import IOSS, _routed_to_cn, _ship, _state


@pytest.fixture
def shop(db):
    seed_catalogue(db)
    receive(db, "TEE-BLK-M", "CN", 10, bin_code="A-1-1")
    receive(db, "MUG-WHT", "CN", 10, bin_code="A-2-1")
    return db


def test_a_bundle_ships_and_is_declared_as_its_components(shop, tmp_path, clock):
    from crossdock.catalog import kits
    from crossdock.db.models import Product

    # Given a gift set of 1 T-shirt and 2 mugs (no stock of its own), priced 36.00
    with shop.write() as s:
        s.add(Product(sku="GIFT-SET", title="Gift set"))
        s.flush()
        s.execute(update(Product).where(Product.sku == "TEE-BLK-M").values(base_price=20, base_currency="EUR"))
        s.execute(update(Product).where(Product.sku == "MUG-WHT").values(base_price=10, base_currency="EUR"))
        kits.set_bundle(s, "GIFT-SET", {"TEE-BLK-M": 1, "MUG-WHT": 2})
    order_id = add_order(shop, OrderSpec("302-0000009-0000009", buyer="DE", lines=[("GIFT-SET", 1, "36.00")],
                                         tax_model="MarketplaceFacilitator", ioss_number=IOSS),
                         cfg=_routed_to_cn())
    with shop.read() as s:
        held = {r.sku: (r.warehouse, r.quantity) for r in s.scalars(select(Reservation))}
    assert held == {"TEE-BLK-M": ("CN", 1), "MUG-WHT": ("CN", 2)}
    # When it ships
    result = _ship(shop, "302-0000009-0000009", tmp_path, clock)
    # Then the customs declaration lists the components, the set's price split by their base prices
    assert [(i.sku, i.quantity, str(i.value.amount)) for i in result.customs.items] == [
        ("MUG-WHT", 2, "18.00"), ("TEE-BLK-M", 1, "18.00")]
    assert str(result.customs.total_value.amount) == "36.00"
    # and the components left the CN warehouse; the order's own line is what the channel is told shipped
    with shop.read() as s:
        levels = {(lv.sku, lv.warehouse): (lv.on_hand, lv.reserved) for lv in s.scalars(select(StockLevel))}
    assert levels[("TEE-BLK-M", "CN")] == (9, 0) and levels[("MUG-WHT", "CN")] == (8, 0)
    status, reservations, confirms = _state(shop, order_id)
    assert status == "shipped" and reservations == ["consumed", "consumed"] and len(confirms) == 1
