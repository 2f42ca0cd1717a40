"""Bundles (kits): refusals, availability from the components, reservations of
the components, dirty marks, the guard's room and pools, the catalogue file,
pick lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crossdock.catalog import kits
from crossdock.catalog.export import export_catalog
from crossdock.catalog.importer import import_catalog
from crossdock.db import models as m
from crossdock.errors import InventoryError
from crossdock.models import StockUpdate
from crossdock.sync_engine import bundles, exposure, inventory, orders, unseen
from crossdock.sync_engine.unseen import UnseenSale
from crossdock.sync_engine.dirty import DirtySku
from crossdock.warehouse.picking import build_picklists
from tests.sync_engine.support import NOW, order, reserved_total, seed, stock_of

KIT = "KIT"          # 2 × X + 1 × Y


def setup(db, x=10, y=4, listings=None):
    seed(db, stock={("X", "DE"): x, ("Y", "DE"): y, ("S", "DE"): 1}, products=[KIT, "Z"], listings=listings)
    with db.write() as s:
        kits.set_bundle(s, KIT, {"X": 2, "Y": 1})


def store(db, *orders_, channel="ebay-us"):
    with db.write() as s:
        return orders.upsert_orders(s, channel, list(orders_), reserve=False, now=NOW).order_ids


def test_invalid_bundles_are_refused_with_a_code(db):
    setup(db)
    cases = [(KIT, {"NOPE": 1}, "unknown component"), (KIT, {"X": 0}, "above 0"), (KIT, {"X": -2}, "above 0"),
             (KIT, {KIT: 1}, "itself"), ("Z", {KIT: 1}, "is a bundle itself"),
             ("X", {"Z": 1}, "bundles do not nest"), ("S", {"Z": 1}, "has stock of its own")]
    for bundle, comps, words in cases:
        with pytest.raises(InventoryError) as err, db.write() as s:
            kits.set_bundle(s, bundle, comps)
        assert err.value.code == "XD-INV-015" and words in str(err.value), (bundle, comps, err.value)
    # a cycle: Y made of the kit that contains Y
    with db.write() as s:
        s.query(m.StockLevel).filter(m.StockLevel.sku == "Y").delete()
    with pytest.raises(InventoryError) as err, db.write() as s:
        kits.set_bundle(s, "Y", {KIT: 1})
    assert err.value.code == "XD-INV-015" and "cycle" in str(err.value)
    with pytest.raises(InventoryError) as err:
        kits.parse_components(["X:two"])
    assert err.value.code == "XD-INV-015"
    # a bundle has no stock of its own: a stock change for it is refused
    with pytest.raises(InventoryError) as err, db.write() as s:
        inventory.adjust_stock(s, KIT, "DE", 5, "count")
    assert err.value.code == "XD-INV-015"
    with db.read() as s:
        assert kits.bundle_components(s, KIT) == {"X": 2, "Y": 1}


def test_a_bundle_is_available_as_its_scarcest_component_makes(db):
    setup(db, x=10, y=7)
    with db.read() as s:
        assert inventory.availability_snapshot(s, [KIT, "X", "Y"]) == {KIT: 5, "X": 10, "Y": 7}
        assert kits.show_bundle(s, KIT)["components"][0] == {"sku": "X", "quantity": 2, "available": 10,
                                                             "bundles": 5}
    with db.write() as s:
        inventory.adjust_stock(s, "Y", "DE", -4, "count")          # Y: 3 left
        s.execute(m.Product.__table__.update().where(m.Product.sku == KIT).values(safety_stock=1))
    with db.read() as s:
        assert inventory.available(s, KIT) == 3 - 1


def test_a_bundles_unseen_sale_holds_its_components_units(db):
    setup(db, x=10, y=7)
    with db.write() as s:
        s.add(UnseenSale(channel="ebay-us", sku=KIT, quantity=2, first_seen_at=NOW, updated_at=NOW))
    with db.read() as s:
        # 2 kits sold unseen: 4 X and 2 Y held; the kit makes min(6 // 2, 5) = 3
        assert inventory.availability_snapshot(s, [KIT, "X", "Y"]) == {KIT: 3, "X": 6, "Y": 5}
    # the order explaining them arrives: its reservation holds them instead
    with db.write() as s:
        unseen.consume(s, "ebay-us", [(KIT, 2)], now=NOW)
    with db.read() as s:
        assert inventory.availability_snapshot(s, [KIT, "X", "Y"]) == {KIT: 5, "X": 10, "Y": 7}


@pytest.mark.parametrize("mode", ["bulk", "conditional"])
def test_a_bundle_order_reserves_its_components_all_or_none_and_ships_them(db, mode):
    setup(db, x=10, y=4)
    ids = store(db, order("O1", [(KIT, 2), ("X", 1)]), order("O2", [(KIT, 3)]))   # O2 needs Y 3 of 2 left
    for pid in ("O1", "O2"):
        with db.write() as s:
            if mode == "bulk":
                inventory.reserve_orders(s, [ids[pid]], now=NOW)
            else:
                inventory.reserve_order(s, ids[pid], now=NOW)
    # O1: 2 kits = 4 X + 2 Y, and 1 X; O2: short of Y, holds nothing (not even its X)
    assert (reserved_total(db, "X"), reserved_total(db, "Y")) == (5, 2)
    with db.read() as s:
        flags = dict(s.execute(select(m.Order.platform_order_id, m.Order.flags)).all())
        assert flags == {"O1": [], "O2": ["XD-INV-001"]}
        assert inventory.availability_snapshot(s, [KIT]) == {KIT: 2}         # X 5 → 2 kits, Y 2 → 2
    # the pick list shows the components
    with db.write() as s:
        s.execute(m.Order.__table__.update().where(m.Order.id == ids["O1"]).values(warehouse="DE"))
    with db.read() as s:
        lists = build_picklists(s, now=NOW + dt.timedelta(hours=1))
    rows = {(r.sku, r.quantity) for r in lists[0].rows}
    assert rows == {("X", 4 + 1), ("Y", 2)}
    # shipping consumes the components; cancelling the other releases nothing it never held
    with db.write() as s:
        inventory.consume_order(s, ids["O1"], now=NOW)
        assert inventory.release_order(s, ids["O2"], now=NOW).settled == ()
    assert stock_of(db, "X") == (5, 0) and stock_of(db, "Y") == (2, 0)


def test_an_import_page_mixing_bundle_and_plain_orders_holds_a_short_bundle_not_at_all(db):
    """One import page (the bulk path only looks for a partly reserved bundle in the orders that
    have a bundle line): a plain order, a bundle order that fits and one short of a component."""
    setup(db, x=10, y=2)
    with db.write() as s:
        result = orders.upsert_orders(s, "ebay-us", [
            order("P1", [("X", 1)], purchased_at=NOW - dt.timedelta(minutes=3)),
            order("K1", [(KIT, 2), ("X", 1)], purchased_at=NOW - dt.timedelta(minutes=2)),   # 5 X, 2 Y
            order("K2", [("X", 1), (KIT, 1)], purchased_at=NOW - dt.timedelta(minutes=1)),   # X fits, no Y left
        ], now=NOW)
    held = {pid: sorted((x.sku, x.quantity, x.status) for x in result.reservations[oid].lines)
            for pid, oid in result.order_ids.items()}
    assert held["P1"] == [("X", 1, "reserved")]
    assert held["K1"] == [("X", 1, "reserved"), ("X", 4, "reserved"), ("Y", 2, "reserved")]
    # K2's plain line is held; its bundle line holds none of its components (not the X that fitted)
    assert held["K2"] == [("X", 1, "reserved"), ("X", 2, "insufficient"), ("Y", 1, "insufficient")]
    assert (reserved_total(db, "X"), reserved_total(db, "Y")) == (7, 2)
    assert stock_of(db, "X") == (10, 7) and stock_of(db, "Y") == (2, 2)


def test_a_component_change_marks_every_listing_of_its_bundles_in_the_same_mark(db):
    setup(db, listings={"ebay-us": ["X", KIT], "shopify-eu": [KIT], "amazon-de": ["Y"]})
    with db.write() as s:
        inventory.adjust_stock(s, "X", "DE", -10, "count")       # X gone: the kit too, urgently
    with db.read() as s:
        marks = {(d.channel, d.sku): d.zero for d in s.scalars(select(DirtySku))}
    assert marks == {("ebay-us", "X"): True, ("ebay-us", KIT): True, ("shopify-eu", KIT): True}


def test_the_guard_shares_a_component_between_its_listings_and_its_bundles_listings(db):
    setup(db, x=12, y=10, listings={"ebay-us": ["X", KIT], "shopify-eu": ["X", KIT]})
    rules = {"ebay-us": None, "shopify-eu": None, "amazon-de": None}
    shown: dict[tuple[str, str], int] = {}
    # one push plan from nothing: each listing takes its share, and they all fit
    for channel in ("ebay-us", "shopify-eu"):
        with db.write() as s:
            exposure.lock_skus(s, ["X", KIT])
            avail = inventory.availability_snapshot(s, ["X", KIT])
            want = exposure.targets(s, channel, avail, rules=rules, guard=True)
            from crossdock.sync_engine import shown as shows

            shows.expose(s, channel, want, since=NOW)
            shows.record_read_back(s, channel, want, at=NOW)
        shown.update({(channel, sku): q for sku, q in want.items()})
    x_units = sum(q for (c, sku), q in shown.items() if sku == "X") + 2 * sum(
        q for (c, sku), q in shown.items() if sku == KIT)
    assert x_units <= 12, shown
    assert all(q > 0 for q in shown.values()), shown            # the kit is listed too, not starved
    # and the room left for a kit listing counts what the component's listings may sell
    with db.read() as s:
        room, pools = bundles.for_decision(s, {"X": 12, KIT: 5})
    assert room[KIT] * 2 + sum(q for (c, sku), q in shown.items() if sku == "X") <= 12


def test_aliases_and_bundles_in_the_catalogue_file(db, tmp_path):
    seed(db, stock={("X", "DE"): 3, ("Y", "DE"): 3}, products=[KIT])
    path = tmp_path / "cat.csv"
    path.write_text("sku,title,aliases,bundle\n"
                    f"X,Ex,OLD-X|X-EB@ebay-us,\n"
                    f"{KIT},The kit,,X:2|Y:1\n", encoding="utf-8")
    with db.write() as s:
        doc = import_catalog(s, path).to_dict()
    assert doc["columns_changed"] == {"aliases": 1, "bundle": 1, "title": 2}
    import io

    with db.read() as s:
        out = io.StringIO()
        export_catalog(s, out)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(",aliases,bundle")
    assert lines[1].startswith(f"{KIT},") and lines[1].endswith(",,X:2|Y:1")
    assert [ln for ln in lines if ln.startswith("X,")][0].endswith(",OLD-X|X-EB@ebay-us,")
    # importing the export changes nothing
    path.write_text(out.getvalue(), encoding="utf-8")
    with db.write() as s:
        again = import_catalog(s, path).to_dict()
    assert again["columns_changed"] == {} and again["updated"] == 0
    # a bad bundle in the file: the whole file is refused, with the row and the code
    path.write_text(f"sku,title,bundle\n{KIT},The kit,NOPE:1\n", encoding="utf-8")
    with pytest.raises(InventoryError) as err, db.write() as s:
        import_catalog(s, path)
    assert err.value.code == "XD-INV-008" and "XD-INV-015" in str(err.value)
    with db.read() as s:
        assert kits.bundle_components(s, KIT) == {"X": 2, "Y": 1}
    # a new product named like an alias: refused, the alias would be ambiguous
    path.write_text("sku,title\nOLD-X,Old\n", encoding="utf-8")
    with pytest.raises(InventoryError) as err, db.write() as s:
        import_catalog(s, path)
    assert err.value.code == "XD-INV-008" and "XD-INV-014" in str(err.value)


def test_a_bundles_share_does_not_move_with_its_components_units_held_after_a_push(db):
    """A push sets a quantity absolutely, so the units its listing exposed are held (counted as
    sold) until the order import proves them unsold. Held units of a component are room its
    bundles' pushes may not take — but they must not change the bundles' shares: nothing marks
    the bundles when the import releases them, so a bundle listing lowered for them stays low,
    and the reconcile finds it drifted (found by the demo: the final reconcile's repair of a
    component left its bundle "drifted" on the same channel)."""
    from crossdock.sync_engine import shown as shows

    setup(db, x=12, y=10, listings={"ebay-us": ["X", KIT], "shopify-eu": ["X", KIT]})
    rules = {"ebay-us": None, "shopify-eu": None, "amazon-de": None}
    # Given one push plan from nothing: every listing at its share, all of X's 12 units in use
    for channel in ("ebay-us", "shopify-eu"):
        with db.write() as s:
            avail = inventory.availability_snapshot(s, ["X", KIT])
            want = exposure.targets(s, channel, avail, rules=rules, guard=True)
            shows.expose(s, channel, want, since=NOW)
            shows.record_read_back(s, channel, want, at=NOW)
    with db.read() as s:
        avail = inventory.availability_snapshot(s, ["X", KIT])
        before = {ch: exposure.targets(s, ch, avail, rules=rules, guard=True) for ch in ("ebay-us", "shopify-eu")}
    assert before["ebay-us"][KIT] + before["shopify-eu"][KIT] > 0
    # When X is pushed again on eBay (the same quantity): what it exposed is held until the import passes
    with db.write() as s:
        shows.expose(s, "ebay-us", {"X": before["ebay-us"]["X"]}, since=NOW)
        shows.record_pushed(s, "ebay-us", [StockUpdate(sku="X", quantity=before["ebay-us"]["X"])], now=NOW)
    with db.read() as s:
        assert s.scalar(select(m.ChannelListing.held_qty).where(m.ChannelListing.channel == "ebay-us",
                                                                 m.ChannelListing.sku == "X")) > 0
        after = {ch: exposure.targets(s, ch, avail, rules=rules, guard=True) for ch in ("ebay-us", "shopify-eu")}
    # Then every listing still shows what crossdock computes for it: the bundles keep their shares
    assert after == before
