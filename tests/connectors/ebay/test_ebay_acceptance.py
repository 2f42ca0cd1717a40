"""Issue 4 acceptance for eBay beyond the per-operation tests: the connector
on the SQL token store, one revoked channel beside a healthy one, call-limit
answers (429 / 518) carrying the wait until eBay's reset, and a timeout on
every REST and Trading call."""

from __future__ import annotations

import collections
import datetime as dt
import json
import time
from decimal import Decimal

import httpx
import pytest
import respx
from requests.adapters import HTTPAdapter

from crossdock.clock import ScaledClock
from crossdock.config import ChannelConfig
from crossdock.connectors.base import MemoryTokenStore, OrderQuery, TokenState
from crossdock.connectors.ebay import EbayConnector
from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
from crossdock.db.engine import Database
from crossdock.errors import AuthError, NetError, QuotaError
from crossdock.models import Money, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.rehearsal import sandbox_clock, sandbox_connector, sandbox_settings
from crossdock.sandbox.core import Fault, Sandbox
from tests.connectors.ebay.conftest import BASE, NOW

SCALE = 600
UTC = dt.timezone.utc
GBP = lambda v: Money(Decimal(v), "GBP")  # noqa: E731
ANALYTICS = BASE + "/developer/analytics/v1_beta/user_rate_limit/"
BULK = BASE + "/sell/inventory/v1/bulk_update_price_quantity"


def seed(sim, channel: str, n: int, *, legacy: int = 0, qty: int = 50) -> list[str]:
    skus = [f"{channel[-8:]}-{i:02d}" for i in range(n)]
    for i, sku in enumerate(skus):
        if i >= n - legacy:
            sim.mark_legacy(channel, sku)
        sim.set_listing(channel, sku, qty, Decimal("12.00"))
    return skus


def settle(conn: EbayConnector) -> dt.datetime:
    time.sleep(130 / SCALE)
    return conn.window_end()


def sql_store(db: Database, *accounts) -> SqlTokenStore:
    ensure_channels(db, [ChannelConfig(name=a.channel, platform="ebay", account=a.username, currency=a.currency,
                                       marketplace=a.marketplace_id) for a in accounts])
    return SqlTokenStore(db)


def next_sandbox_midnight_s(sb: Sandbox) -> float:
    now = sb.clock.timestamp()
    return (now // 86400 + 1) * 86400 - now


# ------------------------------------------------------------------ SQL token store, end to end
def test_import_push_and_ship_on_the_sql_token_store(sqlite_db):
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=31) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 4, legacy=1)
        store = sql_store(sqlite_db, acct)
        consent_ends = dt.datetime(2027, 6, 30, tzinfo=UTC)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, store=store,
                                         bindings=sim.listing_map(acct.channel),
                                         refresh_token_expires_at=consent_ends)
        try:
            start = conn.clock.now() - dt.timedelta(seconds=1)
            placed = {sim.place_order(acct.channel, [(skus[i], 1)], buyer_country=c) for i, c in enumerate("DE FR".split())}
            orders = {o.platform_order_id: o for o in conn.fetch_orders(OrderQuery(start=start, end=settle(conn)))}
            stock = conn.push_stock([StockUpdate(s, 7) for s in skus])
            prices = conn.push_prices([PriceUpdate(s, GBP("13.40")) for s in skus])
            oid = next(iter(placed))
            conn.confirm_shipment(ShipmentConfirmation(oid, "royal_mail", "RM0001GB", conn.clock.now()))
            assert conn.auth.refreshes == 1
        finally:
            conn.close()
        assert set(orders) == placed and all(o.lines for o in orders.values())
        assert all(r.ok for r in stock + prices) and sim.listed(acct.channel) == {s: 7 for s in skus}
        assert sim.orders[acct.username][oid].fulfillment_status == "FULFILLED"
        # the consent's end is recorded for XD-AUTH-005 (and XD-AUTH-003 once it has passed)
        state = store.load(acct.channel)
        assert state.refresh_expires_at == consent_ends and state.access_token
        soon = store.expiring(within=dt.timedelta(days=30), now=consent_ends - dt.timedelta(days=10))
        assert [(x["channel"], x["what"]) for x in soon] == [(acct.channel, "refresh_token")]
        # a worker with its own engine on the same database uses the stored token
        other = Database(sqlite_db.url)
        again = sandbox_connector(sb.describe(), "ebay", account=acct.username, store=SqlTokenStore(other),
                                          bindings=sim.listing_map(acct.channel))
        try:
            assert again.read_listings([skus[0]])[0].quantity == 7 and again.auth.refreshes == 0
        finally:
            again.close()
            other.dispose()


def test_an_access_token_expiring_mid_run_is_refreshed_through_the_sql_store(sqlite_db):
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=32) as sb:
        sim = sb.sims["ebay"]
        sim.configure(access_token_ttl_s=600)          # one real second, refreshed 300 s early
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 3, legacy=1)
        store = sql_store(sqlite_db, acct)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, store=store,
                                         bindings=sim.listing_map(acct.channel))
        try:
            deadline = time.monotonic() + 1.8
            n = 0
            while time.monotonic() < deadline:
                assert all(r.ok for r in conn.push_stock([StockUpdate(s, n % 9) for s in skus]))
                n += 1
                time.sleep(0.03)
            assert conn.auth.refreshes >= 3 and store.load(acct.channel).version > conn.auth.refreshes
        finally:
            conn.close()
        statuses = collections.Counter(e["status"] for e in sb.requests.since(0, platform="ebay", limit=100_000))
        assert all(code < 400 for code in statuses), statuses


# ------------------------------------------------------------------ one channel revoked, the other runs
def test_a_revoked_channel_stops_with_xd_auth_and_the_other_keeps_running(sqlite_db):
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=33) as sb:
        sim = sb.sims["ebay"]
        bad_acct, good_acct = sim.accounts[0], sim.add_account("EBAY_DE")
        store = sql_store(sqlite_db, bad_acct, good_acct)
        bad_skus, good_skus = seed(sim, bad_acct.channel, 2, legacy=1), seed(sim, good_acct.channel, 2, legacy=1)
        desc = sb.describe()
        bad = sandbox_connector(desc, "ebay", account=bad_acct.username, store=store,
                                        bindings=sim.listing_map(bad_acct.channel))
        good = sandbox_connector(desc, "ebay", account=good_acct.username, store=store,
                                         bindings=sim.listing_map(good_acct.channel))
        try:
            assert all(r.ok for r in bad.push_stock([StockUpdate(s, 3) for s in bad_skus]))
            start = good.clock.now() - dt.timedelta(seconds=1)
            # When the first seller revokes the app and its access token dies
            sim.auth_scenario("revoke_refresh_token", bad_acct.username)
            sim.auth_scenario("expire_access_tokens", bad_acct.username)
            with pytest.raises(AuthError) as err:
                bad.push_stock([StockUpdate(s, 2) for s in bad_skus])
            assert err.value.code == "XD-AUTH-002" and err.value.channel == bad_acct.channel
            # Then the other seller's channel imports and pushes as before
            oid = sim.place_order(good_acct.channel, [(good_skus[0], 1)], buyer_country="AT")
            assert [o.platform_order_id for o in good.fetch_orders(OrderQuery(start=start,
                                                                  end=settle(good)))] == [oid]
            assert all(r.ok for r in good.push_stock([StockUpdate(s, 11) for s in good_skus]))
            assert sim.listed(good_acct.channel) == {s: 11 for s in good_skus}
            assert sim.listed(bad_acct.channel) == {s: 3 for s in bad_skus}
            with pytest.raises(AuthError):
                bad.read_listings([bad_skus[0]])       # still stopped, without touching the other
        finally:
            bad.close()
            good.close()


# ------------------------------------------------------------------ call limits carry the wait
def test_a_used_up_daily_limit_waits_until_ebays_reset():
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=34) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 2, legacy=1)
        sim.configure(inventory_daily_limit=2, trading_daily_limit=1)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username,
                                         bindings=sim.listing_map(acct.channel))
        try:
            assert conn.push_stock([StockUpdate(skus[1], 4)])[0].ok            # the one Trading call of the day
            with pytest.raises(QuotaError) as trading:
                conn.push_stock([StockUpdate(skus[1], 5)])                   # 518
            expected = next_sandbox_midnight_s(sb) / SCALE
            assert trading.value.code == "XD-QUOTA-002"
            assert trading.value.retry_after_s == pytest.approx(expected, abs=0.2)
            assert conn.push_stock([StockUpdate(skus[0], 4)])[0].ok
            assert conn.push_stock([StockUpdate(skus[0], 5)])[0].ok
            with pytest.raises(QuotaError) as rest:
                conn.push_stock([StockUpdate(skus[0], 6)])                   # 429 errorId 2001
            assert rest.value.code == "XD-QUOTA-001"
            assert rest.value.retry_after_s == pytest.approx(next_sandbox_midnight_s(sb) / SCALE, abs=0.2)
        finally:
            conn.close()
        ops = [e["operation"] for e in sb.requests.since(0, platform="ebay", limit=10_000)]
        assert ops.count("getUserRateLimits") == 2                          # one look-up per refusal


def test_a_throttled_call_with_calls_left_waits_the_short_time():
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=35) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 1)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, throttle_wait_s=90)
        sb.faults.add(Fault(kind="throttle", platform="ebay", operation="bulkUpdatePriceQuantity", count=1))
        try:
            with pytest.raises(QuotaError) as err:
                conn.push_stock([StockUpdate(skus[0], 1)])
        finally:
            conn.close()
        assert err.value.code == "XD-QUOTA-001" and err.value.retry_after_s == pytest.approx(90 / SCALE)


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_without_an_analytics_answer_a_daily_limit_waits_until_pacific_midnight(api, connector):
    api.get(ANALYTICS).mock(return_value=httpx.Response(503, html="<html>down</html>"))
    api.post(BULK).mock(return_value=httpx.Response(429, json={"errors": [
        {"errorId": 2001, "domain": "ACCESS", "category": "REQUEST", "message": "Too many requests."}]}))
    with pytest.raises(QuotaError) as err:
        connector.push_stock([StockUpdate("MUG-BLUE", 1)])
    assert err.value.code == "XD-QUOTA-001"
    # no analytics answer and a 429: a short-term wait (throttle_wait_s), not a day
    assert err.value.retry_after_s == pytest.approx(60)
    # a per-listing revision limit (250 a calendar day) waits for the next eBay day: 2025-03-15 00:00 PDT
    api.post(BULK).mock(return_value=httpx.Response(400, json={"errors": [
        {"errorId": 25019, "domain": "API_INVENTORY", "category": "REQUEST",
         "message": "The listing has been revised the maximum number of times (250) today."}]}))
    before = len(api.calls)
    with pytest.raises(QuotaError) as err:
        connector.push_stock([StockUpdate("MUG-BLUE", 1)])
    pacific_midnight = dt.datetime(2025, 3, 15, 7, 0, tzinfo=UTC)
    assert err.value.code == "XD-QUOTA-004"
    assert err.value.retry_after_s == (pacific_midnight - NOW).total_seconds()
    assert not any(c.request.url.path.endswith("/user_rate_limit/") for c in api.calls[before:])


def test_the_analytics_reset_of_the_used_up_limit_is_the_wait(api, connector):
    route = api.get(ANALYTICS).mock(return_value=httpx.Response(200, json={"rateLimits": [
        {"apiContext": "sell", "apiName": "inventory", "apiVersion": "v1", "resources": [
            {"name": "sell.inventory", "rates": [{"count": 2_000_000, "limit": 2_000_000, "remaining": 0,
                                                  "reset": "2025-03-15T07:00:00.000Z", "timeWindow": 86400}]},
            {"name": "sell.inventory.offer", "rates": [{"count": 3, "limit": 100, "remaining": 97,
                                                        "reset": "2025-03-14T11:00:00.000Z", "timeWindow": 3600}]}]}]}))
    api.post(BULK).mock(return_value=httpx.Response(429, json={"errors": [
        {"errorId": 2001, "domain": "ACCESS", "category": "REQUEST", "message": "Too many requests."}]}))
    with pytest.raises(QuotaError) as err:
        connector.push_stock([StockUpdate("MUG-BLUE", 1)])
    assert err.value.retry_after_s == (dt.datetime(2025, 3, 15, 7, 0, tzinfo=UTC) - NOW).total_seconds()
    assert dict(route.calls.last.request.url.params) == {"api_context": "sell", "api_name": "inventory"}
    assert route.calls.last.request.headers["Authorization"] == "Bearer AT-1"


def test_a_bulk_price_answer_fails_only_the_refused_items(api, connector, load):
    api.post(BULK).mock(return_value=httpx.Response(207, json=load("bulk_update_price_quantity_207.json")))
    connector.update_listing_map({"TEAPOT": {"kind": "inventory", "offer_id": "5004316012"},
                                  "OLD-LISTING": {"kind": "inventory", "offer_id": "5004316011"}})
    results = connector.push_prices([PriceUpdate("MUG-BLUE", GBP("21.00")), PriceUpdate("OLD-LISTING", GBP("9.00")),
                                     PriceUpdate("TEAPOT", GBP("30.00"))])
    assert [(r.sku, r.ok, r.code) for r in results] == [
        ("MUG-BLUE", True, None), ("OLD-LISTING", False, "XD-PLATFORM-002"), ("TEAPOT", False, "XD-QUOTA-004")]
    sent = json.loads(api.calls.last.request.content)["requests"]
    assert [r["offers"][0]["price"] for r in sent] == [{"value": "21.00", "currency": "GBP"},
                                                       {"value": "9.00", "currency": "GBP"},
                                                       {"value": "30.00", "currency": "GBP"}]


# ------------------------------------------------------------------ a timeout on every call
class RecordingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, dict(request.extensions.get("timeout") or {})))
        return super().handle_request(request)


class RecordingAdapter(HTTPAdapter):
    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.timeouts: list[object] = []

    def send(self, request, **kwargs):
        self.timeouts.append(kwargs.get("timeout"))
        return super().send(request, **kwargs)


def test_every_rest_and_trading_call_goes_out_with_a_timeout():
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=36) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 3, legacy=1)
        transport, adapter = RecordingTransport(), RecordingAdapter()
        conn = EbayConnector(sandbox_settings(sb.describe(), "ebay", account=acct.username, timeout_s=6.5),
                             token_store=MemoryTokenStore([TokenState(channel=acct.channel,
                                                                      refresh_token=acct.refresh_token)]),
                             clock=sandbox_clock(sb.describe()), transport=transport,
                             listing_map={s: r for s, r in sim.listing_map(acct.channel).items()
                                          if r["kind"] == "trading"})
        conn.trading.adapter = adapter
        try:
            start = conn.clock.now() - dt.timedelta(seconds=1)
            oid = sim.place_order(acct.channel, [(skus[0], 1)], buyer_country="FR")
            conn.fetch_orders(OrderQuery(start=start, end=settle(conn)))
            conn.push_stock([StockUpdate(s, 2) for s in skus])
            conn.push_prices([PriceUpdate(s, GBP("14.00")) for s in skus])
            conn.read_listings(skus)
            assert conn.publish_listing(Product(sku="TO-1", title="Timeout mug", price=GBP("5.00"), quantity=1,
                                                images=["https://img.test/to-1.jpg"],
                                                attributes={"condition": "NEW", "category_id": "20625"})).ok
            conn.confirm_shipment(ShipmentConfirmation(oid, "dhl", "JD01", conn.clock.now()))
        finally:
            conn.close()
        paths = [p for p, _ in transport.seen]
        assert any(p.endswith("/oauth2/token") for p in paths) and any(p.endswith("/publish") for p in paths)
        assert any(p.endswith("/shipping_fulfillment") for p in paths) and len(paths) >= 9
        assert [(p, t) for p, t in transport.seen if t != {"connect": 6.5, "read": 6.5, "write": 6.5,
                                                            "pool": 6.5}] == []
        assert len(adapter.timeouts) >= 3 and set(adapter.timeouts) == {6.5}   # ReviseInventoryStatus, GetItem


def test_a_call_that_outlives_its_timeout_is_xd_net_002(no_transient_retries):
    # (one attempt per call: the timeout of that attempt is what is tested)
    # Given a platform that answers after 1 real second and a channel timeout of 0.3 s
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=37) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 2, legacy=1)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, timeout_s=0.3,
                                         bindings=sim.listing_map(acct.channel))
        try:
            conn.read_listings([skus[0]])                 # token fetched before the faults
            sb.faults.add(Fault(kind="timeout", platform="ebay", operation="getOrders", delay_s=1.0, count=1))
            sb.faults.add(Fault(kind="timeout", platform="ebay", operation="ReviseInventoryStatus", delay_s=1.0,
                                count=1))
            end = conn.window_end()
            started = time.monotonic()
            # Then the REST window raises (it is not read as empty) …
            with pytest.raises(NetError) as err:
                conn.fetch_orders(OrderQuery(start=end - dt.timedelta(hours=1), end=end))
            assert err.value.code == "XD-NET-002"
            # … and the Trading batch fails its item, while the Inventory-API batch goes through
            results = conn.push_stock([StockUpdate(s, 1) for s in skus])
            assert [(r.ok, r.code) for r in results] == [(True, None), (False, "XD-NET-002")]
            assert time.monotonic() - started < 1.8
        finally:
            conn.close()


def test_the_consent_end_from_the_token_answer_is_recorded(api, connector_factory, clock):
    store = MemoryTokenStore([TokenState(channel="ebay:seller_uk:EBAY_GB", refresh_token="RT-1")])
    conn = connector_factory(store=store)
    api.post(BASE + "/identity/v1/oauth2/token").mock(return_value=httpx.Response(200, json={
        "access_token": "AT-9", "expires_in": 7200, "refresh_token_expires_in": 47304000,
        "token_type": "User Access Token"}))
    api.get(BASE + "/sell/inventory/v1/offer").mock(return_value=httpx.Response(200, json={"offers": []}))
    conn.read_listings(["ANY"])
    state = store.load("ebay:seller_uk:EBAY_GB")
    assert state.access_token == "AT-9"
    assert state.refresh_expires_at == NOW + dt.timedelta(seconds=47304000)       # 18 months


def test_a_retry_after_from_ebay_is_converted_to_real_seconds(api, connector_factory):
    conn = connector_factory()
    conn.auth.clock = ScaledClock.starting_now(600)          # platform time 600 times faster
    conn.auth.store.save(TokenState(channel=conn.channel, access_token="AT-1", refresh_token="RT-1",
                                    access_expires_at=conn.auth.clock.now() + dt.timedelta(days=1)))
    api.post(BULK).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}, json={"errors": [
        {"errorId": 2001, "domain": "ACCESS", "category": "REQUEST", "message": "Too many requests."}]}))
    with pytest.raises(QuotaError) as err:
        conn.push_stock([StockUpdate("MUG-BLUE", 1)])
    assert err.value.code == "XD-QUOTA-001" and err.value.retry_after_s == pytest.approx(0.2)
    assert not any(c.request.url.path.endswith("/user_rate_limit/") for c in api.calls)


# ------------------------------------------------------------------ listings linked after the map was built
def test_a_listing_linked_after_the_map_was_built_is_found_by_its_offer_or_item_id():
    """A worker builds its listing map when it starts; `listings pull` or a publish may
    link more listings while it runs. The engine names them by the ids it stored
    (offer id, or ItemID for a legacy listing): the connector finds out which is which
    once, and the push lands."""
    with Sandbox(platforms=("ebay",), time_scale=SCALE, seed=37) as sb:
        sim = sb.sims["ebay"]
        acct = sim.accounts[0]
        skus = seed(sim, acct.channel, 3, legacy=1)
        refs = sim.listing_map(acct.channel)
        # Given a connector whose listing map is empty (built before the listings were linked)
        conn = sandbox_connector(sb.describe(), "ebay", account=acct.username, bindings={})
        try:
            # When stock is pushed naming each listing by the id crossdock stored for it
            ids = {s: refs[s].get("offer_id") or refs[s]["item_id"] for s in skus}
            results = conn.push_stock([StockUpdate(s, 4, listing_id=ids[s]) for s in skus])
        finally:
            conn.close()
        # Then every push landed on the right listing, Inventory API and legacy alike
        assert [r.ok for r in results] == [True, True, True], results
        assert sim.listed(acct.channel) == {s: 4 for s in skus}
        assert {refs[s]["kind"] for s in skus} == {"inventory", "trading"}
