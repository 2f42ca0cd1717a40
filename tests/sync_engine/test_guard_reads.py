"""The oversell guard reads a listing back only where that changes the plan.

A push sets a quantity absolutely, so it erases whatever the channel sold
that crossdock has not seen yet: the guard parks what the channel showed
until its import proves it unsold. Parking needs room, so after a sale on
another channel the guard cannot lower a channel to its new share without
knowing what it shows. The push plans first, then reads back exactly those
listings (one read for the run), takes a lower figure as sales not seen yet
(held from every channel), and pushes the share without parking anything.
A run with nothing held back reads nothing. Judged from the sandbox's own
listings and request log.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crossdock.db.models import ChannelListing
from crossdock.sandbox.core import Fault
from crossdock.sync_engine import availability, exposure
from crossdock.sync_engine.jobs import import_orders, push_stock
from tests.sync_engine.catalog_env import catalog_env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

SKU = "XD-0001"
TARGET = "amazon-de"        # share 0.2 of the demo's rules


def _reads(env) -> int:
    return sum(1 for c in env.sb.requests.since(0, platform="amazon", limit=10**9)
               if c["operation"] == "getListingsItem")


def _decision(env, channel: str, sku: str) -> exposure.Decision:
    with env.db.read() as s:
        avail = availability.availability_snapshot(s, [sku])
        return exposure.decide(s, channel, avail, rules=exposure.stock_rules(env.cfg), guard=True)[sku]


def _held(env, channel: str, sku: str) -> int | None:
    with env.db.read() as s:
        return s.scalar(select(ChannelListing.held_qty).where(ChannelListing.channel == channel,
                                                              ChannelListing.sku == sku))


def _sell_on_shopify_until_the_share_drops(env) -> int:
    """Units sold on Shopify (and imported) so that TARGET's share is one lower."""
    start = _decision(env, TARGET, SKU)
    sim, channel = env.sb.sims["shopify"], env.sb_channels["shopify-eu"]
    for _ in range(10):
        assert sim.place_order(channel, [(SKU, 1)], buyer_country="DE") is not None
        import_orders(env.ctx, "shopify-eu")
        now = _decision(env, TARGET, SKU)
        if now.share < start.share:
            return now.share
    raise AssertionError("the share never dropped")


def test_after_a_sale_elsewhere_the_channel_is_read_once_and_lowered_to_its_share(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        shown = env.listed(TARGET)[SKU]
        # Given sales on Shopify that lower Amazon DE's share by one
        share = _sell_on_shopify_until_the_share_drops(env)
        # the guard alone would keep it where it is: lowering parks what it showed, and there is no room
        held_back = _decision(env, TARGET, SKU)
        assert held_back.quantity == shown > share, held_back
        reads = _reads(env)
        # When the channel's push runs
        push_stock(env.ctx, TARGET)
        # Then it read the listing back once, and the listing shows the share, with nothing parked
        assert _reads(env) - reads == 1
        assert env.listed(TARGET)[SKU] == share
        assert not _held(env, TARGET, SKU)
        # And a run with nothing held back reads nothing
        reads = _reads(env)
        push_stock(env.ctx, TARGET)
        assert _reads(env) == reads


def test_a_sale_the_read_finds_first_is_held_from_every_channel(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        share = _sell_on_shopify_until_the_share_drops(env)
        # Given a sale on Amazon DE itself that its order API shows only two minutes later
        shown = env.listed(TARGET)[SKU]
        assert env.sb.sims["amazon"].place_order(env.sb_channels[TARGET], [(SKU, 1)], buyer_country="DE")
        with env.db.read() as s:
            before = availability.availability_snapshot(s, [SKU])[SKU]
        # When the push runs and reads the listing back
        push_stock(env.ctx, TARGET)
        # Then the unit it sold is held from every channel (availability one lower) and the push
        # overwrote nothing it did not know of: the channel shows at most its share of what is left
        with env.db.read() as s:
            assert availability.availability_snapshot(s, [SKU])[SKU] == before - 1
        assert env.listed(TARGET)[SKU] <= min(share, shown - 1)
        assert [e.entity for e in env.events("stock.unseen_sale", channel=TARGET)] == [SKU]


def test_without_a_read_the_guard_keeps_the_listing_where_it_is_until_a_later_run(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        shown = env.listed(TARGET)[SKU]
        share = _sell_on_shopify_until_the_share_drops(env)
        # Given Amazon failing the read back
        env.sb.faults.add(Fault(kind="html_503", platform="amazon", operation="getListingsItem", count=20))
        # When the push runs, the guard keeps its plan: nothing is lowered blind
        push_stock(env.ctx, TARGET)
        assert env.listed(TARGET)[SKU] == shown
        # And the SKU stays marked: once Amazon answers again, a later run reads it and lowers it
        assert env.dirty_count(TARGET, SKU) == 1
        env.sb.faults.clear()
        push_stock(env.ctx, TARGET)
        assert env.listed(TARGET)[SKU] == share
        assert env.dirty_count(TARGET, SKU) == 0
