"""Listings Items API 2021-08-01 in the Amazon sandbox."""

from __future__ import annotations

import json

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"


def _path(amz, sku: str, marketplace: str = US, **extra) -> str:
    q = "&".join(f"{k}={v}" for k, v in {"marketplaceIds": marketplace, **extra}.items())
    return f"/listings/2021-08-01/items/{amz.seller}/{sku}?{q}"


def _patch(amz, sku, patches, marketplace=US, **extra):
    return amz.request("PATCH", _path(amz, sku, marketplace, **extra),
                       content=json.dumps({"productType": "PRODUCT", "patches": patches}),
                       headers={"Content-Type": "application/json"})


def _qty(n):
    return [{"op": "replace", "path": "/attributes/fulfillment_availability",
             "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": n}]}]


def _price(amount: str, currency="USD", marketplace=US):
    # written as a JSON number, exactly as typed
    return [{"op": "replace", "path": "/attributes/purchasable_offer",
             "value": [{"marketplace_id": marketplace, "currency": currency,
                        "our_price": [{"schedule": [{"value_with_tax": f"@{amount}@"}]}]}]}]


def _body(patches) -> str:
    return json.dumps({"productType": "PRODUCT", "patches": patches}).replace('"@', "").replace('@"', "")


def test_get_listing_and_404(amz):
    amz.list(US, "L-BOOK", 8, "15.50")
    r = amz.get(_path(amz, "L-BOOK", includedData="summaries,offers,fulfillmentAvailability,attributes"))
    assert r.status_code == 200
    item = r.json()
    assert item["sku"] == "L-BOOK"
    assert item["summaries"][0]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert item["summaries"][0]["asin"].startswith("B0")
    assert item["offers"][0]["price"] == {"currencyCode": "USD", "amount": "15.50"}
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 8}]
    assert item["attributes"]["fulfillment_availability"][0]["quantity"] == 8
    assert set(amz.get(_path(amz, "L-BOOK")).json()) == {"sku", "summaries"}          # default includedData
    r = amz.get(_path(amz, "L-NONE"))
    assert r.status_code == 404
    assert r.json() == {"errors": [{"code": "NOT_FOUND", "message": "SKU 'L-NONE' not found in marketplace "
                                                                      "ATVPDKIKX0DER", "details": ""}]}
    assert amz.get(_path(amz, "L-BOOK", includedData="everything")).status_code == 400


def test_patch_quantity_and_price(amz):
    amz.list(US, "L-PEN", 3, "2.00")
    r = _patch(amz, "L-PEN", _qty(17))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ACCEPTED" and body["sku"] == "L-PEN" and body["issues"] == [] and body["submissionId"]
    assert amz.sim.listed(amz.channel(US))["L-PEN"] == 17
    r = amz.request("PATCH", _path(amz, "L-PEN"), content=_body(_price("2.35")))
    assert r.json()["status"] == "ACCEPTED"
    offer = amz.get(_path(amz, "L-PEN", includedData="offers")).json()["offers"][0]
    assert offer["price"] == {"currencyCode": "USD", "amount": "2.35"}


def test_bad_patches_are_invalid_with_issues(amz):
    amz.list(US, "L-INK", 3, "4.00")
    body = _patch(amz, "L-INK", _qty(-2)).json()
    assert body["status"] == "INVALID"
    assert body["issues"][0]["severity"] == "ERROR" and body["issues"][0]["attributeNames"] == ["fulfillment_availability"]
    body = amz.request("PATCH", _path(amz, "L-INK"), content=_body(_price("4.00", currency="EUR"))).json()
    assert body["status"] == "INVALID" and body["issues"][0]["categories"] == ["INVALID_PRICE"]
    body = amz.request("PATCH", _path(amz, "L-INK"), content=_body(_price("0"))).json()
    assert body["status"] == "INVALID"
    body = _patch(amz, "L-INK", [{"op": "replace", "path": "/quantity", "value": [{"x": 1}]}]).json()
    assert body["status"] == "INVALID"
    body = _patch(amz, "L-GHOST", _qty(1)).json()
    assert body["status"] == "INVALID" and "does not exist" in body["issues"][0]["message"]
    # the listing did not change
    assert amz.sim.listed(amz.channel(US))["L-INK"] == 3
    # a malformed request is a 400, not an INVALID submission
    r = amz.request("PATCH", _path(amz, "L-INK"), content=b"{not json")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"


def test_validation_preview_does_not_apply(amz):
    amz.list(US, "L-CUP", 3, "4.00")
    body = _patch(amz, "L-CUP", _qty(9), mode="VALIDATION_PREVIEW").json()
    assert body["status"] == "VALID"
    assert amz.sim.listed(amz.channel(US))["L-CUP"] == 3


def _put(amz, sku, attributes, marketplace=US, **extra):
    return amz.request("PUT", _path(amz, sku, marketplace, **extra),
                       content=json.dumps({"productType": "HOME", "requirements": "LISTING", "attributes": attributes}))


def _attrs(title="Blue mug", brand=True, price="9.99", currency="USD", qty=6):
    a = {"item_name": [{"value": title, "language_tag": "en_US", "marketplace_id": US}],
         "condition_type": [{"value": "new_new", "marketplace_id": US}],
         "purchasable_offer": [{"marketplace_id": US, "currency": currency,
                                "our_price": [{"schedule": [{"value_with_tax": price}]}]}],
         "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": qty}]}
    if brand:
        a["brand"] = [{"value": "Acme", "marketplace_id": US}]
    return a


def test_put_creates_a_listing_or_reports_issues(amz):
    r = _put(amz, "L-NEW", _attrs(), includedData="identifiers,issues")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ACCEPTED"
    assert body["identifiers"][0]["asin"].startswith("B0")
    assert amz.sim.listed(amz.channel(US))["L-NEW"] == 6
    summary = amz.get(_path(amz, "L-NEW")).json()["summaries"][0]
    assert summary["productType"] == "HOME" and summary["itemName"] == "Blue mug"
    body = _put(amz, "L-BAD", _attrs(brand=False, title="x" * 201)).json()
    assert body["status"] == "INVALID"
    codes = {(i["code"], tuple(i.get("attributeNames", []))) for i in body["issues"]}
    assert ("90220", ("brand",)) in codes and ("90244", ("item_name",)) in codes
    assert _put(amz, "L-BAD", _attrs(currency="EUR")).json()["status"] == "INVALID"
    assert "L-BAD" not in amz.sim.listed(amz.channel(US))


def test_delete_and_search(amz):
    for n in range(5):
        amz.list(DE, f"L-S{n}", n, "3.00")
    r = amz.get(f"/listings/2021-08-01/items/{amz.seller}?marketplaceIds={DE}&pageSize=2"
                "&includedData=fulfillmentAvailability")
    body = r.json()
    assert body["numberOfResults"] >= 5 and len(body["items"]) == 2 and body["pagination"]["nextToken"]
    skus = []
    token = None
    while True:
        extra = f"&pageToken={token}" if token else ""
        page = amz.get(f"/listings/2021-08-01/items/{amz.seller}?marketplaceIds={DE}&pageSize=2{extra}").json()
        skus += [i["sku"] for i in page["items"]]
        token = page.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert {f"L-S{n}" for n in range(5)} <= set(skus) and len(skus) == len(set(skus))
    r = amz.request("DELETE", _path(amz, "L-S0", DE))
    assert r.json()["status"] == "ACCEPTED"
    assert amz.get(_path(amz, "L-S0", DE)).status_code == 404


def test_another_sellers_path_or_unknown_marketplace_is_refused(amz):
    r = amz.get(f"/listings/2021-08-01/items/AOTHERSELLER01/L-BOOK?marketplaceIds={US}")
    assert r.status_code == 403
    assert amz.get(_path(amz, "L-BOOK", "A1F83G8C2ARO7P")).status_code == 400


def test_search_by_identifiers_follows_the_spec(amz):
    # Given 25 listings in DE
    for n in range(25):
        amz.list(DE, f"L-I{n:02d}", n, "3.00")
    base = f"/listings/2021-08-01/items/{amz.seller}?marketplaceIds={DE}&pageSize=20&includedData=fulfillmentAvailability"
    some = ",".join(f"L-I{n:02d}" for n in (3, 7, 11)) + ",L-NONE"
    # When SKUs are searched by identifiers: exactly those found come back, with their quantities
    page = amz.get(f"{base}&identifiers={some}&identifiersType=SKU").json()
    assert [(i["sku"], i["fulfillmentAvailability"][0]["quantity"]) for i in page["items"]] == [
        ("L-I03", 3), ("L-I07", 7), ("L-I11", 11)]
    assert page["numberOfResults"] == 3 and "pagination" not in page
    # Then more than 20 identifiers, or identifiers without their type (or the reverse), are refused (400)
    many = ",".join(f"L-I{n:02d}" for n in range(21))
    assert amz.get(f"{base}&identifiers={many}&identifiersType=SKU").status_code == 400
    assert amz.get(f"{base}&identifiers={some}").status_code == 400
    assert amz.get(f"{base}&identifiersType=SKU").status_code == 400
    assert amz.get(f"{base}&identifiers={some}&identifiersType=SELLER").status_code == 400
