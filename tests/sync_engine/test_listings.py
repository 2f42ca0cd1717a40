"""Publishing listings against the sandbox: a product is checked against the
channel's listing rules, published at the channel's price, recorded with its
platform ids and given its stock by the stock push; a listing refused by
crossdock's rules or by the platform keeps the code on a ``rejected`` row and
is tried again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from crossdock.db.models import Product, StockLevel
from crossdock.mapping.inventory_rules import listed_quantity, stock_rule_from_config
from crossdock.sync_engine.jobs.listings import publish_listings
from crossdock.sync_engine.jobs import push_stock
from tests.sync_engine.catalog_env import CHANNELS, catalog_env

# Jobs run here in the test's own thread sleep through short quota waits, as a person's
# command does (tests/sync_engine/test_quota_wait_actor.py covers how a worker waits).
pytestmark = pytest.mark.usefixtures("quota_waits_slept")

D = Decimal

LISTING_RULES = """
[rules.listings.amazon-us.categories]
map = {"Clothing/Shirts" = "SHIRT"}

[rules.listings.amazon-de.categories]
map = {"Clothing/Shirts" = "SHIRT"}

[rules.listings.ebay-uk.categories]
map = {"Clothing/Shirts" = "57990", "Odd" = "not-a-number"}
"""

IMAGE = {"url": "https://img.example/shirt.jpg", "width": 1600, "height": 1600}


def _add_product(env, sku: str, *, title: str, category: str, stock: int) -> None:
    with env.db.write() as s:
        s.add(Product(sku=sku, title=title, category=category, description=f"{title}, 100% linen",
                      attributes={"brand": "Acme", "condition": "NEW"}, images=[IMAGE],
                      base_price=D("30.00"), base_currency="EUR", hs_code="620520", country_of_origin="PT"))
        s.flush()
        s.add(StockLevel(sku=sku, warehouse="DE", bin="R1-01", on_hand=stock))


def test_publish_validates_records_and_the_stock_push_gives_the_quantity(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db, extra_config=LISTING_RULES) as env:
        # Given three new products: a good shirt, one filed under a category eBay does not
        # accept, and one whose title is too long for eBay (80 characters)
        _add_product(env, "NEW-SHIRT", title="Linen shirt", category="Clothing/Shirts/Linen", stock=10)
        _add_product(env, "NEW-ODD", title="Odd thing", category="Odd", stock=4)
        _add_product(env, "NEW-LONG", title="Linen shirt " + "with a very long description " * 4,
                     category="Clothing/Shirts", stock=4)

        # When the listings job runs on every channel
        results = {ch: publish_listings(env.ctx, ch) for ch in CHANNELS}

        # Then the shirt is live everywhere at the channel's price (30 EUR through each price rule)
        prices = {"amazon-us": D("39.99"), "amazon-de": D("33.50"), "ebay-uk": D("29.50"), "shopify-eu": D("30.99")}
        for ch in CHANNELS:
            assert "NEW-SHIRT" in results[ch]["published"], results[ch]
            assert env.price(ch, "NEW-SHIRT") == prices[ch], ch
            row = env.listing(ch, "NEW-SHIRT")
            assert row.status == "active" and row.last_pushed_price == prices[ch] and row.listing_id, ch
            assert row.last_pushed_qty is None          # unknown until the stock push
            assert env.dirty_count(ch, "NEW-SHIRT") == 1     # marked with the listing, in its transaction
        ebay_row = env.listing("ebay-uk", "NEW-SHIRT")
        assert ebay_row.platform_ids["kind"] == "inventory" and ebay_row.platform_ids["offer_id"]
        # ... and no buyer can buy it yet: it was published without a quantity
        assert all(env.listed(ch).get("NEW-SHIRT", 0) == 0 for ch in CHANNELS)

        # And eBay refused the unknown category itself: the row is rejected with the platform's code
        odd = env.listing("ebay-uk", "NEW-ODD")
        assert odd.status == "rejected" and odd.platform_ids["rejection"]["code"] == "XD-PLATFORM-003"
        assert "category" in odd.platform_ids["rejection"]["message"]
        # ... Amazon has no category mapping for it: refused by crossdock before any call
        amazon_odd = env.listing("amazon-us", "NEW-ODD")
        assert amazon_odd.status == "rejected" and amazon_odd.platform_ids["rejection"]["code"] == "XD-MAP-007"
        # ... and the long title never reached eBay
        long_row = env.listing("ebay-uk", "NEW-LONG")
        assert long_row.status == "rejected" and long_row.platform_ids["rejection"]["code"] == "XD-MAP-002"
        assert "NEW-LONG" not in env.sim("ebay-uk").listings[env.sb_channels["ebay-uk"]]
        assert sorted((r["sku"], r["code"]) for r in results["ebay-uk"]["rejected"]) == [
            ("NEW-LONG", "XD-MAP-002"), ("NEW-ODD", "XD-PLATFORM-003")]
        assert {(e.outcome, e.code) for e in env.events("listing.publish", sku="NEW-ODD", channel="ebay-uk")} == {
            ("failed", "XD-PLATFORM-003")}

        # When the stock push runs
        for ch in CHANNELS:
            push_stock(env.ctx, ch)
        # Then the new listing shows its share of the 10 units on every channel
        for ch in CHANNELS:
            rule = stock_rule_from_config(env.cfg.channel(ch).stock, where=ch)
            assert env.listed(ch)["NEW-SHIRT"] == listed_quantity(10, rule), ch
            assert env.listing(ch, "NEW-SHIRT").last_pushed_qty == listed_quantity(10, rule)
        assert "NEW-ODD" not in env.listed("ebay-uk")      # the rejected listing got no stock

        # When the title is fixed and the job runs again
        with env.db.write() as s:
            s.execute(update(Product).where(Product.sku == "NEW-LONG").values(title="Linen shirt, long sleeves"))
        again = publish_listings(env.ctx, "ebay-uk")
        # Then the listing is published; the platform's refusal is tried again and refused again
        assert again["published"] == ["NEW-LONG"] and again["candidates"] == 2
        assert [(r["sku"], r["code"]) for r in again["rejected"]] == [("NEW-ODD", "XD-PLATFORM-003")]
        fixed = env.listing("ebay-uk", "NEW-LONG")
        assert fixed.status == "active" and "rejection" not in fixed.platform_ids
        assert env.price("ebay-uk", "NEW-LONG") == D("29.50")
        # ... and a channel where everything is listed has nothing to do
        assert publish_listings(env.ctx, "shopify-eu") == {
            "channel": "shopify-eu", "candidates": 0, "published": [], "rejected": [], "more": False}
