"""Reading one eBay order back (Fulfillment getOrder) against the sandbox: the
engine's look before buying a label and its read-back after a refused
confirmation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossdock.errors import CrossdockError
from crossdock.models import OrderStatus, ShipmentConfirmation
from crossdock.rehearsal import sandbox_connector
from crossdock.sandbox.core import Sandbox


@pytest.fixture
def ebay():
    sb = Sandbox(platforms=("ebay",), time_scale=600, seed=19).start()
    sim = sb.sims["ebay"]
    acct = sim.add_account("EBAY_GB")
    for sku in ("F-1", "F-2"):
        sim.set_listing(acct.channel, sku, 10, Decimal("12.00"))
    conn = sandbox_connector(sb.describe(), "ebay", account=acct.username)
    yield sim, acct, conn
    conn.close()
    sb.stop()


def test_fetch_order_shows_a_cancel_at_once(ebay):
    sim, acct, conn = ebay
    oid = sim.place_order(acct.channel, [("F-1", 2), ("F-2", 1)], buyer_country="GB")
    order = conn.fetch_order(oid)
    assert order.platform_order_id == oid and order.status is OrderStatus.UNSHIPPED
    assert sorted((ln.sku, ln.quantity) for ln in order.lines) == [("F-1", 2), ("F-2", 1)]
    sim.cancel_order(acct.channel, oid)
    assert conn.fetch_order(oid).status is OrderStatus.CANCELLED
    # and a confirmation for it is refused with the code the engine reads back on
    line = order.lines[0].platform_line_id
    with pytest.raises(CrossdockError) as e:
        conn.confirm_shipment(ShipmentConfirmation(oid, "royal_mail", "RM0001GB", conn.clock.now(),
                                                   lines=((line, 2),)))
    assert e.value.code == "XD-ORD-006"
    assert conn.shipment_confirmed(ShipmentConfirmation(oid, "royal_mail", "RM0001GB",
                                                                   conn.clock.now())) is False


def test_fetch_order_of_an_unknown_order_raises(ebay):
    _sim, _acct, conn = ebay
    with pytest.raises(CrossdockError) as e:
        conn.fetch_order("99-99999-99999")
    assert e.value.code == "XD-PLATFORM-002"
