"""The sandbox's market with bundles and SKU aliases (issue 18): a bundle
sold consumes its components' physical units, and what a channel sells or
lists under an alias is the catalogue SKU it stands for — so ``oversold``,
the exposure and the push floor count physical units."""

from __future__ import annotations

from decimal import Decimal

from crossdock.clock import ScaledClock
from crossdock.demo_propagation import exposure_figures
from crossdock.sandbox.market import CatalogueItem, Market
from crossdock.sandbox.push_floor import required_changes

EBAY, SHOP = "ebay:s:EBAY_GB", "shopify:eu"


def _market() -> Market:
    market = Market(ScaledClock.starting_now(1.0))
    market.seed_item(CatalogueItem("X", "x", Decimal("1"), "EUR", 5))
    market.seed_item(CatalogueItem("Y", "y", Decimal("1"), "EUR", 10))
    # KIT = 2 × X + 1 × Y: no stock of its own
    market.seed_item(CatalogueItem("KIT", "kit", Decimal("3"), "EUR", 0, components={"X": 2, "Y": 1}))
    market.alias(EBAY, "LEGACY-KIT", "KIT")
    return market


def test_a_bundle_sold_consumes_its_components_and_oversells_them_not_itself():
    market = _market()
    # Given 2 bundles sold on eBay under its legacy SKU and 2 units of X on Shopify: 6 units of X out of 5
    market.record_sale(EBAY, "LEGACY-KIT", 2, "o1")
    market.record_sale(SHOP, "X", 2, "o2")
    assert market.sales[0]["sku"] == "KIT" and market.sales[0]["listed_as"] == "LEGACY-KIT"
    assert market.consumed() == {"X": 6, "Y": 2}
    assert market.oversold_units() == 1          # X: 6 gone of 5; Y and the bundle itself: none
    assert market.bundle_units_sold() == 2
    # When one bundle is cancelled under the alias, its units come back
    market.record_cancel(EBAY, "LEGACY-KIT", 1, "o1")
    assert market.oversold_units() == 0 and market.bundle_units_sold() == 1
    assert market.summary()["bundle_units_sold"] == 1


def test_what_is_left_of_a_bundle_is_what_its_components_make():
    market = _market()
    left = market.stock_left()
    assert left.left("KIT") == 2 and left.affected("X") == {"X", "KIT"}
    left.move("KIT", 1)
    assert (left.left("X"), left.left("Y"), left.left("KIT")) == (3, 9, 1)
    left.move("X", 2)
    assert left.left("KIT") == 0


def test_a_bundle_listing_counts_its_components_units_in_the_exposure():
    market = _market()
    # X's 5 units: Shopify shows 3 of X, eBay shows 1 bundle (2 of X) under its alias: exactly what there is
    market.record_listed(SHOP, "X", 3)
    market.record_listed(EBAY, "LEGACY-KIT", 1)
    assert set(market.listed_history) == {(SHOP, "X"), (EBAY, "KIT")}

    class Box:
        clock = market.clock

    box = Box()
    box.market = market  # type: ignore[attr-defined]
    assert exposure_figures(box)["episodes"] == 0
    # one bundle more on eBay is 2 units of X more than there are
    market.record_listed(EBAY, "LEGACY-KIT", 2)
    over = exposure_figures(box)
    assert over["episodes"] == 1 and over["max_units"] == 2


def test_a_component_sale_is_a_required_change_of_its_bundles_listings():
    market = _market()
    market.record_listed(SHOP, "X", 2)
    market.record_listed(EBAY, "LEGACY-KIT", 1)

    class Box:
        sims: dict = {}

    box = Box()
    box.market = market  # type: ignore[attr-defined]
    market.sales.append({"channel": SHOP, "sku": "X", "qty": 2, "at": 10.0, "order_id": "1"})
    got = required_changes(box, {EBAY: Decimal("1"), SHOP: Decimal("1")})
    # X 5 → 3: the bundle (2 × X each) on eBay goes from 2 to 1
    assert got[EBAY] == [(10.0, "KIT", 1)]
