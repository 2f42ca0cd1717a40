"""End to end: the eBay connector against the in-process eBay sandbox over real
HTTP (REST through httpx, Trading through ebaysdk)."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time
from decimal import Decimal

import pytest

from crossdock.connectors.base import OrderQuery
from crossdock.connectors.ebay import EbayConnector
from crossdock.errors import AuthError, MappingError, NetError, QuotaError
from crossdock.models import Money, OrderStatus, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.rehearsal import sandbox_connector
from crossdock.sandbox.core import Fault, Sandbox

GBP = lambda v: Money(Decimal(v), "GBP")  # noqa: E731
SCALE = 600          # 2 sandbox minutes = 0.2 real seconds; a 7200 s token lasts 12 real seconds


@pytest.fixture(scope="module")
def sb():
    sandbox = Sandbox(platforms=("ebay",), time_scale=SCALE, seed=17).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def seller(sb):
    """A fresh seller account and a connector for it (the sim's listing map loaded)."""
    sim = sb.sims["ebay"]
    acct = sim.add_account("EBAY_GB")
    made = []

    def connect(**kw) -> EbayConnector:
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, **kw)
        made.append(conn)
        return conn

    yield sim, acct, connect
    sb.faults.clear()
    for conn in made:
        conn.close()


def seed(sim, channel: str, n: int, *, legacy: int = 0, qty: int = 20) -> list[str]:
    skus = [f"{channel[-10:]}-{i:03d}" for i in range(n)]
    for i, sku in enumerate(skus):
        if i >= n - legacy:
            sim.mark_legacy(channel, sku)
        sim.set_listing(channel, sku, qty, Decimal("12.00"))
    return skus


def settle(conn: EbayConnector) -> dt.datetime:
    """Wait until everything so far is older than eBay's 2-minute polling lag; the window end."""
    time.sleep(130 / SCALE)
    return conn.window_end()


def test_import_orders_cross_border(seller):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 3)
    conn = connect()
    start = conn.clock.now() - dt.timedelta(seconds=1)
    ids = {c: sim.place_order(acct.channel, [(skus[i % 3], 1)], buyer_country=c)
           for i, c in enumerate(["DE", "GB", "NO", "US"])}
    orders = {o.platform_order_id: o for o in conn.fetch_orders(OrderQuery(start=start, end=settle(conn)))}
    assert set(orders) == set(ids.values())
    de = orders[ids["DE"]]
    assert (de.buyer_country, de.marketplace_id, de.status) == ("DE", "EBAY_DE", OrderStatus.UNSHIPPED)
    assert de.tax.scheme == "IOSS" and de.tax.ioss_number == "IM2760000742" and de.total.currency == "GBP"
    assert orders[ids["NO"]].tax.scheme == "VOEC" and orders[ids["GB"]].tax is None
    assert all(o.lines and o.lines[0].sku in skus for o in orders.values())


def test_an_order_paid_in_the_buyers_currency_keeps_both_currencies_and_shipping(seller):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 1)
    conn = connect()
    start = conn.clock.now() - dt.timedelta(seconds=1)
    # Given a buyer in Germany pays a GBP listing in euros
    oid = sim.place_order(acct.channel, [(skus[0], 2)], buyer_country="DE")
    rec = sim.orders[acct.username][oid]
    assert rec.buyer_currency == "EUR" and rec.fx
    # When the order is imported
    [order] = conn.fetch_orders(OrderQuery(start=start, end=settle(conn)))
    # Then it has the seller's amounts, and the buyer's as eBay converted them, for the order and the line
    line = order.lines[0]
    assert line.title == rec.lines[0].title and line.unit_price == GBP("12.00")
    assert line.presentment_unit_price == Money((Decimal("24.00") * rec.fx).quantize(Decimal("0.01")) / 2, "EUR")
    assert order.shipping == GBP(str(sum(ln.delivery for ln in rec.lines)))
    assert line.shipping == GBP(str(rec.lines[0].delivery))
    assert order.presentment_total is not None and order.presentment_total.currency == "EUR"
    assert order.presentment_total.amount == (order.total.amount * rec.fx).quantize(Decimal("0.01"))
    # eBay's order data has no HS code or country of origin: customs falls back to the catalogue's
    assert (line.hs_code, line.country_of_origin) == (None, None)


def test_push_stock_and_prices_to_a_mix_of_listings(seller, sb):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 30, legacy=6)
    conn = connect(bindings={s: r for s, r in sim.listing_map(acct.channel).items() if r["kind"] == "trading"})
    seq = sb.requests.since(0)[-1]["seq"] if sb.requests.since(0) else 0
    updates = [StockUpdate(s, i % 7) for i, s in enumerate(skus)]
    assert conn.stock_calls_for(updates) == conn.stock_calls_needed(30) == 1 + 2
    results = conn.push_stock(updates)
    assert [r for r in results if not r.ok] == []
    assert sim.listed(acct.channel) == {s: i % 7 for i, s in enumerate(skus)}
    calls = collections.Counter(e["operation"] for e in sb.requests.since(seq, platform="ebay", limit=10_000)
                                if e["account"] == acct.username)
    assert calls["bulkUpdatePriceQuantity"] == 1 and calls["ReviseInventoryStatus"] == 2
    prices = conn.push_prices([PriceUpdate(s, GBP("15.25")) for s in skus])
    assert [r for r in prices if not r.ok] == []
    assert {l.price for l in sim.listings[acct.channel].values()} == {Decimal("15.25")}
    offers = {x.sku: x for x in conn.read_listings([skus[0], skus[-1]])}
    assert offers[skus[0]].quantity == 0 and offers[skus[0]].price == GBP("15.25")
    assert offers[skus[-1]].quantity == 29 % 7 and offers[skus[-1]].listing_id == sim.listing_map(acct.channel)[
        skus[-1]]["item_id"]


def test_confirm_shipment_and_see_it_imported(seller):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 1)
    conn = connect()
    start = conn.clock.now() - dt.timedelta(seconds=1)
    oid = sim.place_order(acct.channel, [(skus[0], 2)], buyer_country="FR")
    fid = conn.confirm_shipment(ShipmentConfirmation(oid, "dhl", "JD014600006281234567", conn.clock.now()))
    assert fid == "JD014600006281234567"
    assert sim.orders[acct.username][oid].fulfillment_status == "FULFILLED"
    assert conn.confirm_shipment(ShipmentConfirmation(oid, "dhl", "JD014600006281234567", conn.clock.now())) == fid
    [order] = conn.fetch_orders(OrderQuery(start=start, end=settle(conn)))
    assert order.status is OrderStatus.SHIPPED and order.lines[0].quantity_shipped == 2


def test_publish_a_listing(seller):
    sim, acct, connect = seller
    conn = connect()
    product = Product(sku="PUB-1", title="Enamel mug", price=GBP("8.99"), description="Camping mug",
                      attributes={"condition": "NEW", "category_id": "20625"}, images=["https://img/m.jpg"],
                      quantity=6)
    result = conn.publish_listing(product)
    assert result.ok, result
    assert sim.listed(acct.channel)["PUB-1"] == 6
    assert conn.listing_map()["PUB-1"]["item_id"] == sim.listing_map(acct.channel)["PUB-1"]["item_id"]
    again = conn.publish_listing(dataclasses.replace(product, price=GBP("9.49")))
    assert again.ok and sim.listings[acct.channel]["PUB-1"].price == Decimal("9.49")


def test_access_token_expiring_mid_run_is_refreshed_without_a_failed_call():
    # Given tokens that live 600 sandbox s (1 real s) and a 300 s refresh margin
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=23) as sandbox:
        sim = sandbox.sims["ebay"]
        sim.configure(access_token_ttl_s=600)
        ch = sim.channels()[0]
        skus = seed(sim, ch, 4, legacy=1)
        conn = sandbox_connector(sandbox.describe(), "ebay", bindings=sim.listing_map(ch))
        try:
            # When the connector keeps working for ~3 token lifetimes
            deadline = time.time() + 2.6
            n = 0
            while time.time() < deadline:
                assert all(r.ok for r in conn.push_stock([StockUpdate(s, n % 5) for s in skus]))
                n += 1
                time.sleep(0.05)
            # Then it refreshed ahead of expiry and eBay never refused a token
            assert conn.auth.refreshes >= 3
            statuses = [e["status"] for e in sandbox.requests.since(0, platform="ebay", limit=100_000)]
            assert 401 not in statuses and len(statuses) > n
        finally:
            conn.close()


def test_revoked_refresh_token_and_expired_consent(seller, sb):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 1, legacy=1)
    conn = connect(bindings=sim.listing_map(acct.channel))
    assert conn.push_stock([StockUpdate(skus[0], 3)])[0].ok
    # When the seller revokes the app and the current access token dies
    sim.auth_scenario("revoke_refresh_token", acct.username)
    sim.auth_scenario("expire_access_tokens", acct.username)
    with pytest.raises(AuthError) as info:
        conn.read_listings(["anything"])
    assert info.value.code == "XD-AUTH-002"
    # In its last 7 days the Auth'n'Auth token comes with HardExpirationWarning, which is surfaced
    sim.auth_scenario("warn_trading_token", acct.username)
    assert conn.push_stock([StockUpdate(skus[0], 2)])[0].ok
    assert conn.trading.hard_expiration_warning
    # And when the 18-month consent lapses, the Trading token is hard-expired too (932)
    sim.auth_scenario("expire_authorisation", acct.username)
    with pytest.raises(AuthError) as info:
        conn.push_stock([StockUpdate(skus[0], 1)])
    assert info.value.code == "XD-AUTH-009"


def test_html_503_storm_loses_no_order_and_imports_each_once(seller, sb, no_transient_retries):
    # (no retry within a call: every 503 reaches the window, whose retry is what is tested)
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 5, qty=100)
    conn = connect(orders_page_size=3)
    cursor = conn.clock.now() - dt.timedelta(seconds=1)
    placed: list[str] = []
    imported: collections.Counter = collections.Counter()
    updated: collections.Counter = collections.Counter()
    stored: dict = {}
    failures = 0
    sb.faults.add(Fault(kind="html_503", platform="ebay", operation="getOrders", probability=0.25))
    # The engine's loop: import windows (cursor − overlap .. now − lag); a failed window is
    # retried whole and the cursor only moves after a window completes.
    for round_ in range(6):
        for i in range(5):
            placed.append(sim.place_order(acct.channel, [(skus[(round_ + i) % 5], 1)], buyer_country="DE"))
        if round_ == 3:
            sim.cancel_order(acct.channel, placed[0])           # a modification: seen again, not imported again
        end = settle(conn)
        start = cursor - dt.timedelta(seconds=conn.overlap_s)
        for _attempt in range(50):
            try:
                window = conn.fetch_orders(OrderQuery(start=start, end=end))
                break
            except NetError as exc:
                assert exc.code == "XD-NET-003"
                failures += 1
        else:
            pytest.fail("window never completed")
        ids = [o.platform_order_id for o in window]
        assert len(ids) == len(set(ids))                 # each order once within a window
        for order in window:                            # the engine's upsert by order id
            prev = stored.get(order.platform_order_id)
            if prev is None:
                imported[order.platform_order_id] += 1
            elif order.updated_at > prev.updated_at:
                updated[order.platform_order_id] += 1
            stored[order.platform_order_id] = order
        cursor = end
    assert failures > 0
    assert set(imported) == set(placed) and set(imported.values()) == {1}
    # the overlap reads orders again, but only the cancelled one comes back changed
    assert set(updated) == {placed[0]} and stored[placed[0]].status.value == "cancelled"


def test_throttling_is_a_quota_error(seller, sb):
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 2, legacy=1)
    conn = connect(bindings=sim.listing_map(acct.channel))
    sb.faults.add(Fault(kind="throttle", platform="ebay", operation="bulkUpdatePriceQuantity", count=1))
    with pytest.raises(QuotaError) as info:
        conn.push_stock([StockUpdate(skus[0], 1)])
    assert info.value.code == "XD-QUOTA-001"
    sb.faults.add(Fault(kind="throttle", platform="ebay", operation="ReviseInventoryStatus", count=1))
    with pytest.raises(QuotaError) as info:
        conn.push_stock([StockUpdate(skus[1], 1)])
    assert info.value.code == "XD-QUOTA-002"


def test_an_order_in_a_status_crossdock_does_not_know_is_handed_over_and_the_window_read_on(seller):
    # Given three orders of one window, the middle one in a payment status crossdock has no mapping for
    sim, acct, connect = seller
    skus = seed(sim, acct.channel, 1)
    conn = connect()
    start = conn.clock.now() - dt.timedelta(seconds=1)
    ids = [sim.place_order(acct.channel, [(skus[0], 1)], buyer_country="GB") for _ in range(3)]
    with sim.lock:
        sim.orders[acct.username][ids[1]].payment_status = "ON_HOLD"
    end = settle(conn)

    # When the window is read with a taker for unreadable orders
    unreadable = []
    orders = conn.fetch_orders(OrderQuery(start=start, end=end, unreadable=unreadable.append))

    # Then the other two come back as orders, and that one with its payload and XD-MAP-011
    assert sorted(o.platform_order_id for o in orders) == sorted([ids[0], ids[2]])
    [odd] = unreadable
    assert (odd.platform_order_id, odd.code) == (ids[1], "XD-MAP-011")
    assert odd.payload["orderId"] == ids[1] and odd.payload["orderPaymentStatus"] == "ON_HOLD"
    # ... a payload that maps (here: the status mended) is read back as the order (a retry's path)
    fixed = dict(odd.payload, orderPaymentStatus="PAID")
    assert conn.order_from_payload(fixed).platform_order_id == ids[1]
    # ... and without a taker, the window fails as before (nothing is dropped silently)
    with pytest.raises(MappingError) as exc:
        conn.fetch_orders(OrderQuery(start=start, end=end))
    assert exc.value.code == "XD-MAP-011"
