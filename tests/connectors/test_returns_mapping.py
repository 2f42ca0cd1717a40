"""Returns per platform, the pure half (issue 18): what each platform's return payload parses to, and the
Shopify return request built from an order's fulfillments."""

from __future__ import annotations

import datetime as dt

import pytest

from crossdock.connectors.amazon.returns import parse_returns_report
from crossdock.connectors.ebay.returns import parse_return as ebay_return
from crossdock.connectors.returns_contract import RETURN_REASONS, PlatformReturn, ReturnLine
from crossdock.connectors.shopify.returns import REASONS, parse_returns, return_items
from crossdock.errors import ReturnError

EBAY_SUMMARY = {
    "returnId": "5098765432", "orderId": "24-36042-08607", "buyerLoginName": "buyer_1",
    "currentType": "MONEY_BACK", "state": "RETURN_REQUESTED", "status": "RETURN_REQUESTED",
    "creationInfo": {"item": {"itemId": "110554433221", "transactionId": "2840001", "returnQuantity": 2},
                     "type": "MONEY_BACK", "reason": "ARRIVED_DAMAGED", "reasonType": "SNAD",
                     "comments": {"content": "box crushed"},
                     "creationDate": {"value": "2026-12-06T10:30:00.000Z"}},
}


def test_an_ebay_return_summary_names_the_item_and_units_not_the_sku():
    got = ebay_return(EBAY_SUMMARY)
    assert got == PlatformReturn(
        return_id="5098765432", platform_order_id="24-36042-08607", state="open",
        platform_status="RETURN_REQUESTED/RETURN_REQUESTED", reason="damaged", reason_note="box crushed",
        lines=(ReturnLine(sku=None, quantity=2, listing_id="110554433221"),),
        opened_at=dt.datetime(2026, 12, 6, 10, 30, tzinfo=dt.timezone.utc), extra={"reason": "ARRIVED_DAMAGED"})
    closed = ebay_return({**EBAY_SUMMARY, "state": "CLOSED", "status": "CLOSED"})
    received = ebay_return({**EBAY_SUMMARY, "state": "ITEM_DELIVERED", "status": "ITEM_RECEIVED"})
    assert (closed.state, received.state) == ("closed", "received")
    assert ebay_return({**EBAY_SUMMARY, "creationInfo": {"reason": "SOMETHING_NEW"}}).reason == "other"


def _fli(fid: str, line: str, sku: str, qty: int) -> dict:
    return {"id": f"gid://shopify/FulfillmentLineItem/{fid}", "quantity": qty,
            "lineItem": {"id": f"gid://shopify/LineItem/{line}", "sku": sku}}


ORDER = {
    "fulfillments": [
        {"id": "gid://shopify/Fulfillment/1", "fulfillmentLineItems": {"nodes": [_fli("11", "100", "MUG", 1)]}},
        {"id": "gid://shopify/Fulfillment/2", "fulfillmentLineItems": {"nodes": [_fli("21", "100", "MUG", 2),
                                                                                 _fli("22", "200", "TEE", 1)]}},
    ],
    "returns": {"nodes": [
        {"status": "OPEN", "returnLineItems": {"nodes": [
            {"quantity": 1, "fulfillmentLineItem": {"id": "gid://shopify/FulfillmentLineItem/11"}}]}},
        {"status": "DECLINED", "returnLineItems": {"nodes": [
            {"quantity": 1, "fulfillmentLineItem": {"id": "gid://shopify/FulfillmentLineItem/22"}}]}},
    ]},
}


def test_a_shopify_return_names_the_fulfillment_line_items_not_on_a_live_return():
    items = return_items(ORDER, [ReturnLine("MUG", 2, "100"), ReturnLine("TEE", 1, "200")], "wrong_item", "note")
    assert items == [
        {"fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/21", "quantity": 2,
         "returnReason": "WRONG_ITEM", "returnReasonNote": "note"},
        {"fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/22", "quantity": 1,
         "returnReason": "WRONG_ITEM", "returnReasonNote": "note"},
    ]
    with pytest.raises(ReturnError) as info:
        return_items(ORDER, [ReturnLine("MUG", 3, "100")], "damaged", None)
    assert info.value.code == "XD-RMA-006"
    assert set(REASONS) == set(RETURN_REASONS)


def test_shopify_returns_parse_per_order():
    data = {"orders": {"nodes": [{"id": "gid://shopify/Order/6100", "returns": {"nodes": [{
        "id": "gid://shopify/Return/77", "name": "#1001-R1", "status": "REQUESTED",
        "createdAt": "2026-12-06T09:00:00Z",
        "returnLineItems": {"nodes": [{"quantity": 1, "returnReason": "SIZE_TOO_SMALL", "returnReasonNote": "tight",
                                       "fulfillmentLineItem": {"id": "gid://shopify/FulfillmentLineItem/21",
                                                               "lineItem": {"id": "gid://shopify/LineItem/100",
                                                                            "sku": "MUG"}}}]}}]}}]}}
    [got] = parse_returns(data)
    assert (got.return_id, got.platform_order_id, got.state, got.platform_status, got.reason, got.reason_note) == \
        ("77", "6100", "open", "REQUESTED", "size_fit", "tight")
    assert got.lines == (ReturnLine(sku="MUG", quantity=1, platform_line_id="100"),)


AMAZON_REPORT = (
    "Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\tMerchant RMA ID\t"
    "ASIN\tMerchant SKU\tItem Name\tReturn quantity\tReturn reason\n"
    "111-2223334-5556667\t01-Dec-2026\t05-Dec-2026\tApproved\tDxRMA1\t\tB0ASIN1\tMUG-BLUE\tMug\t1\tCR-DEFECTIVE\n"
    "111-2223334-5556667\t01-Dec-2026\t05-Dec-2026\tApproved\tDxRMA1\t\tB0ASIN2\tTEE-M\tTee\t2\tCR-DEFECTIVE\n"
    "222-2223334-5556667\t02-Dec-2026\t06-Dec-2026\tClosed\tDxRMA2\t\tB0ASIN1\tMUG-BLUE\tMug\t1\tUNWANTED_ITEM\n"
).encode()


def test_the_amazon_returns_report_gives_one_return_per_rma_with_a_line_per_row():
    first, second = parse_returns_report(AMAZON_REPORT)
    assert (first.return_id, first.platform_order_id, first.state, first.reason) == \
        ("DxRMA1", "111-2223334-5556667", "open", "defective")
    assert first.lines == (ReturnLine(sku="MUG-BLUE", quantity=1, listing_id="B0ASIN1"),
                           ReturnLine(sku="TEE-M", quantity=2, listing_id="B0ASIN2"))
    assert first.opened_at == dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)
    assert (second.return_id, second.state, second.reason) == ("DxRMA2", "closed", "unwanted")
