"""Orders API v0 in the Amazon sandbox: the marketplace side (orders change
listed quantities), getOrders rules, order items, RDT-protected addresses and
shipment confirmation."""

from __future__ import annotations

import pytest

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
TWO_MINUTE_RULE = (
    "The input you have submitted is not valid. Note that the error may be due to a systematic delay "
    "in data retrieval. The most updated data is 2 minutes after an order is created or last updated. "
    "If you set the CreatedBefore or LastUpdatedBefore parameters, please provide a date that is at "
    "least 2 minutes before current time and try again.")


@pytest.fixture(scope="module")
def listed(amz):
    amz.list(US, "O-MUG", 50, "12.00")
    amz.list(DE, "O-MUG", 50, "11.00")
    amz.list(US, "O-CAP", 5, "30.00")
    return amz


def _orders(amz, token=None, **params):
    params.setdefault("MarketplaceIds", US)
    return amz.get("/orders/v0/orders", params=params, token=token)


def test_an_order_takes_listed_quantity_and_a_cancel_gives_it_back(listed):
    amz = listed
    channel = amz.channel(US)
    before = amz.sim.listed(channel)["O-CAP"]
    oid = amz.order(US, "O-CAP", 2)
    assert amz.sim.listed(channel)["O-CAP"] == before - 2
    assert any(s["order_id"] == oid and s["qty"] == 2 for s in amz.sb.market.sales)
    assert amz.sim.cancel_order(oid)
    assert amz.sim.listed(channel)["O-CAP"] == before
    assert amz.sb.market.cancelled[(channel, "O-CAP")] >= 2
    assert amz.sb.market.listed_history[(channel, "O-CAP")][-1][1] == before
    # an order for more than is listed is not placed
    assert amz.sim.place_order(channel, [("O-CAP", before + 1)], buyer_country="US") is None


def test_pending_orders_hide_prices_then_become_unshipped(listed, monkeypatch):
    amz = listed
    monkeypatch.setattr(amz.sim, "pending_s", 300.0)       # half a real second at this scale
    oid = amz.order(US, "O-MUG", 1)
    r = amz.get(f"/orders/v0/orders/{oid}")
    order = r.json()["payload"]
    assert order["OrderStatus"] == "Pending" and "OrderTotal" not in order and "ShippingAddress" not in order
    item = amz.get(f"/orders/v0/orders/{oid}/orderItems").json()["payload"]["OrderItems"][0]
    assert "ItemPrice" not in item and item["QuantityOrdered"] == 1
    amz.settle(301)
    order = amz.get(f"/orders/v0/orders/{oid}").json()["payload"]
    assert order["OrderStatus"] == "Unshipped"
    assert order["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "12.99"}   # 12.00 + 8.25 % sales tax
    assert order["LastUpdateDate"] > order["PurchaseDate"]
    assert set(order["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}


def test_get_orders_validates_like_amazon(listed):
    amz = listed
    r = _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", LastUpdatedAfter="2020-01-01T00:00:00Z")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"
    r = _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", LastUpdatedBefore=amz.now_iso(-600))
    assert r.status_code == 400
    assert _orders(amz).status_code == 400                        # neither family
    assert _orders(amz, CreatedAfter="yesterday").json()["errors"][0]["details"] == \
        "Invalid date-time field(s) [createdAfter]."
    assert _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", MaxResultsPerPage="0").status_code == 400
    assert _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", MaxResultsPerPage="101").status_code == 400
    many = ",".join([US] * 51)
    assert _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", MarketplaceIds=many).status_code == 400
    r = _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", MarketplaceIds="A1F83G8C2ARO7P")
    assert r.status_code == 400 and "A1F83G8C2ARO7P" in r.json()["errors"][0]["details"]


@pytest.mark.parametrize("param", ["LastUpdatedBefore", "CreatedBefore"])
def test_two_minute_rule_answers_amazons_400(listed, param):
    amz = listed
    after = "LastUpdatedAfter" if param.startswith("Last") else "CreatedAfter"
    r = _orders(amz, **{after: "2020-01-01T00:00:00Z", param: amz.now_iso(-60)})
    assert r.status_code == 400
    assert r.json() == {"errors": [{"code": "InvalidInput", "message": TWO_MINUTE_RULE, "details": ""}]}
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert r.headers["x-amzn-RequestId"]
    ok = _orders(amz, **{after: "2020-01-01T00:00:00Z", param: amz.now_iso(-121)})
    assert ok.status_code == 200 and ok.json()["payload"][param] <= amz.now_iso(-121)


def test_next_token_pages_cover_the_window_once(listed):
    amz = listed
    start = amz.now_iso(-1)
    ids = {amz.order(DE, "O-MUG", 1, country="DE") for _ in range(7)}
    amz.settle(200)
    seen: list[str] = []
    r = _orders(amz, MarketplaceIds=DE, CreatedAfter=start, MaxResultsPerPage="3")
    pages = 0
    while True:
        assert r.status_code == 200, r.text
        payload = r.json()["payload"]
        assert len(payload["Orders"]) <= 3
        seen += [o["AmazonOrderId"] for o in payload["Orders"]]
        pages += 1
        if not payload.get("NextToken"):
            break
        r = _orders(amz, MarketplaceIds=DE, NextToken=payload["NextToken"])
    assert pages == 3 and len(seen) == 7 and set(seen) == ids
    # a used or invented token is refused
    assert _orders(amz, MarketplaceIds=DE, NextToken="bogus").status_code == 400


def test_last_updated_window_is_inclusive_and_status_filter_works(listed):
    amz = listed
    oid = amz.order(US, "O-MUG", 1)
    amz.settle(200)
    order = amz.get(f"/orders/v0/orders/{oid}").json()["payload"]
    t = order["LastUpdateDate"]
    r = _orders(amz, LastUpdatedAfter=t, LastUpdatedBefore=t)
    assert oid in [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]]
    r = _orders(amz, LastUpdatedAfter=t, LastUpdatedBefore=t, OrderStatuses="Shipped")
    assert oid not in [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]]


def test_eu_import_carries_ioss_and_marketplace_facilitator(listed):
    amz = listed
    oid = amz.order(DE, "O-MUG", 2, country="FR")
    amz.settle(31)
    item = amz.get(f"/orders/v0/orders/{oid}/orderItems").json()["payload"]["OrderItems"][0]
    assert item["DeemedResellerCategory"] == "IOSS" and item["IossNumber"].startswith("IM")
    assert item["TaxCollection"] == {"Model": "MarketplaceFacilitator"}
    assert item["ItemPrice"] == {"CurrencyCode": "EUR", "Amount": "22.00"}      # two units, VAT included
    assert item["ItemTax"] == {"CurrencyCode": "EUR", "Amount": "3.67"}         # 20 % French VAT inside
    order = amz.get(f"/orders/v0/orders/{oid}").json()["payload"]
    assert order["OrderTotal"] == {"CurrencyCode": "EUR", "Amount": "22.00"}
    assert order["ShippingAddress"]["CountryCode"] == "FR" and order["IsGlobalExpressEnabled"] is True
    # an export outside the EU (Switzerland) carries no EU tax collection
    ch = amz.order(DE, "O-MUG", 1, country="CH")
    amz.settle(31)
    item = amz.get(f"/orders/v0/orders/{ch}/orderItems").json()["payload"]["OrderItems"][0]
    assert "DeemedResellerCategory" not in item and "TaxCollection" not in item
    # a US domestic order: marketplace facilitator with Amazon Services, Inc.
    us = amz.order(US, "O-MUG", 1)
    amz.settle(31)
    item = amz.get(f"/orders/v0/orders/{us}/orderItems").json()["payload"]["OrderItems"][0]
    assert item["TaxCollection"] == {"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."}


def test_unknown_order_is_404_with_rate_header(listed):
    r = listed.get("/orders/v0/orders/123-0000000-0000000/orderItems")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NotFound"
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.5"


def test_address_needs_a_restricted_data_token(listed):
    amz = listed
    oid = amz.order(US, "O-MUG", 1)
    amz.settle(125)          # paid, and older than getOrders' two-minute horizon
    r = amz.get(f"/orders/v0/orders/{oid}/address")
    assert r.status_code == 403
    assert r.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                    "details": ""}]}
    r = amz.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]})
    assert r.status_code == 200 and r.json()["expiresIn"] == 3600
    rdt = r.json()["restrictedDataToken"]
    assert rdt.startswith("Atz.sprdt|")
    addr = amz.get(f"/orders/v0/orders/{oid}/address", token=rdt).json()["payload"]
    assert addr["AmazonOrderId"] == oid
    assert {"Name", "AddressLine1", "City", "PostalCode", "CountryCode", "Phone"} <= set(addr["ShippingAddress"])
    # the RDT is good for its resources only
    assert amz.get(f"/orders/v0/orders/{oid}", token=rdt).status_code == 403
    # an RDT naming one order does not open another
    one = amz.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": f"/orders/v0/orders/{oid}/address"}]}).json()["restrictedDataToken"]
    other = amz.order(US, "O-MUG", 1)
    assert amz.get(f"/orders/v0/orders/{other}/address", token=one).status_code == 403
    # getOrders with an RDT for buyerInfo + shippingAddress shows the full address
    pii = amz.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]}]})
    orders = _orders(amz, CreatedAfter="2020-01-01T00:00:00Z", AmazonOrderIds=oid,
                     token=pii.json()["restrictedDataToken"])
    (shown,) = orders.json()["payload"]["Orders"]
    assert "Name" in shown["ShippingAddress"] and "BuyerEmail" in shown["BuyerInfo"]
    # a non-restricted path is refused
    bad = amz.post("/tokens/2021-03-01/restrictedDataToken",
                   json={"restrictedResources": [{"method": "GET", "path": "/feeds/2021-06-30/feeds"}]})
    assert bad.status_code == 400


def _confirm(amz, oid, *, carrier="UPS", items=None, ref="1", tracking="1Z999", marketplace=US, name=None):
    if items is None:
        raw = amz.get(f"/orders/v0/orders/{oid}/orderItems").json()["payload"]["OrderItems"]
        items = [{"orderItemId": i["OrderItemId"], "quantity": i["QuantityOrdered"]} for i in raw]
    pkg = {"packageReferenceId": ref, "carrierCode": carrier, "trackingNumber": tracking,
           "shipDate": "2026-01-02T10:00:00Z", "orderItems": items}
    if name:
        pkg["carrierName"] = name
    return amz.post(f"/orders/v0/orders/{oid}/shipmentConfirmation",
                    json={"marketplaceId": marketplace, "packageDetail": pkg})


def test_confirm_shipment_rules(listed, monkeypatch):
    amz = listed
    monkeypatch.setattr(amz.sim, "pending_s", 300.0)
    oid = amz.order(US, "O-MUG", 3)
    # Pending orders cannot be shipped
    r = _confirm(amz, oid)
    assert r.status_code == 400 and "Pending" in r.json()["errors"][0]["details"]
    amz.settle(301)
    assert _confirm(amz, oid, carrier="Pigeon Post").status_code == 400
    assert _confirm(amz, oid, carrier="Other").status_code == 400                  # needs carrierName
    assert _confirm(amz, oid, ref="abc").status_code == 400
    assert _confirm(amz, oid, marketplace=DE).status_code == 400
    item = amz.get(f"/orders/v0/orders/{oid}/orderItems").json()["payload"]["OrderItems"][0]["OrderItemId"]
    assert _confirm(amz, oid, items=[{"orderItemId": item, "quantity": 4}]).status_code == 400
    # a partial package, then the rest
    r = _confirm(amz, oid, items=[{"orderItemId": item, "quantity": 1}], ref="1", tracking="T1")
    assert r.status_code == 204 and r.content == b"" and r.headers["x-amzn-RateLimit-Limit"] == "2"
    order = amz.get(f"/orders/v0/orders/{oid}").json()["payload"]
    assert order["OrderStatus"] == "PartiallyShipped" and order["NumberOfItemsShipped"] == 1
    # the same package again changes nothing; the same reference with another parcel is refused
    assert _confirm(amz, oid, items=[{"orderItemId": item, "quantity": 1}], ref="1", tracking="T1").status_code == 204
    assert _confirm(amz, oid, items=[{"orderItemId": item, "quantity": 1}], ref="1", tracking="T9").status_code == 400
    r = _confirm(amz, oid, items=[{"orderItemId": item, "quantity": 2}], ref="2", tracking="T2",
                 carrier="Other", name="Local courier")
    assert r.status_code == 204
    order = amz.get(f"/orders/v0/orders/{oid}").json()["payload"]
    assert order["OrderStatus"] == "Shipped" and order["NumberOfItemsUnshipped"] == 0
    # cancelled orders cannot be shipped
    gone = amz.order(US, "O-MUG", 1)
    amz.sim.cancel_order(gone)
    assert _confirm(amz, gone).status_code == 400
