"""Releasing held units when the order import has passed the push that held
them (:func:`crossdock.sync_engine.shown.release_held`): it runs on every
order poll, most of which find nothing held, and then it writes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from crossdock.db.models import ChannelListing
from crossdock.sync_engine import shown
from tests.sync_engine.support import NOW, seed


def _held(db, channel="ebay-us"):
    with db.read() as s:
        return {r.sku: (r.held_qty, r.held_since) for r in s.execute(
            select(ChannelListing.sku, ChannelListing.held_qty, ChannelListing.held_since)
            .where(ChannelListing.channel == channel))}


def _statements(db):
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0].upper()))
    return seen


def test_units_held_before_the_import_passed_are_released_and_named_those_after_stay(db):
    # Given three listings: one holding units since before the import's point, one holding none
    # (a push over a listing that showed nothing), one holding units since after it
    seed(db, products=["SKU-1", "SKU-2", "SKU-3"], listings={"ebay-us": ["SKU-1", "SKU-2", "SKU-3"]})
    with db.write() as s:
        shown.expose(s, "ebay-us", {"SKU-1": 4}, since=NOW - dt.timedelta(minutes=5))
        shown.expose(s, "ebay-us", {"SKU-2": 0}, since=NOW - dt.timedelta(minutes=5))
        shown.expose(s, "ebay-us", {"SKU-3": 2}, since=NOW + dt.timedelta(minutes=5))
    with db.write() as s:
        s.execute(ChannelListing.__table__.update().where(ChannelListing.sku == "SKU-1").values(held_qty=3))
        s.execute(ChannelListing.__table__.update().where(ChannelListing.sku == "SKU-2").values(held_qty=0))
        s.execute(ChannelListing.__table__.update().where(ChannelListing.sku == "SKU-3").values(held_qty=1))
    # When the import has brought every order before NOW
    with db.write() as s:
        released = shown.release_held(s, "ebay-us", imported_until=NOW)
    # Then the SKU that held units is named, and both rows before NOW are cleared; the later one stays
    assert released == ["SKU-1"]
    held = _held(db)
    assert held["SKU-1"] == (None, None) and held["SKU-2"] == (None, None)
    assert held["SKU-3"][0] == 1


def test_a_poll_that_finds_nothing_held_writes_nothing(db):
    # Given a listing that holds nothing
    seed(db, products=["SKU-1"], listings={"ebay-us": ["SKU-1"]})
    seen = _statements(db)
    # When the order import releases what it proved unsold
    with db.write() as s:
        released = shown.release_held(s, "ebay-us", imported_until=NOW)
    # Then nothing is released, and no UPDATE ran (one read decided it)
    assert released == []
    assert "UPDATE" not in seen and seen.count("SELECT") == 1
