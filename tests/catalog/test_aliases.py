"""SKU aliases against the in-process sandbox: a legacy eBay listing and an
Amazon MSKU with a suffix stand for catalogue SKUs. ``listings pull`` links
them, stock pushes go to the channel under the alias, and an order for the
alias reserves the catalogue SKU."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crossdock.catalog import kits
from crossdock.catalog.listings import pull_listings
from crossdock.db.models import Order, OrderLine, Product, Reservation
from crossdock.errors import InventoryError
from crossdock.sync_engine import jobs, skumap
from crossdock.sync_engine.channels import listing_bindings
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs import import_orders
from tests.catalog.env import listings_env
from tests.sync_engine.support import wait_ticking

pytestmark = [pytest.mark.usefixtures("quota_waits_slept")]


def by_channel(doc) -> dict[str, dict]:
    return {c["channel"]: c for c in doc["channels"]}


def test_aliases_are_matched_by_pull_pushed_under_the_alias_and_reserve_the_catalogue_sku(db, tmp_path,
                                                                                          monkeypatch):
    with listings_env(tmp_path, monkeypatch, db) as env:
        with env.db.write() as s:
            for sku in ("A", "B"):
                s.add(Product(sku=sku, title=f"Product {sku}", base_price=Decimal("10"), base_currency="EUR"))
        env.stock({"A": 10, "B": 6})
        import_orders(env.ctx, "ebay-uk")          # the first import: what came before is history
        # Given a legacy eBay listing under an old SKU, and an Amazon MSKU with a suffix
        env.put("ebay-uk", "A-LEGACY", 7, legacy=True)
        env.put("amazon-de", "B-FBM", 5)
        with env.db.write() as s:
            kits.add_alias(s, "A-LEGACY", "A", channel="ebay-uk")
            kits.add_alias(s, "B-FBM", "B")                               # on every channel
        with env.db.write() as s:
            assert kits.add_alias(s, "B-FBM", "B")["added"] is False      # the same again: nothing changes

        # When the listings are pulled
        ch = by_channel(pull_listings(env.ctx, ["ebay-uk", "amazon-de"]))

        # Then the aliased listings are linked to the catalogue SKUs, nothing unknown
        assert ch["ebay-uk"]["linked_new"] == [{"sku": "A", "listing_id": env.item_id("A-LEGACY"), "quantity": 7,
                                                "platform_sku": "A-LEGACY"}]
        assert [(d["sku"], d["platform_sku"]) for d in ch["amazon-de"]["linked_new"]] == [("B", "B-FBM")]
        assert ch["ebay-uk"]["unknown"] == [] and ch["amazon-de"]["unknown"] == []

        # When the stock is pushed by a worker started after the pull (its connectors bound to the
        # listings as the channels name them), the channels get crossdock's quantity under their own SKUs
        expected_ebay = jobs.expected_quantities(env.ctx, "ebay-uk")["A"]
        expected_amazon = jobs.expected_quantities(env.ctx, "amazon-de")["B"]
        with env.db.read() as s:
            assert skumap.ChannelSkus.of(s, "ebay-uk").out("A") == "A-LEGACY"
        assert listing_bindings(env.db, "ebay-uk")["A-LEGACY"]["kind"] == "trading"
        worker = context_from_config(env.cfg, env.db)
        try:
            assert jobs.push_stock(worker, "ebay-uk")["pushed"] == 1
            assert jobs.push_stock(worker, "amazon-de")["pushed"] == 1
        finally:
            worker.connectors.close()
        assert env.listed("ebay-uk")["A-LEGACY"] == expected_ebay != 7
        assert env.listed("amazon-de")["B-FBM"] == expected_amazon != 5
        assert "A" not in env.listed("ebay-uk") and "B" not in env.listed("amazon-de")
        # and a reconcile reads them back under the alias: no drift
        assert jobs.reconcile(env.ctx, "ebay-uk")["drift"] == []
        assert jobs.reconcile(env.ctx, "amazon-de")["drift"] == []

        # When a buyer buys 2 of the legacy listing and the order is imported
        oid = env.sim("ebay-uk").place_order(env.sb_channels["ebay-uk"], [("A-LEGACY", 2)], buyer_country="GB")
        assert oid

        def stored() -> bool:
            with env.db.read() as s:
                return s.scalar(select(Order.id).where(Order.platform_order_id == oid)) is not None

        wait_ticking(f"order {oid} imported", stored, tick=lambda: import_orders(env.ctx, "ebay-uk"))
        # Then its line names the catalogue SKU and reserves it
        with env.db.read() as s:
            line = s.execute(select(OrderLine).join(Order).where(Order.platform_order_id == oid)).scalar_one()
            res = s.execute(select(Reservation).where(Reservation.order_line_id == line.id)).scalar_one()
            flags = s.scalar(select(Order.flags).where(Order.platform_order_id == oid))
        assert (line.sku, line.quantity) == ("A", 2)
        assert (res.sku, res.quantity, res.status) == ("A", 2, "active") and flags == []


def test_alias_refusals_are_coded_and_change_nothing(db):
    with db.write() as s:
        for sku in ("A", "B"):
            s.add(Product(sku=sku, title=sku))
    with db.write() as s:
        kits.add_alias(s, "OLD-A", "A", channel="ebay-uk")
        kits.add_alias(s, "AMZ-A", "A")
    cases = [(("OLD-X", "NOPE"), {}, "XD-INV-004"),              # unknown SKU
             (("B", "A"), {}, "XD-INV-014"),                     # the alias is a catalogue SKU
             (("A", "A"), {}, "XD-INV-014"),                     # an alias of itself
             (("OLD-A", "B"), {"channel": "ebay-uk"}, "XD-INV-014"),   # already the alias of A there
             (("OLD-A2", "A"), {"channel": "ebay-uk"}, "XD-INV-014")]  # A has another alias there
    for args, kw, code in cases:
        with pytest.raises(InventoryError) as err, db.write() as s:
            kits.add_alias(s, *args, **kw)
        assert err.value.code == code, (args, err.value)
    with db.read() as s:
        assert kits.list_aliases(s) == [{"alias": "AMZ-A", "sku": "A", "channel": None},
                                        {"alias": "OLD-A", "sku": "A", "channel": "ebay-uk"}]
        # the channel's own alias wins over the one for every channel, both resolve
        assert skumap.resolve(s, "ebay-uk", ["OLD-A", "AMZ-A", "B"]) == {"OLD-A": "A", "AMZ-A": "A", "B": "B"}
        assert skumap.resolve(s, "amazon-de", ["OLD-A", "AMZ-A"]) == {"OLD-A": "OLD-A", "AMZ-A": "A"}
        assert skumap.ChannelSkus.of(s, "ebay-uk").out("A") == "OLD-A"
        assert skumap.ChannelSkus.of(s, "amazon-de").out("A") == "AMZ-A"
        assert skumap.ChannelSkus.of(s, "amazon-de").back("AMZ-A") == "A"
    with pytest.raises(InventoryError) as err, db.write() as s:
        kits.remove_alias(s, "OLD-A")                            # not an alias for every channel
    assert err.value.code == "XD-INV-014"
    with db.write() as s:
        kits.remove_alias(s, "OLD-A", channel="ebay-uk")
    with db.read() as s:
        assert skumap.ChannelSkus.of(s, "ebay-uk").out("A") == "AMZ-A"
