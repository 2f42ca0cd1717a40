"""Acceptance: the official ShopifyAPI SDK (12.7) talks to the sandbox
unmodified, only pointed at it through its own session settings.

ShopifyAPI builds its URL as ``<protocol>://<first DNS label of the shop>.
<Session.myshopify_domain>:<Session.port>/admin/api/<version>``. With
``protocol="http"``, ``myshopify_domain="0.0.1"``, ``port=<sandbox port>`` and
the shop ``"127.0.0.1"`` that is ``http://127.0.0.1:<port>/admin/api/…``; the
sandbox tells the shop from the access token.
"""

from __future__ import annotations

import json

import pytest
import shopify

from tests.sandbox.shopify.shopify_box import CHANNEL


@pytest.fixture
def sdk_session(box, monkeypatch):
    for name in ("protocol", "myshopify_domain", "port"):
        monkeypatch.setattr(shopify.Session, name, getattr(shopify.Session, name))
    shopify.Session.setup(protocol="http", myshopify_domain="0.0.1", port=box.sim.server.port)
    session = shopify.Session("127.0.0.1", box.desc["api_version"], box.shop["access_token"])
    shopify.ShopifyResource.activate_session(session)
    yield session
    shopify.ShopifyResource.clear_session()


def test_session_points_at_the_sandbox(box, sdk_session):
    assert sdk_session.site == f"http://127.0.0.1:{box.sim.server.port}/admin/api/2026-10"


def test_graphql_query_through_the_sdk(box, sdk_session):
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 2)], buyer_country="IT")
    query = """
    query Orders($first: Int!) {
      orders(first: $first, sortKey: CREATED_AT) {
        pageInfo { hasNextPage endCursor }
        edges { node { id name displayFinancialStatus currencyCode
          totalPriceSet { shopMoney { amount currencyCode } }
          shippingAddress { countryCodeV2 }
          lineItems(first: 5) { nodes { sku quantity variant { id } } } } }
      }
    }"""
    result = json.loads(shopify.GraphQL().execute(query, variables={"first": 10}, operation_name="Orders"))
    (edge,) = result["data"]["orders"]["edges"]
    node = edge["node"]
    assert node["id"] == f"gid://shopify/Order/{oid}" and node["displayFinancialStatus"] == "PAID"
    assert node["shippingAddress"]["countryCodeV2"] == "IT"
    assert node["lineItems"]["nodes"][0] == {"sku": "MUG-BLUE", "quantity": 2,
                                             "variant": {"id": node["lineItems"]["nodes"][0]["variant"]["id"]}}
    assert result["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 1 + 2 + 5 * 2)


def test_graphql_mutation_through_the_sdk(box, sdk_session):
    result = json.loads(shopify.GraphQL().execute(
        'mutation { productCreate(product: {title: "SDK pen"}) { product { title } userErrors { message } } }'))
    assert result["data"]["productCreate"] == {"product": {"title": "SDK pen"}, "userErrors": []}


def test_legacy_rest_through_the_sdk(box, sdk_session):
    shop = shopify.Shop.current()
    assert shop.myshopify_domain == "crossdock-eu.myshopify.com" and shop.currency == "EUR"
