"""Usage plans, seller isolation, faults and the marketplace side of the
Amazon sandbox (buyers, admin seeding, stats)."""

from __future__ import annotations

import time

import pytest

from crossdock.sandbox.amazon import AmazonSim
from crossdock.sandbox.amazon.state import FeedDocument
from crossdock.sandbox.core import Sandbox

US = "ATVPDKIKX0DER"
QUOTA = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                     "details": ""}]}


def _get_orders(amz):
    return amz.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z"})


def test_burst_then_quota_exceeded_then_refill(make_amz):
    # Given a sandbox where getOrders (0.0167/s, burst 20) refills one token in 6 real seconds
    with Sandbox(platforms=("amazon",), time_scale=10, seed=9) as sb:
        amz = make_amz(sb)
        statuses = [_get_orders(amz).status_code for _ in range(21)]
        assert statuses[:20] == [200] * 20
        r = _get_orders(amz)
        assert r.status_code == 429 and r.json() == QUOTA
        assert "x-amzn-RateLimit-Limit" not in r.headers and r.headers["x-amzn-RequestId"]
        # other operations have buckets of their own
        assert amz.get("/orders/v0/orders/111-0000000-0000000").status_code == 404
        stats = sb.stats.as_dict()["amazon"][amz.seller]["getOrders"]
        assert stats["throttled"] >= 2 and stats["successes"] == 20
        amz.http.close()
    with Sandbox(platforms=("amazon",), time_scale=6000, seed=9) as sb:   # one token per 10 ms
        amz = make_amz(sb)
        for _ in range(20):
            _get_orders(amz)
        time.sleep(0.05)
        assert _get_orders(amz).status_code == 200
        amz.http.close()


def test_rate_limit_header_on_200_400_404(amz):
    assert _get_orders(amz).headers["x-amzn-RateLimit-Limit"] == "0.0167"
    r = amz.get("/orders/v0/orders", params={"MarketplaceIds": US})
    assert r.status_code == 400 and r.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    r = amz.get("/orders/v0/orders/111-0000000-0000000")
    assert r.status_code == 404 and r.headers["x-amzn-RateLimit-Limit"] == "0.5"


@pytest.fixture(scope="module")
def two_sellers(make_amz_module):
    sb = Sandbox(platforms=("amazon",), time_scale=600, seed=44)
    AmazonSim.install(sb, sellers=2)
    sb.start()
    a, b = make_amz_module(sb, 0), make_amz_module(sb, 1)
    yield a, b
    a.http.close()
    b.http.close()
    sb.stop()


def test_sellers_are_isolated(two_sellers):
    a, b = two_sellers
    a.list(US, "ISO-1", 5, "9.00")
    oid = a.order(US, "ISO-1", 1)
    a.settle(200)
    # b sees neither a's order nor a's listing
    assert b.get(f"/orders/v0/orders/{oid}").status_code == 404
    orders = b.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z"})
    assert orders.json()["payload"]["Orders"] == []
    assert b.get(f"/listings/2021-08-01/items/{a.seller}/ISO-1?marketplaceIds={US}").status_code == 403
    assert b.get(f"/listings/2021-08-01/items/{b.seller}/ISO-1?marketplaceIds={US}").status_code == 404
    # a's token does not work for b's refresh token, and quotas are per seller
    r = a.http.post(a.lwa, data=a.lwa_form(refresh_token=b.acct["refresh_token"]))
    assert r.status_code == 400
    for _ in range(20):
        a.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z"})
    stats = a.sb.stats.as_dict()["amazon"]
    assert stats[a.seller]["getOrders"]["calls"] >= 20 and stats[b.seller]["getOrders"]["calls"] == 1


def test_faults_in_amazons_formats(fresh):
    amz = fresh
    fault = amz.admin("POST", "/faults", json={"kind": "throttle", "platform": "amazon", "operation": "getOrders",
                                               "count": 1}).json()
    r = _get_orders(amz)
    assert (r.status_code, r.json()) == (429, QUOTA)
    assert _get_orders(amz).status_code == 200
    amz.admin("POST", "/faults", json={"kind": "malformed_json", "platform": "amazon", "operation": "getOrders",
                                       "count": 1})
    r = _get_orders(amz)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    amz.admin("POST", "/faults", json={"kind": "html_503", "platform": "amazon", "count": 1})
    r = _get_orders(amz)
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert fault["id"]


def test_buyers_admin_seed_and_stats(fresh):
    amz = fresh
    channel = amz.channel(US)
    r = amz.admin("POST", "/seed", json={
        "catalogue": [{"sku": "B-1", "title": "Blue mug", "price": "10.00", "currency": "USD", "stock": 30}],
        "listings": {channel: {"B-1": 12}, amz.channel("A1PA6795UKMFR9"): {"B-1": 4}}})
    assert r.status_code == 200
    channels = amz.admin("GET", "/channels").json()
    assert channels[channel]["listed"] == {"B-1": 12}
    # the DE listing got a default EUR price from the USD catalogue
    assert amz.sim.listings[amz.channel("A1PA6795UKMFR9")]["B-1"].price == __import__("decimal").Decimal("9.20")
    oid = amz.admin("POST", "/buy", json={"channel": channel}).json()["order_id"]
    assert oid and amz.sim.orders[oid].channel == channel
    assert amz.sim.listed(channel)["B-1"] < 12
    stats = amz.admin("GET", "/stats").json()
    assert stats["platforms"]["amazon"]["orders"][channel]
    assert stats["market"]["skus"]["B-1"]["channels"][channel]["units_sold"] >= 1
    # scripted buyers keep buying while running
    amz.admin("POST", "/buyers", json={"channels": {channel: {"orders_per_min": 600, "cancel_probability": 0}},
                                       "running": True})
    time.sleep(0.3)
    amz.admin("POST", "/buyers", json={"running": False})
    assert len([o for o in amz.sim.orders.values() if o.channel == channel]) > 1


def test_a_long_run_forgets_dead_tokens_pages_and_documents(make_amz):
    # Given a sandbox where a real second is more than a platform day
    with Sandbox(platforms=("amazon",), time_scale=100_000, seed=12) as sb:
        amz = make_amz(sb)
        token = amz.new_token()
        sim = amz.sim
        with sim.lock:
            sim.documents["doc-1"] = FeedDocument("doc-1", amz.seller, "application/json", sim.now())
            sim.pages[(amz.seller, "page-1")] = {"ids": [], "expires_at": sim.now() + 60}
        assert token in sim.tokens
        # When more than a platform day and an hour have passed
        time.sleep(0.95)
        sim.advance()
        # Then the expired token, the old document and any page tokens are gone
        assert token not in sim.tokens and not sim.documents and not sim.pages
        amz.http.close()
