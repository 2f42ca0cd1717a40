"""Reading one Shopify order back: is a shipment already there (by tracking
number), and the order as Shopify shows it now. Against the sandbox, whose
GraphQL schema mirrors the Admin API's (``Order.fulfillments``,
``Fulfillment.trackingInfo``, ``Order`` by id)."""

from __future__ import annotations

import pytest

from crossdock.connectors.shopify import mapping as m
from crossdock.errors import MappingError, PlatformError
from crossdock.models import OrderStatus, ShipmentConfirmation
from tests.connectors.shopify.shopify_env import CHANNEL, SKUS


def test_shipment_confirmed_finds_the_fulfillment_by_its_tracking_number(env):
    # Given an order with two lines, shipped in two parcels
    oid = env.sim.place_order(CHANNEL, [("SKU-5", 3), ("SKU-6", 1)], buyer_country="AT")
    order = env.sim.shops["crossdock-eu"].orders[int(oid)]
    line5 = str(next(ln.id for ln in order.lines if ln.sku == "SKU-5"))
    assert env.conn.tracking_confirmed(oid, "1Z0001") is False            # nothing fulfilled yet
    before = len(env.requests(operation="graphql"))
    env.conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z0001", env.clock.now(), lines=((line5, 2),)))
    # Then each parcel is recognised by its own number, and only by it
    assert env.conn.tracking_confirmed(oid, "1Z0001") is True
    assert env.conn.tracking_confirmed(oid, " 1Z0001 ") is True
    assert env.conn.tracking_confirmed(oid, "GLS0002") is False
    env.conn.confirm_shipment(ShipmentConfirmation(oid, "gls", "GLS0002", env.clock.now()))
    assert env.conn.tracking_confirmed(oid, "GLS0002") is True
    # one cheap query per check (the sandbox validates it against the Admin API schema and costs it)
    checks = env.requests(operation="graphql")[before:]
    assert all(r["status"] == 200 for r in checks)
    # and the engine's check takes the connector's exact answer, whatever the other parcels
    confirmation = ShipmentConfirmation(oid, "ups", "1Z0001", env.clock.now(), lines=((line5, 2),))
    assert env.conn.shipment_confirmed(confirmation, shipments_of_order=2) is True
    other = ShipmentConfirmation(oid, "dhl", "JD404", env.clock.now(), lines=((line5, 1),))
    assert env.conn.shipment_confirmed(other, shipments_of_order=3) is False


def test_shipment_confirmed_cannot_tell_for_an_order_shopify_does_not_show(env):
    assert env.conn.tracking_confirmed("999999999", "1Z0001") is None


def test_tracking_numbers_of_cancelled_or_failed_fulfillments_do_not_count():
    data = {"order": {"id": "gid://shopify/Order/7", "fulfillments": [
        {"status": "SUCCESS", "trackingInfo": [{"number": "A1"}, {"number": None}]},
        {"status": "CANCELLED", "trackingInfo": [{"number": "B2"}]},
        {"status": "FAILURE", "trackingInfo": [{"number": "C3"}]},
        {"status": "OPEN", "trackingInfo": []}]}}
    assert m.parse_tracking_numbers(data) == {"A1"}
    assert m.parse_tracking_numbers({"order": None}) is None
    with pytest.raises(MappingError):
        m.parse_tracking_numbers({"order": {"id": "x"}})
    assert m.order_tracking_request("7")["variables"] == {"id": "gid://shopify/Order/7"}


def test_fetch_order_reads_one_order_with_every_line(env):
    # Given an order with more lines than one page holds (5 inline in this shop's settings)
    oid = env.sim.place_order(CHANNEL, [(s, 1) for s in SKUS[:7]], buyer_country="IT")
    order = env.conn.fetch_order(oid)
    assert order.platform_order_id == oid and order.status is OrderStatus.UNSHIPPED
    assert [ln.sku for ln in order.lines] == list(SKUS[:7])
    # When the buyer cancels, the next read shows it (no search-index lag: read by id)
    shop = env.sim.shops["crossdock-eu"]
    env.sim.cancel_order(shop, shop.orders[int(oid)])
    again = env.conn.fetch_order(oid)
    assert again.status is OrderStatus.CANCELLED and again.updated_at >= order.updated_at
    # and an order Shopify does not show is XD-PLATFORM-002
    with pytest.raises(PlatformError) as e:
        env.conn.fetch_order("999999999")
    assert e.value.code == "XD-PLATFORM-002"
