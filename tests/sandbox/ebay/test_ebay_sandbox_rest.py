"""The eBay sandbox's REST side over real HTTP: OAuth, Fulfillment, Inventory,
call limits and faults in eBay's own formats."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from crossdock.sandbox.core import Sandbox

FUL = "/sell/fulfillment/v1"
INV = "/sell/inventory/v1"


def window(ebay, since: str = "2000-01-01T00:00:00.000Z") -> str:
    return f"lastmodifieddate:[{since}..{ebay.now_iso()}]"


# ------------------------------------------------------------------ describe / OAuth
def test_describe_block_is_deterministic_from_the_seed():
    # Given two sandboxes with the same seed and one with another
    a = Sandbox(platforms=("ebay",), seed=5)
    b = Sandbox(platforms=("ebay",), seed=5)
    c = Sandbox(platforms=("ebay",), seed=6)
    # Then credentials and ids match for the same seed only
    keys = ("client_id", "client_secret", "refresh_token", "username", "marketplace_id", "trading_token")
    acct = lambda sb: {k: sb.sims["ebay"].accounts[0].describe()[k] for k in keys}  # noqa: E731
    assert acct(a) == acct(b)
    assert acct(a)["client_id"] != acct(c)["client_id"]
    assert acct(a)["marketplace_id"] == "EBAY_GB"
    assert a.sims["ebay"].channels() == [f"ebay:{acct(a)['username']}:EBAY_GB"]


def test_describe_names_the_endpoints(ebay):
    block = ebay.block
    assert block["trading_url"] == block["base_url"] + "/ws/api.dll"
    assert block["token_url"] == block["base_url"] + "/identity/v1/oauth2/token"
    assert set(ebay.acct) >= {"client_id", "client_secret", "refresh_token", "username", "marketplace_id",
                              "trading_token"}


def test_token_endpoint_answers_like_ebay(ebay):
    a = ebay.acct
    url = ebay.block["token_url"]
    ok = ebay.http.post(url, auth=(a["client_id"], a["client_secret"]),
                        data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"],
                              "scope": "https://api.ebay.com/oauth/api_scope/sell.inventory"})
    assert ok.status_code == 200
    assert ok.json()["expires_in"] == 7200 and ok.json()["token_type"] == "User Access Token"
    assert "refresh_token" not in ok.json()          # eBay does not rotate refresh tokens

    bad_secret = ebay.http.post(url, auth=(a["client_id"], "nope"),
                                data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    bad_grant = ebay.http.post(url, auth=(a["client_id"], a["client_secret"]),
                               data={"grant_type": "refresh_token", "refresh_token": "v^1.1#stale"})
    assert bad_grant.status_code == 400
    assert bad_grant.json() == {"error": "invalid_grant", "error_description":
                                "the provided authorization refresh token is invalid or was issued to another client"}
    odd = ebay.http.post(url, auth=(a["client_id"], a["client_secret"]), data={"grant_type": "password"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"


def test_revoked_refresh_token_and_expired_access_tokens(ebay):
    # Given a fresh seller with a working token
    a = ebay.fresh_account()
    tok = ebay.token(a)
    assert ebay.rest("GET", FUL + "/order", token=tok).status_code == 200
    # When the seller's access tokens expire (admin scenario)
    r = ebay.http.post(ebay.sb.admin_url + "/auth/ebay/expire_access_tokens", json={"account": a["username"]})
    assert r.status_code == 200
    # Then REST answers 401 errorId 1001 exactly as eBay does
    r = ebay.rest("GET", FUL + "/order", token=tok)
    assert r.status_code == 401
    assert r.json() == {"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                    "message": "Invalid access token",
                                    "longMessage": "Invalid access token. Check the value of the Authorization "
                                                   "HTTP request header."}]}
    # When the refresh token is revoked, the token endpoint says invalid_grant
    ebay.http.post(ebay.sb.admin_url + "/auth/ebay/revoke_refresh_token", json={"account": a["username"]})
    r = ebay.http.post(ebay.block["token_url"], auth=(a["client_id"], a["client_secret"]),
                       data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # And a revoked client secret is invalid_client
    ebay.http.post(ebay.sb.admin_url + "/auth/ebay/revoke_client_secret", json={"account": a["username"]})
    r = ebay.http.post(ebay.block["token_url"], auth=(a["client_id"], a["client_secret"]),
                       data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_access_token_lifetime_is_in_sandbox_time():
    # Given time_scale 36000: eBay's 7200 s token lasts 0.2 real seconds
    with Sandbox(platforms=("ebay",), time_scale=36000, seed=3) as sb, httpx.Client() as http:
        block = sb.describe()["ebay"]
        a = block["accounts"][0]
        tok = http.post(block["token_url"], auth=(a["client_id"], a["client_secret"]),
                        data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]}).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        assert http.get(block["base_url"] + FUL + "/order", headers=headers).status_code == 200
        # When 0.3 real seconds (10,800 sandbox seconds) pass
        time.sleep(0.3)
        # Then the token is expired
        assert http.get(block["base_url"] + FUL + "/order", headers=headers).status_code == 401


# ------------------------------------------------------------------ Fulfillment
def test_get_orders_window_pages_with_limit_and_offset(ebay):
    a = ebay.fresh_account()
    skus = ebay.skus(3, channel=a["channel"])
    start = ebay.now_iso()
    ids = {ebay.sim.place_order(a["channel"], [(skus[i % 3], 1)], buyer_country="GB") for i in range(5)}
    tok = ebay.token(a)
    seen, offset, pages = [], 0, 0
    while True:
        r = ebay.rest("GET", FUL + "/order", token=tok,
                      params={"filter": window(ebay, start), "limit": "2", "offset": str(offset)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5 and body["limit"] == 2 and body["offset"] == offset
        seen += [o["orderId"] for o in body["orders"]]
        pages += 1
        if "next" not in body:
            break
        assert f"offset={offset + 2}" in body["next"]
        offset += 2
    assert pages == 3 and len(seen) == 5 and set(seen) == ids
    assert all(o["lineItems"] for o in body["orders"])       # lines come inline


@pytest.mark.parametrize("params, error_id", [
    ({"limit": "201"}, 31100),
    ({"offset": "-1"}, 31000),
    ({"filter": "lastmodified:[2024-01-01T00:00:00.000Z..]"}, 30700),
    ({"filter": "lastmodifieddate:[..2024-01-01T00:00:00.000Z]"}, 30820),
    ({"filter": "creationdate:[yesterday..]"}, 30810),
    ({"filter": "lastmodifieddate:[2024-02-01T00:00:00.000Z..2024-01-01T00:00:00.000Z]"}, 30840),
    ({"filter": "lastmodifieddate:[2024-01-01T00:00:00.000Z..2099-01-01T00:00:00.000Z]"}, 30850),
])
def test_get_orders_validation_errors(ebay, params, error_id):
    r = ebay.rest("GET", FUL + "/order", params=params)
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["errorId"] == error_id and err["domain"] == "API_FULFILLMENT" and err["category"] == "REQUEST"


def test_cross_border_orders_carry_collect_and_remit_taxes(ebay):
    skus = ebay.skus(2, price="20.00")
    de = ebay.sim.place_order(ebay.channel, [(skus[0], 2)], buyer_country="DE")
    gb = ebay.sim.place_order(ebay.channel, [(skus[1], 1)], buyer_country="GB")
    ebay.sim.set_listing(ebay.channel, skus[1], 20, Decimal("400.00"))
    big = ebay.sim.place_order(ebay.channel, [(skus[1], 1)], buyer_country="FR")   # above the €150 IOSS limit
    tok = ebay.token()
    order = ebay.rest("GET", f"{FUL}/order/{de}", token=tok).json()
    line = order["lineItems"][0]
    assert order["ebayCollectAndRemitTax"] is True
    assert line["listingMarketplaceId"] == "EBAY_GB" and line["purchaseMarketplaceId"] == "EBAY_DE"
    tax = line["ebayCollectAndRemitTaxes"][0]
    assert tax["ebayReference"] == {"name": "IOSS", "value": "IM2760000742"} and tax["taxType"] == "VAT"
    assert tax["amount"]["currency"] == "GBP" and tax["amount"]["convertedFromCurrency"] == "EUR"
    # 19 % German VAT on 2 × 20.00 + 9.99 delivery
    assert Decimal(tax["amount"]["value"]) == Decimal("9.50")
    assert line["lineItemCost"] == {"value": "40.00", "currency": "GBP", "convertedFromValue": "46.80",
                                    "convertedFromCurrency": "EUR"}
    ship_to = order["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
    assert ship_to["contactAddress"]["countryCode"] == "DE"
    domestic = ebay.rest("GET", f"{FUL}/order/{gb}", token=tok).json()
    assert "ebayCollectAndRemitTaxes" not in domestic["lineItems"][0]
    assert "convertedFromValue" not in domestic["pricingSummary"]["total"]
    above = ebay.rest("GET", f"{FUL}/order/{big}", token=tok).json()
    assert "ebayCollectAndRemitTaxes" not in above["lineItems"][0]
    assert ebay.rest("GET", f"{FUL}/order/00-00000-00000", token=tok).status_code == 404


def test_create_shipping_fulfillment(ebay):
    skus = ebay.skus(1)
    oid = ebay.sim.place_order(ebay.channel, [(skus[0], 2)], buyer_country="IE")
    tok = ebay.token()
    order = ebay.rest("GET", f"{FUL}/order/{oid}", token=tok).json()
    line_id = order["lineItems"][0]["lineItemId"]
    path = f"{FUL}/order/{oid}/shipping_fulfillment"

    def post(body):
        return ebay.rest("POST", path, token=tok, json=body)

    base = {"lineItems": [{"lineItemId": line_id, "quantity": 2}], "shippedDate": ebay.now_iso(),
            "shippingCarrierCode": "RoyalMail", "trackingNumber": "RM123456785GB"}
    assert post({**base, "lineItems": [{"lineItemId": "999", "quantity": 1}]}).json()["errors"][0]["errorId"] == 32200
    assert post({**base, "lineItems": base["lineItems"] * 2}).json()["errors"][0]["errorId"] == 32210
    assert post({**base, "shippingCarrierCode": "PigeonPost"}).json()["errors"][0]["errorId"] == 32300
    assert post({**base, "shippedDate": "2099-01-01T00:00:00.000Z"}).json()["errors"][0]["errorId"] == 32500
    r = post(base)
    assert r.status_code == 201
    assert r.headers["Location"].endswith(f"{path}/RM123456785GB")
    after = ebay.rest("GET", f"{FUL}/order/{oid}", token=tok).json()
    assert after["orderFulfillmentStatus"] == "FULFILLED"
    assert after["lastModifiedDate"] > order["lastModifiedDate"]
    assert after["fulfillmentHrefs"][0].endswith("/RM123456785GB")
    again = post(base)
    assert again.status_code == 400 and again.json()["errors"][0]["errorId"] == 34500
    fulfillment = ebay.rest("GET", f"{path}/RM123456785GB", token=tok).json()
    assert fulfillment["shipmentTrackingNumber"] == "RM123456785GB"
    # A cancelled order cannot be shipped
    other = ebay.sim.place_order(ebay.channel, [(skus[0], 1)], buyer_country="GB")
    ebay.sim.cancel_order(ebay.channel, other)
    lid = ebay.rest("GET", f"{FUL}/order/{other}", token=tok).json()["lineItems"][0]["lineItemId"]
    r = ebay.rest("POST", f"{FUL}/order/{other}/shipping_fulfillment", token=tok,
                  json={"lineItems": [{"lineItemId": lid, "quantity": 1}]})
    assert r.status_code == 409


# ------------------------------------------------------------------ Inventory
def test_bulk_update_price_quantity(ebay):
    skus = ebay.skus(4, legacy=1)
    refs = ebay.sim.listing_map(ebay.channel)
    tok = ebay.token()
    body = {"requests": [
        {"sku": skus[0], "shipToLocationAvailability": {"quantity": 3}},
        {"sku": skus[1], "shipToLocationAvailability": {"quantity": 4},
         "offers": [{"offerId": refs[skus[1]]["offer_id"], "availableQuantity": 4,
                     "price": {"value": "12.34", "currency": "GBP"}}]},
        {"offers": [{"offerId": refs[skus[2]]["offer_id"], "availableQuantity": -1}]},
        {"sku": skus[3], "shipToLocationAvailability": {"quantity": 1}},      # legacy: unknown to the Inventory API
    ]}
    r = ebay.rest("POST", INV + "/bulk_update_price_quantity", token=tok, json=body)
    assert r.status_code == 207
    codes = [(x.get("sku"), x.get("offerId"), x["statusCode"]) for x in r.json()["responses"]]
    assert (skus[0], None, 200) in codes
    assert (skus[1], refs[skus[1]]["offer_id"], 200) in codes
    assert (skus[2], refs[skus[2]]["offer_id"], 400) in codes
    bad = next(x for x in r.json()["responses"] if x.get("sku") == skus[3])
    assert bad["statusCode"] == 400 and bad["errors"][0]["errorId"] == 25702
    listed = ebay.sim.listed(ebay.channel)
    assert listed[skus[0]] == 3 and listed[skus[1]] == 4 and listed[skus[2]] == 10 and listed[skus[3]] == 10
    assert ebay.sim.listings[ebay.channel][skus[1]].price == Decimal("12.34")
    assert ebay.sb.market.listed_history[(ebay.channel, skus[0])][-1][1] == 3
    too_many = {"requests": [{"sku": skus[0], "shipToLocationAvailability": {"quantity": 1}}] * 26}
    r = ebay.rest("POST", INV + "/bulk_update_price_quantity", token=tok, json=too_many)
    assert r.status_code == 400 and r.json()["errors"][0]["errorId"] == 25709


def test_revisions_per_listing_per_day_are_limited(ebay):
    ebay.sim.configure(revisions_per_listing_per_day=2)
    try:
        skus = ebay.skus(2, legacy=1)
        inv, legacy = skus
        tok = ebay.token()
        statuses = []
        for q in (1, 2, 3):
            r = ebay.rest("POST", INV + "/bulk_update_price_quantity", token=tok,
                          json={"requests": [{"sku": inv, "shipToLocationAvailability": {"quantity": q}}]})
            statuses.append(r.json()["responses"][0]["statusCode"])
        assert statuses == [200, 200, 400]
        assert "revised the maximum number of times" in r.json()["responses"][0]["errors"][0]["message"]
        assert ebay.sim.listed(ebay.channel)[inv] == 2
        item = ebay.sim.listing_map(ebay.channel)[legacy]["item_id"]
        acks = []
        for q in (1, 2, 3):
            _, root = ebay.trading("ReviseInventoryStatus",
                                   f"<InventoryStatus><ItemID>{item}</ItemID><Quantity>{q}</Quantity></InventoryStatus>")
            acks.append(root.findtext("Ack"))
        assert acks == ["Success", "Success", "Failure"]
        assert ebay.sim.listed(ebay.channel)[legacy] == 2
    finally:
        ebay.sim.configure(revisions_per_listing_per_day=250)


def test_inventory_items_and_offers(ebay):
    a = ebay.fresh_account()
    skus = ebay.skus(5, legacy=2, channel=a["channel"])
    tok = ebay.token(a)
    r = ebay.rest("GET", INV + "/inventory_item", token=tok, params={"limit": "2"})
    body = r.json()
    assert body["total"] == 3 and len(body["inventoryItems"]) == 2 and "offset=1" in body["next"]
    last = ebay.rest("GET", INV + "/inventory_item", token=tok, params={"limit": "2", "offset": "1"}).json()
    assert [i["sku"] for i in body["inventoryItems"] + last["inventoryItems"]] == skus[:3]
    offers = ebay.rest("GET", INV + "/offer", token=tok, params={"sku": skus[0]}).json()
    offer = offers["offers"][0]
    assert offer["status"] == "PUBLISHED" and offer["availableQuantity"] == 10
    assert offer["pricingSummary"]["price"] == {"value": "10.00", "currency": "GBP"}
    assert offer["listing"]["listingId"] == ebay.sim.listing_map(a["channel"])[skus[0]]["item_id"]
    missing = ebay.rest("GET", INV + "/offer", token=tok, params={"sku": skus[4]})   # legacy listing
    assert missing.status_code == 404 and missing.json()["errors"][0]["errorId"] == 25713
    item = ebay.rest("GET", f"{INV}/inventory_item/{skus[1]}", token=tok).json()
    assert item["availability"]["shipToLocationAvailability"]["quantity"] == 10


def test_publish_flow_validates_like_ebay(ebay):
    tok = ebay.token()
    sku = "PUB-" + ebay.skus(1)[0]
    item = {"product": {"title": "Blue mug", "description": "A mug", "imageUrls": ["https://x/y.jpg"]},
            "condition": "NEW", "availability": {"shipToLocationAvailability": {"quantity": 6}}}
    r = ebay.rest("PUT", f"{INV}/inventory_item/{sku}", token=tok, json=item)
    assert r.status_code == 400 and r.json()["errors"][0]["errorId"] == 25709     # no Content-Language
    r = ebay.rest("PUT", f"{INV}/inventory_item/{sku}", token=tok, json=item, headers={"Content-Language": "en-GB"})
    assert r.status_code == 201
    offer = {"sku": sku, "marketplaceId": "EBAY_GB", "format": "FIXED_PRICE", "availableQuantity": 6,
             "categoryId": "20625", "pricingSummary": {"price": {"value": "15.00", "currency": "GBP"}}}
    r = ebay.rest("POST", INV + "/offer", token=tok, json=offer, headers={"Content-Language": "en-GB"})
    assert r.status_code == 201
    offer_id = r.json()["offerId"]
    r = ebay.rest("POST", f"{INV}/offer/{offer_id}/publish", token=tok)
    assert r.status_code == 400
    assert {e["errorId"] for e in r.json()["errors"]} == {25007, 25008, 25009, 25012}
    assert sku not in ebay.sim.listed(ebay.channel)
    offer.update(listingPolicies={"fulfillmentPolicyId": "1", "paymentPolicyId": "2", "returnPolicyId": "3"},
                 merchantLocationKey="wh1")
    assert ebay.rest("PUT", f"{INV}/offer/{offer_id}", token=tok, json=offer,
                     headers={"Content-Language": "en-GB"}).status_code == 204
    r = ebay.rest("POST", f"{INV}/offer/{offer_id}/publish", token=tok)
    assert r.status_code == 200 and r.json()["listingId"]
    assert ebay.sim.listed(ebay.channel)[sku] == 6


# ------------------------------------------------------------------ call limits, analytics, faults
def test_daily_call_limit_answers_429_2001(ebay):
    a = ebay.fresh_account()
    ebay.sim.configure(fulfillment_daily_limit=3)
    try:
        tok = ebay.token(a)
        statuses = [ebay.rest("GET", FUL + "/order", token=tok).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = ebay.rest("GET", FUL + "/order", token=tok)
        assert r.json()["errors"][0]["errorId"] == 2001
        assert r.json()["errors"][0]["message"].startswith("Too many requests")
        limits = ebay.rest("GET", "/developer/analytics/v1_beta/user_rate_limit/", token=tok,
                           params={"api_context": "sell", "api_name": "fulfillment"}).json()
        rate = limits["rateLimits"][0]["resources"][0]["rates"][0]
        assert rate["limit"] == 3 and rate["count"] == 3 and rate["remaining"] == 0 and rate["timeWindow"] == 86400
    finally:
        ebay.sim.configure(fulfillment_daily_limit=100_000)


def test_faults_answer_in_ebay_formats(ebay):
    tok = ebay.token()
    admin = ebay.sb.admin_url
    ebay.http.post(admin + "/faults", json={"kind": "throttle", "platform": "ebay", "operation": "getOrders",
                                            "count": 1})
    r = ebay.rest("GET", FUL + "/order", token=tok)
    assert r.status_code == 429 and r.json()["errors"][0]["errorId"] == 2001
    ebay.http.post(admin + "/faults", json={"kind": "throttle", "platform": "ebay", "operation": "GetOrders",
                                            "count": 1})
    r, root = ebay.trading("GetOrders", "<NumberOfDays>1</NumberOfDays>")
    assert r.status_code == 200 and root.findtext("Ack") == "Failure" and root.findtext("Errors/ErrorCode") == "518"
    ebay.http.post(admin + "/faults", json={"kind": "html_503", "platform": "ebay", "operation": "getOrders",
                                            "count": 1})
    r = ebay.rest("GET", FUL + "/order", token=tok)
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    ebay.http.post(admin + "/faults", json={"kind": "malformed_json", "platform": "ebay", "operation": "getOrders",
                                            "count": 1})
    r = ebay.rest("GET", FUL + "/order", token=tok)
    with pytest.raises(ValueError):
        r.json()
    stats = ebay.http.get(admin + "/stats").json()
    assert stats["api"]["ebay"][ebay.acct["username"]]["getOrders"]["throttled"] >= 1
    assert "ebay" in stats["platforms"]
