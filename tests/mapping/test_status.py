from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.status import (
    default_status_map,
    map_order_status,
    status_map_from_config,
)
from crossdock.models import OrderStatus as S

SPECS = Path("/work/shared/specs")

AMAZON_DEFAULTS = {
    "PendingAvailability": S.PENDING,
    "Pending": S.PENDING,
    "Unshipped": S.UNSHIPPED,
    "PartiallyShipped": S.PARTIALLY_SHIPPED,
    "Shipped": S.SHIPPED,
    "InvoiceUnconfirmed": S.SHIPPED,
    "Canceled": S.CANCELLED,
    "Unfulfillable": S.CANCELLED,
}


@pytest.mark.parametrize(("raw", "expected"), AMAZON_DEFAULTS.items())
def test_amazon_defaults(raw, expected):
    assert map_order_status("amazon", raw) is expected
    assert map_order_status("amazon", {"AmazonOrderId": "1", "OrderStatus": raw}) is expected


def test_amazon_defaults_cover_the_spec_enum():
    spec = SPECS / "amazon" / "ordersV0.json"
    if not spec.exists():
        pytest.skip("shared specs not present")
    enum = json.loads(spec.read_text())["definitions"]["Order"]["properties"]["OrderStatus"]["enum"]
    assert set(enum) == set(AMAZON_DEFAULTS)


@pytest.mark.parametrize(("order", "expected"), [
    ({"orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "PAID",
      "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []}}, S.UNSHIPPED),
    ({"orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "PENDING"}, S.PENDING),
    ({"orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "FAILED"}, S.PENDING),
    ({"orderFulfillmentStatus": "IN_PROGRESS", "orderPaymentStatus": "PAID"}, S.PARTIALLY_SHIPPED),
    ({"orderFulfillmentStatus": "FULFILLED", "orderPaymentStatus": "PAID"}, S.SHIPPED),
    # a cancel request that is still open does not cancel the order yet
    ({"orderFulfillmentStatus": "NOT_STARTED", "cancelStatus": {"cancelState": "IN_PROGRESS"}},
     S.UNSHIPPED),
    # cancelled wins over the fulfilment status
    ({"orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "FULLY_REFUNDED",
      "cancelStatus": {"cancelState": "CANCELED"}}, S.CANCELLED),
    ({"orderFulfillmentStatus": "FULFILLED", "cancelState": "CANCELED"}, S.CANCELLED),
    ("FULFILLED", S.SHIPPED),
])
def test_ebay_defaults(order, expected):
    assert map_order_status("ebay", order) is expected


@pytest.mark.parametrize(("order", "expected"), [
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "PAID",
      "cancelledAt": None}, S.UNSHIPPED),
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "AUTHORIZED"}, S.UNSHIPPED),
    ({"displayFulfillmentStatus": "ON_HOLD", "displayFinancialStatus": "PAID"}, S.UNSHIPPED),
    ({"displayFulfillmentStatus": "IN_PROGRESS", "displayFinancialStatus": "PAID"}, S.UNSHIPPED),
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "PENDING"}, S.PENDING),
    ({"displayFulfillmentStatus": "PARTIALLY_FULFILLED", "displayFinancialStatus": "PAID"},
     S.PARTIALLY_SHIPPED),
    ({"displayFulfillmentStatus": "FULFILLED", "displayFinancialStatus": "PAID"}, S.SHIPPED),
    ({"displayFulfillmentStatus": "FULFILLED", "displayFinancialStatus": "PARTIALLY_REFUNDED"},
     S.SHIPPED),
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "REFUNDED"}, S.CANCELLED),
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "VOIDED"}, S.CANCELLED),
    ({"displayFulfillmentStatus": "UNFULFILLED", "displayFinancialStatus": "PAID",
      "cancelledAt": "2025-01-06T10:00:00Z"}, S.CANCELLED),
    ({"displayFulfillmentStatus": "FULFILLED", "cancelled": True}, S.CANCELLED),
])
def test_shopify_defaults(order, expected):
    assert map_order_status("shopify", order) is expected


@pytest.mark.parametrize(("platform", "raw", "field"), [
    ("amazon", "Teleported", "OrderStatus"),
    ("ebay", {"orderFulfillmentStatus": "LOST"}, "orderFulfillmentStatus"),
    ("ebay", {"orderFulfillmentStatus": "FULFILLED", "cancelStatus": {"cancelState": "MAYBE"}},
     "cancelState"),
    ("shopify", {"displayFulfillmentStatus": "UNFULFILLED",
                        "displayFinancialStatus": "BARTERED"}, "displayFinancialStatus"),
])
def test_unknown_status_is_an_error_not_a_guess(platform, raw, field):
    with pytest.raises(MappingError) as err:
        map_order_status(platform, raw, channel="c1", order_id="O-1")
    e = err.value
    assert e.code == "XD-MAP-011"
    assert e.context["field"] == field
    assert e.channel == "c1" and e.entity == "order O-1"


def test_missing_status_is_an_unreadable_payload():
    with pytest.raises(MappingError) as err:
        map_order_status("amazon", {"AmazonOrderId": "1"})
    assert err.value.code == "XD-MAP-010"
    with pytest.raises(MappingError) as err:
        map_order_status("ebay", {"orderFulfillmentStatus": 3})
    assert err.value.code == "XD-MAP-010"


def test_overrides_replace_in_place_and_add_new_values():
    # Given a channel that treats InvoiceUnconfirmed as delivered and knows a new status
    smap = status_map_from_config("amazon", {
        "InvoiceUnconfirmed": "delivered",
        "OrderStatus=Pending|PendingAvailability": "UNSHIPPED",
        "BrandNewStatus": S.PENDING,
    }, where="channels.amazon-de.order_status")
    assert smap.map("InvoiceUnconfirmed") is S.DELIVERED
    assert smap.map("pending") is S.UNSHIPPED          # case does not matter
    assert smap.map("PendingAvailability") is S.UNSHIPPED
    assert smap.map("BrandNewStatus") is S.PENDING
    # And the defaults themselves are untouched
    assert default_status_map("amazon").map("InvoiceUnconfirmed") is S.SHIPPED


def test_override_on_another_field_is_checked_before_defaults():
    smap = status_map_from_config("ebay", {
        "orderPaymentStatus=FULLY_REFUNDED": "cancelled",
        "FULFILLED": "delivered",
    }, where="w")
    assert smap.map({"orderFulfillmentStatus": "FULFILLED", "orderPaymentStatus": "FULLY_REFUNDED"}) \
        is S.CANCELLED
    assert smap.map({"orderFulfillmentStatus": "FULFILLED", "orderPaymentStatus": "PAID"}) is S.DELIVERED
    # the replaced FULFILLED rule keeps its place after the cancellation rule
    assert smap.map({"orderFulfillmentStatus": "FULFILLED", "cancelState": "CANCELED"}) is S.CANCELLED


def test_combined_override_conditions():
    smap = status_map_from_config("shopify", {
        "displayFulfillmentStatus=ON_HOLD&displayFinancialStatus=PAID": "pending",
    }, where="w")
    assert smap.map({"displayFulfillmentStatus": "ON_HOLD", "displayFinancialStatus": "PAID"}) \
        is S.PENDING
    assert smap.map({"displayFulfillmentStatus": "ON_HOLD", "displayFinancialStatus": "AUTHORIZED"}) \
        is S.UNSHIPPED


@pytest.mark.parametrize("overrides", [
    {"Shipped": "teleported"},
    {"madeUpField=X": "shipped"},
    {"": "shipped"},
    {"OrderStatus=": "shipped"},
])
def test_bad_overrides_are_config_errors(overrides):
    with pytest.raises(ConfigError) as err:
        status_map_from_config("amazon", overrides, where="channels.a.order_status")
    assert err.value.code == "XD-CFG-003"
    assert "channels.a.order_status" in err.value.detail


def test_unknown_platform():
    with pytest.raises(ConfigError):
        default_status_map("etsy")
