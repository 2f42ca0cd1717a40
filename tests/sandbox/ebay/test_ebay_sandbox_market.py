"""Marketplace behaviour of the eBay sandbox: buyers, listed quantities, the
market record, cancellations, listing kinds and the sandbox-only routes."""

from __future__ import annotations

import time

from crossdock.sandbox.core import BuyerProfile, Sandbox


def test_orders_decrement_listings_and_are_recorded(ebay):
    skus = ebay.skus(2, qty=5)
    oid = ebay.sim.place_order(ebay.channel, [(skus[0], 2), (skus[1], 1)], buyer_country="IT")
    assert oid and len(oid) == 14 and oid[2] == "-"
    assert ebay.sim.listed(ebay.channel)[skus[0]] == 3
    assert ebay.sb.market.sold[(ebay.channel, skus[0])] == 2
    assert [s["order_id"] for s in ebay.sb.market.sales if s["sku"] in skus] == [oid, oid]
    assert ebay.sb.market.listed_history[(ebay.channel, skus[0])][-1][1] == 3
    # Buying more than is listed places nothing
    assert ebay.sim.place_order(ebay.channel, [(skus[1], 5)], buyer_country="GB") is None
    # A cancellation restores the listed quantity and is recorded
    ebay.sim.cancel_order(ebay.channel, oid)
    assert ebay.sim.listed(ebay.channel)[skus[0]] == 5
    assert ebay.sb.market.cancelled[(ebay.channel, skus[0])] == 2
    order = ebay.rest("GET", f"/sell/fulfillment/v1/order/{oid}").json()
    assert order["cancelStatus"]["cancelState"] == "CANCELED"
    assert order["orderPaymentStatus"] == "FULLY_REFUNDED"


def test_scripted_buyers_through_the_admin_api():
    with Sandbox(platforms=("ebay",), time_scale=600, seed=21) as sb:
        sim = sb.sims["ebay"]
        ch = sim.channels()[0]
        for i in range(3):
            sim.set_listing(ch, f"B-{i}", 4)
        sb.set_buyers(ch, BuyerProfile(orders_per_min=120, max_qty=2, cancel_probability=0,
                                       countries=("DE", "GB", "AU")))
        sb.start_buyers()
        deadline = time.time() + 3
        while sum(sim.listed(ch).values()) > 0 and time.time() < deadline:
            time.sleep(0.05)
        sb.stop_buyers()
        # Buyers never buy more than was listed: nothing oversold, all 12 units sold
        assert sum(sim.listed(ch).values()) == 0
        assert sb.market.summary()["units_sold"] == 12 and sb.market.oversold_units() == 0
        countries = {o.buyer_country for o in sim.orders[sim.accounts[0].username].values()}
        assert countries <= {"DE", "GB", "AU"} and len(countries) >= 2


def test_listing_kinds_and_sandbox_routes(ebay):
    a = ebay.fresh_account()
    ch = a["channel"]
    base = ebay.block["base_url"]
    r = ebay.http.post(base + "/sandbox/listings", json={"channel": ch, "sku": "OLD-1", "kind": "trading",
                                                         "quantity": 4, "price": "8.50"})
    assert r.status_code == 200 and r.json()["listing"]["kind"] == "trading"
    ebay.sim.set_listing(ch, "NEW-1", 2)
    rows = ebay.http.get(base + "/sandbox/listings", params={"channel": ch}).json()["listings"]
    assert rows["OLD-1"] == {"kind": "trading", "item_id": rows["OLD-1"]["item_id"], "quantity": 4, "price": "8.50"}
    assert rows["NEW-1"]["kind"] == "inventory" and rows["NEW-1"]["offer_id"]
    # legacy_ratio marks a deterministic share of new SKUs legacy
    ebay.sim.configure(legacy_ratio=0.5)
    try:
        for i in range(40):
            ebay.sim.set_listing(ch, f"MIX-{i}", 1)
    finally:
        ebay.sim.configure(legacy_ratio=0.0)
    kinds = [v["kind"] for k, v in ebay.sim.listing_map(ch).items() if k.startswith("MIX-")]
    assert 8 <= kinds.count("trading") <= 32
    assert ebay.http.post(base + "/sandbox/config", json={"no_such_setting": 1}).status_code == 400
    assert ebay.sim.extra_stats()["accounts"][a["username"]]["listings"]["trading"] == 1 + kinds.count("trading")


def test_pending_payments_are_paid_later():
    with Sandbox(platforms=("ebay",), time_scale=3000, seed=4) as sb:
        sim = sb.sims["ebay"]
        sim.configure(pending_payment_probability=1.0, payment_delay_s=600)
        ch = sim.channels()[0]
        sim.set_listing(ch, "P-1", 3)
        oid = sim.place_order(ch, [("P-1", 1)], buyer_country="GB")
        order = sim.orders[sim.accounts[0].username][oid]
        assert order.payment_status == "PENDING"
        created = order.modified_at
        deadline = time.time() + 2
        while order.payment_status == "PENDING" and time.time() < deadline:
            time.sleep(0.05)
        assert order.payment_status == "PAID" and order.modified_at > created


def test_every_seller_cancellation_gets_its_own_cancel_id(ebay):
    # Given two open orders (the second seller cancellation of a run once looped forever under the sim's
    # lock: its cancelId pattern had no random digit, so the one id was never new again)
    skus = ebay.skus(2, qty=5)
    orders = [ebay.sim.place_order(ebay.channel, [(sku, 1)], buyer_country="GB") for sku in skus]
    ids = []
    for oid in orders:
        r = ebay.rest("POST", "/post-order/v2/cancellation", timeout=10,
                      headers={"Authorization": f"IAF {ebay.token()}"},
                      json={"legacyOrderId": oid, "cancelReason": "OUT_OF_STOCK_OR_CANNOT_FULFILL"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["cancelId"])
    # Then each is cancelled, with a cancelId of its own
    assert len(set(ids)) == 2 and all(len(i) == 10 for i in ids)
    assert [ebay.sim.listed(ebay.channel)[sku] for sku in skus] == [5, 5]
