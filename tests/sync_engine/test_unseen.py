"""Sales a channel made that its order API does not show yet (unseen.py)."""

from __future__ import annotations

import pytest

import datetime as dt

from sqlalchemy import select

from crossdock.db import models as m
from crossdock.sync_engine import availability, inventory, orders, unseen
from crossdock.sync_engine.dirty import DirtySku
from tests.sync_engine.support import NOW, order, seed

T = dt.timedelta


def _listing(db, channel, sku):
    with db.read() as s:
        return s.execute(select(m.ChannelListing.last_pushed_qty, m.ChannelListing.last_pushed_at)
                         .where(m.ChannelListing.channel == channel, m.ChannelListing.sku == sku)).one()


def _seed(db):
    seed(db, stock={("SKU-1", "DE"): 20, ("SKU-2", "DE"): 20},
         listings={"amazon-de": ["SKU-1", "SKU-2"], "ebay-us": ["SKU-1", "SKU-2"]},
         last_pushed={("amazon-de", "SKU-1"): 6, ("amazon-de", "SKU-2"): 6, ("ebay-us", "SKU-1"): 5,
                      ("ebay-us", "SKU-2"): 5})


def test_a_listing_showing_less_than_pushed_holds_the_units_from_every_channel(db):
    # Given Amazon was last pushed 6 of SKU-1 and now shows 4 (a sale getOrders does not show yet)
    _seed(db)
    with db.write() as s:
        found = unseen.detect(s, "amazon-de", {"SKU-1": 4, "SKU-2": 6, "SKU-X": 1}, settle_real_s=30, now=NOW)
    # Then 2 units are held, availability drops by 2, and Amazon is believed to show 4 as of now
    assert found == {"SKU-1": 2}
    with db.read() as s:
        assert inventory.availability_snapshot(s, ["SKU-1", "SKU-2"]) == {"SKU-1": 18, "SKU-2": 20}
        events = s.execute(select(m.SyncEvent.operation, m.SyncEvent.entity)
                           .where(m.SyncEvent.operation == "stock.unseen_sale")).all()
    qty, pushed_at = _listing(db, "amazon-de", "SKU-1")
    assert qty == 4 and pushed_at is not None
    assert [tuple(e) for e in events] == [("stock.unseen_sale", "SKU-1")]
    # And a second drop adds to what is held
    with db.write() as s:
        assert unseen.detect(s, "amazon-de", {"SKU-1": 3}, settle_real_s=30, now=NOW + T(minutes=1)) == {"SKU-1": 1}
        assert availability.unseen_held(s, ["SKU-1"]) == {"SKU-1": 3}


def test_shortfalls_reads_what_detect_would_hold_and_writes_nothing(db):
    # Given Amazon was last pushed 6 of each SKU and shows 4 of SKU-1
    _seed(db)
    shown = {"SKU-1": 4, "SKU-2": 6, "SKU-X": 1}
    # When a push run reads the shortfalls first (a read transaction)
    with db.read() as s:
        short = unseen.shortfalls(s, "amazon-de", shown, settle_real_s=30, now=NOW)
    # Then it names what detect holds, and nothing is held or logged until detect runs
    assert short == {"SKU-1": 2}
    with db.read() as s:
        assert availability.unseen_held(s, ["SKU-1"]) == {}
        assert s.scalar(select(m.SyncEvent.id).where(m.SyncEvent.operation == "stock.unseen_sale")) is None
    with db.write() as s:
        assert unseen.detect(s, "amazon-de", shown, settle_real_s=30, now=NOW) == short
    # And a listing showing what was pushed is no shortfall
    with db.read() as s:
        assert unseen.shortfalls(s, "amazon-de", {"SKU-2": 6}, settle_real_s=30, now=NOW) == {}


def test_a_drop_right_after_a_push_or_during_one_is_not_a_sale(db):
    _seed(db)
    with db.write() as s:
        s.execute(m.ChannelListing.__table__.update()
                  .where(m.ChannelListing.sku == "SKU-1", m.ChannelListing.channel == "amazon-de")
                  .values(last_pushed_at=NOW - T(seconds=5)))           # pushed 5 s ago: may not be applied yet
        s.execute(m.ChannelListing.__table__.update()
                  .where(m.ChannelListing.sku == "SKU-2", m.ChannelListing.channel == "amazon-de")
                  .values(last_pushed_qty=None))                         # a push is in flight
    with db.write() as s:
        assert unseen.detect(s, "amazon-de", {"SKU-1": 2, "SKU-2": 1}, settle_real_s=30, now=NOW) == {}
        assert availability.unseen_held(s, ["SKU-1", "SKU-2"]) == {}


def test_the_imported_order_releases_the_held_units_and_its_reservation_takes_over(db):
    # Given 2 units of SKU-1 held for an unseen Amazon sale
    _seed(db)
    with db.write() as s:
        unseen.detect(s, "amazon-de", {"SKU-1": 4}, settle_real_s=30, now=NOW)
    # When the order arrives (one line of 1 unit, then another of 1) and is stored
    for pid in ("A-1", "A-2"):
        o = order(pid, [("SKU-1", 1)], platform="amazon", updated_at=NOW + T(minutes=2))
        with db.write() as s:
            result = orders.upsert_orders(s, "amazon-de", [o], now=NOW + T(minutes=2))
            orders.explain_unseen(s, "amazon-de", [o], result)
    # Then nothing is held any more, and availability counts the two reservations once
    with db.read() as s:
        assert availability.unseen_held(s, ["SKU-1"]) == {}
        assert inventory.availability_snapshot(s, ["SKU-1"]) == {"SKU-1": 18}


def test_units_no_order_explains_are_released_with_a_code_and_pushed_again(db):
    _seed(db)
    with db.write() as s:
        unseen.detect(s, "amazon-de", {"SKU-2": 5}, settle_real_s=30, now=NOW)
    with db.write() as s:
        assert unseen.expire(s, max_age_real_s=600, now=NOW + T(seconds=599)) == []
    with db.write() as s:
        released = unseen.expire(s, max_age_real_s=600, now=NOW + T(seconds=601))
    assert released == ["SKU-2"]
    with db.read() as s:
        assert availability.unseen_held(s, ["SKU-2"]) == {}
        codes = s.scalars(select(m.SyncEvent.code).where(m.SyncEvent.operation == "stock.unseen_sale",
                                                         m.SyncEvent.outcome == "partial")).all()
        assert list(codes) == ["XD-INV-007"]
        assert inventory.availability_snapshot(s, ["SKU-2"]) == {"SKU-2": 20}
        assert s.scalar(select(DirtySku.id)) is None      # marking is the caller's (sweep_stock)


def test_units_stay_held_while_the_channels_import_has_not_caught_up(db):
    # Given units held for an unseen Amazon sale, older than the usual age
    _seed(db)
    with db.write() as s:
        unseen.detect(s, "amazon-de", {"SKU-2": 5}, settle_real_s=30, now=NOW)
    late = NOW + T(seconds=900)
    # When Amazon's order import is behind (stuck before the sale was seen, or never ran)
    with db.write() as s:
        assert unseen.expire(s, max_age_real_s=600, now=late,
                             imported_until={"amazon-de": NOW - T(seconds=60)}) == []
        assert unseen.expire(s, max_age_real_s=600, now=late, imported_until={}) == []
    # Then the units stay held: nothing has proven the sale did not happen (an import at peak can be
    # minutes behind; letting them go listed them again on every channel, and they sold twice)
    with db.read() as s:
        assert availability.unseen_held(s, ["SKU-2"]) == {"SKU-2": 1}
    # And once the import has read past the moment they were seen, with no order for them, they go
    with db.write() as s:
        assert unseen.expire(s, max_age_real_s=600, now=late,
                             imported_until={"amazon-de": NOW + T(seconds=1)}) == ["SKU-2"]


@pytest.mark.parametrize("guard", [False, True], ids=["guard-off", "guard-on"])
def test_an_amazon_sale_not_yet_in_get_orders_reaches_the_other_channels_with_the_next_sale(tmp_path, monkeypatch,
                                                                                          guard):
    """End to end on the sandbox: Amazon US sells 2 units; before getOrders
    may show that order (2 minutes), eBay sells 1. The other channels must
    then show the stock left after BOTH sales, not after the eBay sale only:
    the read-back of Amazon's listings finds the unseen sale. With the
    oversell guard (docs/overselling.md) the channels never listed more than
    the stock together, so all of them still list no more than what is left."""
    import time

    from crossdock.demo import SHARES, DemoOptions
    from crossdock.sandbox.core import Sandbox
    from crossdock.sync_engine import dirty
    from crossdock.sync_engine.engine import Engine, context_from_config
    from tests.sync_engine.support import demo_env

    opts = DemoOptions(skus=2, time_scale=60, seed=4, folder=tmp_path)
    with Sandbox(time_scale=opts.time_scale, seed=opts.seed) as sb:
        cfg, db, chans, stock = demo_env(tmp_path, monkeypatch, sb, opts)
        sku = max(stock, key=stock.get)
        total = stock[sku]
        cfg.sync["oversell_guard"] = guard
        ctx = context_from_config(cfg, db)
        try:
            assert sb.sims["amazon"].place_order(chans["amazon-us"], [(sku, 2)], buyer_country="US")
            time.sleep(0.1)
            assert sb.sims["ebay"].place_order(chans["ebay-uk"], [(sku, 1)], buyer_country="GB")
            engine = Engine(ctx)                         # due entries run inline
            engine.ensure_schedules()
            deadline = time.monotonic() + 1.2            # 72 sandbox seconds: Amazon's order is not visible yet
            want = int((total - 3) * float(SHARES["shopify-eu"]))
            while time.monotonic() < deadline:
                engine.tick()
                if not guard and sb.sims["shopify"].listed(chans["shopify-eu"]).get(sku) == want:
                    break
                time.sleep(0.02)
            with db.read() as s:
                amazon_orders = s.scalar(select(m.Order.id).where(m.Order.channel == "amazon-us"))
                held = availability.unseen_held(s, [sku])
            shown = sb.sims["shopify"].listed(chans["shopify-eu"]).get(sku)
            listed = sum(sim.listed(key).get(sku, 0) for name, key in chans.items()
                         for sim in [sb.sims[cfg.channel(name).platform]])
        finally:
            ctx.connectors.close()
            dirty.set_window_s(dirty.DEFAULT_WINDOW_S)
    assert amazon_orders is None                          # getOrders had not shown the Amazon sale
    if guard:
        assert listed <= total - 3                        # together, the channels list what is left at most
    else:
        assert held == {sku: 2}
        assert shown == want                              # Shopify shows what is left after both sales
    db.dispose()
