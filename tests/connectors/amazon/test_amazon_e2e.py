"""The Amazon connector against the in-process Amazon sandbox: import orders,
push stock and prices, publish, read back, confirm shipments, and survive
expiring tokens, revoked credentials and a 503 storm."""

from __future__ import annotations

import collections
import datetime as dt
import time
from decimal import Decimal

import httpx
import pytest

from crossdock.clock import ScaledClock
from crossdock.connectors.amazon import AmazonConnector
from crossdock.connectors.base import MemoryTokenStore, OrderQuery, TokenState
from crossdock.errors import AuthError, CrossdockError, OrderError
from crossdock.models import Money, OrderStatus, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.rehearsal import sandbox_settings
from crossdock.sandbox.core import Sandbox

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
SCALE = 600.0


class Env:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.desc = sb.describe()
        self.block = self.desc["amazon"]
        self.clock = ScaledClock.from_description(self.desc["clock"])
        self.sim = sb.sims["amazon"]
        self.seller = self.block["accounts"][0]["seller_id"]
        self.start = self.clock.now() - dt.timedelta(hours=1)
        self.http = httpx.Client(timeout=10)

    def channel(self, mp: str) -> str:
        return f"amazon:{self.seller}:{mp}"

    def connector(self, mp: str = US, *, store=None, **options) -> AmazonConnector:
        options.setdefault("feed_poll_s", 15)
        settings = sandbox_settings(self.desc, "amazon", marketplace=mp, **options)
        return AmazonConnector(settings, store=store or MemoryTokenStore(), clock=self.clock)

    def settle(self, platform_s: float) -> None:
        time.sleep(platform_s / self.sb.time_scale)

    def admin(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, self.sb.admin_url + path, **kw)

    def log(self, operation: str | None = None) -> list[dict]:
        return self.sb.requests.since(0, platform="amazon", operation=operation, limit=100_000)

    def window(self, conn: AmazonConnector) -> dict:
        return {"start": self.start, "end": conn.latest_window_end()}


@pytest.fixture(scope="module")
def env():
    sb = Sandbox(platforms=("amazon",), time_scale=SCALE, seed=77).start()
    e = Env(sb)
    for n in range(20):
        e.sim.set_listing(e.channel(US), f"E-{n:02d}", 50, Decimal("10.00") + n)
        e.sim.set_listing(e.channel(DE), f"E-{n:02d}", 50, Decimal("9.50") + n)
    yield e
    e.http.close()
    sb.stop()


@pytest.fixture
def fresh_env():
    sb = Sandbox(platforms=("amazon",), time_scale=SCALE, seed=78).start()
    e = Env(sb)
    e.sim.set_listing(e.channel(US), "F-1", 10, Decimal("5.00"))
    yield e
    e.http.close()
    sb.stop()


def test_import_orders_with_every_page_and_line(env):
    # Given twelve orders on Amazon.com, some shipped abroad
    placed = {}
    for n in range(12):
        country = "CA" if n % 4 == 0 else "US"
        oid = env.sim.place_order(env.channel(US), [(f"E-{n:02d}", 1 + n % 2)], buyer_country=country)
        placed[oid] = (f"E-{n:02d}", 1 + n % 2, country)
    env.settle(200)
    before = len(env.log("getOrders"))
    # When the connector imports the window five orders per page
    with env.connector(page_size=5) as conn:
        orders = list(conn.fetch_orders(OrderQuery(**env.window(conn))))
    # Then every order comes once, with its lines, money and buyer country
    mine = {o.platform_order_id: o for o in orders if o.platform_order_id in placed}
    assert set(mine) == set(placed) and len(orders) == len({o.platform_order_id for o in orders})
    assert len(env.log("getOrders")) - before == 3
    for oid, (sku, qty, country) in placed.items():
        order = mine[oid]
        assert order.status is OrderStatus.UNSHIPPED and order.buyer_country == country
        (line,) = order.lines
        assert (line.sku, line.quantity) == (sku, qty)
        assert line.unit_price == Money(Decimal("10.00") + int(sku[2:]), "USD")
        assert order.total.currency == "USD" and order.total.amount >= line.unit_price.amount * qty
    assert mine[next(o for o, v in placed.items() if v[2] == "US")].tax.model == "MarketplaceFacilitator"


def test_eu_order_keeps_ioss_data(env):
    oid = env.sim.place_order(env.channel(DE), [("E-05", 2)], buyer_country="IT")
    env.settle(200)
    with env.connector(DE) as conn:
        order = next(o for o in conn.fetch_orders(OrderQuery(**env.window(conn))) if o.platform_order_id == oid)
        assert order.total == Money(Decimal("29.00"), "EUR") and order.buyer_country == "IT"
        assert order.tax.scheme == "IOSS" and order.tax.ioss_number and order.tax.model == "MarketplaceFacilitator"
        assert order.lines[0].tax.tax_amount == Money(Decimal("5.23"), "EUR")      # 22 % Italian VAT inside
        # and a single order reads the same through getOrder
        again = conn.fetch_order(oid)
        assert again.tax == order.tax and again.lines == order.lines


def test_known_orders_are_not_fetched_again(env):
    oid = env.sim.place_order(env.channel(US), [("E-01", 1)], buyer_country="US")
    env.settle(200)
    with env.connector() as conn:
        orders = list(conn.fetch_orders(OrderQuery(**env.window(conn))))
        known = {o.platform_order_id: o.updated_at for o in orders}
        calls = len(env.log("getOrderItems"))
        assert list(conn.fetch_orders(OrderQuery(**env.window(conn), known_updates=known))) == []
        assert len(env.log("getOrderItems")) == calls
        assert oid in known


def test_a_known_order_that_only_changed_status_is_read_without_its_items(env):
    # Given two stored orders, one then shipped in full, the other cancelled
    shipped = env.sim.place_order(env.channel(US), [("E-01", 1)], buyer_country="US")
    cancelled = env.sim.place_order(env.channel(US), [("E-02", 1)], buyer_country="US")
    env.settle(200)
    with env.connector() as conn:
        known = {o.platform_order_id: o.updated_at for o in conn.fetch_orders(OrderQuery(**env.window(conn)))}
        conn.confirm_shipment(ShipmentConfirmation(shipped, "ups", "1Z009", env.clock.now()))
        env.sim.cancel_order(cancelled)
        env.settle(200)
        calls = len(env.log("getOrderItems"))
        changed = {o.platform_order_id: o for o in conn.fetch_orders(OrderQuery(**env.window(conn), known_updates=known))}
    # Then both come back with their new status; only the cancel (units back on sale) reads items again
    assert changed[shipped].platform_status == "Shipped" and changed[shipped].lines == []
    assert changed[cancelled].platform_status == "Canceled" and [ln.sku for ln in changed[cancelled].lines] == ["E-02"]
    assert len(env.log("getOrderItems")) == calls + 1


def test_window_end_must_respect_the_two_minute_rule(env):
    with env.connector() as conn:
        with pytest.raises(OrderError) as err:
            conn.fetch_orders(OrderQuery(start=env.start, end=env.clock.now()))
        assert err.value.code == "XD-ORD-001"
        assert err.value.retry_after_s == pytest.approx(120 / SCALE, abs=0.05)


def _quota_calls(env, since: int) -> collections.Counter:
    counted = collections.Counter()
    for e in env.sb.requests.since(since, platform="amazon", limit=100_000):
        if e["account"] != "-":
            counted[e["operation"]] += 1
    return counted


def _seq(env) -> int:
    entries = env.sb.requests.since(0, limit=100_000)
    return entries[-1]["seq"] if entries else 0


def test_push_stock_few_by_patch_many_by_feed(env):
    with env.connector() as conn:
        seq = _seq(env)
        results = conn.push_stock([StockUpdate("E-00", 7), StockUpdate("E-01", 8), StockUpdate("NO-SUCH", 1)])
        assert [(r.sku, r.ok) for r in results] == [("E-00", True), ("E-01", True), ("NO-SUCH", False)]
        assert results[2].code == "XD-PLATFORM-003"
        assert env.sim.listed(env.channel(US))["E-00"] == 7
        assert sum(_quota_calls(env, seq).values()) == conn.stock_calls_needed(3) == 3

        seq = _seq(env)
        updates = [StockUpdate(f"E-{n:02d}", 30 + n) for n in range(15)] + [StockUpdate("NO-SUCH", 2)]
        results = conn.push_stock(updates)
        assert [r.ok for r in results] == [True] * 15 + [False]
        assert results[-1].code == "XD-PLATFORM-003" and "does not exist" in results[-1].message
        listed = env.sim.listed(env.channel(US))
        assert all(listed[f"E-{n:02d}"] == 30 + n for n in range(15))
        calls = _quota_calls(env, seq)
        assert calls["createFeedDocument"] == calls["createFeed"] == calls["getFeedDocument"] == 1
        assert calls["getFeed"] >= 1 and "patchListingsItem" not in calls
        assert sum(calls.values()) - calls["getFeed"] + 1 == conn.stock_calls_needed(16) == 4
        uploads = [e for e in env.sb.requests.since(seq, limit=100_000) if e["operation"] == "uploadFeedDocument"]
        assert len(uploads) == 1 and uploads[0]["status"] == 200


def test_push_prices_and_read_back(env):
    with env.connector(DE) as conn:
        results = conn.push_prices([PriceUpdate("E-02", Money(Decimal("17.49"), "EUR")),
                                    PriceUpdate("E-03", Money(Decimal("3"), "USD"))])
        assert [r.ok for r in results] == [True, False] and results[1].code == "XD-MAP-004"
        many = [PriceUpdate(f"E-{n:02d}", Money(Decimal("20.00") + Decimal(n) / 100, "EUR")) for n in range(4, 16)]
        assert all(r.ok for r in conn.push_prices(many))
        offers = {o.sku: o for o in conn.read_listings(["E-02", "E-04", "E-15", "GHOST"])}
        assert offers["E-02"].price == Money(Decimal("17.49"), "EUR")
        assert offers["E-15"].price == Money(Decimal("20.15"), "EUR")
        assert offers["E-04"].quantity == 50 and offers["E-04"].listing_id.startswith("B0")
        assert offers["GHOST"].status == "NOT_FOUND"
        everything = conn.read_listings()
        assert {o.sku for o in everything} >= {f"E-{n:02d}" for n in range(20)}


def test_many_skus_are_read_twenty_a_search(env):
    # Given the 20 listings E-00..E-19 in DE, a SKU Amazon does not know, and one with a comma
    wanted = [f"E-{n:02d}" for n in range(20)] + ["GHOST-1", "GHOST,2"]
    with env.connector(DE) as conn:
        seq = _seq(env)
        # When the 22 SKUs are read back
        offers = conn.read_listings(wanted)
    # Then two searches name the 21 searchable SKUs (20 + 1) and the comma SKU is read alone
    assert _quota_calls(env, seq) == {"searchListingsItems": 2, "getListingsItem": 1}
    assert [o.sku for o in offers] == wanted
    listed = env.sim.listed(env.channel(DE))          # the sandbox's own view (other tests changed some)
    assert [o.quantity for o in offers[:20]] == [listed[sku] for sku in wanted[:20]]
    assert offers[19].price == Money(Decimal("28.50"), "EUR")
    assert [o.status for o in offers[20:]] == ["NOT_FOUND", "NOT_FOUND"]


def test_publish_listing(env):
    with env.connector() as conn:
        product = Product(sku="NEW-MUG", title="Stoneware mug, 350 ml", price=Money(Decimal("14.90"), "USD"),
                          description="Dishwasher safe.", attributes={"brand": "Crossdock Ceramics"}, quantity=9,
                          country_of_origin="PT", hs_code="6912.00")
        assert conn.publish_listing(product).ok
        (offer,) = conn.read_listings(["NEW-MUG"])
        assert offer.quantity == 9 and offer.price == Money(Decimal("14.90"), "USD")
        # Amazon's own rules that local checks do not know come back as a failed result
        bad = conn.publish_listing(Product(sku="NEW-BAD", title="Mug", price=Money(Decimal("5"), "USD"),
                                           attributes={"brand": "X"}, quantity=-3))
        assert not bad.ok and bad.code == "XD-PLATFORM-003" and "fulfillment_availability" in bad.message


def test_confirm_shipment_all_lines_and_partial(env):
    oid = env.sim.place_order(env.channel(US), [("E-07", 3)], buyer_country="US")
    env.settle(40)
    with env.connector() as conn:
        item_id = env.sim.orders[oid].items[0].order_item_id
        conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z001", env.clock.now(), lines=((item_id, 1),)))
        assert env.sim.orders[oid].status == "PartiallyShipped"
        conn.confirm_shipment(ShipmentConfirmation(oid, "usps", "9400111", env.clock.now()))
        order = env.sim.orders[oid]
        assert order.status == "Shipped" and [p.carrier_code for p in order.packages] == ["UPS", "USPS"]
        assert order.packages[1].items == ((item_id, 2),)


def test_buyer_address_through_a_restricted_data_token(env):
    oid = env.sim.place_order(env.channel(US), [("E-08", 1)], buyer_country="US")
    env.settle(40)
    with env.connector() as conn:
        address = conn.fetch_shipping_address(oid)
        assert address.name and address.line1 and address.country_code == "US"
        other = env.sim.place_order(env.channel(US), [("E-08", 1)], buyer_country="US")
        env.settle(40)
        assert conn.fetch_shipping_address(other).postal_code
    assert len(env.log("createRestrictedDataToken")) == 1          # one RDT serves both orders


def test_an_access_token_expiring_mid_run_is_refreshed_without_a_failed_call():
    # Given a sandbox where an access token lives one real second, refreshed a third of a
    # real second early (1200 platform s: more than a slow call takes on a busy machine)
    with Sandbox(platforms=("amazon",), time_scale=3600, seed=79) as sb:
        env = Env(sb)
        env.sim.set_listing(env.channel(US), "T-1", 100, Decimal("3.00"))
        with env.connector(refresh_margin_s=1200) as conn:
            # When the connector keeps importing for more than three token lifetimes
            deadline = time.monotonic() + 2.2
            imported: dict = {}      # as the engine does: stored orders are not read again
            while time.monotonic() < deadline:
                env.sim.place_order(env.channel(US), [("T-1", 1)], buyer_country="US")
                for o in conn.fetch_orders(OrderQuery(**env.window(conn), known_updates=imported)):
                    imported[o.platform_order_id] = o.updated_at
                time.sleep(0.02)
            # Then it refreshed ahead of expiry and Amazon never refused a call
            assert conn.client.auth.refreshes >= 3
            statuses = collections.Counter(e["status"] for e in env.log())
            assert all(s < 400 for s in statuses), statuses
            assert imported
        env.http.close()


def test_a_token_expired_by_amazon_is_refreshed_and_the_call_retried(fresh_env):
    env = fresh_env
    with env.connector() as conn:
        list(conn.fetch_orders(OrderQuery(**env.window(conn))))
        env.admin("POST", "/auth/amazon/expire_access_tokens", json={})
        assert list(conn.fetch_orders(OrderQuery(**env.window(conn)))) == []
        assert conn.client.auth.refreshes == 2
        assert [e["status"] for e in env.log("getOrders")] == [200, 403, 200]


def test_revoked_refresh_token_is_auth_002(fresh_env):
    env = fresh_env
    with env.connector() as conn:
        list(conn.fetch_orders(OrderQuery(**env.window(conn))))
        env.admin("POST", "/auth/amazon/revoke_refresh_token", json={})
        with pytest.raises(AuthError) as err:
            list(conn.fetch_orders(OrderQuery(**env.window(conn))))
        assert err.value.code == "XD-AUTH-002"
        with pytest.raises(AuthError):
            conn.push_stock([StockUpdate("F-1", 1)])


def test_lapsed_authorisation_is_auth_003(fresh_env):
    env = fresh_env
    lapsed = env.admin("POST", "/auth/amazon/expire_authorisation", json={}).json()["authorisation_expired_at"]
    from crossdock.clock import parse_iso

    store = MemoryTokenStore([TokenState(channel=env.channel(US), authorisation_expires_at=parse_iso(lapsed))])
    with env.connector(store=store) as conn, pytest.raises(AuthError) as err:
        list(conn.fetch_orders(OrderQuery(**env.window(conn))))
    assert err.value.code == "XD-AUTH-003"


def test_revoked_client_secret_is_auth_004(fresh_env):
    env = fresh_env
    env.admin("POST", "/auth/amazon/revoke_client_secret", json={})
    with env.connector() as conn, pytest.raises(AuthError) as err:
        conn.push_stock([StockUpdate("F-1", 1)])
    assert err.value.code == "XD-AUTH-004"


def test_a_503_storm_loses_no_order_and_imports_each_once(fresh_env, no_transient_retries):
    # (no retry within a call: every 503 reaches the window, whose retry is what is tested)
    env = fresh_env
    # Given 15 paid orders and a platform answering one call in four with an HTML 503
    env.sim.set_listing(env.channel(US), "F-1", 100, Decimal("5.00"))
    placed = {env.sim.place_order(env.channel(US), [("F-1", 1)], buyer_country="US") for _ in range(15)}
    env.settle(200)
    for op in ("getOrders", "getOrderItems"):
        env.admin("POST", "/faults", json={"kind": "html_503", "platform": "amazon", "operation": op,
                                           "probability": 0.25})
    # When the engine retries the same window until it completes (its cursor does not move before)
    stored: dict[str, object] = {}
    yielded = collections.Counter()
    failures = 0
    with env.connector() as conn:
        window = env.window(conn)
        for _attempt in range(80):
            try:
                for order in conn.fetch_orders(OrderQuery(**window, known_updates={k: v.updated_at for k, v in stored.items()})):
                    yielded[order.platform_order_id] += 1
                    stored[order.platform_order_id] = order
                break
            except CrossdockError as exc:
                assert exc.retryable and exc.code in ("XD-NET-003", "XD-QUOTA-001"), exc
                failures += 1
        else:
            pytest.fail("the window never completed")
    env.admin("DELETE", "/faults")
    # Then no order is lost and each was imported exactly once
    assert failures > 0
    assert set(stored) == placed
    assert set(yielded.values()) == {1}
