"""Refunds in the connector contract (issue 18): every neutral reason maps on
every platform, the request each platform is sent (built from the request
alone), the refunds each platform's order payload carries parsed, and the
default for a platform that cannot refund (XD-REF-005)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from crossdock.connectors.amazon import refunds as amazon
from crossdock.connectors.contract import Connector
from crossdock.connectors.ebay.mapping import refunds as ebay
from crossdock.connectors.refunds import REFUND_REASONS, RefundRequest
from crossdock.connectors.shopify import refunds as shopify
from crossdock.connectors.shopify.mapping.refunds import parse_refunds as shopify_refunds
from crossdock.errors import RefundError
from crossdock.models import Money, Order, OrderLine, OrderStatus, RefundLine, TaxInfo

NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("table", [amazon.REFUND_REASONS, ebay.REFUND_REASONS])
def test_every_neutral_reason_maps(table):
    assert set(table) == set(REFUND_REASONS)


def _request(amount: str, *, remaining: str = "30.00", lines=(), done=None, cur="EUR") -> RefundRequest:
    return RefundRequest("1001", Money(Decimal(amount), cur), "buyer_return", Decimal(remaining), tuple(lines),
                         "dented", done or {})


def test_shopify_refund_create_and_the_buyers_currency():
    parent = {"id": "gid://shopify/OrderTransaction/7", "gateway": "bogus"}
    body = shopify.refund_create_request(_request("5.00", lines=[RefundLine("15", 1)]), parent=parent,
                                         amount=Decimal("5.00"), currency="EUR", notify=False)
    assert body["variables"]["input"] == {
        "orderId": "gid://shopify/Order/1001", "note": "buyer_return: dented", "notify": False, "currency": "EUR",
        "transactions": [{"orderId": "gid://shopify/Order/1001", "parentId": parent["id"], "gateway": "bogus",
                          "kind": "REFUND", "amount": "5.00"}],
        "refundLineItems": [{"lineItemId": "gid://shopify/LineItem/15", "quantity": 1, "restockType": "NO_RESTOCK"}]}
    order = {"currencyCode": "EUR", "presentmentCurrencyCode": "SEK",
             "totalPriceSet": {"shopMoney": {"amount": "30.00", "currencyCode": "EUR"},
                               "presentmentMoney": {"amount": "330.00", "currencyCode": "SEK"}},
             "totalRefundedSet": {"shopMoney": {"amount": "10.00", "currencyCode": "EUR"},
                                  "presentmentMoney": {"amount": "110.01", "currencyCode": "SEK"}}}
    # a part at the order's own rate; the full refund exactly what is left in the buyer's currency
    assert shopify.buyer_amount(_request("5.00"), order) == (Decimal("55.00"), "SEK")
    assert shopify.buyer_amount(_request("20.00", remaining="20.00"), order) == (Decimal("219.99"), "SEK")
    with pytest.raises(RefundError) as info:
        shopify.buyer_amount(_request("5.00", cur="USD"), order)
    assert info.value.code == "XD-REF-003"


def test_shopify_order_refunds_parsed():
    node = {"refunds": [{"id": "gid://shopify/Refund/9", "createdAt": "2026-12-07T08:00:00Z", "note": "cs",
                         "totalRefundedSet": {"shopMoney": {"amount": "4.5", "currencyCode": "EUR"}},
                         "refundLineItems": {"nodes": [{"lineItem": {"id": "gid://shopify/LineItem/15"}, "quantity": 1,
                                                        "subtotalSet": {"shopMoney": {"amount": "4.5",
                                                                                      "currencyCode": "EUR"}}}]}}]}
    [r] = shopify_refunds(node)
    assert (r.platform_refund_id, r.amount, r.created_at, r.status) == ("9", Money(Decimal("4.5"), "EUR"), NOW,
                                                                        "refunded")
    assert r.lines == (RefundLine("15", 1, Money(Decimal("4.5"), "EUR")),)
    assert shopify_refunds({}) is None and shopify_refunds({"refunds": []}) == []


def test_ebay_issue_refund_body_and_order_refunds():
    assert ebay.issue_refund_body(reason="not_received", amount=Money(Decimal("7.50"), "GBP"), comment="lost") == {
        "reasonForRefund": "ITEM_NOT_RECEIVED", "comment": "lost",
        "orderLevelRefundAmount": {"value": "7.50", "currency": "GBP"}}
    per_line = ebay.issue_refund_body(reason="wrong_item", amount=Money(Decimal("3"), "GBP"), comment=None,
                                      line_amounts={"L1": Money(Decimal("3"), "GBP")})
    assert per_line == {"reasonForRefund": "SELLER_WRONG_ITEM",
                        "refundItems": [{"lineItemId": "L1", "refundAmount": {"value": "3", "currency": "GBP"}}]}
    payload = {"paymentSummary": {"refunds": [
        {"refundId": "R1", "refundStatus": "PENDING", "amount": {"value": "2.00", "currency": "GBP"}}]},
        "lineItems": [{"lineItemId": "L1", "refunds": [{"refundId": "R2", "refundDate": "2026-12-07T08:00:00.000Z",
                                                        "amount": {"value": "1.00", "currency": "GBP"}}]},
                      {"lineItemId": "L2", "refunds": [{"refundId": "R2", "refundDate": "2026-12-07T08:00:00.000Z",
                                                        "amount": {"value": "0.50", "currency": "GBP"}}]}]}
    r1, r2 = ebay.parse_refunds(payload)
    assert (r1.platform_refund_id, r1.amount.amount, r1.status) == ("R1", Decimal("2.00"), "pending")
    assert (r2.platform_refund_id, r2.amount.amount, r2.status, r2.created_at) == ("R2", Decimal("1.50"), "refunded",
                                                                                   NOW)
    assert [(ln.platform_line_id, ln.amount.amount) for ln in r2.lines] == [("L1", Decimal("1.00")),
                                                                            ("L2", Decimal("0.50"))]
    assert ebay.parse_refunds({"lineItems": []}) is None


def _amazon_order() -> Order:
    usd = lambda v: Money(Decimal(v), "USD")  # noqa: E731
    lines = [OrderLine("I1", "MUG", 2, usd("10.00"), tax=TaxInfo(tax_amount=usd("1.60"))),
             OrderLine("I2", "CAP", 1, usd("5.00"), tax=TaxInfo(tax_amount=usd("0.40")))]
    return Order("amazon", "111-1", "Unshipped", OrderStatus.UNSHIPPED, NOW, NOW, usd("27.00"), "US", lines=lines)


def test_amazon_adjustment_spread_over_items():
    order = _amazon_order()
    # principal, then tax, item by item; what was refunded on an item already is left out
    assert amazon.allocate(_request("21.00", cur="USD"), order) == [
        ("I1", {"Principal": Decimal("20.00"), "Tax": Decimal("1.00")})]
    assert amazon.allocate(_request("3.00", cur="USD", done={"I1": Decimal("21.00")}), order) == [
        ("I1", {"Tax": Decimal("0.60")}), ("I2", {"Principal": Decimal("2.40")})]
    named = amazon.allocate(_request("6.00", cur="USD", lines=[RefundLine("I2", 1)]), order)
    assert named == [("I2", {"Principal": Decimal("5.00"), "Tax": Decimal("0.40"), "Shipping": Decimal("0.60")})]
    root = ET.fromstring(amazon.adjustment_feed(seller_id="A1", order_id="111-1", reason="wrong_item", currency="USD",
                                                allocation=named))
    assert root.findtext("MessageType") == "OrderAdjustment"
    item = root.find("Message/OrderAdjustment/AdjustedItem")
    assert (item.findtext("AmazonOrderItemCode"), item.findtext("AdjustmentReason")) == ("I2", "DifferentItem")
    assert [(c.findtext("Type"), c.find("Amount").get("currency"), c.findtext("Amount"))
            for c in item.iter("Component")] == [("Principal", "USD", "5.00"), ("Tax", "USD", "0.40"),
                                                 ("Shipping", "USD", "0.60")]


def test_a_platform_that_cannot_refund_says_so():
    class Plain(Connector):
        platform, channel = "plain", "plain-1"

        def fetch_orders(self, query):  # pragma: no cover - never called
            return []

    for name in ("push_stock", "confirm_shipment", "read_listings"):
        setattr(Plain, name, lambda self, *a, **k: None)
    Plain.__abstractmethods__ = frozenset()
    with pytest.raises(RefundError) as info:
        Plain.__new__(Plain).issue_refund(_request("1.00"))
    assert info.value.code == "XD-REF-005"
    assert Plain.__new__(Plain).read_refunds("1") is None       # no order read: nothing to tell
