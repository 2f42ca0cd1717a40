"""The oversell guard's push decisions that save calls (issue 13): a small
rise waits for a call that goes anyway, and no listing is read back before a
push (a read cannot change what the guard allows). Judged from the sandbox's
own listings and request log."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from crossdock.db.models import ChannelListing
from crossdock.sync_engine import availability, dirty, exposure
from crossdock.sync_engine.jobs import push_stock
from tests.sync_engine.catalog_env import catalog_env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

SKU = "XD-0001"


def test_worth_raising_only_an_empty_or_nearly_empty_listing():
    assert exposure.worth_raising(0, 1) and exposure.worth_raising(1, 5)
    assert not exposure.worth_raising(3, 4) and not exposure.worth_raising(2, 8)


def _requests(env, platform: str, operation: str) -> int:
    return sum(1 for c in env.sb.requests.since(0, platform=platform, limit=10**9) if c["operation"] == operation)


def _believe(env, channel: str, sku: str, qty: int) -> None:
    """The channel sold down to ``qty`` (as an imported sale of its own leaves it)."""
    with env.db.write() as s:
        s.execute(update(ChannelListing).where(ChannelListing.channel == channel, ChannelListing.sku == sku)
                  .values(last_pushed_qty=qty, exposure_qty=qty))
        dirty.mark_dirty(s, [sku])


def test_a_small_rise_waits_and_an_empty_listing_is_raised(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        channel = "amazon-de"
        with env.db.read() as s:
            avail = availability.availability_snapshot(s, [SKU])
            share = exposure.decide(s, channel, avail, rules=exposure.stock_rules(env.cfg), guard=True)[SKU].quantity
        assert share >= 2
        # Given Amazon DE sold one unit of its share (crossdock believes it shows share - 1)
        _believe(env, channel, SKU, share - 1)
        patches = _requests(env, "amazon", "patchListingsItem")
        reads = _requests(env, "amazon", "getListingsItem")
        # When its push runs, the rise back to the share waits: no call, and no read-back either
        push_stock(env.ctx, channel)
        assert _requests(env, "amazon", "patchListingsItem") == patches
        assert _requests(env, "amazon", "getListingsItem") == reads
        # But once it shows nothing, it is raised at once
        _believe(env, channel, SKU, 0)
        push_stock(env.ctx, channel)
        assert _requests(env, "amazon", "patchListingsItem") == patches + 1
        assert env.listed(channel)[SKU] > 0
