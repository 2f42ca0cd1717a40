"""Each connector operation on the wire (respx for REST, a fake requests
adapter for the ebaysdk Trading path): the exact request it sends, and how
each eBay error becomes a crossdock error."""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from crossdock.connectors.base import MemoryTokenStore, OrderQuery, TokenState
from crossdock.errors import AuthError, MappingError, NetError, OrderError, PlatformError, QuotaError
from crossdock.models import ItemResult, Money, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.ratelimit.budget import Grant

BASE = "https://api.ebay.test"
NOW = dt.datetime(2025, 3, 14, 10, 30, tzinfo=dt.timezone.utc)
GBP = lambda v: Money(Decimal(v), "GBP")  # noqa: E731
NS = "urn:ebay:apis:eBLBaseComponents"


@pytest.fixture
def api():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        # a call-limit answer makes the client ask Developer Analytics for the reset; by
        # default it knows nothing (tests of the wait itself answer with rate limits)
        router.get("/developer/analytics/v1_beta/user_rate_limit/").mock(return_value=httpx.Response(
            404, json={"errors": [{"errorId": 90001, "domain": "API_ANALYTICS", "category": "REQUEST",
                                   "message": "No rate limits found for the given api_context and api_name."}]}))
        yield router


def ebay_error(status: int, error_id: int, message: str = "x", domain: str = "API_INVENTORY") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"errorId": error_id, "domain": domain, "category": "REQUEST",
                                                    "message": message}]})


def trading_reply(call: str, inner: str = "", *, ack: str = "Success", errors: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><{call}Response xmlns="{NS}"><Timestamp>2025-03-14T10:30:00.000Z'
            f"</Timestamp><Ack>{ack}</Ack>{errors}<Version>1349</Version><Build>E1349</Build>{inner}</{call}Response>")


def trading_error(code: int, item: str | None = None) -> str:
    params = f'<ErrorParameters ParamID="0"><Value>{item}</Value></ErrorParameters>' if item else ""
    return (f"<Errors><ShortMessage>Failed</ShortMessage><LongMessage>Error {code}</LongMessage><ErrorCode>{code}"
            f"</ErrorCode><SeverityCode>Error</SeverityCode>{params}<ErrorClassification>RequestError"
            "</ErrorClassification></Errors>")


def request_xml(req) -> ET.Element:
    root = ET.fromstring(req.body)
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


# ------------------------------------------------------------------ orders
def test_fetch_orders_builds_the_window_request(api, connector, load):
    route = api.get("/sell/fulfillment/v1/order").mock(return_value=httpx.Response(200, json=load("orders_page.json")))
    before = NOW - dt.timedelta(minutes=3)
    orders = connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before))
    req = route.calls.last.request
    assert parse_qs(req.url.query.decode()) == {
        "filter": ["lastmodifieddate:[2025-03-14T09:27:00.000Z..2025-03-14T10:27:00.000Z]"],
        "limit": ["200"], "offset": ["0"]}
    assert req.headers["Authorization"] == "Bearer AT-1" and req.headers["X-EBAY-C-MARKETPLACE-ID"] == "EBAY_GB"
    assert [o.platform_order_id for o in orders] == ["12-01234-56789", "27-11234-99012"]   # by updated_at


def test_fetch_orders_refuses_a_window_ending_after_now_minus_two_minutes(api, connector):
    route = api.get("/sell/fulfillment/v1/order")
    with pytest.raises(OrderError) as info:
        connector.fetch_orders(OrderQuery(start=NOW - dt.timedelta(hours=1), end=NOW - dt.timedelta(seconds=60)))
    assert info.value.code == "XD-ORD-001" and info.value.retry_after_s == pytest.approx(60)
    assert not route.called
    assert connector.window_end() == NOW - dt.timedelta(seconds=120)


def test_fetch_orders_pages_again_when_the_set_moves(api, connector, load):
    page = load("orders_page.json")
    first = {**page, "total": 3, "orders": page["orders"][:1], "next": "more"}
    moved = {**page, "total": 2, "orders": page["orders"][1:]}
    api.get("/sell/fulfillment/v1/order").mock(side_effect=[
        httpx.Response(200, json=first), httpx.Response(200, json=moved), httpx.Response(200, json=page)])
    before = NOW - dt.timedelta(minutes=5)
    orders = connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before))
    assert sorted(o.platform_order_id for o in orders) == ["12-01234-56789", "27-11234-99012"]


def test_get_orders_error_is_raised_never_an_empty_window(api, connector):
    api.get("/sell/fulfillment/v1/order").mock(side_effect=[
        ebay_error(400, 30850, "Start and end dates can't be in the future", "API_FULFILLMENT"),
        *[httpx.Response(503, text="<!DOCTYPE html><html><body>down</body></html>",
                         headers={"Content-Type": "text/html"})] * 3])       # still down after 3 attempts
    before = NOW - dt.timedelta(minutes=5)
    with pytest.raises(PlatformError) as info:
        connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before))
    assert info.value.code == "XD-PLATFORM-001" and "30850" in info.value.detail
    with pytest.raises(NetError) as info:
        connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before))
    assert info.value.code == "XD-NET-003"


# ------------------------------------------------------------------ tokens
def test_invalid_token_is_refreshed_once_then_retried(api, connector, store):
    token = api.post("/identity/v1/oauth2/token").mock(return_value=httpx.Response(
        200, json={"access_token": "AT-2", "expires_in": 7200, "token_type": "User Access Token"}))
    orders = api.get("/sell/fulfillment/v1/order").mock(side_effect=[
        ebay_error(401, 1001, "Invalid access token", "OAuth"), httpx.Response(200, json={"total": 0, "orders": []})])
    before = NOW - dt.timedelta(minutes=5)
    assert connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before)) == []
    form = parse_qs(token.calls.last.request.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["RT-1"]
    assert "sell.fulfillment" in form["scope"][0]
    basic = token.calls.last.request.headers["Authorization"]
    assert base64.b64decode(basic.split()[1]).decode() == "Seller-App-PRD-1:PRD-secret"
    assert [c.request.headers["Authorization"] for c in orders.calls] == ["Bearer AT-1", "Bearer AT-2"]
    state = store.load("ebay:seller_uk:EBAY_GB")
    assert state.access_token == "AT-2" and state.access_expires_at == NOW + dt.timedelta(seconds=7200)


def test_token_rejected_after_refresh_is_xd_auth_001(api, connector):
    api.post("/identity/v1/oauth2/token").mock(return_value=httpx.Response(
        200, json={"access_token": "AT-2", "expires_in": 7200}))
    api.get("/sell/fulfillment/v1/order").mock(return_value=ebay_error(401, 1001, "Invalid access token", "OAuth"))
    before = NOW - dt.timedelta(minutes=5)
    with pytest.raises(AuthError) as info:
        connector.fetch_orders(OrderQuery(start=before - dt.timedelta(hours=1), end=before))
    assert info.value.code == "XD-AUTH-001"


@pytest.mark.parametrize("status, body, code", [
    (400, {"error": "invalid_grant", "error_description": "the provided authorization refresh token is invalid"},
     "XD-AUTH-002"),
    (401, {"error": "invalid_client", "error_description": "client authentication failed"}, "XD-AUTH-004"),
])
def test_token_endpoint_errors(api, connector_factory, status, body, code):
    api.post("/identity/v1/oauth2/token").mock(return_value=httpx.Response(status, json=body))
    store = MemoryTokenStore([TokenState(channel="ebay:seller_uk:EBAY_GB", refresh_token="RT-1")])
    conn = connector_factory(store=store)
    with pytest.raises(AuthError) as info:
        conn.push_stock([StockUpdate("MUG-BLUE", 1)])
    assert info.value.code == code


def test_lapsed_consent_is_xd_auth_003_without_a_call(api, connector_factory):
    token = api.post("/identity/v1/oauth2/token")
    store = MemoryTokenStore([TokenState(channel="ebay:seller_uk:EBAY_GB", refresh_token="RT-1",
                                         refresh_expires_at=NOW - dt.timedelta(days=1))])
    with pytest.raises(AuthError) as info:
        connector_factory(store=store).read_listings(["MUG-BLUE"])
    assert info.value.code == "XD-AUTH-003" and not token.called


def test_token_is_refreshed_before_it_expires(api, connector_factory, clock):
    # Given a token with 4 minutes left and a 5-minute margin
    store = MemoryTokenStore([TokenState(channel="ebay:seller_uk:EBAY_GB", access_token="AT-OLD",
                                         access_expires_at=NOW + dt.timedelta(minutes=4), refresh_token="RT-1")])
    api.post("/identity/v1/oauth2/token").mock(return_value=httpx.Response(
        200, json={"access_token": "AT-NEW", "expires_in": 7200}))
    route = api.get("/sell/inventory/v1/offer").mock(return_value=httpx.Response(200, json={"offers": []}))
    connector_factory(store=store).read_listings(["X"])
    # Then the call went out with the new token: no call is made with a nearly expired one
    assert route.calls.last.request.headers["Authorization"] == "Bearer AT-NEW"


# ------------------------------------------------------------------ stock
def test_push_stock_splits_inventory_and_legacy_listings(api, connector, trading, load):
    bulk = api.post("/sell/inventory/v1/bulk_update_price_quantity").mock(return_value=httpx.Response(200, json={
        "responses": [{"offerId": "5004316010", "sku": "MUG-BLUE", "statusCode": 200},
                      {"sku": "MUG-BLUE", "statusCode": 200}, {"sku": "UNMAPPED", "statusCode": 200}]}))
    trading.reply(load("trading_revise_inventory_status_partial.xml"))
    results = connector.push_stock([StockUpdate("MUG-BLUE", 7), StockUpdate("OLD-LISTING", 15),
                                    StockUpdate("OLD-TWO", 3), StockUpdate("UNMAPPED", 2),
                                    StockUpdate("NEG", -1)])
    assert json.loads(bulk.calls.last.request.content) == {"requests": [
        {"sku": "MUG-BLUE", "shipToLocationAvailability": {"quantity": 7},
         "offers": [{"offerId": "5004316010", "availableQuantity": 7}]},
        {"sku": "UNMAPPED", "shipToLocationAvailability": {"quantity": 2}}]}
    [req] = trading.requests
    assert req.headers["X-EBAY-API-CALL-NAME"] == "ReviseInventoryStatus"
    assert req.headers["X-EBAY-API-SITEID"] == "3" and req.headers["X-EBAY-API-COMPATIBILITY-LEVEL"] == "1349"
    root = request_xml(req)
    assert root.findtext("RequesterCredentials/eBayAuthToken") == "AgAAAA**token"
    assert [(s.findtext("ItemID"), s.findtext("Quantity")) for s in root.findall("InventoryStatus")] == [
        ("110000000001", "15"), ("110000000002", "3")]
    assert [(r.sku, r.ok, r.code) for r in results] == [
        ("MUG-BLUE", True, None), ("OLD-LISTING", True, None), ("OLD-TWO", False, "XD-PLATFORM-002"),
        ("UNMAPPED", True, None), ("NEG", False, "XD-INV-005")]


def test_push_stock_batches_to_the_platform_limits(api, connector_factory, trading):
    legacy = {f"L{i}": f"trading:9{i:04d}" for i in range(9)}
    conn = connector_factory(listing_map=legacy)
    api.post("/sell/inventory/v1/bulk_update_price_quantity").mock(side_effect=lambda req: httpx.Response(
        200, json={"responses": [{"sku": r["sku"], "statusCode": 200} for r in json.loads(req.content)["requests"]]}))
    for n in (4, 4, 1):
        trading.reply(trading_reply("ReviseInventoryStatus", "".join(
            f"<InventoryStatus><ItemID>{ref.split(':')[1]}</ItemID></InventoryStatus>" for ref in legacy.values())))
    updates = [StockUpdate(f"I{i}", 1) for i in range(60)] + [StockUpdate(s, 1) for s in legacy]
    assert conn.stock_calls_for(updates) == 3 + 3
    results = conn.push_stock(updates)
    assert [r for r in results if not r.ok] == [] and len(results) == 69
    assert len(api.calls) == 3 and len(trading.requests) == 3
    assert [len(request_xml(r).findall("InventoryStatus")) for r in trading.requests] == [4, 4, 1]
    # stock_calls_needed: this map names only legacy listings, so every other SKU is Inventory-API
    assert conn.stock_calls_needed(69) == 3 + 3
    assert conn.stock_calls_needed(25) == 1 + 3      # at most 9 legacy SKUs among them


@pytest.mark.parametrize("reply, status, ctype, code, raises", [
    (trading_reply("ReviseInventoryStatus", ack="Failure", errors=trading_error(931)), 200, "text/xml",
     "XD-AUTH-001", AuthError),
    (trading_reply("ReviseInventoryStatus", ack="Failure", errors=trading_error(932)), 200, "text/xml",
     "XD-AUTH-009", AuthError),
    (trading_reply("ReviseInventoryStatus", ack="Failure", errors=trading_error(518)), 200, "text/xml",
     "XD-QUOTA-002", QuotaError),
    (trading_reply("ReviseInventoryStatus", ack="Failure", errors=trading_error(21916254)), 200, "text/xml",
     "XD-PLATFORM-006", None),
    ("<!DOCTYPE html><html><body>Service Unavailable</body></html>", 503, "text/html", "XD-NET-003", None),
    ('<?xml version="1.0"?><ReviseInventoryStatusResponse><Ack>Success</Ack><Inv', 200, "text/xml",
     "XD-NET-004", None),
])
def test_trading_errors_at_the_ebaysdk_boundary(api, connector, trading, reply, status, ctype, code, raises):
    trading.reply(reply, status=status, ctype=ctype)
    if raises is not None:
        with pytest.raises(raises) as info:
            connector.push_stock([StockUpdate("OLD-LISTING", 1)])
        assert info.value.code == code
    else:
        # a failed batch marks its items, it does not stop the run
        [result] = connector.push_stock([StockUpdate("OLD-LISTING", 1)])
        assert (result.ok, result.code) == (False, code)


def test_rest_quota_stops_the_run_but_a_5xx_batch_does_not(api, connector, trading):
    api.post("/sell/inventory/v1/bulk_update_price_quantity").mock(side_effect=[
        httpx.Response(503, text="<html>down</html>", headers={"Content-Type": "text/html"}),
        ebay_error(429, 2001, "Too many requests", "ACCESS")])
    trading.reply(trading_reply("ReviseInventoryStatus",
                                "<InventoryStatus><ItemID>110000000001</ItemID></InventoryStatus>"))
    results = connector.push_stock([StockUpdate("MUG-BLUE", 1), StockUpdate("OLD-LISTING", 1)])
    assert [(r.ok, r.code) for r in results] == [(False, "XD-NET-003"), (True, None)]
    with pytest.raises(QuotaError) as info:
        connector.push_stock([StockUpdate("MUG-BLUE", 1)])
    assert info.value.code == "XD-QUOTA-001"


def test_trading_with_oauth_iaf_token_refreshes_on_931(api, connector_factory, trading, store):
    conn = connector_factory(store=store, trading_token=None, listing_map={"OLD": "trading:1"})
    api.post("/identity/v1/oauth2/token").mock(return_value=httpx.Response(
        200, json={"access_token": "AT-2", "expires_in": 7200}))
    trading.reply(trading_reply("ReviseInventoryStatus", ack="Failure", errors=trading_error(931)))
    trading.reply(trading_reply("ReviseInventoryStatus", "<InventoryStatus><ItemID>1</ItemID></InventoryStatus>"))
    assert conn.push_stock([StockUpdate("OLD", 2)]) == [ItemResult("OLD", True)]
    assert [r.headers["X-EBAY-API-IAF-TOKEN"] for r in trading.requests] == ["AT-1", "AT-2"]
    assert request_xml(trading.requests[0]).find("RequesterCredentials") is None


# ------------------------------------------------------------------ prices
def test_push_prices_looks_up_unknown_offers_once(api, connector, trading, load):
    offers = api.get("/sell/inventory/v1/offer").mock(return_value=httpx.Response(200, json={
        "offers": [{**load("offers.json")["offers"][0], "sku": "TEAPOT", "offerId": "5004316099"}]}))
    bulk = api.post("/sell/inventory/v1/bulk_update_price_quantity").mock(return_value=httpx.Response(200, json={
        "responses": [{"sku": "MUG-BLUE", "offerId": "5004316010", "statusCode": 200},
                      {"sku": "TEAPOT", "offerId": "5004316099", "statusCode": 200}]}))
    trading.reply(trading_reply("ReviseInventoryStatus", "<InventoryStatus><ItemID>110000000001</ItemID>"
                                                         "</InventoryStatus>"))
    results = connector.push_prices([PriceUpdate("MUG-BLUE", GBP("21")), PriceUpdate("TEAPOT", GBP("30")),
                                     PriceUpdate("OLD-LISTING", GBP("24")),
                                     PriceUpdate("EURO", Money(Decimal("5"), "EUR"))])
    assert [(r.sku, r.ok, r.code) for r in results] == [
        ("MUG-BLUE", True, None), ("TEAPOT", True, None), ("OLD-LISTING", True, None), ("EURO", False, "XD-MAP-004")]
    assert offers.call_count == 1 and connector.listing_map()["TEAPOT"]["offer_id"] == "5004316099"
    assert json.loads(bulk.calls.last.request.content)["requests"][1] == {
        "sku": "TEAPOT", "offers": [{"offerId": "5004316099", "price": {"value": "30.00", "currency": "GBP"}}]}
    assert request_xml(trading.requests[0]).findtext("InventoryStatus/StartPrice") == "24.00"


# ------------------------------------------------------------------ shipments
def test_confirm_shipment_request_and_answers(api, connector):
    route = api.post("/sell/fulfillment/v1/order/08-10972-45183/shipping_fulfillment").mock(side_effect=[
        httpx.Response(201, json={}, headers={"Location": BASE + "/sell/fulfillment/v1/order/08-10972-45183/"
                                                                 "shipping_fulfillment/RM123456785GB"}),
        ebay_error(400, 34500, "Please use PUT operation for updating shipping fulfillment", "API_FULFILLMENT"),
        ebay_error(409, 32100, "Invalid Order Id", "API_FULFILLMENT"),
        ebay_error(400, 32300, "Invalid shipment tracking number or carrier", "API_FULFILLMENT")])
    c = ShipmentConfirmation("08-10972-45183", "royal_mail", "RM123456785GB",
                             dt.datetime(2025, 3, 15, 8, 0, tzinfo=dt.timezone.utc), lines=(("10062134871012", 2),))
    assert connector.confirm_shipment(c) == "RM123456785GB"
    assert json.loads(route.calls.last.request.content) == {
        "lineItems": [{"lineItemId": "10062134871012", "quantity": 2}], "shippedDate": "2025-03-15T08:00:00.000Z",
        "shippingCarrierCode": "RoyalMail", "trackingNumber": "RM123456785GB"}
    assert connector.confirm_shipment(c) == "RM123456785GB"           # 34500: eBay already has it
    with pytest.raises(OrderError) as info:
        connector.confirm_shipment(c)
    assert info.value.code == "XD-ORD-006"
    with pytest.raises(PlatformError) as info:
        connector.confirm_shipment(c)
    assert info.value.code == "XD-PLATFORM-007"
    with pytest.raises(MappingError) as info:
        connector.confirm_shipment(ShipmentConfirmation("08-10972-45183", "pigeon", "X1", NOW))
    assert info.value.code == "XD-MAP-012" and route.call_count == 4


def test_confirm_shipment_of_all_lines_reads_the_order_first(api, connector, load):
    api.get("/sell/fulfillment/v1/order/08-10972-45183").mock(
        return_value=httpx.Response(200, json=load("order_cross_border.json")))
    route = api.post("/sell/fulfillment/v1/order/08-10972-45183/shipping_fulfillment").mock(
        return_value=httpx.Response(201, json={}, headers={"Location": "https://x/shipping_fulfillment/F1"}))
    assert connector.confirm_shipment(ShipmentConfirmation("08-10972-45183", "dhl", "JD0146", NOW)) == "F1"
    assert json.loads(route.calls.last.request.content)["lineItems"] == [
        {"lineItemId": "10062134871012", "quantity": 2}]


# ------------------------------------------------------------------ listings
def product(**kw) -> Product:
    values = dict(sku="MUG-GREEN", title="Stoneware mug, green", price=GBP("19.99"), description="350 ml",
                  attributes={"condition": "NEW", "category_id": "20625"}, images=["https://img/1.jpg"], quantity=5)
    values.update(kw)
    return Product(**values)


def test_publish_listing_call_sequence(api, connector):
    put = api.put("/sell/inventory/v1/inventory_item/MUG-GREEN").mock(return_value=httpx.Response(204))
    api.get("/sell/inventory/v1/offer").mock(return_value=ebay_error(404, 25713, "This Offer is not available"))
    create = api.post("/sell/inventory/v1/offer").mock(return_value=httpx.Response(201, json={"offerId": "77"}))
    publish = api.post("/sell/inventory/v1/offer/77/publish").mock(
        return_value=httpx.Response(200, json={"listingId": "296500000001"}))
    result = connector.publish_listing(product())
    assert result == ItemResult("MUG-GREEN", True, message="listing 296500000001")
    assert put.calls.last.request.headers["Content-Language"] == "en-GB"
    assert json.loads(create.calls.last.request.content)["listingPolicies"] == {
        "fulfillmentPolicyId": "100001", "paymentPolicyId": "100002", "returnPolicyId": "100003"}
    assert publish.called
    assert connector.listing_map()["MUG-GREEN"] == {"kind": "inventory", "offer_id": "77", "item_id": "296500000001"}


def test_publish_listing_validates_before_any_call_and_reports_rejections(api, connector):
    with pytest.raises(MappingError) as info:
        connector.publish_listing(product(title="x" * 81))
    assert info.value.code == "XD-MAP-002" and not api.calls
    with pytest.raises(MappingError) as info:
        connector.publish_listing(product(price=Money(Decimal("5"), "EUR")))
    assert info.value.code == "XD-MAP-004" and not api.calls
    api.put("/sell/inventory/v1/inventory_item/MUG-GREEN").mock(return_value=httpx.Response(204))
    api.get("/sell/inventory/v1/offer").mock(return_value=ebay_error(404, 25713))
    api.post("/sell/inventory/v1/offer").mock(return_value=httpx.Response(201, json={"offerId": "77"}))
    api.post("/sell/inventory/v1/offer/77/publish").mock(return_value=httpx.Response(400, json={"errors": [
        {"errorId": 25005, "domain": "API_INVENTORY", "category": "REQUEST", "message": "invalid category ID"}]}))
    result = connector.publish_listing(product())
    assert (result.ok, result.code) == (False, "XD-PLATFORM-003") and "25005" in result.message
    legacy = connector.publish_listing(product(sku="OLD-LISTING"))
    assert (legacy.ok, legacy.code) == (False, "XD-PLATFORM-001")


def test_read_listings_uses_get_offers_and_get_item(api, connector, trading, load):
    api.get("/sell/inventory/v1/offer").mock(side_effect=lambda req: httpx.Response(200, json=load("offers.json"))
                                             if req.url.params["sku"] == "MUG-BLUE" else ebay_error(404, 25713))
    trading.reply(load("trading_get_item.xml"))
    trading.reply(trading_reply("GetItem", ack="Failure", errors=trading_error(17, "110000000002")))
    # (two SKUs at a time: a few SKUs are read one call each)
    got = connector.read_listings(["MUG-BLUE", "OLD-LISTING"]) + connector.read_listings(["OLD-TWO", "GONE"])
    assert [(x.sku, x.quantity, x.price, x.status) for x in got] == [
        ("MUG-BLUE", 7, GBP("19.99"), "ACTIVE"), ("OLD-LISTING", 12, GBP("24.00"), "ACTIVE"),
        ("OLD-TWO", None, None, "NOT_FOUND"), ("GONE", None, None, "NOT_FOUND")]
    assert request_xml(trading.requests[0]).findtext("ItemID") == "110000000001"
    assert [r.headers["X-EBAY-API-CALL-NAME"] for r in trading.requests] == ["GetItem", "GetItem"]


def _active_item(item_id: str, sku: str, available: int, price: str) -> str:
    return (f"<Item><ItemID>{item_id}</ItemID><Quantity>{available + 1}</Quantity><SellingStatus><CurrentPrice "
            f"currencyID=\"GBP\">{price}</CurrentPrice><QuantitySold>1</QuantitySold></SellingStatus>"
            f"<QuantityAvailable>{available}</QuantityAvailable><SKU>{sku}</SKU></Item>")


def test_many_skus_are_read_from_the_active_list_pages(api, connector, trading):
    # Given the Active list shows the Inventory-API listing of MUG-BLUE and the legacy listing the map
    # binds to OLD-LISTING (its SKU on eBay differs), over two pages; OLD-TWO has ended, GONE is unknown
    offers = api.get("/sell/inventory/v1/offer").mock(return_value=ebay_error(404, 25713))
    pages = ("<PaginationResult><TotalNumberOfPages>2</TotalNumberOfPages></PaginationResult></ActiveList>")
    trading.reply(trading_reply("GetMyeBaySelling", "<ActiveList><ItemArray>"
                                + _active_item("296541230987", "MUG-BLUE", 6, "19.99") + "</ItemArray>" + pages))
    trading.reply(trading_reply("GetMyeBaySelling", "<ActiveList><ItemArray>"
                                + _active_item("110000000001", "TEAPOT-OLD", 12, "24.0") + "</ItemArray>" + pages))
    trading.reply(trading_reply("GetItem", ack="Failure", errors=trading_error(17, "110000000002")))

    # When the four SKUs are read back
    got = connector.read_listings(["MUG-BLUE", "OLD-LISTING", "OLD-TWO", "GONE"])

    # Then the two active listings come from the pages, under the SKUs crossdock knows them by and with
    # their bindings; the two the pages do not show are read alone (GetItem, getOffers) and NOT_FOUND
    assert [(x.sku, x.quantity, x.price, x.status) for x in got] == [
        ("MUG-BLUE", 6, GBP("19.99"), "ACTIVE"), ("OLD-LISTING", 12, GBP("24.00"), "ACTIVE"),
        ("OLD-TWO", None, None, "NOT_FOUND"), ("GONE", None, None, "NOT_FOUND")]
    assert got[0].ids == {"kind": "inventory", "offer_id": "5004316010", "item_id": "296541230987"}
    assert got[1].ids == {"kind": "trading", "item_id": "110000000001"}
    calls = [(r.headers["X-EBAY-API-CALL-NAME"], request_xml(r).findtext(".//PageNumber")) for r in trading.requests]
    assert calls == [("GetMyeBaySelling", "1"), ("GetMyeBaySelling", "2"), ("GetItem", None)]
    assert offers.call_count == 1 and offers.calls[0].request.url.params["sku"] == "GONE"


def test_pages_stop_when_reading_the_rest_one_by_one_costs_less(api, connector, trading):
    # Given an Active list of 50 pages where page 1 shows MUG-BLUE but not OLD-LISTING or OLD-TWO
    trading.reply(trading_reply("GetMyeBaySelling", "<ActiveList><ItemArray>"
                                + _active_item("296541230987", "MUG-BLUE", 6, "19.99") + "</ItemArray>"
                                "<PaginationResult><TotalNumberOfPages>50</TotalNumberOfPages></PaginationResult>"
                                "</ActiveList>"))
    trading.reply(gone := trading_reply("GetItem", ack="Failure", errors=trading_error(17, "110000000001")))
    trading.reply(gone)

    # When three SKUs are read back
    got = connector.read_listings(["MUG-BLUE", "OLD-LISTING", "OLD-TWO"])

    # Then one page is read, and the two SKUs left are read alone (2 calls, not 49 more pages)
    assert [x.status for x in got] == ["ACTIVE", "NOT_FOUND", "NOT_FOUND"]
    assert [r.headers["X-EBAY-API-CALL-NAME"] for r in trading.requests] == ["GetMyeBaySelling", "GetItem", "GetItem"]


# ------------------------------------------------------------------ budget and protocol
class RecordingBudget:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def attempt(self, platform, account, operation, *, cost=1, priority=None):
        self.events.append(("acquire", platform, account, operation))
        return Grant(True, 0, None, platform, account, operation, operation)

    def on_response(self, platform, account, operation, *, status, headers=None, cost_report=None):
        self.events.append(("response", platform, account, operation, status))


def test_every_call_asks_the_budget_first_and_reports_after(api, clock, store, trading, settings_factory):
    from crossdock.connectors.ebay import EbayConnector

    budget = RecordingBudget()
    conn = EbayConnector(settings_factory(), token_store=store, clock=clock, budget=budget, trading_adapter=trading,
                         listing_map={"OLD": "trading:1"})
    api.post("/sell/inventory/v1/bulk_update_price_quantity").mock(
        return_value=httpx.Response(200, json={"responses": [{"sku": "NEW", "statusCode": 200}]}))
    trading.reply(trading_reply("ReviseInventoryStatus", "<InventoryStatus><ItemID>1</ItemID></InventoryStatus>"))
    try:
        assert all(r.ok for r in conn.push_stock([StockUpdate("NEW", 1), StockUpdate("OLD", 1)]))
    finally:
        conn.close()
    assert budget.events == [
        ("acquire", "ebay", "seller_uk", "bulkUpdatePriceQuantity"),
        ("response", "ebay", "seller_uk", "bulkUpdatePriceQuantity", 200),
        ("acquire", "ebay", "seller_uk", "ReviseInventoryStatus"),     # ebaysdk call: budget used all the same
        ("response", "ebay", "seller_uk", "ReviseInventoryStatus", 200)]


def test_connector_satisfies_the_protocol(connector):
    from crossdock.connectors.base import Connector

    assert isinstance(connector, Connector)
    assert connector.safety_lag_s == 120 and connector.overlap_s == 120


def test_read_all_listings_follows_next_links(api, connector, trading, load):
    items = load("inventory_items.json")
    api.get("/sell/inventory/v1/inventory_item").mock(side_effect=lambda req: httpx.Response(200, json=(
        {**items, "inventoryItems": items["inventoryItems"][:1], "next": BASE + "/sell/inventory/v1/inventory_item?"
                                                                         "limit=200&offset=1"}
        if req.url.params["offset"] == "0" else {**items, "inventoryItems": items["inventoryItems"][1:]})))
    api.get("/sell/inventory/v1/offer").mock(return_value=ebay_error(404, 25713))
    # GetMyeBaySelling: OLD-LISTING (known to the map) and a legacy listing the map does not know
    item = ("<Item><ItemID>{id}</ItemID><Quantity>3</Quantity><SellingStatus><CurrentPrice currencyID=\"GBP\">"
            "9.5</CurrentPrice></SellingStatus><Title>{sku} title</Title><QuantityAvailable>3</QuantityAvailable>"
            "<SKU>{sku}</SKU></Item>")
    trading.reply(trading_reply("GetMyeBaySelling", "<ActiveList><ItemArray>"
                                + item.format(id="110000000001", sku="OLD-LISTING")
                                + item.format(id="110000000055", sku="NEW-LEGACY")
                                + "</ItemArray><PaginationResult><TotalNumberOfPages>1</TotalNumberOfPages>"
                                  "<TotalNumberOfEntries>2</TotalNumberOfEntries></PaginationResult></ActiveList>"))
    trading.reply(load("trading_get_item.xml"))          # OLD-TWO: in the map, not active: read by GetItem
    got = connector.read_listings()
    assert [x.sku for x in got] == ["MUG-BLUE", "TEAPOT", "OLD-LISTING", "NEW-LEGACY", "OLD-TWO"]
    assert [x.status for x in got[:2]] == ["NOT_FOUND", "NOT_FOUND"]       # inventory items without an offer
    assert got[3].quantity == 3 and got[3].ids == {"kind": "trading", "item_id": "110000000055"}
    assert connector.listing_map()["NEW-LEGACY"] == {"kind": "trading", "item_id": "110000000055"}
    body = trading.requests[0].body.decode() if isinstance(trading.requests[0].body, bytes) else trading.requests[0].body
    assert trading.requests[0].headers["X-EBAY-API-CALL-NAME"] == "GetMyeBaySelling"
    assert "<ActiveList><Include>true</Include><Pagination><EntriesPerPage>200</EntriesPerPage>" \
           "<PageNumber>1</PageNumber></Pagination></ActiveList>" in body


def test_listing_id_forms_resolve_to_the_right_api(connector, api):
    from crossdock.connectors.ebay import ListingRef

    # a bare id neither in the map nor of a SKU in it: eBay is asked once whether it is an offer of the SKU
    offers = api.get("/sell/inventory/v1/offer", params={"sku": "X"}).respond(200, json={"offers": [], "total": 0})

    assert connector.resolve("X", "trading:55") == ListingRef("trading", item_id="55")
    assert connector.resolve("MUG-BLUE", "inventory") == ListingRef("inventory", "5004316010", "296541230987")
    assert connector.resolve("X", "inventory:42") == ListingRef("inventory", offer_id="42")
    assert connector.resolve("X", "296541230987").offer_id == "5004316010"       # a bare id found in the map
    assert connector.resolve("X", "99") == ListingRef("trading", item_id="99")     # unknown bare id: legacy ItemID
    assert offers.call_count == 1
    assert connector.resolve("NOT-IN-MAP") == ListingRef("inventory")               # default: Inventory API by SKU
