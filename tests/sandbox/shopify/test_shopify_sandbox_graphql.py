"""The GraphQL endpoint: describe, paging, search, cost, throttling, versions."""

from __future__ import annotations

import base64
import json

import pytest

from tests.sandbox.shopify.shopify_box import CHANNEL, ShopifyBox

ORDERS_Q = """
query($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name updatedAt } }
  }
}"""


def test_describe_block_has_the_issue_shape(box):
    d = box.desc
    assert set(d) == {"base_url", "api_version", "shops"}
    assert d["api_version"] == "2026-10"
    (shop,) = d["shops"]
    assert set(shop) == {"shop", "access_token", "client_id", "client_secret", "refresh_token", "currency",
                         "location_id"}
    assert shop["currency"] == "EUR"
    assert shop["access_token"].startswith("shpat_") and shop["refresh_token"].startswith("shprt_")
    assert shop["location_id"].startswith("gid://shopify/Location/")
    assert box.sim.channels() == [CHANNEL] == [f"shopify:{shop['shop']}"]


def test_accounts_are_deterministic_from_the_seed():
    a, b, c = ShopifyBox(seed=5), ShopifyBox(seed=5), ShopifyBox(seed=6)
    try:
        assert a.shop["access_token"] == b.shop["access_token"]
        assert a.shop["client_secret"] == b.shop["client_secret"]
        assert a.shop["access_token"] != c.shop["access_token"]
    finally:
        for x in (a, b, c):
            x.close()


def test_orders_cursor_paging_returns_each_order_once(box):
    # Given 7 orders
    ids = {box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE") for _ in range(7)}
    # When paging 3 at a time
    seen, after, pages = [], None, 0
    while True:
        conn = box.data(ORDERS_Q, {"first": 3, "after": after})["orders"]
        pages += 1
        seen += [e["node"]["id"].rsplit("/", 1)[1] for e in conn["edges"]]
        assert conn["pageInfo"]["endCursor"] == (conn["edges"][-1]["cursor"] if conn["edges"] else None)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # Then every order comes exactly once, in 3 pages, with Shopify-shaped cursors
    assert pages == 3 and len(seen) == 7 and set(seen) == ids
    cursor = json.loads(base64.b64decode(after))
    assert set(cursor) == {"last_id", "last_value"}


def test_updated_at_window_and_search_index_lag(box):
    box.sim.configure(search_index_lag_s=30.0)
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="FR")
    window = "updated_at:>='2000-01-01T00:00:00Z' updated_at:<'2100-01-01T00:00:00Z'"
    # A brand-new order is not in the search index yet…
    assert box.data(ORDERS_Q, {"first": 10, "query": window})["orders"]["edges"] == []
    # …but is listed without a search query.
    assert len(box.data(ORDERS_Q, {"first": 10})["orders"]["edges"]) == 1
    box.wait_sandbox_s(31)
    edges = box.data(ORDERS_Q, {"first": 10, "query": window})["orders"]["edges"]
    assert [e["node"]["id"] for e in edges] == [f"gid://shopify/Order/{oid}"]
    updated = edges[0]["node"]["updatedAt"]
    before = box.data(ORDERS_Q, {"first": 10, "query": f"updated_at:<'{updated}'"})["orders"]["edges"]
    at_or_after = box.data(ORDERS_Q, {"first": 10, "query": f"updated_at:>='{updated}'"})["orders"]["edges"]
    assert before == [] and len(at_or_after) == 1


def test_cost_requested_actual_and_refund(box):
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1), ("TEE-L", 2)], buyer_country="IT")
    q = """{ orders(first: 10) { nodes { id totalPriceSet { shopMoney { amount } }
             lineItems(first: 5) { nodes { sku originalUnitPriceSet { shopMoney { amount } } } } } } }"""
    body = box.gql(q).json()
    cost = body["extensions"]["cost"]
    # requested: 2 + 10 × (order 1 + totalPriceSet 2 + lineItems (2 + 5 × (line 1 + price 2)))
    assert cost["requestedQueryCost"] == 2 + 10 * (1 + 2 + 2 + 5 * 3)
    # actual: one order with two lines
    assert cost["actualQueryCost"] == 2 + 1 * (1 + 2 + 2 + 2 * 3)
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
    # the difference was refunded: only the actual cost left the bucket
    assert status["currentlyAvailable"] >= 2000 - cost["actualQueryCost"] - 1


def test_mutation_costs_ten(box):
    body = box.gql("""mutation { productCreate(product: {title: "Pen"}) { product { id } userErrors { message } } }""").json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert body["extensions"]["cost"]["actualQueryCost"] == 10


def test_query_over_1000_points_is_refused_uncharged(box):
    q = "{ orders(first: 100) { nodes { id lineItems(first: 20) { nodes { id variant { id } } } } } }"
    r = box.gql(q)
    body = r.json()
    assert r.status_code == 200 and "data" not in body
    (err,) = body["errors"]
    assert err["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert err["extensions"]["cost"] == 2 + 100 * (1 + 2 + 20 * 2) and err["extensions"]["maxCost"] == 1000
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


def test_throttled_with_http_200_when_the_bucket_is_short(box):
    box.sim.configure(maximum_available=300.0, restore_rate=1.0)
    for _ in range(40):
        box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    q = "{ orders(first: 50) { nodes { id lineItems(first: 2) { nodes { id } } } } }"   # 2 + 50 × 5 = 252
    first = box.gql(q).json()
    assert "errors" not in first
    assert first["extensions"]["cost"]["actualQueryCost"] == 2 + 40 * 4      # 300 - 162 left: short of 252
    r = box.gql(q)
    body = r.json()
    assert r.status_code == 200
    assert body["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 252 and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < 252
    stats = box.sb.stats.as_dict()["shopify"]["crossdock-eu"]["graphql"]
    assert stats["throttled"] == 1


def test_connection_without_first_or_over_250_is_an_error(box):
    body = box.gql("{ orders { nodes { id } } }").json()
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    body = box.gql("{ orders(first: 251) { nodes { id } } }").json()
    assert "between 0 and 250" in body["errors"][0]["message"]


def test_unknown_field_is_a_validation_error(box):
    body = box.gql("{ orders(first: 1) { nodes { id notAField } } }").json()
    assert "notAField" in body["errors"][0]["message"] and "data" not in body


def test_api_versions_like_shopify(box):
    q = "{ shop { name } }"
    assert box.sim.supported_versions() == ["2026-01", "2026-04", "2026-07", "2026-10"]
    for v in ("2026-01", "2026-07", "unstable"):
        r = box.gql(q, version=v)
        assert r.status_code == 200 and r.headers["x-shopify-api-version"] == v
    # an unsupported (older) quarterly version falls forward to the oldest supported one
    r = box.gql(q, version="2025-07")
    assert r.status_code == 200 and r.headers["x-shopify-api-version"] == "2026-01"
    for bad in ("2026-05", "2027-01", "latest"):
        r = box.gql(q, version=bad)
        assert r.status_code == 404 and r.json() == {"errors": "Not Found"}


def test_invalid_token_and_wrong_shop(box):
    r = box.gql("{ shop { name } }", token="shpat_nope")
    assert r.status_code == 401
    assert r.json() == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    r = box.http.post(f"{box.base}/shops/another-shop/admin/api/2026-10/graphql.json", json={"query": "{shop{name}}"},
                      headers={"X-Shopify-Access-Token": box.shop["access_token"]})
    assert r.status_code == 404


def test_shop_from_token_without_prefix_and_from_host_header(box):
    assert box.data("{ shop { myshopifyDomain } }", prefixed=False)["shop"]["myshopifyDomain"] == \
        "crossdock-eu.myshopify.com"
    r = box.http.post(box.url(prefixed=False), json={"query": "{ shop { name } }"},
                      headers={"X-Shopify-Access-Token": box.shop["access_token"], "Host": "someone-else.myshopify.com"})
    assert r.status_code == 404


def test_rest_shop_call_limit_and_429(box):
    url = f"{box.base}/shops/crossdock-eu/admin/api/2026-10/shop.json"
    h = {"X-Shopify-Access-Token": box.shop["access_token"]}
    r = box.http.get(url, headers=h)
    assert r.status_code == 200 and r.json()["shop"]["currency"] == "EUR"
    assert r.headers["x-shopify-shop-api-call-limit"] == "1/40"
    box.sb.faults.add(__import__("crossdock.sandbox.core", fromlist=["Fault"]).Fault(
        kind="throttle", platform="shopify", operation="rest", count=1))
    r = box.http.get(url, headers=h)
    assert r.status_code == 429 and r.headers["retry-after"] == "2.0"
    assert "Exceeded 2 calls per second" in r.json()["errors"]


def test_fault_formats(box):
    from crossdock.sandbox.core import Fault

    box.sb.faults.add(Fault(kind="throttle", platform="shopify", operation="graphql", count=1))
    r = box.gql("{ orders(first: 10) { nodes { id } } }")
    body = r.json()
    assert r.status_code == 200 and body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 12
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 12
    box.sb.faults.add(Fault(kind="malformed_json", platform="shopify", operation="graphql", count=1))
    r = box.gql("{ shop { name } }")
    assert r.status_code == 200
    try:
        r.json()
        raise AssertionError("malformed body parsed")
    except ValueError:
        pass
    box.sb.faults.add(Fault(kind="html_503", platform="shopify", operation="graphql", count=1))
    r = box.gql("{ shop { name } }")
    assert r.status_code == 503 and "text/html" in r.headers["content-type"]


def test_orders_older_than_60_days_are_hidden_without_read_all_orders(box):
    old = box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    new = box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    box.sim.shops["crossdock-eu"].orders[int(old)].created_at -= 61 * 86400
    ids = [e["node"]["id"] for e in box.data(ORDERS_Q, {"first": 10})["orders"]["edges"]]
    assert ids == [f"gid://shopify/Order/{new}"]


def test_a_dropped_call_is_recorded_as_unanswered_and_does_nothing(box):
    """A ``drop`` fault closes the connection before the call is carried out: the
    request log must not show it as a success (the chaos run counts confirmations
    from it; a dropped confirmation counted as one made a retried one look double)."""
    import httpx

    from crossdock.sandbox.core import Fault

    box.sb.faults.add(Fault(kind="drop", platform="shopify", operation="graphql", count=1))
    seq = max([e["seq"] for e in box.sb.requests.since(0)] or [0])
    with pytest.raises(httpx.HTTPError):
        box.gql("{ shop { name } }")
    [dropped] = box.sb.requests.since(seq, operation="graphql")
    assert dropped["status"] == 0
