"""Pure mapping: "this input builds exactly this request" and "this recorded
payload parses to exactly this result", per operation."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import parse
from graphql.execution.values import get_variable_values
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode

from crossdock.connectors.shopify import mapping as m
from crossdock.connectors.shopify import queries
from crossdock.errors import MappingError
from crossdock.models import Address, ListedOffer, Money, OrderLine, OrderStatus, Product, TaxInfo
from crossdock.sandbox.shopify import schema as sdl
from crossdock.sandbox.shopify.cost import CostWalker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"
UTC = dt.timezone.utc


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def eur(x: str) -> Money:
    return Money(Decimal(x), "EUR")


# --- requests -----------------------------------------------------------------------------

def test_orders_request():
    req = m.orders_request(dt.datetime(2026, 11, 20, 10, 0, 0, 700000, tzinfo=UTC),
                           dt.datetime(2026, 11, 20, 10, 15, tzinfo=UTC), first=10, lines=5, after="abc")
    assert req == {"query": queries.ORDERS, "variables": {
        "first": 10, "after": "abc", "lines": 5,
        "query": "updated_at:>='2026-11-20T10:00:00Z' updated_at:<'2026-11-20T10:15:00Z'"}}


def test_inventory_set_request_sends_change_from_quantity_always():
    entries = [m.StockEntry("A", "gid://shopify/InventoryItem/1", "gid://shopify/Location/9", 5, 7),
               m.StockEntry("B", "gid://shopify/InventoryItem/2", "gid://shopify/Location/9", 0, None)]
    req = m.inventory_set_request(entries, reason="correction", reference="gid://crossdock/SyncJob/stock",
                                  idempotency_key="key-1")
    assert req["variables"] == {"key": "key-1", "input": {
        "name": "available", "reason": "correction", "referenceDocumentUri": "gid://crossdock/SyncJob/stock",
        "quantities": [
            {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/9",
             "quantity": 5, "changeFromQuantity": 7},
            {"inventoryItemId": "gid://shopify/InventoryItem/2", "locationId": "gid://shopify/Location/9",
             "quantity": 0, "changeFromQuantity": None}]}}
    assert "@idempotent(key: $key)" in req["query"] and "$key: String!" in req["query"]


def test_prices_request_aliases_one_bulk_update_per_product():
    groups = [m.PriceGroup("gid://shopify/Product/1", (("A", "gid://shopify/ProductVariant/11", Decimal("9.5")),)),
              m.PriceGroup("gid://shopify/Product/2", (("B", "gid://shopify/ProductVariant/21", Decimal("10")),
                                                       ("C", "gid://shopify/ProductVariant/22", Decimal("12.345"))))]
    req = m.prices_request(groups)
    assert req["variables"] == {
        "p0": "gid://shopify/Product/1", "v0": [{"id": "gid://shopify/ProductVariant/11", "price": "9.50"}],
        "p1": "gid://shopify/Product/2", "v1": [{"id": "gid://shopify/ProductVariant/21", "price": "10.00"},
                                                {"id": "gid://shopify/ProductVariant/22", "price": "12.34"}]}
    assert "u0: productVariantsBulkUpdate(productId: $p0, variants: $v0)" in req["query"]
    assert "u1: productVariantsBulkUpdate(productId: $p1, variants: $v1)" in req["query"]


def test_fulfillment_create_request():
    req = m.fulfillment_create_request(
        [("gid://shopify/FulfillmentOrder/1", [("gid://shopify/FulfillmentOrderLineItem/5", 2)])],
        company="DHL Express", number="JD1", url="https://t/JD1", notify_customer=True)
    assert req == {"query": queries.FULFILLMENT_CREATE, "variables": {"fulfillment": {
        "notifyCustomer": True, "trackingInfo": {"number": "JD1", "company": "DHL Express", "url": "https://t/JD1"},
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
                                         "fulfillmentOrderLineItems": [
                                             {"id": "gid://shopify/FulfillmentOrderLineItem/5", "quantity": 2}]}]}}}


def test_listing_requests():
    p = Product("MUG-1", "Blue mug", price=eur("12.5"), description="<p>Mug</p>", category="Mugs",
                hs_code="691200", country_of_origin="pt")
    assert m.product_create_request(p)["variables"] == {"product": {
        "title": "Blue mug", "status": "ACTIVE", "descriptionHtml": "<p>Mug</p>", "productType": "Mugs"}}
    assert m.variant_setup_request("gid://shopify/Product/1", "gid://shopify/ProductVariant/2", p,
                                   price=p.price)["variables"] == {
        "productId": "gid://shopify/Product/1",
        "variants": [{"id": "gid://shopify/ProductVariant/2", "price": "12.50", "inventoryItem": {
            "sku": "MUG-1", "tracked": True, "harmonizedSystemCode": "691200", "countryCodeOfOrigin": "PT"}}]}
    assert m.product_update_request("gid://shopify/Product/1", p)["variables"] == {
        "product": {"id": "gid://shopify/Product/1", "title": "Blue mug", "descriptionHtml": "<p>Mug</p>"}}


def test_variants_request_quotes_skus():
    req = m.variants_request(["A-1", 'B "2"'], location_id="gid://shopify/Location/1", first=4)
    assert req["variables"] == {"first": 4, "after": None, "location": "gid://shopify/Location/1",
                                "query": 'sku:"A-1" OR sku:"B \\"2\\""'}


def test_token_form():
    assert m.token_refresh_form(client_id="id", client_secret="s", refresh_token="r") == {
        "client_id": "id", "client_secret": "s", "grant_type": "refresh_token", "refresh_token": "r"}


DOCUMENTS = [
    (queries.ORDERS, {"first": 10, "lines": 5, "query": "x"}),
    (queries.ORDERS, {"first": 7, "lines": 3, "query": "x"}),
    (queries.ORDER_LINES, {"id": "gid://shopify/Order/1", "first": 50}),
    (queries.VARIANTS_BY_SKU, {"first": 100, "query": "", "location": "gid://shopify/Location/1"}),
    (queries.LOCATIONS, {}),
    (queries.FULFILLMENT_ORDERS, {"id": "gid://shopify/Order/1"}),
    (queries.FULFILLMENT_CREATE, {"fulfillment": {"lineItemsByFulfillmentOrder": []}}),
    (queries.PRODUCT_CREATE, {"product": {"title": "x"}}),
    (queries.PRODUCT_UPDATE, {"product": {"id": "gid://shopify/Product/1"}}),
    (queries.VARIANTS_UPDATE_ONE, {"productId": "gid://shopify/Product/1", "variants": []}),
    (queries.inventory_set_document(), {"key": "k", "input": {"name": "available", "reason": "x", "quantities": []}}),
    (queries.price_update_document(3), {f"{k}{i}": ("gid://shopify/Product/1" if k == "p" else [])
                                        for i in range(3) for k in "pv"}),
]


@pytest.mark.parametrize("document,variables", DOCUMENTS)
def test_cost_estimate_equals_shopifys_rule_as_the_sandbox_computes_it(document, variables):
    schema = sdl.schema_for(sdl.SCHEMA_2026_04)
    doc = parse(document)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    coerced = get_variable_values(schema, op.variable_definitions, variables)
    assert not isinstance(coerced, list), coerced
    assert m.estimate_cost(document, variables) == CostWalker(schema, op, frags, coerced).requested()


def test_default_page_sizes_stay_under_the_1000_point_limit():
    # per order 21 objects (15 + the shipping MoneyBag's 3 + its refunds' 3: the list, totalRefundedSet,
    # shopMoney), per line 12 (11 + the variant's inventory item)
    assert m.estimate_cost(queries.ORDERS, {"first": 10, "lines": 5}) == 2 + 10 * (21 + 5 * 12) == 812
    assert m.estimate_cost(queries.ORDER_LINES, {"first": 50}) < 1000
    assert m.estimate_cost(queries.VARIANTS_BY_SKU, {"first": 100}) == 502
    assert m.estimate_cost(queries.FULFILLMENT_ORDERS, {}) < 1000
    assert m.estimate_cost(queries.price_update_document(20), {}) == 200


# --- parsing ---------------------------------------------------------------------------------

def test_orders_page_parses_to_orders():
    page = m.parse_orders_page(fixture("orders_page.json")["data"])
    assert page.has_next and page.end_cursor.startswith("eyJ")
    assert page.more_lines == [("6100000000002", "eyJsYXN0X2lkIjoxNTIwMDAwMDAwMDAwMywibGFzdF92YWx1ZSI6MTUyMDAwMDAwMDAwMDN9")]
    fr, ch, de = page.orders
    assert (fr.platform, fr.platform_order_id, fr.platform_status, fr.status) == (
        "shopify", "6100000000001", "PAID/UNFULFILLED", OrderStatus.UNSHIPPED)
    assert fr.purchased_at == dt.datetime(2026, 11, 20, 9, 58, 11, tzinfo=UTC)
    assert fr.updated_at == dt.datetime(2026, 11, 20, 10, 2, 40, tzinfo=UTC)
    assert fr.total == eur("59.8") and fr.buyer_country == "FR"
    assert fr.tax == TaxInfo(model=None, tax_amount=eur("8.32"))
    assert fr.shipping_address == Address(country_code="FR", name="Marie Dubois", line1="12 Rue de Rivoli",
                                          city="Paris", postal_code="75001")
    assert fr.lines == [
        OrderLine("15200000000001", "MUG-BLUE", 2, eur("12.5"), "Blue mug", "44400000000001",
                  TaxInfo(tax_amount=eur("4.17")), 0, hs_code="691200", country_of_origin="PT"),
        OrderLine("15200000000002", "TEE-L", 1, eur("24.9"), "T-shirt - L", "44400000000002",
                  TaxInfo(tax_amount=eur("4.15")), 0)]
    # cross-border: the shop's money, the buyer's (CHF) beside it, and the duty's HS code and origin on the line
    assert ch.total == eur("65.03") and ch.buyer_country == "CH" and ch.status is OrderStatus.PARTIALLY_SHIPPED
    assert (ch.presentment_total, ch.presentment_tax) == (Money("61.79", "CHF"), Money("0.0", "CHF"))
    assert ch.raw["presentmentCurrencyCode"] == "CHF" and ch.raw["dutiesIncluded"] is True
    assert ch.lines[0].quantity_shipped == 1 and ch.lines[0].tax is None
    assert ch.lines[0].presentment_unit_price == Money("11.88", "CHF")
    assert (ch.lines[0].hs_code, ch.lines[0].country_of_origin) == ("691200", "PT")
    assert (ch.shipping, ch.presentment_shipping) == (eur("24.9"), Money("23.66", "CHF"))
    # a domestic order: no presentment amounts (the shop's are the buyer's); the codes from the
    # variant's inventory item where the shop set them, none where it did not
    assert fr.presentment_total is None and fr.lines[0].presentment_unit_price is None
    assert fr.shipping == eur("9.9") and fr.presentment_shipping is None
    assert [(ln.hs_code, ln.country_of_origin) for ln in fr.lines] == [("691200", "PT"), (None, None)]
    assert (de.status, de.platform_status) == (OrderStatus.CANCELLED, "CANCELLED/REFUNDED/UNFULFILLED")
    assert de.lines[0].quantity_shipped == 0


def test_order_lines_page_parses():
    lines, nodes, has_next, cursor = m.parse_order_lines(fixture("order_lines.json")["data"])
    assert lines == [OrderLine("15200000000005", "CAP-RED", 1, eur("15.0"), "Red cap", "44400000000003", None, 0,
                               presentment_unit_price=Money("14.25", "CHF"), hs_code="650500",
                               country_of_origin="VN")]
    assert not has_next and nodes[0]["duties"][0]["countryCodeOfOrigin"] == "VN"


@pytest.mark.parametrize("fin,ful,cancelled,expected", [
    ("PAID", "UNFULFILLED", False, OrderStatus.UNSHIPPED),
    ("AUTHORIZED", "UNFULFILLED", False, OrderStatus.UNSHIPPED),
    ("PENDING", "UNFULFILLED", False, OrderStatus.PENDING),
    ("PAID", "PARTIALLY_FULFILLED", False, OrderStatus.PARTIALLY_SHIPPED),
    ("PAID", "FULFILLED", False, OrderStatus.SHIPPED),
    ("REFUNDED", "FULFILLED", False, OrderStatus.RETURNED),
    ("VOIDED", "UNFULFILLED", False, OrderStatus.CANCELLED),
    ("PAID", "RESTOCKED", False, OrderStatus.RETURNED),
    ("PAID", "FULFILLED", True, OrderStatus.CANCELLED),
    (None, "ON_HOLD", False, OrderStatus.UNSHIPPED),
])
def test_status_table(fin, ful, cancelled, expected):
    assert m.order_status(fin, ful, cancelled=cancelled) is expected


def test_unknown_status_is_xd_map_011():
    with pytest.raises(MappingError) as e:
        m.order_status("PAID", "TELEPORTED", cancelled=False)
    assert e.value.code == "XD-MAP-011"


def test_webhook_order_parses_like_graphql():
    order = m.parse_rest_order(fixture("webhook_orders_create.json"))
    assert (order.platform_order_id, order.status, order.platform_status) == (
        "6100000000004", OrderStatus.UNSHIPPED, "PAID/UNFULFILLED")
    assert order.purchased_at == dt.datetime(2026, 11, 20, 11, 5, 9, tzinfo=UTC)   # +01:00 in the payload
    assert order.total == eur("34.90") and order.buyer_country == "SE"
    assert order.tax == TaxInfo(tax_amount=eur("5.00"))
    assert order.lines == [OrderLine("15200000000006", "MUG-BLUE", 2, eur("12.50"), "Blue mug", "44400000000001",
                                     TaxInfo(tax_amount=eur("5.00")), 0,
                                     presentment_unit_price=Money("140.00", "SEK"))]
    assert order.raw["presentment_currency"] == "SEK"
    assert (order.shipping, order.presentment_total, order.presentment_shipping) == (
        eur("9.90"), Money("390.88", "SEK"), Money("110.88", "SEK"))


def test_unreadable_order_is_xd_map_010():
    with pytest.raises(MappingError) as e:
        m.parse_order({"id": "gid://shopify/Order/1"})
    assert e.value.code == "XD-MAP-010"
    with pytest.raises(MappingError) as e:
        m.parse_rest_order({"id": 1, "financial_status": "paid"})
    assert e.value.code == "XD-MAP-010"


def test_variants_parse_to_refs_and_listed_offers():
    refs, has_next, _ = m.parse_variants(fixture("variants.json")["data"])
    assert not has_next
    assert [r.sku for r in refs] == ["MUG-BLUE", "TEE-L"]          # the variant without SKU is skipped
    assert refs[0] == m.VariantRef("MUG-BLUE", "gid://shopify/ProductVariant/44400000000001",
                                   "gid://shopify/Product/8300000000001", "gid://shopify/InventoryItem/46500000000001",
                                   Decimal("12.50"), 17, "ACTIVE", True, "Blue mug")
    assert m.listed_offer(refs[1], "EUR") == ListedOffer(
        "TEE-L", 0, eur("24.90"), "44400000000002", "DRAFT", title="T-shirt",
        ids={"variant_id": "gid://shopify/ProductVariant/44400000000002",
             "product_id": "gid://shopify/Product/8300000000002",
             "inventory_item_id": "gid://shopify/InventoryItem/46500000000002"})


def test_user_errors_point_at_their_input_row():
    stale = m.parse_inventory_set(fixture("inventory_set_stale.json")["data"])
    assert stale == [m.UserError(1, "CHANGE_FROM_QUANTITY_STALE",
                                 "The changeFromQuantity value does not match persisted value.",
                                 ("input", "quantities", "1", "changeFromQuantity"))]
    assert m.parse_inventory_set(fixture("inventory_set_ok.json")["data"]) == []
    groups = [m.PriceGroup("p0", (("A", "v", Decimal(1)),)), m.PriceGroup("p1", (("B", "v", Decimal(1)),) * 2)]
    per_group = m.parse_prices(fixture("prices_partial.json")["data"], groups)
    assert per_group[0] == [] and per_group[1][0].index == 1 and per_group[1][0].code == "PRODUCT_VARIANT_DOES_NOT_EXIST"


def test_fulfillment_orders_and_allocation():
    cancelled, fos = m.parse_fulfillment_orders(fixture("fulfillment_orders.json")["data"])
    assert not cancelled and [fo.status for fo in fos] == ["IN_PROGRESS", "CLOSED"]
    # everything remaining: only the open fulfillment order, grouped by its location
    plan, short = m.plan_fulfillment(fos, ())
    assert short == [] and plan == {"gid://shopify/Location/71600000000": [(
        "gid://shopify/FulfillmentOrder/6700000000001",
        [("gid://shopify/FulfillmentOrderLineItem/13800000000001", 2),
         ("gid://shopify/FulfillmentOrderLineItem/13800000000002", 1)])]}
    # specific lines; more than remains is reported, not sent
    plan, short = m.plan_fulfillment(fos, (("15200000000003", 3),))
    assert plan["gid://shopify/Location/71600000000"][0][1] == [
        ("gid://shopify/FulfillmentOrderLineItem/13800000000001", 2)]
    assert short == [("15200000000003", 1)]
    assert m.parse_fulfillment_orders({"order": None}) is None


def test_token_response():
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    r = m.parse_token_response(fixture("token_refresh.json"), now=now)
    assert r.access_token == "shpat_0000000000000000000000000000beef"
    assert r.refresh_token == "shprt_0000000000000000000000000000cafe"
    assert r.access_expires_at == now + dt.timedelta(seconds=3600)
    assert r.refresh_expires_at == now + dt.timedelta(days=90)


def test_ids():
    assert m.legacy_id("gid://shopify/InventoryLevel/5?inventory_item_id=9") == "5"
    assert m.order_gid("61") == "gid://shopify/Order/61" and m.order_gid("gid://shopify/Order/61").endswith("/61")


def test_an_order_node_that_cannot_be_read_is_handed_over_and_the_page_read_on():
    # Given the recorded page with its second order in a fulfilment status crossdock does not know
    from crossdock.connectors.base import OrderQuery
    from crossdock.models import UnreadableOrder

    data = fixture("orders_page.json")["data"]
    data["orders"]["nodes"][1]["displayFulfillmentStatus"] = "TELEPORTED"
    unreadable: list[UnreadableOrder] = []
    query = OrderQuery(start=dt.datetime(2026, 11, 20, tzinfo=UTC), end=dt.datetime(2026, 11, 21, tzinfo=UTC),
                       unreadable=unreadable.append)

    # When the page is parsed with the query's taker
    page = m.parse_orders_page(data, query.mapped)

    # Then the other orders come back, that one is handed over with its node and XD-MAP-011, and its
    # lines are not paged in
    assert [o.platform_order_id for o in page.orders] == ["6100000000001", "6100000000003"]
    [odd] = unreadable
    assert (odd.platform_order_id, odd.code) == ("6100000000002", "XD-MAP-011")
    assert odd.payload["displayFulfillmentStatus"] == "TELEPORTED"
    assert page.more_lines == []
    # ... and without a taker the page fails as before
    with pytest.raises(MappingError):
        m.parse_orders_page(data)


def test_a_query_text_is_parsed_once_and_costed_once_per_page_size(monkeypatch):
    from crossdock.connectors.shopify.mapping import cost

    parsed: list[str] = []
    real_parse = cost.parse
    monkeypatch.setattr(cost, "parse", lambda text: parsed.append(text) or real_parse(text))
    document = queries.ORDERS + "\n# parsed-once test\n"          # a text no other test has costed
    # Given the same document asked for again and again (every request of an import does)
    costs = [m.estimate_cost(document, {"first": first, "lines": 5, "query": f"q{i}"})
             for i, first in enumerate([10, 10, 7, 10, 7])]
    # Then it was parsed once, and each page size still has its own cost
    assert parsed == [document]
    assert costs == [812, 812, 2 + 7 * 81, 812, 2 + 7 * 81]
