"""Pure mapping: "this input builds exactly this request" and "this recorded
response parses to exactly this result", plus ``inspect``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from crossdock.connectors.ebay import ListingRef, inspect_payload
from crossdock.connectors.ebay import mapping as m
from crossdock.errors import MappingError
from crossdock.models import ItemResult, ListedOffer, Money, OrderStatus, Product, TaxInfo

UTC = dt.timezone.utc
GBP = lambda v: Money(Decimal(v), "GBP")  # noqa: E731


# ------------------------------------------------------------------ listing references
def test_listing_refs_parse_and_encode():
    assert ListingRef.parse("trading:1100") == ListingRef("trading", item_id="1100")
    assert ListingRef.parse("inventory:500") == ListingRef("inventory", offer_id="500")
    assert ListingRef.parse("inventory") == ListingRef("inventory")
    assert ListingRef.parse({"kind": "inventory", "offer_id": "5", "item_id": "9"}).encode() == "inventory:5"
    assert ListingRef("trading", item_id="7").to_dict() == {"kind": "trading", "item_id": "7"}
    with pytest.raises(MappingError):
        ListingRef.parse("amazon:B00X")
    with pytest.raises(MappingError):
        ListingRef.parse({"kind": "trading"})            # a legacy listing needs its ItemID


# ------------------------------------------------------------------ request building
def test_get_orders_params():
    after = dt.datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    before = dt.datetime(2025, 3, 14, 9, 58, 0, 250000, tzinfo=UTC)
    assert m.get_orders_params(after, before, limit=200, offset=400) == {
        "filter": "lastmodifieddate:[2025-03-14T09:00:00.000Z..2025-03-14T09:58:00.250Z]",
        "limit": "200", "offset": "400"}


def test_bulk_stock_body():
    body = m.bulk_stock_body([("MUG-BLUE", ListingRef("inventory", offer_id="5004316010"), 7),
                              ("NEW-SKU", ListingRef("inventory"), 0)])
    assert body == {"requests": [
        {"sku": "MUG-BLUE", "shipToLocationAvailability": {"quantity": 7},
         "offers": [{"offerId": "5004316010", "availableQuantity": 7}]},
        {"sku": "NEW-SKU", "shipToLocationAvailability": {"quantity": 0}}]}


def test_bulk_price_body():
    assert m.bulk_price_body([("MUG-BLUE", "5004316010", GBP("19.5"))]) == {"requests": [
        {"sku": "MUG-BLUE", "offers": [{"offerId": "5004316010", "price": {"value": "19.50", "currency": "GBP"}}]}]}


def test_revise_inventory_status_data():
    data = m.revise_inventory_status_data([("OLD-LISTING", "110000000001", 15, None),
                                           ("OLD-TWO", "110000000002", None, GBP("24"))])
    assert data == {"InventoryStatus": [{"ItemID": "110000000001", "Quantity": 15},
                                        {"ItemID": "110000000002", "StartPrice": "24.00"}]}
    with pytest.raises(ValueError):
        m.revise_inventory_status_data([("s", "1", 1, None)] * 5)


def test_shipping_fulfillment_body():
    body = m.shipping_fulfillment_body([("10062134871012", 2)], carrier_code="RoyalMail",
                                       tracking_number="RM123456785GB",
                                       shipped_at=dt.datetime(2025, 3, 15, 8, 0, tzinfo=UTC))
    assert body == {"lineItems": [{"lineItemId": "10062134871012", "quantity": 2}],
                    "shippedDate": "2025-03-15T08:00:00.000Z", "shippingCarrierCode": "RoyalMail",
                    "trackingNumber": "RM123456785GB"}


def test_inventory_item_and_offer_bodies():
    product = Product(sku="MUG-BLUE", title="Stoneware mug, blue", price=GBP("19.99"), description="350 ml",
                      attributes={"condition": "NEW", "brand": "Leeds Pottery", "aspects": {"Colour": "Blue"}},
                      images=["https://img/1.jpg", {"url": "https://img/2.jpg", "width": 1600}], weight_g=420)
    assert m.inventory_item_body(product, quantity=7) == {
        "product": {"title": "Stoneware mug, blue", "description": "350 ml",
                    "imageUrls": ["https://img/1.jpg", "https://img/2.jpg"],
                    "aspects": {"Colour": ["Blue"], "Brand": ["Leeds Pottery"]}},
        "condition": "NEW", "availability": {"shipToLocationAvailability": {"quantity": 7}},
        "packageWeightAndSize": {"weight": {"value": 420, "unit": "GRAM"}}}
    policies = {"fulfillmentPolicyId": "1", "paymentPolicyId": "2", "returnPolicyId": "3"}
    assert m.offer_body(product, marketplace_id="EBAY_GB", quantity=7, price=GBP("19.99"), category_id="20625",
                        merchant_location_key="leeds-wh", policies=policies) == {
        "sku": "MUG-BLUE", "marketplaceId": "EBAY_GB", "format": "FIXED_PRICE", "availableQuantity": 7,
        "categoryId": "20625", "listingDescription": "350 ml", "listingDuration": "GTC",
        "listingPolicies": policies, "merchantLocationKey": "leeds-wh",
        "pricingSummary": {"price": {"value": "19.99", "currency": "GBP"}}}


# ------------------------------------------------------------------ parsing
def test_parse_cross_border_order(load):
    order = m.parse_order(load("order_cross_border.json"))
    assert (order.platform_order_id, order.status, order.platform_status) == (
        "08-10972-45183", OrderStatus.UNSHIPPED, "NOT_STARTED/PAID")
    assert order.purchased_at == dt.datetime(2025, 3, 14, 9, 12, 44, tzinfo=UTC)
    assert order.updated_at == dt.datetime(2025, 3, 14, 9, 15, 2, tzinfo=UTC)
    assert order.total == GBP("59.46")
    assert order.buyer_country == "DE" and order.marketplace_id == "EBAY_DE"
    assert order.ship_by == dt.datetime(2025, 3, 17, 23, 59, 59, tzinfo=UTC)
    assert order.shipping_address.city == "Berlin" and order.shipping_address.postal_code == "10115"
    ioss = TaxInfo(model="MarketplaceFacilitator", ioss_number="IM2760000742", scheme="IOSS", tax_amount=GBP("9.49"))
    assert order.tax == ioss
    [line] = order.lines
    assert (line.platform_line_id, line.sku, line.quantity, line.unit_price, line.listing_id) == (
        "10062134871012", "MUG-BLUE", 2, GBP("19.99"), "296541230987")
    assert line.tax == ioss and line.quantity_shipped == 0
    assert order.raw["lineItems"][0]["lineItemCost"]["convertedFromCurrency"] == "EUR"


def test_parse_orders_page(load):
    orders, total, has_next = m.parse_orders_page(load("orders_page.json"))
    assert total == 2 and has_next is False
    cancelled, shipped = orders
    assert (cancelled.status, cancelled.platform_status) == (OrderStatus.CANCELLED, "CANCELED/FULLY_REFUNDED")
    assert shipped.status is OrderStatus.SHIPPED and shipped.lines[0].quantity_shipped == 1
    assert shipped.tax.scheme == "VOEC" and shipped.tax.ioss_number == "2024926" and shipped.buyer_country == "NO"
    assert m.fulfillment_ids(load("orders_page.json")["orders"][1]) == {"RM000111222GB"}


def test_unknown_status_is_xd_map_011(load):
    order = load("order_cross_border.json")
    order["orderFulfillmentStatus"] = "TELEPORTED"
    with pytest.raises(MappingError) as info:
        m.parse_order(order)
    assert info.value.code == "XD-MAP-011"


def test_parse_trading_get_orders(load):
    [order] = m.parse_trading_orders(m.xml_to_dict(load("trading_get_orders.xml")))
    assert (order.platform_order_id, order.status, order.total, order.buyer_country) == (
        "08-10972-45183", OrderStatus.UNSHIPPED, GBP("59.46"), "DE")
    [line] = order.lines
    assert (line.platform_line_id, line.sku, line.quantity, line.unit_price) == (
        "296541230987-3010203040506", "MUG-BLUE", 2, GBP("19.99"))
    assert line.tax == TaxInfo(model="MarketplaceFacilitator", ioss_number="IM2760000742", scheme="IOSS",
                               tax_amount=GBP("9.49"))


def test_parse_bulk_response(load):
    results = m.parse_bulk_response(load("bulk_update_price_quantity_207.json"),
                                    ["MUG-BLUE", "OLD-LISTING", "TEAPOT", "MISSING"])
    assert results["MUG-BLUE"] == ItemResult("MUG-BLUE", True)
    assert results["OLD-LISTING"].code == "XD-PLATFORM-002" and "trading:<ItemID>" in results["OLD-LISTING"].message
    assert results["TEAPOT"].code == "XD-QUOTA-004"
    assert results["MISSING"].code == "XD-NET-004"


def test_parse_revise_inventory_status_partial(load):
    reply = m.xml_to_dict(load("trading_revise_inventory_status_partial.xml"))["ReviseInventoryStatusResponse"]
    results = m.parse_revise_inventory_status(reply, [("OLD-LISTING", "110000000001"), ("OLD-TWO", "110000000002")])
    assert results["OLD-LISTING"] == ItemResult("OLD-LISTING", True)
    assert results["OLD-TWO"].code == "XD-PLATFORM-002" and results["OLD-TWO"].message.startswith("17 ")


def test_parse_offers_inventory_items_and_trading_item(load):
    [offer] = load("offers.json")["offers"]
    assert m.parse_offer(offer) == ListedOffer("MUG-BLUE", 7, GBP("19.99"), "296541230987", "ACTIVE", ids={
        "kind": "inventory", "offer_id": "5004316010", "item_id": "296541230987"})
    items = [m.parse_inventory_item(i) for i in load("inventory_items.json")["inventoryItems"]]
    assert [(i.sku, i.quantity) for i in items] == [("MUG-BLUE", 9), ("TEAPOT", 0)]
    item = m.parse_trading_item(m.xml_to_dict(load("trading_get_item.xml"))["GetItemResponse"])
    assert item == ListedOffer("OLD-LISTING", 12, GBP("24.00"), "110000000001", "ACTIVE",
                               title="Vintage teapot (listed in Seller Hub)",
                               ids={"kind": "trading", "item_id": "110000000001"})


def test_active_list_request_and_parse(load):
    # this input builds exactly this request
    assert m.active_list_request(3) == {"ActiveList": {"Include": "true", "Pagination": {
        "EntriesPerPage": "200", "PageNumber": "3"}}}
    with pytest.raises(ValueError):
        m.active_list_request(1, per_page=201)
    # this recorded-shape response parses to exactly this result
    reply = m.xml_to_dict(load("trading_get_my_ebay_selling.xml"))
    offers, pages = m.parse_active_list(reply)
    assert pages == 2
    trading = {"kind": "trading", "item_id": "110000000001"}
    assert offers == [
        ListedOffer("OLD-LISTING", 12, GBP("24.0"), "110000000001", "ACTIVE",
                    title="Vintage teapot (listed in Seller Hub)", ids=trading),
        ListedOffer("", 2, GBP("5.5"), "110000000007", "ACTIVE", title="Odd cup, no SKU",
                    ids={"kind": "trading", "item_id": "110000000007"}),
        ListedOffer("SHIRT-M", 4, GBP("12.0"), "110000000009", "ACTIVE", title="Shirt in two sizes",
                    ids={"kind": "trading", "item_id": "110000000009", "variation": "true"}),
        ListedOffer("SHIRT-L", 3, GBP("13.0"), "110000000009", "ACTIVE", title="Shirt in two sizes",
                    ids={"kind": "trading", "item_id": "110000000009", "variation": "true"})]
    # an empty page (past the last one) has no ItemArray
    assert m.parse_active_list({"GetMyeBaySellingResponse": {"Ack": "Success", "ActiveList": {
        "PaginationResult": {"TotalNumberOfPages": "2", "TotalNumberOfEntries": "203"}}}}) == ([], 2)
    with pytest.raises(MappingError):
        m.parse_active_list({"ActiveList": {"ItemArray": {"Item": {"Title": "no id"}}}})


# ------------------------------------------------------------------ inspect
def test_inspect_payloads(load):
    one = inspect_payload("order", json.dumps(load("order_cross_border.json")))     # JSON text, as from a file
    assert one["platform_order_id"] == "08-10972-45183" and one["total"] == {"amount": "59.46", "currency": "GBP"}
    assert one["status"] == "unshipped" and one["tax"]["scheme"] == "IOSS" and "raw" not in one
    many = inspect_payload("orders", load("orders_page.json"))
    assert [o["platform_order_id"] for o in many] == ["27-11234-99012", "12-01234-56789"]
    xml_orders = inspect_payload("orders", load("trading_get_orders.xml"))
    assert xml_orders[0]["lines"][0]["tax"]["ioss_number"] == "IM2760000742"
    assert inspect_payload("order", load("trading_get_orders.xml"))["platform_order_id"] == "08-10972-45183"
    assert inspect_payload("listing", load("offers.json"))[0]["quantity"] == 7
    assert inspect_payload("listing", load("trading_get_item.xml"))["listing_id"] == "110000000001"
    for kind, bad in (("order", "not json"), ("orders", '{"hello": 1}'), ("listing", "<html><body>oops")):
        with pytest.raises(MappingError) as info:
            inspect_payload(kind, bad)
        assert info.value.code == "XD-MAP-010"


# ------------------------------------------------------------------ the recorded payloads are spec-shaped
@pytest.mark.parametrize("spec_file, schema, fixture", [
    ("sell_fulfillment_v1_oas3.json", "Order", "order_cross_border.json"),
    ("sell_fulfillment_v1_oas3.json", "OrderSearchPagedCollection", "orders_page.json"),
    ("sell_inventory_v1_oas3.json", "BulkPriceQuantityResponse", "bulk_update_price_quantity_207.json"),
    ("sell_inventory_v1_oas3.json", "Offers", "offers.json"),
    ("sell_inventory_v1_oas3.json", "InventoryItems", "inventory_items.json"),
])
def test_fixtures_match_the_official_schemas(load, spec_file, schema, fixture):
    jsonschema = pytest.importorskip("jsonschema")
    from pathlib import Path

    path = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "ebay" / spec_file
    if not path.exists():
        pytest.skip(f"official eBay spec not found at {path}")
    components = json.loads(path.read_text())["components"]

    def strict(node):   # only the properties the spec defines
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for v in node.values():
                strict(v)
        elif isinstance(node, list):
            for v in node:
                strict(v)

    strict(components)
    root = {"components": components, "$ref": f"#/components/schemas/{schema}"}
    errors = list(jsonschema.validators.validator_for(root)(root).iter_errors(load(fixture)))
    assert not errors, [e.message for e in errors[:5]]
