"""``crossdock inspect --platform amazon``: the official sandbox examples and
recorded payloads normalise to orders with ids, statuses, amounts and currencies."""

from __future__ import annotations

import json

import pytest

from crossdock.connectors.amazon.inspect import inspect_payload
from crossdock.errors import ConfigError, MappingError


def _examples(spec: dict, path: str) -> list[dict]:
    return spec["paths"][path]["get"]["responses"]["200"]["x-amzn-api-sandbox"]["static"]


def test_every_get_orders_sandbox_example_inspects(specs_dir):
    spec = json.loads((specs_dir / "ordersV0.json").read_text())
    results = [inspect_payload("orders", ex["response"]) for ex in _examples(spec, "/orders/v0/orders")]
    first = results[0]
    assert [(o["platform_order_id"], o["status"], o["total"]) for o in first] == [
        ("902-1845936-5435065", "unshipped", {"amount": "11.01", "currency": "USD"}),
        ("902-8745147-1934268", "unshipped", {"amount": "11.01", "currency": "USD"})]
    assert first[0]["platform"] == "amazon" and first[0]["purchased_at"] == "1970-01-19T03:58:30Z"
    assert first[0]["platform_status"] == "Unshipped" and first[0]["marketplace_id"] == "ATVPDKIKX0DER"
    assert all(r[0]["platform_order_id"] for r in results)
    assert results[1][0]["status"] == "pending" and results[1][0]["total"] is None
    # the getOrder examples (one order, one of them an IBA order) read as orders too
    singles = [inspect_payload("orders", ex["response"])[0] for ex in _examples(spec, "/orders/v0/orders/{orderId}")]
    assert [s["status"] for s in singles] == ["unshipped", "shipped"]


def test_get_order_items_example_gives_the_lines(specs_dir):
    spec = json.loads((specs_dir / "ordersV0.json").read_text())
    (ex,) = _examples(spec, "/orders/v0/orders/{orderId}/orderItems")
    result = inspect_payload("order", ex)                  # the whole {"request", "response"} entry
    assert result["platform_order_id"] == "902-1845936-5435065"
    (line,) = result["lines"]
    assert line["sku"] == "NABetaASINB00551Q3CS" and line["quantity"] == 1
    assert line["unit_price"] == {"amount": "10.00", "currency": "USD"}
    assert result["lines_total"] == {"amount": "10.00", "currency": "USD"}
    assert result["tax"]["deemed_reseller_category"] == "IOSS"


def test_order_from_order_and_items_and_from_text(fixture, fixture_text):
    orders = fixture("getOrders_de_crossborder.json")["payload"]["Orders"]
    order = next(o for o in orders if o["AmazonOrderId"] == "307-4620541-2529874")
    full = inspect_payload("order", {"order": {"payload": order}, "items": fixture("getOrderItems_de_ioss.json")})
    assert full["buyer_country"] == "FR" and full["total"] == {"amount": "49.80", "currency": "EUR"}
    assert full["lines"][0]["tax"]["ioss_number"] == "IM4420000000"
    assert full["tax"]["model"] == "MarketplaceFacilitator"
    listed = inspect_payload("orders", fixture_text("getOrders_de_crossborder.json"))
    assert {o["buyer_country"] for o in listed} >= {"FR"}
    assert inspect_payload("order", {"payload": order})["lines"] == []


def test_listing_inspects_per_marketplace(fixture_text):
    result = inspect_payload("listing", fixture_text("getListingsItem_200.json"))
    assert result["sku"] == "GM-ZDPI-9B4E"
    assert [(o["marketplace_id"], o["quantity"], o["price"]["amount"], o["status"]) for o in result["offers"]] == [
        ("ATVPDKIKX0DER", 100, "100.00", "BUYABLE"), ("A2EUQ1WTGCTBG2", 100, "130.00", "INACTIVE")]


def test_listing_inspect_shows_the_country_of_origin_its_attributes_give(fixture_text):
    """The listing's product data customs needs (issue 14): the ``country_of_origin`` attribute per marketplace."""

    body = json.loads(fixture_text("getListingsItem_200.json"))
    body["attributes"] = {"country_of_origin": [{"value": "pt", "marketplace_id": "ATVPDKIKX0DER"}]}
    result = inspect_payload("listing", body)
    assert [(o["marketplace_id"], o["country_of_origin"]) for o in result["offers"]] == [
        ("ATVPDKIKX0DER", "PT"), ("A2EUQ1WTGCTBG2", None)]


@pytest.mark.parametrize("kind,payload", [
    ("orders", "not json at all"),
    ("orders", {"payload": {"Shipments": []}}),
    ("order", {"payload": {"Something": 1}}),
    ("orders", {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}),
    ("listing", {"summaries": []}),
    ("orders", {"payload": {"Orders": [{"AmazonOrderId": "1", "OrderStatus": "Shipped"}]}}),
])
def test_unreadable_payloads_are_map_010(kind, payload):
    with pytest.raises(MappingError) as err:
        inspect_payload(kind, payload)
    assert err.value.code == "XD-MAP-010"


def test_unknown_kind_is_a_usage_error():
    with pytest.raises(ConfigError) as err:
        inspect_payload("shipment", {})
    assert err.value.code == "XD-CFG-009"
