"""An order's page: the shop's amounts, the buyer's (the platform's presentment
currency) and crossdock's in the seller's base currency at the FX rate of the
purchase date, with the rate shown; the platform's HS code and origin per line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crossdock.db import models as m
from crossdock.mapping.fx import FxRate
from crossdock.mapping.fx_store import load_into
from tests.console.support import NOW, console, login, seed


def test_an_order_page_shows_the_shop_buyer_and_base_amounts_with_the_fx_rate_used(db, tmp_path, monkeypatch):
    seed(db)
    # Given a GBP order paid in USD by the buyer, with shipping, an HS code from the platform,
    # and the GBP/EUR rate stored the day before it was bought (the seller's base currency is EUR)
    with db.write() as s:
        order = m.Order(channel="ebay-gb", platform_order_id="12-77777", platform_status="Paid",
                        local_status="imported", purchased_at=NOW - dt.timedelta(hours=1),
                        platform_updated_at=NOW, buyer_country="US", currency="GBP",
                        total_amount=Decimal("20.0000"), tax_amount=Decimal("3.3300"),
                        shipping_amount=Decimal("4.0000"), presentment_currency="USD",
                        presentment_total=Decimal("25.4000"), presentment_shipping=Decimal("5.0800"), flags=[])
        s.add(order)
        s.flush()
        s.add(m.OrderLine(order_id=order.id, platform_line_id="L1", sku="MUG-1", title="Mug", quantity=1,
                          unit_price=Decimal("16.0000"), currency="GBP", presentment_unit_price=Decimal("20.3200"),
                          hs_code="691200", country_of_origin="PT"))
        s.add(m.Order(channel="ebay-gb", platform_order_id="12-88888", platform_status="Paid", local_status="imported",
                      purchased_at=NOW, platform_updated_at=NOW, buyer_country="CH", currency="CHF",
                      total_amount=Decimal("30.0000"), flags=[]))
    load_into(db.engine, [FxRate("GBP", "EUR", Decimal("1.2000"), (NOW - dt.timedelta(days=1)).date(), "test")])
    client = console(db, tmp_path, monkeypatch)
    login(client, "viewer")
    # When a viewer opens it
    page = client.get("/orders/12-77777").text
    # Then the shop's, the buyer's and crossdock's amounts are there, with the rate and its date
    assert "20.00 GBP · shipping 4.00" in page and "3.33 GBP" in page
    assert "25.40 USD" in page and "shipping 5.08" in page and "(20.32 USD)" in page
    assert "24.00 EUR · tax 4.00 · shipping 4.80 · FX 1.2" in page
    assert f"rate of {(NOW - dt.timedelta(days=1)).date().isoformat()}" in page
    assert "691200" in page and ">PT<" in page
    # And an order in a currency with no stored rate says so with its code, not a number
    page = client.get("/orders/12-88888").text
    assert "30.00 CHF" in page and "no FX rate" in page and "XD-MAP-005" in page
