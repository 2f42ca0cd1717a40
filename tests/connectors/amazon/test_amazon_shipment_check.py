"""What Amazon's reads can tell about a shipment confirmation, against the
sandbox: getOrder / getOrderItems count shipped units but name no package or
tracking number, so the connector's own check says False (nothing of the
order shipped) or None — and the engine's check falls back to comparing the
units of an order's only shipment."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from crossdock.clock import ScaledClock
from crossdock.connectors.amazon import AmazonConnector
from crossdock.connectors.amazon.mapping import package_reference_id, units_shipped
from crossdock.connectors.base import MemoryTokenStore
from crossdock.errors import PlatformError
from crossdock.models import ShipmentConfirmation
from crossdock.rehearsal import sandbox_settings
from crossdock.sandbox.core import Sandbox

US = "ATVPDKIKX0DER"
SCALE = 600.0


@pytest.fixture(scope="module")
def amazon():
    sb = Sandbox(platforms=("amazon",), time_scale=SCALE, seed=91).start()
    desc = sb.describe()["amazon"]
    sim = sb.sims["amazon"]
    channel = f"amazon:{desc['accounts'][0]['seller_id']}:{US}"
    for n in range(4):
        sim.set_listing(channel, f"K-{n}", 50, Decimal("10.00") + n)
    conn = AmazonConnector(sandbox_settings(sb.describe(), "amazon", marketplace=US), store=MemoryTokenStore(),
                           clock=ScaledClock.from_description(sb.describe()["clock"]))
    yield sb, sim, channel, conn
    conn.close()
    sb.stop()


def _unshipped_order(sim, channel: str, items) -> str:
    oid = sim.place_order(channel, items, buyer_country="US")
    time.sleep(60 / SCALE)                          # past the sandbox's Pending period
    return oid


def _calls(sb, operation: str) -> int:
    return len(sb.requests.since(0, platform="amazon", operation=operation, limit=100_000))


def test_nothing_shipped_is_an_exact_no_anything_shipped_cannot_be_told(amazon):
    sb, sim, channel, conn = amazon
    oid = _unshipped_order(sim, channel, [("K-0", 2), ("K-1", 1)])
    items = {i.sku: i.order_item_id for i in sim.orders[oid].items}
    # Given an order with nothing confirmed: no package of it is on Amazon
    before = _calls(sb, "getOrder")
    assert conn.package_confirmed(oid, "1Z0001") is False
    assert _calls(sb, "getOrder") == before + 1                 # one getOrder, no getOrderItems
    # When one package is confirmed
    conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z0001", conn.clock.now(), lines=((items["K-0"], 2),)))
    # Then units show as shipped, but no read says which package shipped them: not for ours, not for another
    assert conn.package_confirmed(oid, "1Z0001") is None
    assert conn.package_confirmed(oid, "OTHER999") is None


def test_the_engine_check_compares_units_only_for_an_order_s_only_shipment(amazon):
    sb, sim, channel, conn = amazon
    oid = _unshipped_order(sim, channel, [("K-2", 1)])
    item = sim.orders[oid].items[0].order_item_id
    confirmation = ShipmentConfirmation(oid, "usps", "9400100", conn.clock.now(), lines=((item, 1),))
    assert conn.shipment_confirmed(confirmation, shipments_of_order=1) is False
    conn.confirm_shipment(confirmation)
    assert conn.shipment_confirmed(confirmation, shipments_of_order=1) is True
    assert conn.shipment_confirmed(confirmation, shipments_of_order=2) is None


def test_a_cancelled_order_has_no_package(amazon):
    sb, sim, channel, conn = amazon
    oid = _unshipped_order(sim, channel, [("K-3", 1)])
    assert sim.cancel_order(oid)
    assert conn.package_confirmed(oid, "1Z0009") is False
    # and the channel refuses a confirmation for it (what the engine then reads back)
    item = sim.orders[oid].items[0].order_item_id
    with pytest.raises(PlatformError) as e:
        conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z0009", conn.clock.now(), lines=((item, 1),)))
    assert e.value.code == "XD-PLATFORM-007"


def test_what_the_sandbox_answers_to_a_repeated_package(amazon):
    """The docstring's account of packageReferenceId: an identical repeat is
    accepted without a change; the same reference with other items is refused."""
    sb, sim, channel, conn = amazon
    oid = _unshipped_order(sim, channel, [("K-0", 2)])
    item = sim.orders[oid].items[0].order_item_id
    first = ShipmentConfirmation(oid, "ups", "1Z0777", conn.clock.now(), lines=((item, 1),))
    conn.confirm_shipment(first)
    conn.confirm_shipment(first)
    assert [p.reference_id for p in sim.orders[oid].packages] == [package_reference_id("1Z0777")]
    assert sim.orders[oid].items[0].quantity_shipped == 1
    with pytest.raises(PlatformError) as e:
        conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z0777", conn.clock.now(), lines=((item, 2),)))
    assert e.value.code == "XD-PLATFORM-007" and "already used" in e.value.detail


def test_units_shipped_reads_number_of_items_shipped():
    assert units_shipped({"NumberOfItemsShipped": 3}) == 3
    assert units_shipped({"NumberOfItemsShipped": "0"}) == 0
    assert units_shipped({"AmazonOrderId": "1"}) is None
    assert units_shipped(None) is None
