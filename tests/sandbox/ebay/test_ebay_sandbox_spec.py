"""Recorded sandbox responses validate against eBay's official OpenAPI schemas
(``shared/specs/ebay``), strictly: an object may carry only the properties the
spec defines, so a misspelt field fails the test."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "ebay"
FUL = "/sell/fulfillment/v1"
INV = "/sell/inventory/v1"


def _strict(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for v in node.values():
            _strict(v)
    elif isinstance(node, list):
        for v in node:
            _strict(v)


def _load(name: str) -> dict:
    path = SPECS / name
    if not path.exists():
        pytest.skip(f"official eBay spec not found at {path} (expected <repo>/../shared/specs/ebay)")
    spec = json.loads(path.read_text())
    components = copy.deepcopy(spec["components"])
    _strict(components)
    return components


@pytest.fixture(scope="module")
def fulfillment():
    return _load("sell_fulfillment_v1_oas3.json")


@pytest.fixture(scope="module")
def inventory():
    comps = _load("sell_inventory_v1_oas3.json")
    # The spec types Product.aspects as "string" while its own description (and eBay) use
    # an object of name -> [values]; accept the documented shape.
    comps["schemas"]["Product"]["properties"]["aspects"] = {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    return comps


@pytest.fixture(scope="module")
def analytics():
    return _load("developer_analytics_v1_beta_oas3.json")


def check(components: dict, schema: str | dict, instance) -> None:
    root = {"components": components, **({"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str)
                                         else schema)}
    cls = jsonschema.validators.validator_for(root)
    errors = sorted(cls(root).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


ERRORS = {"type": "object", "additionalProperties": False,
          "properties": {"errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}}


def test_orders_validate(ebay, fulfillment):
    skus = ebay.skus(3, price="30.00")
    ids = [ebay.sim.place_order(ebay.channel, [(s, 1)], buyer_country=c) for s, c in zip(skus, ["DE", "US", "GB"])]
    ebay.sim.cancel_order(ebay.channel, ids[2])
    tok = ebay.token()
    page = ebay.rest("GET", FUL + "/order", token=tok, params={"limit": "2"}).json()
    check(fulfillment, "OrderSearchPagedCollection", page)
    order = ebay.rest("GET", f"{FUL}/order/{ids[0]}", token=tok).json()
    check(fulfillment, "Order", order)
    lid = order["lineItems"][0]["lineItemId"]
    details = {"lineItems": [{"lineItemId": lid, "quantity": 1}], "shippedDate": ebay.now_iso(),
               "shippingCarrierCode": "DHL", "trackingNumber": "JD014600006281234567"}
    check(fulfillment, "ShippingFulfillmentDetails", details)
    r = ebay.rest("POST", f"{FUL}/order/{ids[0]}/shipping_fulfillment", token=tok, json=details)
    assert r.status_code == 201
    fulfilled = ebay.rest("GET", f"{FUL}/order/{ids[0]}/shipping_fulfillment", token=tok).json()
    check(fulfillment, "ShippingFulfillmentPagedCollection", fulfilled)
    check(fulfillment, "Order", ebay.rest("GET", f"{FUL}/order/{ids[2]}", token=tok).json())
    check(fulfillment, ERRORS, ebay.rest("GET", FUL + "/order", token=tok, params={"limit": "0"}).json())
    # refunds (issue_refund): order level then line level; the order then carries both
    cur = order["pricingSummary"]["total"]["currency"]
    for body in ({"reasonForRefund": "BUYER_RETURN", "comment": "dented",
                  "orderLevelRefundAmount": {"value": "2.00", "currency": cur}},
                 {"reasonForRefund": "OTHER_ADJUSTMENT",
                  "refundItems": [{"lineItemId": lid, "refundAmount": {"value": "1.00", "currency": cur}}]}):
        check(fulfillment, "IssueRefundRequest", body)
        r = ebay.rest("POST", f"{FUL}/order/{ids[0]}/issue_refund", token=tok, json=body)
        assert r.status_code == 200, r.text
        check(fulfillment, "Refund", r.json())
    refunded = ebay.rest("GET", f"{FUL}/order/{ids[0]}", token=tok).json()
    check(fulfillment, "Order", refunded)
    assert len(refunded["paymentSummary"]["refunds"]) == 1 and len(refunded["lineItems"][0]["refunds"]) == 1


def test_inventory_responses_validate(ebay, inventory):
    skus = ebay.skus(3, legacy=1)
    refs = ebay.sim.listing_map(ebay.channel)
    tok = ebay.token()
    body = {"requests": [{"sku": skus[0], "shipToLocationAvailability": {"quantity": 2},
                          "offers": [{"offerId": refs[skus[0]]["offer_id"], "availableQuantity": 2,
                                      "price": {"value": "11.00", "currency": "GBP"}}]},
                         {"sku": skus[2], "shipToLocationAvailability": {"quantity": 1}}]}
    check(inventory, "BulkPriceQuantity", body)
    r = ebay.rest("POST", INV + "/bulk_update_price_quantity", token=tok, json=body)
    check(inventory, "BulkPriceQuantityResponse", r.json())
    check(inventory, "InventoryItems", ebay.rest("GET", INV + "/inventory_item", token=tok,
                                                 params={"limit": "2"}).json())
    check(inventory, "InventoryItemWithSkuLocaleGroupid",
          ebay.rest("GET", f"{INV}/inventory_item/{skus[1]}", token=tok).json())
    check(inventory, "Offers", ebay.rest("GET", INV + "/offer", token=tok, params={"sku": skus[1]}).json())
    check(inventory, "EbayOfferDetailsWithAll",
          ebay.rest("GET", f"{INV}/offer/{refs[skus[1]]['offer_id']}", token=tok).json())
    check(inventory, ERRORS, ebay.rest("GET", INV + "/offer", token=tok, params={"sku": skus[2]}).json())


def test_publish_responses_validate(ebay, inventory):
    tok = ebay.token()
    sku = "SPEC-" + ebay.skus(1)[0]
    item = {"product": {"title": "Spec mug", "imageUrls": ["https://x/y.jpg"], "aspects": {"Colour": ["Blue"]}},
            "condition": "NEW", "availability": {"shipToLocationAvailability": {"quantity": 2}}}
    check(inventory, "InventoryItem", item)
    hdr = {"Content-Language": "en-GB"}
    assert ebay.rest("PUT", f"{INV}/inventory_item/{sku}", token=tok, json=item, headers=hdr).status_code == 201
    offer = {"sku": sku, "marketplaceId": "EBAY_GB", "format": "FIXED_PRICE", "availableQuantity": 2,
             "categoryId": "20625", "merchantLocationKey": "wh1",
             "listingPolicies": {"fulfillmentPolicyId": "1", "paymentPolicyId": "2", "returnPolicyId": "3"},
             "pricingSummary": {"price": {"value": "9.00", "currency": "GBP"}}}
    check(inventory, "EbayOfferDetailsWithKeys", offer)
    created = ebay.rest("POST", INV + "/offer", token=tok, json=offer, headers=hdr).json()
    check(inventory, "OfferResponse", created)
    published = ebay.rest("POST", f"{INV}/offer/{created['offerId']}/publish", token=tok).json()
    check(inventory, "PublishResponse", published)
    check(inventory, "InventoryItemWithSkuLocaleGroupid",
          ebay.rest("GET", f"{INV}/inventory_item/{sku}", token=tok).json())


def test_rate_limits_validate(ebay, analytics):
    tok = ebay.token()
    body = ebay.rest("GET", "/developer/analytics/v1_beta/rate_limit/", token=tok).json()
    check(analytics, "RateLimitsResponse", body)
    assert {r["apiName"] for r in body["rateLimits"]} == {"inventory", "fulfillment", "TradingAPI"}
