"""Pure mapping: "this input builds exactly this request" and "this recorded
payload parses to exactly this result"."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal

import jsonschema
import pytest

from crossdock.connectors.amazon import mapping as M
from crossdock.errors import MappingError
from crossdock.models import (
    Address,
    ItemResult,
    ListedOffer,
    Money,
    OrderStatus,
    PriceUpdate,
    Product,
    ShipmentConfirmation,
    StockUpdate,
    TaxInfo,
)

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
UTC = dt.timezone.utc


# ------------------------------------------------------------------ orders: requests

def test_orders_params_for_a_window():
    params = M.orders_params(marketplace_id=US, updated_after=dt.datetime(2026, 1, 2, 3, 4, 5, 900_000, UTC),
                             updated_before=dt.datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC), page_size=50)
    assert params == {"MarketplaceIds": US, "LastUpdatedAfter": "2026-01-02T03:04:05Z",
                      "LastUpdatedBefore": "2026-01-02T04:00:00Z", "MaxResultsPerPage": "50"}
    assert M.next_page_params(marketplace_id=US, next_token="abc") == {"MarketplaceIds": US, "NextToken": "abc"}


# ------------------------------------------------------------------ orders: parsing

def test_get_orders_sandbox_example_parses(fixture):
    raw, token = M.parse_orders_page(fixture("getOrders_200.json"))
    assert token is None
    orders = [M.parse_order(o) for o in raw]
    assert [o.platform_order_id for o in orders] == ["902-1845936-5435065", "902-8745147-1934268"]
    first = orders[0]
    assert first.status is OrderStatus.UNSHIPPED and first.platform_status == "Unshipped"
    assert first.total == Money(Decimal("11.01"), "USD")
    assert first.purchased_at == dt.datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    assert first.ship_by == dt.datetime(1970, 1, 19, 4, 5, 13, tzinfo=UTC)
    assert first.marketplace_id == US and first.fulfillment_channel == "MFN"
    assert first.buyer_country is None          # getOrders shows no ship-to here; never guessed
    assert first.lines == [] and first.raw["order"]["AmazonOrderId"] == "902-1845936-5435065"


def test_pending_order_without_total_and_next_token(fixture):
    raw, token = M.parse_orders_page(fixture("getOrders_200_next_token.json"))
    assert token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    order = M.parse_order(raw[0])
    assert order.status is OrderStatus.PENDING and order.total is None


def test_order_items_sandbox_example_parses(fixture):
    oid, items, token = M.parse_items_page(fixture("getOrderItems_200.json"))
    assert (oid, token) == ("902-1845936-5435065", None)
    (line,) = [M.parse_line(i) for i in items]
    assert line.platform_line_id == "05015851154158" and line.sku == "NABetaASINB00551Q3CS"
    assert line.listing_id == "B00551Q3CS" and line.quantity == 1 and line.quantity_shipped == 0
    assert line.unit_price == Money(Decimal("10.00"), "USD")
    assert line.tax == TaxInfo(model=None, ioss_number=None, scheme="IOSS", deemed_reseller_category="IOSS",
                               tax_amount=Money(Decimal("1.01"), "USD"))


def test_eu_import_keeps_ioss_data_and_unit_price_is_line_price_over_quantity(fixture):
    raw, _ = M.parse_orders_page(fixture("getOrders_de_crossborder.json"))
    _, items, _ = M.parse_items_page(fixture("getOrderItems_de_ioss.json"))
    by_id = {o["AmazonOrderId"]: o for o in raw}
    order = M.parse_order(by_id["307-4620541-2529874"], items, channel="amazon-de")
    assert order.buyer_country == "FR" and order.marketplace_id == DE
    assert order.total == Money(Decimal("49.80"), "EUR")
    (line,) = order.lines
    assert line.quantity == 2 and line.unit_price == Money(Decimal("24.90"), "EUR")
    assert order.tax == TaxInfo(model="MarketplaceFacilitator", ioss_number="IM4420000000", scheme="IOSS",
                                deemed_reseller_category="IOSS", tax_amount=Money(Decimal("8.30"), "EUR"))
    assert order.shipping_address == Address(country_code="FR", city="Paris", region="Ile-de-France",
                                             postal_code="75001")


def test_us_marketplace_facilitator_tax(fixture):
    _, items, _ = M.parse_items_page(fixture("getOrderItems_us_facilitator.json"))
    line = M.parse_line(items[0])
    assert line.tax.model == "MarketplaceFacilitator" and line.tax.scheme is None
    assert line.tax.tax_amount == Money(Decimal("2.19"), "USD")


def test_unit_price_rounds_to_the_minor_unit():
    line = M.parse_line({"OrderItemId": "1", "ASIN": "B0", "QuantityOrdered": 3,
                         "ItemPrice": {"CurrencyCode": "JPY", "Amount": "1000"}})
    assert line.unit_price == Money(Decimal("333"), "JPY")


def test_unreadable_or_unknown_orders_raise_mapping_errors():
    with pytest.raises(MappingError) as err:
        M.parse_orders_page({"payload": {"Nope": []}})
    assert err.value.code == "XD-MAP-010"
    with pytest.raises(MappingError) as err:
        M.parse_orders_page({"errors": [{"code": "InvalidInput", "message": "x"}]})
    assert err.value.code == "XD-MAP-010"
    with pytest.raises(MappingError) as err:
        M.parse_order({"AmazonOrderId": "1", "OrderStatus": "Teleported", "PurchaseDate": "2026-01-01T00:00:00Z",
                       "LastUpdateDate": "2026-01-01T00:00:00Z"})
    assert err.value.code == "XD-MAP-011"
    with pytest.raises(MappingError):
        M.parse_order({"AmazonOrderId": "1", "OrderStatus": "Shipped", "PurchaseDate": "soon",
                       "LastUpdateDate": "2026-01-01T00:00:00Z"})
    with pytest.raises(MappingError):
        M.parse_line({"ASIN": "B0"})


def test_address_from_rdt_response(fixture):
    assert M.parse_order_address(fixture("getOrderAddress_200.json")) == Address(
        country_code="US", name="MFNIntegrationTestMerchant", line1="2201 WESTLAKE AVE", city="SEATTLE",
        region="WA", postal_code="98121-2778", phone="+1 480-386-0930 ext. 73824")


# ------------------------------------------------------------------ shipments

def test_confirm_shipment_body():
    conf = ShipmentConfirmation(platform_order_id="111-1", carrier="dhl", tracking_number="JD0001",
                                shipped_at=dt.datetime(2026, 3, 1, 9, 30, tzinfo=UTC), lines=(("L1", 2),),
                                service="Paket")
    items = M.shipment_items(conf, None)
    body = M.confirm_shipment_body(conf, marketplace_id=DE, carrier_code="DHL", carrier_name=None, items=items)
    assert body == {"marketplaceId": DE, "packageDetail": {
        "packageReferenceId": M.package_reference_id("JD0001"), "carrierCode": "DHL", "shippingMethod": "Paket",
        "trackingNumber": "JD0001", "shipDate": "2026-03-01T09:30:00.000Z",
        "orderItems": [{"orderItemId": "L1", "quantity": 2}]}}
    ref = body["packageDetail"]["packageReferenceId"]
    assert ref.isdigit() and int(ref) > 0 and ref == M.package_reference_id(" JD0001 ")
    assert ref != M.package_reference_id("JD0002")


def test_shipment_items_default_to_every_unshipped_unit():
    conf = ShipmentConfirmation(platform_order_id="1", carrier="ups", tracking_number="T",
                                shipped_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    items = [{"OrderItemId": "a", "QuantityOrdered": 3, "QuantityShipped": 1},
             {"OrderItemId": "b", "QuantityOrdered": 1, "QuantityShipped": 1}]
    assert M.shipment_items(conf, items) == [("a", 2)]


# ------------------------------------------------------------------ listings: requests

def test_stock_patch_request_body():
    body = M.patch_body(M.stock_patches(StockUpdate("SKU-1", 7)), product_type="PRODUCT")
    assert M.to_json_bytes(body) == (
        b'{"productType":"PRODUCT","patches":[{"op":"replace","path":"/attributes/fulfillment_availability",'
        b'"value":[{"fulfillment_channel_code":"DEFAULT","quantity":7}]}]}')


def test_price_patch_sends_an_exact_json_number():
    update = PriceUpdate("SKU-1", Money(Decimal("19.9"), "EUR"))
    body = M.to_json_bytes(M.patch_body(M.price_patches(update, marketplace_id=DE), product_type="PRODUCT"))
    assert body == (
        b'{"productType":"PRODUCT","patches":[{"op":"replace","path":"/attributes/purchasable_offer",'
        b'"value":[{"marketplace_id":"A1PA6795UKMFR9","currency":"EUR","our_price":[{"schedule":'
        b'[{"value_with_tax":19.90}]}]}]}]}')
    assert json.loads(body, parse_float=Decimal)["patches"][0]["value"][0]["our_price"][0]["schedule"][0][
        "value_with_tax"] == Decimal("19.90")
    with pytest.raises(TypeError):
        M.to_json_bytes({"price": 19.9})


def test_listing_put_body_from_a_product():
    product = Product(sku="MUG", title="Blue mug", price=Money(Decimal("12"), "USD"), description="A mug.",
                      attributes={"brand": "Acme", "color": [{"value": "blue", "marketplace_id": US}]},
                      images=["https://img/1.jpg", "https://img/2.jpg"], weight_g=350, country_of_origin="PT",
                      quantity=5, category="DRINKING_CUP")
    body = M.listing_put_body(product, marketplace_id=US, language_tag="en_US", product_type="PRODUCT")
    assert body["productType"] == "DRINKING_CUP" and body["requirements"] == "LISTING"
    a = body["attributes"]
    assert a["item_name"] == [{"value": "Blue mug", "language_tag": "en_US", "marketplace_id": US}]
    assert a["brand"] == [{"value": "Acme", "language_tag": "en_US", "marketplace_id": US}]
    assert a["color"] == [{"value": "blue", "marketplace_id": US}]
    assert a["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("12.00")
    assert a["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]
    assert a["country_of_origin"] == [{"value": "PT", "marketplace_id": US}]
    assert a["main_product_image_locator"] == [{"media_location": "https://img/1.jpg", "marketplace_id": US}]
    assert a["other_product_image_locator_1"][0]["media_location"] == "https://img/2.jpg"
    assert a["item_weight"] == [{"value": Decimal(350), "unit": "grams", "marketplace_id": US}]


def test_product_type_and_condition_come_from_attributes_not_as_attributes():
    product = Product(sku="BAG", title="Carry-on", price=Money(Decimal("80"), "USD"), category="LUGGAGE",
                      attributes={"brand": "Acme", "product_type": "SUITCASE", "condition": "used_good"})
    body = M.listing_put_body(product, marketplace_id=US, language_tag="en_US", product_type="PRODUCT")
    assert body["productType"] == "SUITCASE"
    assert body["attributes"]["condition_type"] == [{"value": "used_good", "marketplace_id": US}]
    assert "product_type" not in body["attributes"] and "condition" not in body["attributes"]
    plain = Product(sku="X", title="X", attributes={})
    assert M.listing_product_type(plain, default="PRODUCT") == "PRODUCT" and M.listing_condition(plain) == "new_new"


def test_listing_params_and_rdt_body():
    assert M.listing_params(marketplace_id=US, included=M.LISTING_INCLUDED) == {
        "marketplaceIds": US, "includedData": "summaries,offers,fulfillmentAvailability"}
    assert M.rdt_body([("GET", "/orders/v0/orders/{orderId}/address", ())]) == {
        "restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}
    assert M.rdt_body([("GET", "/orders/v0/orders", ("buyerInfo",))])["restrictedResources"][0]["dataElements"] == \
        ["buyerInfo"]


def test_submission_results(fixture):
    assert M.submission_result({"sku": "A", "status": "ACCEPTED", "submissionId": "x", "issues": []},
                               sku="A") == ItemResult("A", True)
    result = M.submission_result(fixture("patchListingsItem_invalid.json"), sku="VALIDATION_INVALID")
    assert not result.ok and result.code == "XD-PLATFORM-003"
    assert result.message == "90000900: The attributes are invalid."


# ------------------------------------------------------------------ feeds

def test_feed_document_matches_the_listings_feed_schema(specs_dir):
    updates = [StockUpdate("A", 1), PriceUpdate("B", Money(Decimal("3.50"), "USD"))]
    messages = M.feed_messages(updates, marketplace_id=US, product_type="PRODUCT")
    ((content, batch),) = list(M.feed_chunks(messages, seller_id="A1SELLER"))
    doc = json.loads(content, parse_float=Decimal)
    assert doc["header"] == {"sellerId": "A1SELLER", "version": "2.0", "issueLocale": "en_US"}
    assert [m["messageId"] for m in doc["messages"]] == [1, 2] and batch == messages
    assert doc["messages"][0] == {"messageId": 1, "sku": "A", "operationType": "PATCH", "productType": "PRODUCT",
                                  "patches": M.stock_patches(StockUpdate("A", 1))}
    schema = json.loads((specs_dir / "listings-feed-schema-v2.json").read_text())
    jsonschema.Draft7Validator(schema).validate(json.loads(content))


def test_feed_chunks_respect_message_and_byte_limits():
    messages = M.feed_messages([StockUpdate(f"S{n}", n) for n in range(7)], marketplace_id=US, product_type="P")
    chunks = list(M.feed_chunks(messages, seller_id="A1", max_messages=3))
    assert [len(b) for _, b in chunks] == [3, 3, 1]
    one = len(M.to_json_bytes(messages[0]))
    small = list(M.feed_chunks(messages, seller_id="A1", max_bytes=one * 2 + 120))
    assert all(len(c) <= one * 2 + 120 for c, _ in small) and sum(len(b) for _, b in small) == 7
    with pytest.raises(MappingError):
        list(M.feed_chunks(messages, seller_id="A1", max_bytes=50))
    assert M.feeds_needed(0) == 0 and M.feeds_needed(25_000) == 1 and M.feeds_needed(25_001) == 2


def test_processing_report_to_item_results(fixture):
    messages = fixture("listings_feed_request.json")["messages"]
    results = M.report_results(fixture("feed_processing_report.json"), messages)
    assert results[0] == ItemResult("MUG-BLUE", True)
    assert results[1].ok is False and results[1].code == "XD-PLATFORM-003" and results[1].sku == "MUG-RED"
    assert results[1].message.startswith("4000001: The listings item with SKU 'MUG-RED' does not exist")
    assert results[2].ok is False and "90246" in results[2].message
    # a report whose feed-level error accepted nothing fails every message
    report = {"header": {}, "issues": [{"severity": "ERROR", "code": "X", "message": "bad header"}],
              "summary": {"messagesAccepted": 0}}
    assert all(not r.ok for r in M.report_results(report, messages))
    with pytest.raises(MappingError):
        M.report_results({"summary": {}}, messages)


def test_decode_gzip_and_plain_reports():
    report = {"issues": [], "summary": {"errors": 0}}
    assert M.decode_document(gzip.compress(json.dumps(report).encode()), "GZIP") == report
    assert M.decode_document(json.dumps(report).encode(), None) == report
    with pytest.raises(MappingError):
        M.decode_document(b"<html>", None)


# ------------------------------------------------------------------ listings: read back

def test_listing_item_to_offer(fixture):
    item = fixture("getListingsItem_200.json")
    assert M.parse_listing(item, marketplace_id=US) == ListedOffer(
        sku="GM-ZDPI-9B4E", quantity=100, price=Money(Decimal("100.00"), "USD"), listing_id="B071VG5N9D",
        status="BUYABLE", title="Hardside Carry-On Spinner Suitcase Luggage", ids={"asin": "B071VG5N9D"})
    ca = M.parse_listing(item, marketplace_id="A2EUQ1WTGCTBG2")
    assert ca.price == Money(Decimal("130.00"), "CAD") and ca.status == "INACTIVE"
    with pytest.raises(MappingError):
        M.parse_listing({"summaries": []}, marketplace_id=US)


def test_lwa_form():
    assert M.lwa_form(client_id="c", client_secret="s", refresh_token="r") == {
        "grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}


def test_shipping_and_its_tax_per_item_and_summed_on_the_order():
    # Given two items of one order, each charged shipping (ordersV0 OrderItem ShippingPrice / ShippingTax)
    def item(n: str, shipping: str, tax: str) -> dict:
        return {"OrderItemId": n, "ASIN": "B0", "SellerSKU": f"SKU-{n}", "Title": f"Mug {n}", "QuantityOrdered": 1,
                "ItemPrice": {"CurrencyCode": "EUR", "Amount": "20.00"},
                "ShippingPrice": {"CurrencyCode": "EUR", "Amount": shipping},
                "ShippingTax": {"CurrencyCode": "EUR", "Amount": tax}}

    order = M.parse_order({"AmazonOrderId": "302-1", "OrderStatus": "Unshipped",
                           "PurchaseDate": "2026-01-01T00:00:00Z", "LastUpdateDate": "2026-01-01T00:00:00Z",
                           "OrderTotal": {"CurrencyCode": "EUR", "Amount": "47.45"}},
                          [item("1", "4.99", "0.95"), item("2", "1.25", "0.26")])
    # Then each line keeps its title and charges, and the order their sums
    assert [(ln.title, ln.shipping, ln.shipping_tax) for ln in order.lines] == [
        ("Mug 1", Money(Decimal("4.99"), "EUR"), Money(Decimal("0.95"), "EUR")),
        ("Mug 2", Money(Decimal("1.25"), "EUR"), Money(Decimal("0.26"), "EUR"))]
    assert (order.shipping, order.shipping_tax) == (Money(Decimal("6.24"), "EUR"), Money(Decimal("1.21"), "EUR"))
    # the buyer pays in the marketplace's currency, and the Orders API has no customs codes
    assert order.presentment_total is None and order.lines[0].hs_code is None
