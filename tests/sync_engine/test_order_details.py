"""Orders keep what the platform gives that support and customs need
(issue 14): imported through the engine from the sandbox and read back from
the database — on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crossdock.db.models import Order, OrderLine
from crossdock.sync_engine.jobs import import_orders
from tests.sync_engine.catalog_env import catalog_env
from tests.sync_engine.support import wait_ticking


def test_a_cross_border_shop_order_is_stored_with_both_currencies_shipping_and_customs_codes(db, tmp_path,
                                                                                             monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        channel = "shopify-eu"
        import_orders(env.ctx, channel)           # the first import: what came before is history
        # Given a Swiss buyer pays in CHF for two units of a product the shop gave an HS code
        sim, key = env.sim(channel), env.sb_channels[channel]
        oid = sim.place_order(key, [("XD-0001", 2)], buyer_country="CH")
        rec = sim.shops[key.split(":", 1)[1]].orders[int(oid)]
        assert rec.presentment_currency == "CHF" and rec.shipping > 0

        def stored() -> bool:
            with env.db.read() as s:
                return s.scalar(select(Order.id).where(Order.platform_order_id == oid)) is not None

        # When the engine imports it
        wait_ticking(f"order {oid} imported", stored, tick=lambda: import_orders(env.ctx, channel))
        with env.db.read() as s:
            order = s.scalar(select(Order).where(Order.platform_order_id == oid))
            [line] = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        # Then the database holds the shop's and the buyer's amounts, shipping and tax, and the codes
        assert (order.currency, order.presentment_currency) == ("EUR", "CHF")
        assert order.shipping_amount == rec.shipping and order.presentment_shipping == rec.shipping_presentment
        assert order.presentment_total is not None and order.presentment_total > 0
        assert order.tax_amount is not None
        assert line.title and line.presentment_unit_price == rec.lines[0].unit_price_presentment
        shop = sim.shops[key.split(":", 1)[1]]
        item = shop.items[shop.variants[rec.lines[0].variant_id].inventory_item_id]     # the shop's own record
        assert item.hs_code
        assert (line.hs_code, line.country_of_origin) == (item.hs_code, item.country_of_origin)
        assert line.unit_price == Decimal(rec.lines[0].unit_price)


def _amazon_origin(listing, country: str) -> None:        # the listing's country_of_origin attribute
    listing.attributes["country_of_origin"] = [{"value": country, "marketplace_id": "A1PA6795UKMFR9"}]


def _ebay_origin(listing, country: str) -> None:          # the inventory item's item specific, a country name
    listing.product["aspects"] = {"Country/Region of Manufacture": [{"PT": "Portugal"}[country]]}


@pytest.mark.parametrize("channel, set_origin", [("amazon-de", _amazon_origin), ("ebay-uk", _ebay_origin)])
def test_a_marketplace_whose_orders_carry_no_customs_codes_gets_the_listings_product_data(db, tmp_path, monkeypatch,
                                                                                         channel, set_origin):
    """Amazon's and eBay's order items carry no HS code or origin; their
    product data does (Amazon: the listing's ``country_of_origin`` attribute;
    eBay: the inventory item's "Country/Region of Manufacture"). `listings
    pull` keeps it, and an order line of the SKU gets it on import — the
    platform's value, before the catalogue's (a customs form uses the
    catalogue's first, then the line's)."""
    from crossdock.catalog.listings import pull_listings
    from crossdock.console.orders import order_doc
    from crossdock.db.models import ChannelListing, Product
    from crossdock.ratelimit.waits import inline_waits

    with catalog_env(tmp_path, monkeypatch, db) as env, inline_waits(5.0):     # Amazon's quota: waited out
        sku = "XD-0002"
        import_orders(env.ctx, channel)
        sim, key = env.sim(channel), env.sb_channels[channel]
        # Given the seller's listing says the product is made in Portugal (the catalogue: none)
        with sim.lock:
            set_origin(sim.listings[key][sku], "PT")
        with env.db.write() as s:
            s.query(Product).filter(Product.sku == sku).update({"country_of_origin": None})
        # When the listings are pulled and a buyer orders it
        doc = pull_listings(env.ctx, [channel])
        assert doc["exit_code"] in (0, 4), doc
        with env.db.read() as s:
            stored = s.scalar(select(ChannelListing).where(ChannelListing.channel == channel,
                                                           ChannelListing.sku == sku))
        assert stored.country_of_origin == "PT"
        oid = sim.place_order(key, [(sku, 1)], buyer_country="FR")

        def stored_order() -> bool:
            with env.db.read() as s:
                return s.scalar(select(func.count()).select_from(OrderLine).join(Order)
                                .where(Order.platform_order_id == oid)) == 1

        wait_ticking(f"order {oid} imported", stored_order, tick=lambda: import_orders(env.ctx, channel))
        # Then the order line carries the platform's origin, and the order page shows it
        with env.db.read() as s:
            [line] = s.scalars(select(OrderLine).join(Order).where(Order.platform_order_id == oid))
            [page] = order_doc(s, oid)
        assert line.country_of_origin == "PT" and line.hs_code is None
        assert page["lines"][0]["country_of_origin"] == "PT"
