"""``crossdock sync reconcile --apply`` against the sandbox: a drifted quantity
is handed to the stock push, which repairs it behind its per-(channel, SKU)
claim — never past a push run that holds the SKU."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crossdock.sync_engine import dirty
from crossdock.sync_engine.jobs import push_stock, reconcile
from tests.sync_engine.catalog_env import catalog_env

# Jobs run here in the test's own thread sleep through short quota waits, as a person's
# command does (tests/sync_engine/test_quota_wait_actor.py covers how a worker waits).
pytestmark = pytest.mark.usefixtures("quota_waits_slept")


def _drift(env, channel: str, sku: str, shows: int) -> int:
    """The channel shows ``shows`` units of ``sku`` (edited by hand there);
    returns the quantity crossdock expects it to show."""
    expected = env.listed(channel)[sku]
    env.sim(channel).set_listing(env.sb_channels[channel], sku, shows, env.price(channel, sku))
    assert env.listed(channel)[sku] == shows
    return expected


def _quantity_events(env, sku: str) -> list[str]:
    return [e.message for e in env.events("reconcile", sku=sku) if e.code == "XD-INV-002"]


def test_apply_hands_the_drift_to_the_stock_push_which_repairs_it(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # (every channel lists all its rule gives: the quantity repaired is the rule's, at once)
        env.ctx.cfg.sync["oversell_guard"] = False
        # Given eBay shows 99 units of XD-0001 where crossdock expects fewer (and believes it pushed them)
        expected = _drift(env, "ebay-uk", "XD-0001", 99)

        # When eBay is reconciled with --apply
        report = reconcile(env.ctx, "ebay-uk", apply=True)

        # Then the drift is reported and repaired: the channel shows the expected quantity again,
        # pushed by the stock push (its mark is done) and recorded as what the channel shows
        assert report["drift"] == [{"sku": "XD-0001", "expected": expected, "listed": 99}]
        assert report["repaired"] == 1
        assert env.listed("ebay-uk")["XD-0001"] == expected
        assert env.dirty_count("ebay-uk", "XD-0001") == 0
        row = env.listing("ebay-uk", "XD-0001")
        assert (row.last_pushed_qty, row.listed_qty_seen) == (expected, 99)
        assert [e.outcome for e in env.events("stock.push", channel="ebay-uk")] == ["ok"]
        assert _quantity_events(env, "XD-0001")[-1].endswith("(repaired)")
        # And a new reconcile finds nothing
        assert reconcile(env.ctx, "ebay-uk")["drift"] == []


def test_apply_does_not_push_a_sku_another_push_run_holds(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        env.ctx.cfg.sync["oversell_guard"] = False
        # Given eBay shows 99 units of XD-0001, and a push run of another worker holds XD-0001's mark
        expected = _drift(env, "ebay-uk", "XD-0001", 99)
        with db.write() as s:
            dirty.mark_dirty(s, ["XD-0001"])
        held = dirty.take_dirty(db, "ebay-uk", worker_id="other-worker")
        assert [m.sku for m in held] == ["XD-0001"]

        # When eBay is reconciled with --apply
        report = reconcile(env.ctx, "ebay-uk", apply=True)

        # Then nothing is pushed past that run's claim: the channel still shows 99, nothing counts as
        # repaired, and the SKU is marked again (its version moved: the holding run cannot ack it)
        assert [d["sku"] for d in report["drift"]] == ["XD-0001"] and report["repaired"] == 0
        assert env.listed("ebay-uk")["XD-0001"] == 99
        assert _quantity_events(env, "XD-0001")[-1].endswith("(left to the stock push)")
        with db.read() as s:
            version = s.scalar(select(dirty.DIRTY.c.version).where(dirty.DIRTY.c.channel == "ebay-uk",
                                                                   dirty.DIRTY.c.sku == "XD-0001"))
        assert version == 2

        # When the other run gives its mark back and the stock push runs
        with db.write() as s:
            assert dirty.ack_dirty(s, held) == 0
            dirty.release_dirty(s, held, worker_id="other-worker")
        push_stock(env.ctx, "ebay-uk")

        # Then the channel shows the expected quantity
        assert env.listed("ebay-uk")["XD-0001"] == expected
        assert env.dirty_count("ebay-uk", "XD-0001") == 0


def test_with_the_oversell_guard_a_hand_edited_quantity_is_held_until_the_import_proves_it_unsold(
        db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given eBay shows 99 units of XD-0001 (edited by hand there), more than the whole stock
        expected = _drift(env, "ebay-uk", "XD-0001", 99)

        # When eBay is reconciled with --apply (the oversell guard is on by default)
        report = reconcile(env.ctx, "ebay-uk", apply=True)

        # Then the drift is reported and eBay is brought down at once: eBay may have sold some of the
        # 99 units already without crossdock knowing, so they are held, and eBay lists what is left of
        # the stock once the others' quantities and those held units are counted (here: nothing)
        assert report["drift"] == [{"sku": "XD-0001", "expected": expected, "listed": 99}]
        assert env.listed("ebay-uk")["XD-0001"] < expected
        row = env.listing("ebay-uk", "XD-0001")
        assert (row.last_pushed_qty, row.held_qty) == (env.listed("ebay-uk")["XD-0001"], 99)
        # and a new reconcile expects what eBay shows now: no drift
        assert reconcile(env.ctx, "ebay-uk")["drift"] == []
