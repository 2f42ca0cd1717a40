"""`crossdock listings pull | list | link` against the in-process sandbox, with
listings the seller made on every platform before crossdock (eBay: Inventory
API and legacy Trading listings), some with SKUs crossdock does not know."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock.catalog.listings import link_listing, list_listings, pull_listings
from crossdock.db.models import Product
from crossdock.errors import ConfigError, InventoryError, PlatformError
from crossdock.mapping.inventory_rules import listed_quantity, stock_rule_from_config
from crossdock.sync_engine import jobs
from tests.catalog.env import listings_env

# Jobs run here in the test's own thread sleep through short quota waits, as a person's command does.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quota_waits_slept")]


def catalogue(env, skus: dict[str, int]) -> None:
    """Products with stock in warehouse DE."""
    with env.db.write() as s:
        for sku in skus:
            s.add(Product(sku=sku, title=f"Product {sku}", base_price=Decimal("10"), base_currency="EUR"))
    env.stock(skus)


def share(env, channel: str, available: int) -> int:
    ch = env.cfg.channel(channel)
    return listed_quantity(available, stock_rule_from_config(ch.stock, where=channel))


def by_channel(doc) -> dict[str, dict]:
    return {c["channel"]: c for c in doc["channels"]}


def test_pull_links_by_sku_reports_unknown_and_conflicts_and_reconcile_sees_the_drift(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        # Given a catalogue with stock ...
        catalogue(env, {"A": 10, "B": 4, "C": 0, "D": 6, "DUP": 8})
        # ... and listings the seller made on the platforms, some crossdock does not know
        env.put("amazon-de", "A", 3)                                    # crossdock would list 2
        env.put("amazon-de", "B", 0)
        env.put("amazon-de", "UNK-AMZ", 5, "21.50", title="Copper kettle")
        env.put("ebay-uk", "A", 0)                                      # Inventory API; crossdock: 2
        # (showing nothing: a rise from 1 to 2 would wait for a call going anyway, docs/overselling.md)
        env.put("ebay-uk", "C", 7, legacy=True)                         # legacy; crossdock has none of C
        env.put("ebay-uk", "LEG-UNK", 1, "4.20", title="Old stock", legacy=True)
        env.put("shopify-eu", "D", 1)
        env.put("shopify-eu", "DUP", 2)
        env.put_twice_on_shopify("DUP", 3)                              # one SKU, two products
        env.put("shopify-eu", "SHOP-UNK", 4, title="Shop only")
        # ... and B already linked, by hand, to another Amazon listing
        with env.db.write() as s:
            from crossdock.db.models import ChannelListing

            s.add(ChannelListing(channel="amazon-de", sku="B", listing_id="B000WRONG1", status="active",
                                 last_pushed_qty=1))

        # When the listings are pulled
        doc = pull_listings(env.ctx)
        ch = by_channel(doc)

        # Then known SKUs are linked, unknown ones and conflicts reported with their codes
        assert doc["exit_code"] == 4 and doc["failed"] == []
        assert [d["sku"] for d in ch["amazon-de"]["linked_new"]] == ["A"]
        assert [d["sku"] for d in ch["ebay-uk"]["linked_new"]] == ["A", "C"]
        assert [d["sku"] for d in ch["shopify-eu"]["linked_new"]] == ["D"]
        assert ch["amazon-us"]["read"] == 0 and ch["amazon-us"]["linked_new"] == []
        unknown = {(c, u["sku"], u["code"]) for c, r in ch.items() for u in r["unknown"]}
        assert unknown == {("amazon-de", "UNK-AMZ", "XD-INV-004"), ("ebay-uk", "LEG-UNK", "XD-INV-004"),
                           ("shopify-eu", "SHOP-UNK", "XD-INV-004")}
        conflicts = {(c, x["sku"], x["code"]) for c, r in ch.items() for x in r["conflicts"]}
        assert conflicts == {("amazon-de", "B", "XD-INV-011"), ("shopify-eu", "DUP", "XD-INV-011")}
        assert "B000WRONG1" in ch["amazon-de"]["conflicts"][0]["message"]
        assert ch["shopify-eu"]["conflicts"][0]["message"].startswith("SKU DUP is listed 2 times on shopify-eu")

        # And each new row holds the platform's ids and what the channel shows now
        ebay = env.rows("ebay-uk")
        assert (ebay["C"].platform_ids["kind"], ebay["C"].listing_id) == ("trading", env.item_id("C"))
        assert (ebay["C"].last_pushed_qty, ebay["C"].listed_qty_seen, ebay["C"].status) == (7, 7, "active")
        assert ebay["A"].platform_ids["kind"] == "inventory" and ebay["A"].platform_ids["offer_id"] \
            and ebay["A"].listing_id == env.item_id("A")
        assert env.rows("amazon-de")["A"].listing_id.startswith("B0")
        assert env.rows("amazon-de")["B"].listing_id == "B000WRONG1"       # a conflict is left alone
        shop = env.rows("shopify-eu")["D"]
        assert shop.platform_ids["inventory_item_id"].startswith("gid://shopify/InventoryItem/") \
            and shop.last_pushed_qty == 1
        assert "DUP" not in env.rows("shopify-eu")

        # And the linked SKUs are marked dirty, so the engine pushes them
        assert {("amazon-de", "A"), ("ebay-uk", "A"), ("ebay-uk", "C"), ("shopify-eu", "D")} <= env.dirty()
        # And the drift is reported, and reconcile sees it
        assert ch["ebay-uk"]["drift"] == [{"sku": "A", "listed": 0, "expected": share(env, "ebay-uk", 10)},
                                          {"sku": "C", "listed": 7, "expected": 0}]
        rec = jobs.reconcile(env.ctx, "ebay-uk")
        assert {d["sku"]: (d["expected"], d["listed"]) for d in rec["drift"]} == {
            "A": (share(env, "ebay-uk", 10), 0), "C": (0, 7)}
        assert {d["sku"] for d in jobs.reconcile(env.ctx, "amazon-de")["drift"]} == {"A"}

        # When the engine's stock push runs, then the legacy listing shows crossdock's quantity
        jobs.push_stock(env.ctx, "ebay-uk")
        assert env.listed("ebay-uk")["C"] == 0 and env.listed("ebay-uk")["A"] == share(env, "ebay-uk", 10)
        assert jobs.reconcile(env.ctx, "ebay-uk")["drift"] == []

        # When pulled again, what is linked stays linked; the problems are still reported
        again = by_channel(pull_listings(env.ctx, ["ebay-uk", "shopify-eu"]))
        assert [d["sku"] for d in again["ebay-uk"]["linked_already"]] == ["A", "C"]
        assert again["ebay-uk"]["linked_new"] == [] and again["ebay-uk"]["drift"] == []
        assert [x["sku"] for x in again["shopify-eu"]["conflicts"]] == ["DUP"]

        # When pulled with adopt, unknown SKUs become products from the platform's data and are linked
        adopted = pull_listings(env.ctx, adopt=True)
        ch = by_channel(adopted)
        assert ch["amazon-de"]["adopted"] == ["UNK-AMZ"] and ch["ebay-uk"]["adopted"] == ["LEG-UNK"]
        assert ch["shopify-eu"]["adopted"] == ["SHOP-UNK"]
        assert adopted["totals"]["unknown"] == 0 and adopted["exit_code"] == 4      # the conflicts remain
        with env.db.read() as s:
            kettle = s.get(Product, "UNK-AMZ")
            old = s.get(Product, "LEG-UNK")
        assert (kettle.title, kettle.base_price, kettle.base_currency) == ("Copper kettle", Decimal("21.5000"), "EUR")
        assert (old.title, old.base_price, old.base_currency) == ("Old stock", Decimal("4.2000"), "GBP")
        assert env.rows("ebay-uk")["LEG-UNK"].platform_ids["kind"] == "trading"
        # an adopted SKU has no stock in crossdock: it is drift until stock is imported
        assert {d["sku"]: d["expected"] for d in ch["amazon-de"]["drift"]}.get("UNK-AMZ") == 0


def test_link_by_listing_id_and_its_refusals(db, tmp_path, monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        catalogue(env, {"NEW-NAME": 8, "OTHER": 1})
        # Given a legacy eBay listing whose SKU on eBay is not crossdock's
        env.put("ebay-uk", "OLD-NAME", 5, legacy=True)
        env.put("ebay-uk", "OTHER", 1)
        env.put("shopify-eu", "SHOP-OLD", 2)
        item = env.item_id("OLD-NAME")
        # When it is linked by hand to crossdock's SKU
        done = link_listing(env.ctx, "NEW-NAME", "ebay-uk", item)
        # Then the row points at the ItemID and the SKU is marked for a push
        assert (done["listing_id"], done["kind"], done["quantity"], done["previous"]) == (item, "trading", 5, None)
        row = env.rows("ebay-uk")["NEW-NAME"]
        assert (row.platform_ids["kind"], row.listing_id, row.last_pushed_qty) == ("trading", item, 5)
        assert ("ebay-uk", "NEW-NAME") in env.dirty()
        # And the engine's push reaches that listing by its ItemID
        jobs.push_stock(env.ctx, "ebay-uk")
        assert env.listed("ebay-uk")["OLD-NAME"] == share(env, "ebay-uk", 8)
        # Refusals, each with its code
        with pytest.raises(InventoryError) as e:
            link_listing(env.ctx, "NOPE", "ebay-uk", item)
        assert e.value.code == "XD-INV-004"
        with pytest.raises(ConfigError) as e:
            link_listing(env.ctx, "NEW-NAME", "ebay-mars", item)
        assert e.value.code == "XD-CFG-007"
        with pytest.raises(PlatformError) as e:
            link_listing(env.ctx, "OTHER", "ebay-uk", "399999999990")
        assert e.value.code == "XD-PLATFORM-002"
        with pytest.raises(InventoryError) as e:                     # already linked to NEW-NAME
            link_listing(env.ctx, "OTHER", "ebay-uk", item)
        assert e.value.code == "XD-INV-011"
        with pytest.raises(InventoryError) as e:                     # Inventory-API offer of another SKU
            link_listing(env.ctx, "NEW-NAME", "ebay-uk", env.item_id("OTHER"))
        assert e.value.code == "XD-INV-011"
        variant = next(o.listing_id for o in env.ctx.connectors.get("shopify-eu").read_listings(["SHOP-OLD"]))
        with pytest.raises(InventoryError) as e:                     # Shopify addresses variants by SKU
            link_listing(env.ctx, "OTHER", "shopify-eu", variant)
        assert e.value.code == "XD-INV-011" and "addresses listings by SKU" in e.value.detail
        # listings list shows the link
        with env.db.read() as s:
            rows = list_listings(s, channel="ebay-uk")
            assert [(r["sku"], r["kind"], r["listing_id"]) for r in rows] == [("NEW-NAME", "trading", item)]
            assert list_listings(s, sku="OTHER") == []
