"""The seller's cancellation in the connector contract: every neutral reason
maps on every platform, the request each platform is sent, and the default
for a platform that cannot cancel (XD-ORD-013)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from crossdock.connectors.amazon import cancel as amazon
from crossdock.connectors.contract import CANCEL_REASONS, Connector
from crossdock.connectors.ebay import cancel as ebay
from crossdock.connectors.shopify import cancel as shopify
from crossdock.errors import OrderError


@pytest.mark.parametrize("table", [amazon.CANCEL_REASONS, ebay.CANCEL_REASONS, shopify.CANCEL_REASONS])
def test_every_neutral_reason_maps(table):
    assert set(table) == set(CANCEL_REASONS)


def test_the_requests_sent():
    assert ebay.cancellation_body("12-34567-89012", "buyer_asked") == {
        "legacyOrderId": "12-34567-89012", "cancelReason": "BUYER_ASKED_CANCEL"}
    assert (ebay.post_order_site("EBAY_GB"), ebay.post_order_site("EBAY_US")) == ("EBAY-UK", "EBAY-US")
    body = shopify.order_cancel_request("1001", "out_of_stock", notify_customer=False)
    assert body["variables"] == {"orderId": "gid://shopify/Order/1001", "reason": "INVENTORY", "refund": True,
                                 "restock": True, "notifyCustomer": False,
                                 "staffNote": "cancelled from crossdock: out_of_stock"}
    root = ET.fromstring(amazon.acknowledgement_failure(seller_id="A1", order_id="111-2-3", item_codes=["9", "8"],
                                                        reason="address_issue"))
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    ack = root.find("Message/OrderAcknowledgement")
    assert (ack.findtext("AmazonOrderID"), ack.findtext("StatusCode")) == ("111-2-3", "Failure")
    assert [(i.findtext("AmazonOrderItemCode"), i.findtext("CancelReason")) for i in ack.findall("Item")] == \
        [("9", "ShippingAddressUndeliverable"), ("8", "ShippingAddressUndeliverable")]
    for make in (lambda: ebay.cancellation_body("1", "nope"),
                 lambda: shopify.order_cancel_request("1", "nope", notify_customer=True),
                 lambda: amazon.acknowledgement_failure(seller_id="A1", order_id="1", item_codes=[], reason="nope")):
        with pytest.raises(OrderError) as info:
            make()
        assert info.value.code == "XD-ORD-014"


class _CannotCancel(Connector):
    platform, channel = "other", "other-1"

    def fetch_orders(self, query):
        return []

    def push_stock(self, updates):
        return []

    def read_listings(self, skus=None):
        return []

    def confirm_shipment(self, confirmation):
        return None


def test_a_platform_without_cancellation_refuses_with_a_code():
    with pytest.raises(OrderError) as info:
        _CannotCancel().cancel_order("1", "other")
    assert info.value.code == "XD-ORD-013" and info.value.spec.remedy
