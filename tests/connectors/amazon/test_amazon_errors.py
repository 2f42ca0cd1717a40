"""Error handling of the Amazon connector, on recorded error payloads (respx):
every Amazon / LWA failure becomes the right crossdock code, tokens are
refreshed once when Amazon says they expired, throttling goes back to the
caller with its wait."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import httpx
import pytest
import respx

from crossdock.clock import Clock
from crossdock.connectors.amazon import AmazonConnector
from crossdock.connectors.base import MemoryTokenStore, OrderQuery, TokenState
from crossdock.errors import AuthError, MappingError, NetError, OrderError, PlatformError, QuotaError, ShippingError
from crossdock.models import Money, PriceUpdate, Product, ShipmentConfirmation, StockUpdate
from crossdock.ratelimit.budget import Grant

SP = "https://sp.test"
LWA = "https://lwa.test/auth/o2/token"
UTC = dt.timezone.utc
ORDERS = f"{SP}/orders/v0/orders"


def lwa_ok(token="Atza|one", expires_in=3600):
    return httpx.Response(200, json={"access_token": token, "refresh_token": "Atzr|refresh", "token_type": "bearer",
                                     "expires_in": expires_in})


class FakeBudget:
    def __init__(self):
        self.acquired, self.responses = [], []

    def attempt(self, platform, account, operation, *, cost=1, priority=None):
        self.acquired.append((platform, account, operation))
        return Grant(True, 0, None, platform, account, operation, operation)

    def on_response(self, platform, account, operation, *, status, headers=None, cost_report=None):
        self.responses.append((operation, status, (headers or {}).get("x-amzn-ratelimit-limit")))


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def conn(settings, sleeps):
    c = AmazonConnector(settings, store=MemoryTokenStore(), clock=Clock(), sleep=sleeps.append)
    yield c
    c.close()


def _window(conn):
    end = conn.latest_window_end()
    return {"start": end - dt.timedelta(hours=1), "end": end}


def _empty_orders():
    return httpx.Response(200, json={"payload": {"Orders": []}}, headers={"x-amzn-RateLimit-Limit": "0.0167"})


@respx.mock
def test_expired_token_is_refreshed_once_and_the_call_retried(conn, fixture):
    lwa = respx.post(LWA).mock(side_effect=[lwa_ok("Atza|one"), lwa_ok("Atza|two")])
    route = respx.get(ORDERS).mock(side_effect=[
        httpx.Response(403, json=fixture("error_token_expired.json")), _empty_orders()])
    assert list(conn.fetch_orders(OrderQuery(**_window(conn)))) == []
    assert lwa.call_count == 2 and route.call_count == 2
    assert route.calls[0].request.headers["x-amz-access-token"] == "Atza|one"
    assert route.calls[1].request.headers["x-amz-access-token"] == "Atza|two"
    form = dict(x.split("=") for x in lwa.calls[0].request.content.decode().split("&"))
    assert form["grant_type"] == "refresh_token" and form["client_id"].startswith("amzn1.application-oa2-client")


@respx.mock
def test_a_fresh_token_rejected_again_is_auth_001(conn, fixture):
    respx.post(LWA).mock(side_effect=[lwa_ok("Atza|one"), lwa_ok("Atza|two")])
    respx.get(ORDERS).mock(return_value=httpx.Response(403, json=fixture("error_token_revoked.json")))
    with pytest.raises(AuthError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-AUTH-001" and "freshly refreshed" in err.value.detail


@respx.mock
def test_revoked_refresh_token_is_auth_002(conn, fixture):
    respx.post(LWA).mock(side_effect=[lwa_ok("Atza|one"),
                                      httpx.Response(400, json=fixture("lwa_invalid_grant.json"))])
    respx.get(ORDERS).mock(return_value=httpx.Response(403, json=fixture("error_token_revoked.json")))
    with pytest.raises(AuthError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-AUTH-002" and "invalid_grant" in err.value.detail
    assert "Atzr|refresh" not in str(err.value.to_dict())


@respx.mock
def test_invalid_grant_after_the_authorisation_end_date_is_auth_003(settings, fixture):
    store = MemoryTokenStore([TokenState(channel=settings.channel, refresh_token="Atzr|refresh",
                                         authorisation_expires_at=dt.datetime.now(UTC) - dt.timedelta(days=1))])
    respx.post(LWA).mock(return_value=httpx.Response(400, json=fixture("lwa_invalid_grant.json")))
    with AmazonConnector(settings, store=store) as conn, pytest.raises(AuthError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-AUTH-003"


@respx.mock
def test_rejected_client_secret_is_auth_004(conn, fixture):
    respx.post(LWA).mock(return_value=httpx.Response(401, json=fixture("lwa_invalid_client.json")))
    with pytest.raises(AuthError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-AUTH-004"


@respx.mock
def test_throttling_is_reported_with_the_wait_and_not_slept_in_the_call(conn, fixture, sleeps):
    # Given Amazon answers 429 QuotaExceeded
    respx.post(LWA).mock(return_value=lwa_ok())
    quota = httpx.Response(429, json=fixture("error_quota_exceeded.json"))
    route = respx.get(ORDERS).mock(side_effect=[quota, _empty_orders()])
    # When the window is read, then the caller gets XD-QUOTA-001 with one token at getOrders' rate
    # (real seconds) to wait; the call is neither slept on nor sent again (the engine waits, freed)
    with pytest.raises(QuotaError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-QUOTA-001" and err.value.retry_after_s == pytest.approx(59.88, abs=0.01)
    assert route.call_count == 1 and sleeps == []
    # And the job's next run reads the window
    assert list(conn.fetch_orders(OrderQuery(**_window(conn)))) == []


@respx.mock
def test_html_503_and_malformed_bodies_are_never_an_empty_result(conn):
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.get(ORDERS).mock(return_value=httpx.Response(
        503, text="<!DOCTYPE html><html><body>Service Unavailable</body></html>", headers={"content-type": "text/html"}))
    with pytest.raises(NetError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-NET-003"
    respx.get(ORDERS).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(NetError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-NET-004"
    respx.get(ORDERS).mock(return_value=httpx.Response(200, content=b'{"payload":{"Orders":[',
                                                         headers={"content-type": "application/json"}))
    with pytest.raises(NetError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-NET-004"
    respx.get(ORDERS).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NetError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-NET-002"


@respx.mock
def test_failure_on_an_items_page_raises_mid_window(conn, fixture):
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.get(ORDERS).mock(return_value=httpx.Response(200, json=fixture("getOrders_200.json")))
    respx.get(url__regex=r".*/orderItems$").mock(side_effect=[
        httpx.Response(200, json=fixture("getOrderItems_200.json")), *[httpx.Response(500, text="oops")] * 3])
    seen = []
    with pytest.raises(NetError):
        for order in conn.fetch_orders(OrderQuery(**_window(conn))):
            seen.append(order.platform_order_id)
    assert seen == ["902-1845936-5435065"]


@respx.mock
def test_two_minute_rule_and_window_end_checks(conn):
    respx.post(LWA).mock(return_value=lwa_ok())
    with pytest.raises(OrderError) as err:
        conn.fetch_orders(OrderQuery(start=dt.datetime(2026, 1, 1, tzinfo=UTC), end=Clock().now()))
    assert err.value.code == "XD-ORD-001" and 110 < err.value.retry_after_s <= 121
    assert list(conn.fetch_orders(OrderQuery(start=conn.latest_window_end(),
                                  end=conn.latest_window_end() - dt.timedelta(seconds=1)))) == []
    rule = {"errors": [{"code": "InvalidInput", "message": "The input you have submitted is not valid. ... please "
                        "provide a date that is at least 2 minutes before current time and try again.",
                        "details": ""}]}
    respx.get(ORDERS).mock(return_value=httpx.Response(400, json=rule))
    with pytest.raises(OrderError) as err:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-ORD-001"


@respx.mock
def test_confirm_shipment_rejection_is_platform_007(conn, fixture):
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.post(f"{ORDERS}/902-1106328-1059050/shipmentConfirmation").mock(
        return_value=httpx.Response(400, json=fixture("confirmShipment_400.json")))
    conf = ShipmentConfirmation("902-1106328-1059050", "fedex", "112345678", dt.datetime(2026, 1, 1, tzinfo=UTC),
                                lines=(("79039765272157", 1),))
    with pytest.raises(PlatformError) as err:
        conn.confirm_shipment(conf)
    assert err.value.code == "XD-PLATFORM-007"
    with pytest.raises(MappingError) as err:
        conn.confirm_shipment(ShipmentConfirmation("1", "pigeon", "T", dt.datetime(2026, 1, 1, tzinfo=UTC),
                                                   lines=(("a", 1),)))
    assert err.value.code == "XD-MAP-012"


@respx.mock
def test_confirm_shipment_builds_the_request_and_refuses_a_shipped_order(conn, fixture):
    respx.post(LWA).mock(return_value=lwa_ok())
    items = fixture("getOrderItems_200.json")
    respx.get(f"{ORDERS}/902-1845936-5435065/orderItems").mock(return_value=httpx.Response(200, json=items))
    route = respx.post(f"{ORDERS}/902-1845936-5435065/shipmentConfirmation").mock(return_value=httpx.Response(204))
    conf = ShipmentConfirmation("902-1845936-5435065", "yanwen", "YW1", dt.datetime(2026, 1, 1, tzinfo=UTC))
    conn.confirm_shipment(conf)
    sent = json.loads(route.calls[0].request.content)
    assert sent["marketplaceId"] == "ATVPDKIKX0DER"
    assert sent["packageDetail"]["carrierCode"] == "Yanwen"
    assert sent["packageDetail"]["orderItems"] == [{"orderItemId": "05015851154158", "quantity": 1}]
    items["payload"]["OrderItems"][0]["QuantityShipped"] = 1
    respx.get(f"{ORDERS}/902-1845936-5435065/orderItems").mock(return_value=httpx.Response(200, json=items))
    with pytest.raises(ShippingError) as err:
        conn.confirm_shipment(conf)
    assert err.value.code == "XD-SHIP-005"


@respx.mock
def test_listing_errors_become_item_results(conn, fixture):
    respx.post(LWA).mock(return_value=lwa_ok())
    base = f"{SP}/listings/2021-08-01/items/A1SELLERSANDBOX"
    respx.patch(f"{base}/GOOD").mock(return_value=httpx.Response(200, json={
        "sku": "GOOD", "status": "ACCEPTED", "submissionId": "1", "issues": []}))
    respx.patch(f"{base}/BAD").mock(return_value=httpx.Response(200, json=fixture("patchListingsItem_invalid.json")))
    respx.patch(f"{base}/ODD").mock(return_value=httpx.Response(400, json={"errors": [
        {"code": "InvalidInput", "message": "Invalid input", "details": "x"}]}))
    results = conn.push_stock([StockUpdate("GOOD", 1), StockUpdate("BAD", 1), StockUpdate("ODD", 1),
                               StockUpdate("NEG", -1)])
    assert [(r.sku, r.ok, r.code) for r in results] == [
        ("GOOD", True, None), ("BAD", False, "XD-PLATFORM-003"), ("ODD", False, "XD-PLATFORM-001"),
        ("NEG", False, "XD-INV-005")]
    results = conn.push_prices([PriceUpdate("GOOD", Money(Decimal("5"), "EUR")),
                                PriceUpdate("ZERO", Money(Decimal("0"), "USD"))])
    assert [r.code for r in results] == ["XD-MAP-004", "XD-MAP-003"]
    # a SKU the search does not find, and one it cannot name (a comma: read alone, 404), are NOT_FOUND
    respx.get(base).mock(return_value=httpx.Response(200, json={"numberOfResults": 0, "items": []}))
    respx.get(f"{base}/GONE,2").mock(return_value=httpx.Response(404, json={"errors": [
        {"code": "NOT_FOUND", "message": "SKU 'GONE,2' not found in marketplace ATVPDKIKX0DER", "details": ""}]}))
    gone, gone2 = conn.read_listings(["GONE", "GONE,2"])
    assert (gone.sku, gone.status, gone.quantity) == ("GONE", "NOT_FOUND", None)
    assert (gone2.sku, gone2.status, gone2.quantity) == ("GONE,2", "NOT_FOUND", None)


def test_publish_listing_validates_before_any_call(conn):
    ok = dict(sku="P", title="Mug", price=Money(Decimal("5"), "USD"), attributes={"brand": "Acme"})
    cases = [({"title": "x" * 201}, "XD-MAP-002"), ({"price": None}, "XD-MAP-003"),
             ({"price": Money(Decimal("0"), "USD")}, "XD-MAP-003"), ({"price": Money(Decimal("5"), "EUR")}, "XD-MAP-004"),
             ({"attributes": {}}, "XD-MAP-001"), ({"title": " "}, "XD-MAP-001"),
             ({"images": [f"https://img/{n}.jpg" for n in range(10)]}, "XD-MAP-008")]
    with respx.mock(assert_all_called=False) as mock:
        for change, code in cases:
            with pytest.raises(MappingError) as err:
                conn.publish_listing(Product(**{**ok, **change}))
            assert err.value.code == code
        assert not mock.calls


@respx.mock
def test_feed_fatal_is_platform_004_and_a_stuck_feed_times_out(conn, settings):
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.post(f"{SP}/feeds/2021-06-30/documents").mock(return_value=httpx.Response(
        201, json={"feedDocumentId": "D1", "url": "https://s3.test/D1?sig=1"}))
    upload = respx.put("https://s3.test/D1?sig=1").mock(return_value=httpx.Response(200))
    respx.post(f"{SP}/feeds/2021-06-30/feeds").mock(return_value=httpx.Response(202, json={"feedId": "F1"}))
    respx.get(f"{SP}/feeds/2021-06-30/feeds/F1").mock(return_value=httpx.Response(200, json={
        "feedId": "F1", "feedType": "JSON_LISTINGS_FEED", "createdTime": "2026-01-01T00:00:00Z",
        "processingStatus": "FATAL"}))
    updates = [StockUpdate(f"S{n}", n) for n in range(settings.feed_threshold + 1)]
    with pytest.raises(PlatformError) as err:
        conn.push_stock(updates)
    assert err.value.code == "XD-PLATFORM-004" and err.value.retryable
    assert upload.calls[0].request.headers["content-type"] == "application/json; charset=UTF-8"
    assert "x-amz-access-token" not in upload.calls[0].request.headers
    respx.get(f"{SP}/feeds/2021-06-30/feeds/F1").mock(return_value=httpx.Response(200, json={
        "feedId": "F1", "feedType": "JSON_LISTINGS_FEED", "createdTime": "2026-01-01T00:00:00Z",
        "processingStatus": "IN_PROGRESS"}))
    clock = FakeClock()
    slow = AmazonConnector(settings, clock=clock, sleep=clock.advance)
    with pytest.raises(NetError) as err:
        slow.push_stock(updates)
    slow.close()
    assert err.value.code == "XD-NET-002"


@respx.mock
def test_restricted_data_token_refused_is_auth_006(conn):
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.post(f"{SP}/tokens/2021-03-01/restrictedDataToken").mock(return_value=httpx.Response(403, json={
        "errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]}))
    with pytest.raises(AuthError) as err:
        conn.fetch_shipping_address("111-0000000-0000000")
    assert err.value.code == "XD-AUTH-006"


@respx.mock
def test_budget_is_asked_before_and_told_after_every_call(settings):
    budget = FakeBudget()
    respx.post(LWA).mock(return_value=lwa_ok())
    respx.get(ORDERS).mock(return_value=_empty_orders())
    with AmazonConnector(settings, budget=budget) as conn:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert budget.acquired == [("amazon", "A1SELLERSANDBOX", "getOrders")]
    assert budget.responses == [("getOrders", 200, "0.0167")]


@respx.mock
def test_one_refresh_serves_concurrent_callers(settings):
    lwa = respx.post(LWA).mock(return_value=lwa_ok())
    respx.get(ORDERS).mock(return_value=_empty_orders())
    store = MemoryTokenStore()
    conns = [AmazonConnector(settings, store=store) for _ in range(4)]
    threads = [threading.Thread(target=lambda c=c: list(c.fetch_orders(OrderQuery(**_window(c))))) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    assert lwa.call_count == 1
    assert store.load(settings.channel).access_token == "Atza|one"


@respx.mock
def test_token_is_refreshed_a_margin_before_expiry(settings):
    lwa = respx.post(LWA).mock(side_effect=[lwa_ok("Atza|one"), lwa_ok("Atza|two")])
    respx.get(ORDERS).mock(return_value=_empty_orders())
    clock = FakeClock()
    with AmazonConnector(settings, clock=clock) as conn:
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
        clock.advance(3600 - settings.refresh_margin_s - 10)
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
        assert lwa.call_count == 1
        clock.advance(20)           # now inside the margin: refresh before Amazon would refuse
        list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert lwa.call_count == 2


class FakeClock(Clock):
    """A clock tests move by hand (its sleep advances it)."""

    def __init__(self):
        self.t = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC).timestamp()

    def now(self):
        return dt.datetime.fromtimestamp(self.t, UTC)

    def timestamp(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds


class WaitingBudget(FakeBudget):
    def attempt(self, platform, account, operation, *, cost=1, priority=None):
        super().attempt(platform, account, operation)
        return Grant(False, 2500, "XD-QUOTA-003", platform, account, operation, operation)


@respx.mock
def test_a_local_budget_wait_goes_straight_back_to_the_caller(settings, sleeps):
    respx.post(LWA).mock(return_value=lwa_ok())
    route = respx.get(ORDERS).mock(return_value=_empty_orders())
    with AmazonConnector(settings, budget=WaitingBudget(), sleep=sleeps.append) as conn:
        with pytest.raises(QuotaError) as err:
            list(conn.fetch_orders(OrderQuery(**_window(conn))))
    assert err.value.code == "XD-QUOTA-003" and err.value.retry_after_s == 2.5
    assert sleeps == [] and route.call_count == 0


def test_the_connector_meets_the_engine_protocol(conn):
    from crossdock.connectors.base import Connector

    assert isinstance(conn, Connector)
    assert conn.platform == "amazon" and conn.channel == "amazon-us"
    assert conn.safety_lag_s == 120 and conn.overlap_s >= 0
    assert [conn.stock_calls_needed(n) for n in (0, 1, 10, 11, 25_000, 25_001)] == [0, 1, 10, 4, 4, 8]
