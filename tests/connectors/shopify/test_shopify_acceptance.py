"""Issue 4 acceptance for Shopify beyond the per-operation tests: the
connector on the SQL token store, a rotating refresh token refreshed by two
connector processes at once and never reused, one revoked shop beside a
healthy one, errors in the middle of an order window and of a listing
publication, and a timeout on every call."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import select

from crossdock.clock import Clock, ScaledClock
from crossdock.config import ChannelConfig
from crossdock.connectors.base import MemoryTokenStore, OrderQuery, TokenState
from crossdock.connectors.shopify import ShopifyConnector, ShopifySettings
from crossdock.rehearsal import sandbox_settings, sandbox_token_state
from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
from crossdock.db.engine import Database
from crossdock.db.models import Credential
from crossdock.errors import AuthError, MappingError, NetError, QuotaError
from crossdock.models import Money, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.sandbox.core import CatalogueItem, Sandbox
from crossdock.sandbox.shopify import ShopifySim, ShopSpec

SCALE = 600.0
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"
SHOP = "https://crossdock-eu.myshopify.com"
GRAPHQL = f"{SHOP}/admin/api/2026-10/graphql.json"
LOCATION = "gid://shopify/Location/71600000000"
SKUS = ("A-1", "A-2", "A-3")


def eur(x: str) -> Money:
    return Money(Decimal(x), "EUR")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def start_sandbox(*shops: str, seed: int, **config) -> Sandbox:
    """A Shopify sandbox with these shops, each listing SKUS at 50."""
    sb = Sandbox(platforms=("shopify",), time_scale=SCALE, seed=seed)
    sim = ShopifySim(sb, shops=tuple(ShopSpec(s) for s in shops), pending_payment_probability=0.0, **config)
    sim.build_app()
    sb.sims["shopify"] = sim
    sb.start()
    for i, sku in enumerate(SKUS):
        sb.market.seed_item(CatalogueItem(sku, f"Product {sku}", Decimal("20.00") + i, "EUR", 900))
        for shop in shops:
            sim.set_listing(f"shopify:{shop}", sku, 50)
    return sb


def sql_store(db: Database, desc: dict, *shops: str) -> SqlTokenStore:
    """Channel rows and the install's tokens in the database, as the engine keeps them."""
    ensure_channels(db, [ChannelConfig(name=f"shopify:{s}", platform="shopify", account=s, currency="EUR")
                         for s in shops])
    store = SqlTokenStore(db)
    for shop in shops:
        store.save(sandbox_token_state(desc, "shopify", account=shop))
    return store


def connector(desc: dict, store, *, shop: str, **options) -> ShopifyConnector:
    settings = sandbox_settings(desc, "shopify", account=shop, **options)
    return ShopifyConnector(settings, token_store=store, clock=ScaledClock.from_description(desc["clock"]))


def oauth_statuses(sb: Sandbox) -> list[int]:
    return [e["status"] for e in sb.requests.since(0, platform="shopify", operation="oauth", limit=100_000)]


# ------------------------------------------------------------------ SQL token store, end to end
def test_import_push_and_ship_on_the_sql_token_store(sqlite_db):
    sb = start_sandbox("crossdock-eu", seed=41)
    try:
        desc = sb.describe()
        store = sql_store(sqlite_db, desc, "crossdock-eu")
        channel = "shopify:crossdock-eu"
        first_refresh_token = store.load(channel).refresh_token
        conn = connector(desc, store, shop="crossdock-eu")
        clock = conn.clock
        start = clock.now() - dt.timedelta(minutes=5)
        sim = sb.sims["shopify"]
        placed = {sim.place_order(channel, [(SKUS[0], 2)], buyer_country="FR"),
                  sim.place_order(channel, [(SKUS[1], 1), (SKUS[2], 1)], buyer_country="CH")}
        time.sleep(clock.to_real_s(conn.safety_lag_s + 5))
        try:
            orders = {o.platform_order_id: o for o in conn.fetch_orders(OrderQuery(start=start,
                                                                     end=conn.window_end()))}
            stock = conn.push_stock([StockUpdate(s, 30) for s in SKUS])
            prices = conn.push_prices([PriceUpdate(SKUS[0], eur("24.90"))])
            oid = sorted(placed)[0]
            conn.confirm_shipment(ShipmentConfirmation(oid, "dhl_express", "JD0099", clock.now()))
            refreshes = conn.client.auth.refreshes
        finally:
            conn.close()
        assert set(orders) == placed and all(o.lines for o in orders.values())
        assert all(r.ok for r in stock + prices) and sim.listed(channel) == {s: 30 for s in SKUS}
        # the install token had no known expiry, so it was refreshed once: the rotated refresh
        # token and its end date (refresh_token_expires_in) are in the database, encrypted
        assert refreshes == 1 and oauth_statuses(sb) == [200]
        state = store.load(channel)
        assert state.refresh_token and state.refresh_token != first_refresh_token
        assert state.refresh_expires_at is not None
        assert abs((state.refresh_expires_at - clock.now()).total_seconds() - 90 * 86400) < 3600
        with sqlite_db.read() as s:
            row = s.scalars(select(Credential).where(Credential.channel == channel)).one()
            assert state.refresh_token not in (row.refresh_token_enc or "")
        horizon = store.expiring(within=dt.timedelta(days=91), now=clock.now())
        assert [(x["channel"], x["what"]) for x in horizon] == [(channel, "refresh_token")]
        # a worker with its own engine on the same database uses the stored tokens as they are
        other = Database(sqlite_db.url)
        again = connector(desc, SqlTokenStore(other), shop="crossdock-eu")
        try:
            assert [o.quantity for o in again.read_listings([SKUS[0]])] == [30]
            assert again.client.auth.refreshes == 0
        finally:
            again.close()
            other.dispose()
    finally:
        sb.stop()


# ------------------------------------------------------------------ two processes, one rotating refresh token
def _refreshing_worker(db_url: str, desc: dict, go, seconds: float, results) -> None:
    """One connector process reading listings while its access tokens keep expiring."""
    database = Database(db_url)
    conn = connector(desc, SqlTokenStore(database), shop="crossdock-eu")
    calls, error = 0, None
    try:
        go.wait(30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert conn.read_listings([SKUS[0]])[0].sku == SKUS[0]
            calls += 1
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        error = f"{type(exc).__name__}: {exc}"
    finally:
        results.put({"calls": calls, "refreshes": conn.client.auth.refreshes, "error": error})
        conn.close()
        database.dispose()


def test_two_processes_share_a_rotating_refresh_token_and_never_reuse_it(db):
    # Given strict one-time refresh tokens (a reused one is refused), access tokens that must
    # be refreshed every 100 platform seconds (a sixth of a real second), and the token store
    # in SQLite (file lock) or PostgreSQL (row lock)
    sb = start_sandbox("crossdock-eu", seed=42, refresh_grace=False, access_token_ttl_s=400.0)
    try:
        desc = sb.describe()
        sql_store(db, desc, "crossdock-eu")
        ctx = mp.get_context("spawn")
        go, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_refreshing_worker, args=(db.url, desc, go, 1.5, results))
                 for _ in range(2)]
        for p in procs:
            p.start()
        time.sleep(0.2)
        go.set()                          # both start at once
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        # Then both processes worked throughout, refreshing between them many times
        assert [o["error"] for o in outcomes] == [None, None]
        assert all(o["calls"] > 0 for o in outcomes)
        refreshes = sum(o["refreshes"] for o in outcomes)
        assert refreshes >= 4
        # and Shopify saw each refresh token exactly once: every exchange succeeded, and the
        # token the database holds now is the one Shopify last issued
        statuses = oauth_statuses(sb)
        assert statuses == [200] * refreshes
        graphql = [e["status"] for e in sb.requests.since(0, platform="shopify", operation="graphql",
                                                           limit=100_000)]
        assert graphql and set(graphql) == {200}
        sim = sb.sims["shopify"]
        assert SqlTokenStore(db).load("shopify:crossdock-eu").refresh_token == sim.creds["crossdock-eu"].refresh_token
    finally:
        sb.stop()


# ------------------------------------------------------------------ one shop revoked, the other runs
def test_a_revoked_shop_stops_with_xd_auth_and_the_other_keeps_running(sqlite_db):
    sb = start_sandbox("shop-north", "shop-south", seed=43)
    try:
        desc = sb.describe()
        store = sql_store(sqlite_db, desc, "shop-north", "shop-south")
        bad, good = connector(desc, store, shop="shop-north"), connector(desc, store, shop="shop-south")
        sim = sb.sims["shopify"]
        try:
            assert all(r.ok for r in bad.push_stock([StockUpdate(s, 40) for s in SKUS]))
            start = good.clock.now() - dt.timedelta(minutes=5)
            # When the first merchant uninstalls the app (tokens revoked)
            sim.auth_scenario("expire_authorisation", "shop-north")
            with pytest.raises(AuthError) as err:
                bad.push_stock([StockUpdate(SKUS[0], 1)])
            assert err.value.code == "XD-AUTH-002" and err.value.channel == "shopify:shop-north"
            # Then the other shop imports and pushes as before
            oid = sim.place_order("shopify:shop-south", [(SKUS[1], 3)], buyer_country="DE")
            time.sleep(good.clock.to_real_s(good.safety_lag_s + 5))
            orders = good.fetch_orders(OrderQuery(start=start, end=good.window_end()))
            assert [o.platform_order_id for o in orders] == [oid]
            assert all(r.ok for r in good.push_stock([StockUpdate(s, 12) for s in SKUS]))
            assert sim.listed("shopify:shop-south") == {s: 12 for s in SKUS}
            assert sim.listed("shopify:shop-north") == {s: 40 for s in SKUS}
            with pytest.raises(AuthError):
                bad.read_listings([SKUS[0]])
        finally:
            bad.close()
            good.close()
    finally:
        sb.stop()


# ------------------------------------------------------------------ errors in the middle of an operation
@pytest.fixture
def conn():
    store = MemoryTokenStore([TokenState(channel="shopify:crossdock-eu", access_token="shpat_ok",
                                         access_expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
                                         refresh_token="shprt_ok")])
    settings = ShopifySettings(channel="shopify:crossdock-eu", shop="crossdock-eu", client_id="cid",
                               client_secret="secret", location_id=LOCATION, max_throttle_retries=0)
    c = ShopifyConnector(settings, token_store=store, clock=Clock(), sleep=lambda s: None)
    yield c
    c.close()


def _query(request: httpx.Request) -> dict:
    return json.loads(request.content)


@pytest.mark.parametrize("failure,error,code", [
    (httpx.Response(503, html="<!DOCTYPE html><html><body>Service Unavailable</body></html>"), NetError,
     "XD-NET-003"),
    (httpx.Response(200, json=fixture("throttled.json")), QuotaError, "XD-QUOTA-001"),
    (httpx.Response(200, content=b'{"data":{"orders":{"pageInfo":', headers={"Content-Type": "application/json"}),
     NetError, "XD-NET-004"),
])
@respx.mock
def test_a_failed_second_page_fails_the_whole_window(conn, failure, error, code):
    def handler(request):
        body = _query(request)
        if "CrossdockOrderLines" in body["query"]:
            return httpx.Response(200, json=fixture("order_lines.json"))
        return httpx.Response(200, json=fixture("orders_page.json")) if not body["variables"].get("after") \
            else failure

    route = respx.post(GRAPHQL).mock(side_effect=handler)
    end = conn.window_end()
    with pytest.raises(error) as e:
        conn.fetch_orders(OrderQuery(start=end - dt.timedelta(hours=1), end=end))
    assert e.value.code == code
    assert any(_query(c.request)["variables"].get("after") for c in route.calls)   # page one was read
    if code == "XD-QUOTA-001":
        assert e.value.retry_after_s == 4.0          # (702 - 302) points at 100 a second


def _publish_handler(create_answer: dict, calls: list[str]):
    def handler(request):
        body = _query(request)
        q = body["query"]
        name = q.split("(", 1)[0].split()[-1]
        calls.append(name)
        if "productVariants(" in q and "mutation" not in q:
            return httpx.Response(200, json={"data": {"productVariants": {
                "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}})
        if "productCreate" in q:
            return httpx.Response(200, json={"data": {"productCreate": create_answer}})
        if "productVariantsBulkUpdate" in q:
            v = body["variables"]["variants"][0]
            return httpx.Response(200, json={"data": {"productVariantsBulkUpdate": {"productVariants": [
                {"id": v["id"], "sku": "MUG-NEW", "price": v.get("price"),
                 "inventoryItem": {"id": "gid://shopify/InventoryItem/900"}}], "userErrors": []}}})
        if "inventorySetQuantities" in q:
            return httpx.Response(200, json=fixture("inventory_set_ok.json"))
        raise AssertionError(f"unexpected query {q[:80]}")

    return handler


@respx.mock
def test_publish_listing_parses_the_created_product_and_reports_rejections(conn):
    product = Product(sku="MUG-NEW", title="Enamel mug", price=eur("12.50"), quantity=4, hs_code="732393",
                      country_of_origin="PT")
    created = {"product": {"id": "gid://shopify/Product/77", "variants": {"nodes": [
        {"id": "gid://shopify/ProductVariant/88", "inventoryItem": {"id": "gid://shopify/InventoryItem/900"}}]}},
        "userErrors": []}
    calls: list[str] = []
    route = respx.post(GRAPHQL).mock(side_effect=_publish_handler(created, calls))
    result = conn.publish_listing(product)
    assert result.ok and result.message == "created gid://shopify/Product/77"
    setup = next(_query(c.request) for c in route.calls if "productVariantsBulkUpdate" in _query(c.request)["query"])
    assert setup["variables"]["productId"] == "gid://shopify/Product/77"
    assert setup["variables"]["variants"][0]["id"] == "gid://shopify/ProductVariant/88"
    assert setup["variables"]["variants"][0]["price"] == "12.50"           # money as exact text
    # Shopify's own rejection is a failed result (XD-PLATFORM-003), with nothing sent after it
    rejected = {"product": None, "userErrors": [{"field": ["product", "title"], "message": "Title is too long"}]}
    calls.clear()
    respx.post(GRAPHQL).mock(side_effect=_publish_handler(rejected, calls))
    result = conn.publish_listing(Product(sku="MUG-NEW-2", title="Mug", price=eur("5")))
    assert (result.ok, result.code) == (False, "XD-PLATFORM-003") and "product.title: Title is too long" in result.message
    assert not any("productVariantsBulkUpdate" in c or "inventorySetQuantities" in c for c in calls)
    # an answer without the product it claims to have made is unreadable, not a success
    respx.post(GRAPHQL).mock(side_effect=_publish_handler({"product": None, "userErrors": []}, []))
    with pytest.raises(MappingError) as e:
        conn.publish_listing(Product(sku="MUG-NEW-3", title="Mug", price=eur("5")))
    assert e.value.code == "XD-MAP-010"


# ------------------------------------------------------------------ a timeout on every call
class RecordingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, dict(request.extensions.get("timeout") or {})))
        return super().handle_request(request)


def test_every_call_goes_out_with_a_timeout():
    sb = start_sandbox("crossdock-eu", seed=44)
    try:
        desc = sb.describe()
        transport = RecordingTransport()
        settings = sandbox_settings(desc, "shopify", timeout_s=4.5)
        channel = settings.channel
        conn = ShopifyConnector(settings, token_store=MemoryTokenStore([sandbox_token_state(desc, "shopify")]),
                                clock=ScaledClock.from_description(desc["clock"]), transport=transport)
        sim = sb.sims["shopify"]
        try:
            start = conn.clock.now() - dt.timedelta(minutes=5)
            oid = sim.place_order(channel, [(SKUS[0], 1)], buyer_country="IT")
            time.sleep(conn.clock.to_real_s(conn.safety_lag_s + 5))
            conn.fetch_orders(OrderQuery(start=start, end=conn.window_end()))
            conn.push_stock([StockUpdate(s, 9) for s in SKUS])
            conn.push_prices([PriceUpdate(SKUS[1], eur("30.00"))])
            conn.read_listings()
            assert conn.publish_listing(Product(sku="T-NEW", title="Timeout tote", price=eur("15.00"), quantity=2)).ok
            conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1ZT", conn.clock.now()))
        finally:
            conn.close()
        paths = [p for p, _ in transport.seen]
        assert any(p.endswith("/oauth/access_token") for p in paths) and len(paths) >= 8
        assert [(p, t) for p, t in transport.seen
                if t != {"connect": 4.5, "read": 4.5, "write": 4.5, "pool": 4.5}] == []
    finally:
        sb.stop()


@respx.mock
def test_the_wait_of_a_throttled_call_is_given_in_real_seconds():
    # Given a connector on a sandbox clock running 600 times faster than real time
    store = MemoryTokenStore([TokenState(channel="shopify:crossdock-eu", access_token="shpat_ok",
                                         access_expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30),
                                         refresh_token="shprt_ok")])
    settings = ShopifySettings(channel="shopify:crossdock-eu", shop="crossdock-eu", client_id="cid",
                               client_secret="secret", location_id=LOCATION, max_throttle_retries=1)
    slept: list[float] = []
    c = ShopifyConnector(settings, token_store=store, clock=ScaledClock.starting_now(600), sleep=slept.append)
    respx.post(GRAPHQL).mock(return_value=httpx.Response(200, json=fixture("throttled.json")))
    try:
        with pytest.raises(QuotaError) as e:
            c.read_listings(["MUG-BLUE"])
    finally:
        c.close()
    # Then the 4 platform seconds Shopify's bucket needs are 4/600 real seconds, reported (not slept:
    # the caller's thread is freed and the job runs again then)
    assert e.value.code == "XD-QUOTA-001"
    assert slept == [] and e.value.retry_after_s == pytest.approx(4 / 600)
