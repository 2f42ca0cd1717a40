"""Inventory, variants, products and fulfillment in the Shopify sandbox, and
the marketplace side (orders commit stock, cancellations restock)."""

from __future__ import annotations

from decimal import Decimal

from tests.sandbox.shopify.shopify_box import CHANNEL

VARIANT_Q = """query($q: String!) { productVariants(first: 5, query: $q) { nodes { id sku price
  product { id } inventoryItem { id harmonizedSystemCode countryCodeOfOrigin
  inventoryLevel(locationId: "%s") { quantities(names: ["available", "on_hand", "committed"]) { name quantity } } } } } }"""

SET_Q = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: "%s") {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message } } }"""


def variant(box, sku):
    q = VARIANT_Q % box.shop["location_id"]
    (node,) = box.data(q, {"q": f"sku:{sku}"})["productVariants"]["nodes"]
    levels = {x["name"]: x["quantity"] for x in node["inventoryItem"]["inventoryLevel"]["quantities"]}
    return node, levels


def set_input(box, rows, **extra):
    return {"input": {"name": "available", "reason": "correction", **extra, "quantities": [
        {"inventoryItemId": item, "locationId": box.shop["location_id"], "quantity": qty, **cas} for item, qty, cas in rows]}}


def test_orders_commit_stock_and_cancellation_restocks(box):
    node, levels = variant(box, "MUG-BLUE")
    assert levels == {"available": 20, "on_hand": 20, "committed": 0}
    assert node["inventoryItem"]["harmonizedSystemCode"] == "691200"
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 3)], buyer_country="FR")
    assert box.sim.listed(CHANNEL)["MUG-BLUE"] == 17
    _, levels = variant(box, "MUG-BLUE")
    assert levels == {"available": 17, "on_hand": 20, "committed": 3}
    assert box.sb.market.sold[(CHANNEL, "MUG-BLUE")] == 3
    assert box.sb.market.listed_history[(CHANNEL, "MUG-BLUE")][-1][1] == 17
    shop = box.sim.shops["crossdock-eu"]
    box.sim.cancel_order(shop, shop.orders[int(oid)])
    _, levels = variant(box, "MUG-BLUE")
    assert levels == {"available": 20, "on_hand": 20, "committed": 0}
    assert box.sb.market.cancelled[(CHANNEL, "MUG-BLUE")] == 3
    order = box.data('query($id: ID!) { order(id: $id) { cancelledAt cancelReason displayFinancialStatus } }',
                     {"id": f"gid://shopify/Order/{oid}"})["order"]
    assert order["cancelReason"] == "CUSTOMER" and order["displayFinancialStatus"] == "REFUNDED"


def test_cross_border_order_money_taxes_and_duties(box):
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 2)], buyer_country="CH")
    o = box.data("""query($id: ID!) { order(id: $id) { currencyCode presentmentCurrencyCode dutiesIncluded taxLines { title }
        totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
        shippingAddress { countryCodeV2 }
        lineItems(first: 5) { nodes { duties { harmonizedSystemCode countryCodeOfOrigin price { shopMoney { amount } } } } } } }""",
                 {"id": f"gid://shopify/Order/{oid}"})["order"]
    assert (o["currencyCode"], o["presentmentCurrencyCode"], o["dutiesIncluded"]) == ("EUR", "CHF", True)
    assert o["taxLines"] == [] and o["shippingAddress"]["countryCodeV2"] == "CH"
    assert o["totalPriceSet"]["presentmentMoney"]["currencyCode"] == "CHF"
    (duty,) = o["lineItems"]["nodes"][0]["duties"]
    assert duty == {"harmonizedSystemCode": "691200", "countryCodeOfOrigin": "PT", "price": {"shopMoney": {"amount": "1.25"}}}
    fr = box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="FR")
    o = box.data('query($id: ID!) { order(id: $id) { taxesIncluded taxLines { title rate priceSet { shopMoney { amount } } } } }',
                 {"id": f"gid://shopify/Order/{fr}"})["order"]
    assert o["taxesIncluded"] is True
    assert o["taxLines"] == [{"title": "FR TVA", "rate": 0.2, "priceSet": {"shopMoney": {"amount": "2.08"}}}]


def test_inventory_set_compare_and_set(box):
    node, _ = variant(box, "MUG-BLUE")
    item = node["inventoryItem"]["id"]
    # CAS with the right current value applies
    body = box.data(SET_Q % "k1", set_input(box, [(item, 12, {"changeFromQuantity": 20})]))["inventorySetQuantities"]
    assert body["userErrors"] == []
    assert {"name": "available", "delta": -8, "quantityAfterChange": 12} in body["inventoryAdjustmentGroup"]["changes"]
    assert box.sim.listed(CHANNEL)["MUG-BLUE"] == 12
    # A stale value fails the whole call: nothing is applied (all or nothing)
    other, _ = variant(box, "TEE-L")
    rows = [(other["inventoryItem"]["id"], 5, {"changeFromQuantity": 20}), (item, 7, {"changeFromQuantity": 20})]
    body = box.data(SET_Q % "k2", set_input(box, rows))["inventorySetQuantities"]
    assert body["inventoryAdjustmentGroup"] is None
    assert body["userErrors"] == [{"code": "CHANGE_FROM_QUANTITY_STALE",
                                   "field": ["input", "quantities", "1", "changeFromQuantity"],
                                   "message": "The changeFromQuantity value does not match persisted value."}]
    assert box.sim.listed(CHANNEL) == {"MUG-BLUE": 12, "TEE-L": 20, "CAP-RED": 20}
    # explicit null opts out of the check
    body = box.data(SET_Q % "k3", set_input(box, [(item, 9, {"changeFromQuantity": None})]))["inventorySetQuantities"]
    assert body["userErrors"] == [] and box.sim.listed(CHANNEL)["MUG-BLUE"] == 9


def test_inventory_set_version_rules(box):
    node, _ = variant(box, "MUG-BLUE")
    item = node["inventoryItem"]["id"]
    # 2026-04+: changeFromQuantity must be present, and @idempotent is required
    body = box.data(SET_Q % "k4", set_input(box, [(item, 3, {})]))["inventorySetQuantities"]
    assert body["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    no_key = SET_Q.replace(' @idempotent(key: "%s")', "")
    body = box.gql(no_key, set_input(box, [(item, 3, {"changeFromQuantity": None})])).json()
    assert body["errors"][0]["message"] == "The @idempotent directive is required for this mutation."
    assert box.sim.listed(CHANNEL)["MUG-BLUE"] == 20
    # 2026-01: no directive needed; ignoreCompareQuantity still exists
    body = box.data(no_key, set_input(box, [(item, 3, {})]), version="2026-01")["inventorySetQuantities"]
    assert body["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    body = box.data(no_key, set_input(box, [(item, 3, {})], ignoreCompareQuantity=True),
                    version="2026-01")["inventorySetQuantities"]
    assert body["userErrors"] == [] and box.sim.listed(CHANNEL)["MUG-BLUE"] == 3
    body = box.data(no_key, set_input(box, [(item, 4, {"compareQuantity": 9})]),
                    version="2026-01")["inventorySetQuantities"]
    assert body["userErrors"][0]["code"] == "COMPARE_QUANTITY_STALE"
    # ignoreCompareQuantity is gone from 2026-04
    r = box.gql(SET_Q % "k5", set_input(box, [(item, 3, {"changeFromQuantity": None})], ignoreCompareQuantity=True))
    assert "ignoreCompareQuantity" in r.json()["errors"][0]["message"]


def test_inventory_set_idempotency_key(box):
    node, _ = variant(box, "MUG-BLUE")
    item = node["inventoryItem"]["id"]
    first = box.data(SET_Q % "same", set_input(box, [(item, 11, {"changeFromQuantity": None})]))
    box.sim.place_order(CHANNEL, [("MUG-BLUE", 1)], buyer_country="DE")
    # a retry with the same key and input replays the first answer and changes nothing
    again = box.data(SET_Q % "same", set_input(box, [(item, 11, {"changeFromQuantity": None})]))
    assert again == first and box.sim.listed(CHANNEL)["MUG-BLUE"] == 10
    other = box.data(SET_Q % "same", set_input(box, [(item, 5, {"changeFromQuantity": None})]))
    assert other["inventorySetQuantities"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_inventory_set_input_limits_and_errors(box):
    node, _ = variant(box, "MUG-BLUE")
    item = node["inventoryItem"]["id"]
    rows = [(f"gid://shopify/InventoryItem/{i}", 1, {"changeFromQuantity": None}) for i in range(251)]
    body = box.gql(SET_Q % "big", set_input(box, rows)).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    body = box.data(SET_Q % "bad", set_input(box, [("gid://shopify/InventoryItem/1", 1, {"changeFromQuantity": None}),
                                                    (item, -1, {"changeFromQuantity": None})]))
    codes = [e["code"] for e in body["inventorySetQuantities"]["userErrors"]]
    assert codes == ["INVALID_INVENTORY_ITEM", "INVALID_QUANTITY_NEGATIVE"]
    body = box.data(SET_Q % "rsn", set_input(box, [(item, 1, {"changeFromQuantity": None})]) |
                    {"input": {"name": "reserved", "reason": "because", "quantities": []}})
    assert [e["code"] for e in body["inventorySetQuantities"]["userErrors"]] == ["INVALID_NAME", "INVALID_REASON"]


def test_variant_price_update(box):
    node, _ = variant(box, "TEE-L")
    q = """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $p, variants: $v) {
           productVariants { id price } userErrors { code field message } } }"""
    body = box.data(q, {"p": node["product"]["id"], "v": [{"id": node["id"], "price": "19.99"}]})
    assert body["productVariantsBulkUpdate"]["productVariants"] == [{"id": node["id"], "price": "19.99"}]
    assert box.sim.shops["crossdock-eu"].variant_by_sku("TEE-L").price == Decimal("19.99")
    other, _ = variant(box, "MUG-BLUE")
    body = box.data(q, {"p": node["product"]["id"], "v": [{"id": node["id"], "price": "-1"},
                                                          {"id": other["id"], "price": "2.00"}]})
    errs = body["productVariantsBulkUpdate"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errs] == [("GREATER_THAN_OR_EQUAL_TO", ["variants", "0", "price"]),
                                                       ("PRODUCT_VARIANT_DOES_NOT_EXIST", ["variants", "1", "id"])]
    assert box.sim.shops["crossdock-eu"].variant_by_sku("TEE-L").price == Decimal("19.99")
    body = box.data(q, {"p": "gid://shopify/Product/1", "v": []})
    assert body["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"


def test_product_create_gives_a_default_variant_stocked_at_the_location(box):
    q = """mutation($p: ProductCreateInput!) { productCreate(product: $p) {
             product { id title status variants(first: 1) { nodes { id sku inventoryItem { id } } } }
             userErrors { field message } } }"""
    body = box.data(q, {"p": {"title": "Enamel pin"}})["productCreate"]
    assert body["userErrors"] == [] and body["product"]["status"] == "ACTIVE"
    v = body["product"]["variants"]["nodes"][0]
    assert v["sku"] is None
    lvl = box.data('query($i: ID!, $l: ID!) { inventoryItem(id: $i) { inventoryLevel(locationId: $l) { id } } }',
                   {"i": v["inventoryItem"]["id"], "l": box.shop["location_id"]})
    assert lvl["inventoryItem"]["inventoryLevel"]["id"].startswith("gid://shopify/InventoryLevel/")
    body = box.data(q, {"p": {"title": "  "}})["productCreate"]
    assert body == {"product": None, "userErrors": [{"field": ["title"], "message": "Title can't be blank"}]}


def test_fulfillment_create(box):
    oid = box.sim.place_order(CHANNEL, [("MUG-BLUE", 2), ("TEE-L", 1)], buyer_country="DE")
    fos = box.data("""query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status
              lineItems(first: 10) { nodes { id remainingQuantity lineItem { sku } } } } } } }""",
                   {"id": f"gid://shopify/Order/{oid}"})["order"]["fulfillmentOrders"]["nodes"]
    (fo,) = fos
    lines = {n["lineItem"]["sku"]: n for n in fo["lineItems"]["nodes"]}
    q = """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
             fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }"""
    f = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [
        {"id": lines["MUG-BLUE"]["id"], "quantity": 3}]}], "trackingInfo": {"company": "DHL Express", "number": "1"}}
    body = box.data(q, {"f": f})["fulfillmentCreate"]
    assert body["userErrors"] == [{"field": ["fulfillment"],
                                   "message": "Invalid fulfillment order line item quantity requested."}]
    f["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"][0]["quantity"] = 2
    body = box.data(q, {"f": f})["fulfillmentCreate"]
    assert body["fulfillment"]["status"] == "SUCCESS"
    assert body["fulfillment"]["trackingInfo"] == [{"company": "DHL Express", "number": "1", "url": None}]
    order = box.data('query($id: ID!) { order(id: $id) { displayFulfillmentStatus fulfillmentOrders(first: 1) { nodes { status } } } }',
                     {"id": f"gid://shopify/Order/{oid}"})["order"]
    assert order["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert order["fulfillmentOrders"]["nodes"][0]["status"] == "IN_PROGRESS"
    _, levels = variant(box, "MUG-BLUE")
    assert levels == {"available": 18, "on_hand": 18, "committed": 0}
    # the rest: omitting fulfillmentOrderLineItems fulfils what remains
    body = box.data(q, {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}})["fulfillmentCreate"]
    assert body["userErrors"] == []
    body = box.data(q, {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}})["fulfillmentCreate"]
    assert "unfulfillable status= closed" in body["userErrors"][0]["message"]


def test_pending_payment_is_paid_later_by_tick(box):
    box.sim.configure(pending_payment_probability=1.0)
    oid = box.sim.place_order(CHANNEL, [("CAP-RED", 1)], buyer_country="NL")
    q = 'query($id: ID!) { order(id: $id) { displayFinancialStatus } }'
    assert box.data(q, {"id": f"gid://shopify/Order/{oid}"})["order"]["displayFinancialStatus"] == "PENDING"
    order = box.sim.shops["crossdock-eu"].orders[int(oid)]
    order.pay_at = box.sim.clock.timestamp()          # due now
    box.wait_sandbox_s(5)
    assert box.data(q, {"id": f"gid://shopify/Order/{oid}"})["order"]["displayFinancialStatus"] == "PAID"


def test_scripted_buyers_only_buy_what_is_listed(box):
    for _ in range(60):
        box.sb.buy_once(CHANNEL, box.sim)
    summary = box.sb.market.summary()
    assert summary["oversold_units"] == 0
    assert all(q >= 0 for q in box.sim.listed(CHANNEL).values())
    assert box.sim.order_count(CHANNEL) <= 60
