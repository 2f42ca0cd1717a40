"""The Shopify connector end to end against the sandbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crossdock.connectors.base import Connector, OrderQuery
from crossdock.errors import AuthError, MappingError, OrderError
from crossdock.models import (
    Money,
    OrderStatus,
    PriceUpdate,
    Product,
    ShipmentConfirmation,
    StockUpdate,
)
from crossdock.sandbox.core import Fault
from tests.connectors.shopify.shopify_env import CHANNEL, SKUS, Importer, ShopifyEnv, import_until


def eur(x: str) -> Money:
    return Money(Decimal(x), "EUR")


def place(env, n, *, countries=("DE", "FR", "CH", "GB", "SE")):
    return [env.sim.place_order(CHANNEL, [(SKUS[i % 3], 1 + i % 2)], buyer_country=countries[i % len(countries)])
            for i in range(n)]


def test_it_is_a_connector(env):
    assert isinstance(env.conn, Connector)
    assert env.conn.stock_calls_needed(0) == 0
    assert env.conn.stock_calls_needed(250) == 1 and env.conn.stock_calls_needed(251) == 2


def test_import_orders_in_windows_each_once_with_lines(env):
    start = env.clock.now() - dt.timedelta(minutes=5)
    ids = set(place(env, 23))
    big = env.sim.place_order(CHANNEL, [(s, 1) for s in SKUS[:7]], buyer_country="IT")   # 7 lines > 5 inline
    env.wait_platform_s(env.conn.safety_lag_s + 5)
    importer = Importer()
    import_until(env.conn, importer, cursor=start, until=env.conn.window_end())
    assert set(importer.orders) == ids | {big}
    assert all(n == 1 for n in importer.inserts.values())
    order = importer.orders[big]
    assert [ln.sku for ln in order.lines] == list(SKUS[:7])
    assert len(order.raw["lineItems"]["nodes"]) == 7
    ch = next(o for o in importer.orders.values() if o.buyer_country == "CH")
    assert ch.total.currency == "EUR" and ch.raw["presentmentCurrencyCode"] == "CHF"
    assert ch.raw["dutiesIncluded"] is True
    # pages: 24 orders at 10 a page, plus one page for the big order's remaining lines
    assert len(env.requests(operation="graphql")) >= 4
    # a window that ends too close to "now" is refused: the search index trails writes
    with pytest.raises(OrderError) as e:
        env.conn.fetch_orders(OrderQuery(start=start, end=env.clock.now()))
    assert e.value.code == "XD-ORD-001" and e.value.retry_after_s > 0


def test_late_payment_and_cancellation_show_up_in_later_windows(env):
    env.sim.configure(pending_payment_probability=1.0)
    start = env.clock.now() - dt.timedelta(minutes=5)
    (oid,) = place(env, 1)
    env.wait_platform_s(env.conn.safety_lag_s + 5)
    importer = Importer()
    cursor = import_until(env.conn, importer, cursor=start, until=env.conn.window_end())
    assert importer.orders[oid].status is OrderStatus.PENDING
    shop = env.sim.shops["crossdock-eu"]
    shop.orders[int(oid)].pay_at = env.clock.timestamp()
    env.wait_platform_s(env.conn.safety_lag_s + 30)      # the sandbox ticks every 20 ms real = 12 s here
    cursor = import_until(env.conn, importer, cursor=cursor, until=env.conn.window_end())
    assert importer.orders[oid].status is OrderStatus.UNSHIPPED
    env.sim.cancel_order(shop, shop.orders[int(oid)])
    env.wait_platform_s(env.conn.safety_lag_s + 5)
    import_until(env.conn, importer, cursor=cursor, until=env.conn.window_end())
    assert importer.orders[oid].status is OrderStatus.CANCELLED and importer.inserts[oid] == 1


def test_push_stock_compare_and_set_and_set(env):
    listed = env.sim.listed(CHANNEL)
    results = env.conn.push_stock([StockUpdate("SKU-0", 12, expected_current=listed["SKU-0"]),
                                   StockUpdate("SKU-1", 3), StockUpdate("UNKNOWN", 4)])
    assert [(r.sku, r.ok, r.code) for r in results] == [("SKU-0", True, None), ("SKU-1", True, None),
                                                        ("UNKNOWN", False, "XD-PLATFORM-002")]
    assert env.sim.listed(CHANNEL)["SKU-0"] == 12 and env.sim.listed(CHANNEL)["SKU-1"] == 3
    # a sale on Shopify since crossdock's read: stale -> re-read -> sent again once
    env.sim.place_order(CHANNEL, [("SKU-0", 2)], buyer_country="DE")
    (r,) = env.conn.push_stock([StockUpdate("SKU-0", 8, expected_current=12)])
    assert r.ok and env.sim.listed(CHANNEL)["SKU-0"] == 8
    assert env.sb.market.listed_history[(CHANNEL, "SKU-0")][-1][1] == 8


def test_push_stock_batches_at_250(env):
    # 300 updates of 8 SKUs: duplicates collapse to the last one per SKU, so one call
    updates = [StockUpdate(SKUS[i % 8], i) for i in range(300)]
    before = len(env.requests(operation="graphql"))
    results = env.conn.push_stock(updates)
    assert all(r.ok for r in results)
    assert {s: q for s, q in env.sim.listed(CHANNEL).items()} == {SKUS[i % 8]: i for i in range(292, 300)}
    sets = [r for r in env.requests(operation="graphql")[before:]]
    assert len(sets) == 2        # one SKU lookup + one inventorySetQuantities


def test_push_prices_grouped_per_product(env):
    results = env.conn.push_prices([PriceUpdate("SKU-2", eur("19.99")), PriceUpdate("SKU-3", eur("7.50")),
                                    PriceUpdate("SKU-4", Money(Decimal("9"), "USD"))])
    assert [(r.ok, r.code) for r in results] == [(True, None), (True, None), (False, "XD-MAP-004")]
    shop = env.sim.shops["crossdock-eu"]
    assert shop.variant_by_sku("SKU-2").price == Decimal("19.99")
    offers = {o.sku: o for o in env.conn.read_listings(["SKU-2", "SKU-3", "MISSING"])}
    assert set(offers) == {"SKU-2", "SKU-3"}
    assert offers["SKU-3"].price == eur("7.50") and offers["SKU-3"].quantity == 50


def test_confirm_shipment(env):
    (oid,) = place(env, 1)
    env.conn.confirm_shipment(ShipmentConfirmation(oid, "dhl_express", "JD0001", env.clock.now()))
    shop = env.sim.shops["crossdock-eu"]
    order = shop.orders[int(oid)]
    assert order.fulfillment_status == "FULFILLED"
    (f,) = [shop.fulfillments[i] for i in order.fulfillment_ids]
    assert f.tracking[0]["company"] == "DHL Express" and f.tracking[0]["number"] == "JD0001"
    assert f.tracking[0]["url"] and "JD0001" in f.tracking[0]["url"]
    from crossdock.errors import ShippingError

    with pytest.raises(ShippingError) as e:
        env.conn.confirm_shipment(ShipmentConfirmation(oid, "dhl_express", "JD0001", env.clock.now()))
    assert e.value.code == "XD-SHIP-005"


def test_partial_shipment_then_the_rest(env):
    oid = env.sim.place_order(CHANNEL, [("SKU-5", 3), ("SKU-6", 1)], buyer_country="AT")
    order = env.sim.shops["crossdock-eu"].orders[int(oid)]
    line5 = str(next(ln.id for ln in order.lines if ln.sku == "SKU-5"))
    env.conn.confirm_shipment(ShipmentConfirmation(oid, "ups", "1Z1", env.clock.now(), lines=((line5, 2),)))
    assert order.fulfillment_status == "PARTIALLY_FULFILLED"
    env.conn.confirm_shipment(ShipmentConfirmation(oid, "gls", "GLS2", env.clock.now()))
    assert order.fulfillment_status == "FULFILLED"


def test_cancelled_order_cannot_be_shipped(env):
    from crossdock.errors import PlatformError

    (oid,) = place(env, 1)
    shop = env.sim.shops["crossdock-eu"]
    env.sim.cancel_order(shop, shop.orders[int(oid)])
    with pytest.raises(PlatformError) as e:
        env.conn.confirm_shipment(ShipmentConfirmation(oid, "dhl", "X", env.clock.now()))
    assert e.value.code == "XD-PLATFORM-007"


def test_publish_listing_validates_first_then_creates(env):
    before = len(env.requests())
    with pytest.raises(MappingError) as e:
        env.conn.publish_listing(Product("NEW-1", "x" * 256, price=eur("5")))
    assert e.value.code == "XD-MAP-002" and len(env.requests()) == before
    with pytest.raises(MappingError) as e:
        env.conn.publish_listing(Product("NEW-1", "Fine", price=Money(Decimal("5"), "GBP")))
    assert e.value.code == "XD-MAP-004"
    result = env.conn.publish_listing(Product("NEW-1", "Leather wallet", price=eur("39.00"), quantity=6,
                                              hs_code="420231", country_of_origin="IT", description="<p>Wallet</p>"))
    assert result.ok and result.message.startswith("created gid://shopify/Product/")
    assert env.sim.listed(CHANNEL)["NEW-1"] == 6
    item = env.sim.shops["crossdock-eu"].items[env.sim.shops["crossdock-eu"].variant_by_sku("NEW-1").inventory_item_id]
    assert (item.hs_code, item.country_of_origin) == ("420231", "IT")
    again = env.conn.publish_listing(Product("NEW-1", "Leather wallet, brown", price=eur("41.00")))
    assert again.ok and again.message.startswith("updated")
    (offer,) = env.conn.read_listings(["NEW-1"])
    assert offer.price == eur("41.00") and offer.quantity == 6 and offer.status == "ACTIVE"


def test_read_all_listings(env):
    offers = env.conn.read_listings()
    assert {o.sku for o in offers} == set(SKUS)
    assert all(o.quantity == 50 and o.price.currency == "EUR" for o in offers)


def test_more_skus_than_one_search_holds_are_read_from_the_variant_pages(env):
    import dataclasses

    from crossdock.connectors.shopify import ShopifyConnector

    # Given a connector that searches at most 2 SKUs by SKU in one query
    conn = ShopifyConnector(dataclasses.replace(env.settings, sku_batch_size=2), token_store=env.store,
                            clock=env.clock)
    try:
        conn.location_id()
        seen = len(env.requests(operation="graphql"))
        # When 5 SKUs (one unknown) are read back
        offers = conn.read_listings(["SKU-6", "SKU-1", "NOPE", "SKU-3", "SKU-1"])
    finally:
        conn.close()
    # Then one page of the shop's variants answers them all (not 3 searches), each SKU once, in order
    calls = env.requests(operation="graphql")[seen:]
    assert len(calls) == 1
    assert [(o.sku, o.quantity, o.price) for o in offers] == [
        ("SKU-6", 50, eur("16.00")), ("SKU-1", 50, eur("11.00")), ("SKU-3", 50, eur("13.00"))]


def test_variant_pages_cost_at_most_what_one_query_may_cost():
    from crossdock.connectors.shopify import mapping as m
    from crossdock.connectors.shopify import queries
    from crossdock.connectors.shopify.mapping.cost import estimate_cost

    first = m.variants_page_size()
    cost = estimate_cost(queries.VARIANTS_BY_SKU, {"first": first, "query": "", "after": None, "location": "x"})
    more = estimate_cost(queries.VARIANTS_BY_SKU, {"first": first + 1, "query": "", "after": None, "location": "x"})
    assert cost <= 1000 < more and first <= 250


def test_token_expiring_mid_run_is_refreshed_without_a_failed_call(env):
    env.sim.configure(access_token_ttl_s=400.0)        # refreshed 300 s (the margin) before expiry
    seen_refresh_tokens = set()
    deadline = env.clock.now() + dt.timedelta(seconds=700)
    while env.clock.now() < deadline:
        assert env.conn.read_listings(["SKU-0"])[0].sku == "SKU-0"
        seen_refresh_tokens.add(env.store.load(CHANNEL).refresh_token)
        env.wait_platform_s(40)
    graphql = env.requests(operation="graphql")
    assert graphql and all(r["status"] == 200 for r in graphql)        # no 401, nothing retried
    assert env.conn.client.auth.refreshes >= 3 and len(seen_refresh_tokens) >= 3
    assert all(r["status"] == 200 for r in env.requests(operation="oauth"))


def test_revoked_refresh_token_is_xd_auth_002(env):
    env.conn.read_listings(["SKU-0"])
    env.sim.auth_scenario("revoke_refresh_token", "crossdock-eu")
    env.sim.auth_scenario("expire_access_tokens", "crossdock-eu")
    with pytest.raises(AuthError) as e:
        env.conn.read_listings(["SKU-1"])
    assert e.value.code == "XD-AUTH-002"


def test_rotated_client_secret_is_xd_auth_004(env):
    env.conn.read_listings(["SKU-0"])
    env.sim.auth_scenario("revoke_client_secret", "crossdock-eu")
    with pytest.raises(AuthError) as e:
        env.conn.read_listings(["SKU-1"])
    assert e.value.code == "XD-AUTH-004"


def test_503_storm_loses_no_order_and_imports_each_once(env):
    start = env.clock.now() - dt.timedelta(minutes=5)
    ids = set(place(env, 35))
    env.wait_platform_s(env.conn.safety_lag_s + 5)
    env.conn.read_listings(["SKU-0"])      # token refreshed before the storm, for a clean count below
    env.sb.faults.add(Fault(kind="html_503", platform="shopify", operation="graphql", probability=0.4))
    importer = Importer()
    import_until(env.conn, importer, cursor=start, until=env.conn.window_end())
    env.sb.faults.clear()
    assert set(importer.orders) == ids
    assert all(n == 1 for n in importer.inserts.values())
    assert importer.updates == {}              # retried windows re-read nothing as changed
    assert "XD-NET-003" in importer.failures
    assert sum(len(o.lines) for o in importer.orders.values()) == 35


def test_throttle_storm_with_the_quota_budget(env):
    from crossdock.ratelimit.backends.memory import MemoryBackend
    from crossdock.ratelimit.budget import QuotaBudget

    budget = QuotaBudget(MemoryBackend(), time_scale=env.clock.time_scale)
    budgeted = ShopifyEnv(budget=budget)
    try:
        start = budgeted.clock.now() - dt.timedelta(minutes=5)
        ids = set(place(budgeted, 12))
        budgeted.wait_platform_s(budgeted.conn.safety_lag_s + 5)
        budgeted.sb.faults.add(Fault(kind="throttle", platform="shopify", operation="graphql", probability=0.3))
        importer = Importer()
        import_until(budgeted.conn, importer, cursor=start, until=budgeted.conn.window_end())
        assert set(importer.orders) == ids and all(n == 1 for n in importer.inserts.values())
        stats = budgeted.sb.stats.as_dict()["shopify"]["crossdock-eu"]["graphql"]
        assert stats["throttled"] > 0 and budgeted.conn.client.throttled > 0
    finally:
        budgeted.close()


def test_an_imported_order_carries_what_support_and_customs_need(env):
    # Given a buyer in Switzerland paying in CHF for items whose inventory items carry HS code and origin
    start = env.clock.now() - dt.timedelta(minutes=5)
    oid = env.sim.place_order(CHANNEL, [("SKU-1", 2), ("SKU-2", 1)], buyer_country="CH")
    env.wait_platform_s(env.conn.safety_lag_s + 5)
    # When the order is imported
    importer = Importer()
    import_until(env.conn, importer, cursor=start, until=env.conn.window_end())
    order = importer.orders[oid]
    rec = env.sim.shops["crossdock-eu"].orders[int(oid)]
    # Then every line has its title, its price in both currencies, and the platform's customs codes
    assert [(ln.sku, ln.title, ln.hs_code, ln.country_of_origin) for ln in order.lines] == [
        ("SKU-1", "Product SKU-1", "420292", "IT"), ("SKU-2", "Product SKU-2", "420292", "IT")]
    assert [ln.unit_price.amount for ln in order.lines] == [r.unit_price for r in rec.lines]
    assert [ln.presentment_unit_price for ln in order.lines] == [
        Money(r.unit_price_presentment, "CHF") for r in rec.lines]
    # and the order its shipping and the buyer's total beside the shop's
    assert order.shipping == Money(rec.shipping, "EUR")
    assert order.presentment_shipping == Money(rec.shipping_presentment, "CHF")
    assert order.presentment_total is not None and order.presentment_total.currency == "CHF"
    assert order.total.currency == "EUR"
