"""Storing the orders read from a channel (orders.store_orders): one function,
one dirty mark per transaction for everything it changed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from crossdock.clock import Clock
from crossdock.db import models as m
from crossdock.models import OrderStatus
from crossdock.sync_engine import orders
from crossdock.sync_engine.dirty import DIRTY
from tests.sync_engine.support import NOW, order, reserved_total, seed

T = dt.timedelta


def _marks(db) -> dict[tuple[str, str], int]:
    """(channel, SKU) → version of its dirty row: 1 after one mark_dirty, +1 for each mark after it."""
    with db.read() as s:
        return {(c, sku): v for c, sku, v in s.execute(select(DIRTY.c.channel, DIRTY.c.sku, DIRTY.c.version))}


def _shown(db, channel: str, sku: str) -> int | None:
    with db.read() as s:
        return s.scalar(select(m.ChannelListing.last_pushed_qty)
                        .where(m.ChannelListing.channel == channel, m.ChannelListing.sku == sku))


def test_a_batch_that_creates_cancels_and_restores_marks_each_sku_once(db):
    # Given SKU-1 and SKU-2 listed on eBay and Shopify (eBay believed to show 10 of each), and an eBay
    # order of 2 x SKU-1 already stored and reserved; no SKU waiting for a push
    seed(db, stock={("SKU-1", "DE"): 20, ("SKU-2", "DE"): 20},
         listings={"ebay-us": ["SKU-1", "SKU-2"], "shopify-eu": ["SKU-1", "SKU-2"]},
         last_pushed={("ebay-us", "SKU-1"): 10, ("ebay-us", "SKU-2"): 10,
                      ("shopify-eu", "SKU-1"): 10, ("shopify-eu", "SKU-2"): 10})
    with db.write() as s:
        orders.store_orders(s, "ebay-us", [order("E-OLD", [("SKU-1", 2)], updated_at=NOW)], Clock())
    with db.write() as s:
        s.execute(delete(DIRTY))
    assert reserved_total(db, "SKU-1") == 2 and _shown(db, "ebay-us", "SKU-1") == 8     # eBay's own sale

    # When one batch, stored in one transaction, brings a new order of SKU-1 and SKU-2 (reserve), and
    # the old order cancelled (release; eBay put its 2 units back on sale itself)
    batch = [order("E-NEW", [("SKU-1", 1), ("SKU-2", 1)], updated_at=NOW + T(minutes=1)),
             order("E-OLD", [("SKU-1", 2)], status=OrderStatus.CANCELLED, updated_at=NOW + T(minutes=1),
                   purchased_at=NOW)]
    with db.write() as s:
        result = orders.store_orders(s, "ebay-us", batch, Clock())

    # Then every stock effect happened: one new order reserved, the old one released
    assert result.new == 1 and result.updated == 1
    assert reserved_total(db, "SKU-1") == 1 and reserved_total(db, "SKU-2") == 1
    # and eBay is believed to show its own changes: 8 - 1 sold + 2 restored, 10 - 1 sold
    assert (_shown(db, "ebay-us", "SKU-1"), _shown(db, "ebay-us", "SKU-2")) == (9, 9)
    assert (_shown(db, "shopify-eu", "SKU-1"), _shown(db, "shopify-eu", "SKU-2")) == (10, 10)
    # and each (channel, SKU) was marked dirty by ONE mark in that transaction (a second mark bumps the version)
    assert _marks(db) == {("ebay-us", "SKU-1"): 1, ("ebay-us", "SKU-2"): 1,
                          ("shopify-eu", "SKU-1"): 1, ("shopify-eu", "SKU-2"): 1}


def test_unchanged_orders_mark_nothing(db):
    # Given an eBay order already stored
    seed(db, stock={("SKU-1", "DE"): 5}, listings={"ebay-us": ["SKU-1"]}, last_pushed={("ebay-us", "SKU-1"): 5})
    with db.write() as s:
        orders.store_orders(s, "ebay-us", [order("E-1")], Clock())
    with db.write() as s:
        s.execute(delete(DIRTY))
    # When the same version of it is read again
    with db.write() as s:
        result = orders.store_orders(s, "ebay-us", [order("E-1")], Clock())
    # Then nothing changed and nothing is marked
    assert result.unchanged == 1 and _marks(db) == {}
