"""Error handling per operation, on recorded bodies served by respx."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from crossdock.clock import Clock
from crossdock.connectors.base import MemoryTokenStore, TokenState
from crossdock.connectors.shopify import ShopifyConnector, ShopifySettings
from crossdock.connectors.shopify.client import shopify_cost
from crossdock.connectors.shopify.mapping import VariantRef
from crossdock.errors import AuthError, NetError, PlatformError, QuotaError
from crossdock.models import Money, PriceUpdate, ShipmentConfirmation, StockUpdate
from crossdock.ratelimit.budget import Grant
from crossdock.ratelimit.waits import QuotaWait, inline_waits

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"
SHOP = "https://crossdock-eu.myshopify.com"
GRAPHQL = f"{SHOP}/admin/api/2026-10/graphql.json"
TOKEN = f"{SHOP}/admin/oauth/access_token"
LOCATION = "gid://shopify/Location/71600000000"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class RecordingBudget:
    def __init__(self) -> None:
        self.acquired: list[tuple[str, float]] = []
        self.responses: list[dict] = []

    def attempt(self, platform, account, operation, *, cost=1, priority=None):
        self.acquired.append((operation, cost))
        return Grant(True, 0, None, platform, account, operation, operation)

    def on_response(self, platform, account, operation, *, status, headers=None, cost_report=None):
        self.responses.append({"operation": operation, "status": status, "shopify_cost": cost_report})


@pytest.fixture
def budget():
    return RecordingBudget()


@pytest.fixture
def store():
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    return MemoryTokenStore([TokenState(channel="shopify:crossdock-eu", access_token="shpat_old",
                                        access_expires_at=soon, refresh_token="shprt_old")])


@pytest.fixture
def slept():
    return []


@pytest.fixture
def conn(store, budget, slept):
    settings = ShopifySettings(channel="shopify:crossdock-eu", shop="crossdock-eu", client_id="cid",
                               client_secret="secret", location_id=LOCATION)
    c = ShopifyConnector(settings, token_store=store, clock=Clock(), budget=budget, sleep=slept.append)
    yield c
    c.close()


def json_response(body, status=200, **headers):
    return httpx.Response(status, json=body, headers={"X-Shopify-API-Version": "2026-10", **headers})


@respx.mock
def test_rejected_token_is_refreshed_once_and_retried(conn, store, budget):
    route = respx.post(GRAPHQL).mock(side_effect=[
        httpx.Response(401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        json_response(fixture("variants.json"))])
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json=fixture("token_refresh.json")))
    offers = conn.read_listings(["MUG-BLUE"])
    assert [o.sku for o in offers] == ["MUG-BLUE"]
    assert token.call_count == 1 and route.call_count == 2
    assert route.calls[1].request.headers["X-Shopify-Access-Token"] == "shpat_0000000000000000000000000000beef"
    form = dict(x.split("=") for x in token.calls[0].request.content.decode().split("&"))
    assert form == {"client_id": "cid", "client_secret": "secret", "grant_type": "refresh_token",
                    "refresh_token": "shprt_old"}
    # the rotated refresh token is stored
    assert store.load("shopify:crossdock-eu").refresh_token == "shprt_0000000000000000000000000000cafe"
    assert ("token", 1) in budget.acquired


@respx.mock
def test_token_rejected_after_refresh_is_xd_auth_001(conn):
    respx.post(GRAPHQL).mock(return_value=httpx.Response(401, json={"errors": "[API] Invalid API key"}))
    token = respx.post(TOKEN).mock(return_value=httpx.Response(200, json=fixture("token_refresh.json")))
    with pytest.raises(AuthError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == "XD-AUTH-001" and token.call_count == 1


@pytest.mark.parametrize("status,body,code", [
    (400, "token_invalid_grant.json", "XD-AUTH-002"),
    (401, {"error": "invalid_client", "error_description": "Client authentication failed"}, "XD-AUTH-004"),
])
@respx.mock
def test_refresh_failures(conn, store, status, body, code):
    store.save(TokenState(channel="shopify:crossdock-eu", access_token="shpat_old",
                          access_expires_at=dt.datetime.now(dt.timezone.utc), refresh_token="shprt_old"))
    respx.post(TOKEN).mock(return_value=httpx.Response(status, json=fixture(body) if isinstance(body, str) else body))
    graphql = respx.post(GRAPHQL)
    with pytest.raises(AuthError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == code and graphql.call_count == 0


@respx.mock
def test_throttled_is_xd_quota_001_with_the_wait_and_the_budget_hears_it(conn, budget, slept):
    route = respx.post(GRAPHQL).mock(return_value=json_response(fixture("throttled.json")))
    with pytest.raises(QuotaError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == "XD-QUOTA-001" and e.value.retry_after_s == 4.0     # (702 - 302) / 100
    assert route.call_count == 1 and slept == []              # not waited out in the call: no thread sleeps
    resp = budget.responses[0]
    assert resp["shopify_cost"]["actualQueryCost"] is None
    assert resp["shopify_cost"]["throttleStatus"]["currentlyAvailable"] == 302
    assert budget.acquired[0] == ("graphql", 2 + 2 * 5)       # first = 2 × one SKU, 5 points a variant


@respx.mock
def test_a_throttle_goes_back_to_the_caller_and_the_next_call_is_paced_without_sleeping(conn, slept):
    low = fixture("variants.json")
    low["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] = 5
    route = respx.post(GRAPHQL).mock(side_effect=[json_response(fixture("throttled.json")), json_response(low),
                                                  json_response(fixture("variants.json"))])
    with pytest.raises(QuotaError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == "XD-QUOTA-001" and e.value.retry_after_s == 4.0
    assert [o.sku for o in conn.read_listings(["MUG-BLUE"])] == ["MUG-BLUE"]   # the job's next run
    assert slept == [] and route.call_count == 2
    # 5 points left, 12 needed, 100 restored a second: about 0.07 s, less the time already passed,
    # is a QuotaWait (nothing sent, nothing slept) …
    with pytest.raises(QuotaWait) as wait:
        conn.read_listings(["TEE-L"])
    assert wait.value.code == "XD-QUOTA-003" and 0.0 < wait.value.delay_s <= 0.07
    assert slept == [] and route.call_count == 2
    # … which a person's one-off command sleeps through instead
    waited: list[float] = []
    with inline_waits(1.0, sleep=waited.append):
        conn.read_listings(["TEE-L"])
    assert len(waited) == 1 and 0.0 < waited[0] <= 0.07 and route.call_count == 3


@respx.mock
def test_max_cost_is_xd_quota_005(conn):
    respx.post(GRAPHQL).mock(return_value=json_response(fixture("max_cost_exceeded.json")))
    with pytest.raises(QuotaError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == "XD-QUOTA-005" and not e.value.retryable


@pytest.mark.parametrize("response,error,code", [
    (httpx.Response(404, json={"errors": "Not Found"}), PlatformError, "XD-PLATFORM-008"),
    (httpx.Response(503, html="<!DOCTYPE html><html><body>503</body></html>"), NetError, "XD-NET-003"),
    (httpx.Response(200, html="<!DOCTYPE html><html><body>maintenance</body></html>"), NetError, "XD-NET-004"),
    (httpx.Response(200, content=b'{"data":{"orders":{"edges":[{"node":{"id":"gid://shopify/Order/',
                    headers={"Content-Type": "application/json"}), NetError, "XD-NET-004"),
    (httpx.Response(423, json={"errors": "Locked"}), PlatformError, "XD-PLATFORM-001"),
    (httpx.Response(429, json={"errors": "Exceeded"}, headers={"Retry-After": "2.0"}), QuotaError, "XD-QUOTA-001"),
])
@respx.mock
def test_http_failures(conn, response, error, code):
    respx.post(GRAPHQL).mock(return_value=response)
    with pytest.raises(error) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == code


@respx.mock
def test_timeouts_are_xd_net_002(conn):
    respx.post(GRAPHQL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NetError) as e:
        conn.read_listings(["MUG-BLUE"])
    assert e.value.code == "XD-NET-002"


def _variants_for(*rows):
    nodes = [{"id": f"gid://shopify/ProductVariant/{i}", "sku": sku, "price": "10.00",
              "product": {"id": f"gid://shopify/Product/{i}", "status": "ACTIVE"},
              "inventoryItem": {"id": f"gid://shopify/InventoryItem/{i}", "tracked": True,
                                "inventoryLevel": {"quantities": [{"name": "available", "quantity": q}]}}}
             for i, (sku, q) in enumerate(rows, 1)]
    return {"data": {"productVariants": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}}}


def _stale(index):
    body = fixture("inventory_set_stale.json")
    body["data"]["inventorySetQuantities"]["userErrors"][0]["field"][2] = str(index)
    return body


@respx.mock
def test_stale_stock_is_reread_and_sent_once_more(conn):
    calls = []

    def handler(request):
        body = json.loads(request.content)
        calls.append(body)
        if "productVariants" in body["query"]:
            return json_response(_variants_for(("A", 10), ("B", 7)))
        if len([c for c in calls if "inventorySetQuantities" in c["query"]]) == 1:
            return json_response(_stale(1))
        return json_response(fixture("inventory_set_ok.json"))

    respx.post(GRAPHQL).mock(side_effect=handler)
    results = conn.push_stock([StockUpdate("A", 4, expected_current=10), StockUpdate("B", 5, expected_current=9)])
    assert [(r.sku, r.ok) for r in results] == [("A", True), ("B", True)]
    sets = [c for c in calls if "inventorySetQuantities" in c["query"]]
    assert len(sets) == 2
    retry = sets[1]["variables"]["input"]["quantities"]
    assert [(q["quantity"], q["changeFromQuantity"]) for q in retry] == [(4, 10), (5, 7)]   # B re-read: 7
    assert sets[0]["variables"]["key"] != sets[1]["variables"]["key"]


@respx.mock
def test_stale_twice_is_xd_platform_005_for_that_item_only(conn):
    sets = []

    def handler(request):
        body = json.loads(request.content)
        if "productVariants" in body["query"]:
            return json_response(_variants_for(("A", 10), ("B", 7)))
        sets.append(body)
        quantities = body["variables"]["input"]["quantities"]
        if len(quantities) == 2:
            return json_response(_stale(1))
        return json_response(fixture("inventory_set_ok.json"))

    respx.post(GRAPHQL).mock(side_effect=handler)
    results = conn.push_stock([StockUpdate("A", 4, expected_current=10), StockUpdate("B", 5, expected_current=9)])
    assert results[0].ok
    assert (results[1].ok, results[1].code) == (False, "XD-PLATFORM-005")
    assert [len(s["variables"]["input"]["quantities"]) for s in sets] == [2, 2, 1]


@respx.mock
def test_price_errors_per_item(conn):
    calls = []

    def handler(request):
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return json_response(fixture("prices_partial.json"))
        return json_response({"data": {"u0": {"productVariants": [], "userErrors": []}}})

    respx.post(GRAPHQL).mock(side_effect=handler)
    # B and C share product 2: C is rejected, so B (not applied: all or nothing) is resent alone
    conn.skus.remember([VariantRef("A", "gid://shopify/ProductVariant/1", "gid://shopify/Product/1",
                               "gid://shopify/InventoryItem/1"),
                    VariantRef("B", "gid://shopify/ProductVariant/2", "gid://shopify/Product/2",
                               "gid://shopify/InventoryItem/2"),
                    VariantRef("C", "gid://shopify/ProductVariant/3", "gid://shopify/Product/2",
                               "gid://shopify/InventoryItem/3")])
    eur = lambda x: Money(Decimal(x), "EUR")  # noqa: E731
    results = conn.push_prices([PriceUpdate("A", eur("9.90")), PriceUpdate("B", eur("5")), PriceUpdate("C", eur("6")),
                                PriceUpdate("D", eur("0"))])
    assert [(r.sku, r.ok, r.code) for r in results] == [
        ("A", True, None), ("B", True, None), ("C", False, "XD-PLATFORM-002"), ("D", False, "XD-MAP-003")]
    assert len(calls) == 2 and calls[1]["variables"] == {"p0": "gid://shopify/Product/2",
                                     "v0": [{"id": "gid://shopify/ProductVariant/2", "price": "5.00"}]}


@respx.mock
def test_fulfillment_errors_are_xd_platform_007(conn):
    respx.post(GRAPHQL).mock(side_effect=[json_response(fixture("fulfillment_orders.json")),
                                          json_response(fixture("fulfillment_create_error.json"))])
    with pytest.raises(PlatformError) as e:
        conn.confirm_shipment(ShipmentConfirmation("6100000000002", "dhl_express", "JD1",
                                                   dt.datetime.now(dt.timezone.utc)))
    assert e.value.code == "XD-PLATFORM-007"
    assert "Invalid fulfillment order line item quantity" in e.value.detail


@respx.mock
def test_fulfillment_request_carries_carrier_and_tracking(conn):
    route = respx.post(GRAPHQL).mock(side_effect=[json_response(fixture("fulfillment_orders.json")),
                                                  json_response(fixture("fulfillment_create_ok.json"))])
    conn.confirm_shipment(ShipmentConfirmation("6100000000002", "dhl_express", "JD014600006281230704",
                                               dt.datetime.now(dt.timezone.utc), lines=(("15200000000005", 1),)))
    sent = json.loads(route.calls[1].request.content)["variables"]["fulfillment"]
    assert sent["trackingInfo"]["company"] == "DHL Express"
    assert sent["trackingInfo"]["url"].endswith("JD014600006281230704")
    assert sent["lineItemsByFulfillmentOrder"] == [{
        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/6700000000001",
        "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/13800000000002", "quantity": 1}]}]


def test_shopify_cost_extractor():
    resp = httpx.Response(200, json=fixture("orders_page.json"))
    assert shopify_cost(resp)["requestedQueryCost"] == 702
    assert shopify_cost(httpx.Response(200, html="<html></html>")) is None
