from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crossdock.db import models as m
from crossdock.mapping.inventory_rules import ChannelStockRule
from crossdock.sync_engine import dirty, inventory, orders, outbox, stock_runs
from crossdock.sync_engine.dirty import DirtySku
from crossdock.sync_engine.planner import FACTS_BATCH_POLICIES, plan_stock_pushes
from crossdock.sync_engine.shown import record_pushed
from tests.sync_engine.support import NOW, order, seed

T = dt.timedelta
W = 10.0  # coalescing window, seconds


def outbox_rows(db):
    with db.read() as s:
        return s.execute(select(m.OutboxEntry.channel, m.OutboxEntry.idempotency_key, m.OutboxEntry.priority,
                                m.OutboxEntry.available_at).order_by(m.OutboxEntry.id)).all()


def dirty_rows(db):
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(DirtySku.channel, DirtySku.sku, DirtySku.version, DirtySku.zero)
                                            .order_by(DirtySku.channel, DirtySku.sku))]


def test_many_changes_to_a_sku_coalesce_into_one_mark_and_one_entry_per_window(db):
    seed(db, stock={("SKU-1", "DE"): 50, ("SKU-2", "DE"): 50},
         listings={"ebay-us": ["SKU-1", "SKU-2"], "amazon-de": ["SKU-1"]},
         last_pushed={("ebay-us", "SKU-1"): 50, ("ebay-us", "SKU-2"): 50, ("amazon-de", "SKU-1"): 50})
    at = dt.datetime.fromtimestamp(1_800_000_000, dt.timezone.utc)      # a window boundary
    for i in range(5):
        with db.write() as s:
            inventory.adjust_stock(s, "SKU-1", "DE", -1, "count", now=at + T(seconds=i))
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-2", "DE", -1, "count", now=at + T(seconds=5))

    assert dirty_rows(db) == [("amazon-de", "SKU-1", 5, False), ("ebay-us", "SKU-1", 5, False),
                              ("ebay-us", "SKU-2", 1, False)]
    rows = outbox_rows(db)
    index, end = dirty.window_of(at, W)
    # the first change on a quiet channel is pushed at once (the leading run); the changes after it
    # in the window wait for its end and go together: one entry per channel and window
    assert [(c, k, p, a) for c, k, p, a in rows] == [
        ("amazon-de", f"push_stock:amazon-de:w10:{index}:lead", 5, at),
        ("ebay-us", f"push_stock:ebay-us:w10:{index}:lead", 5, at),
        ("amazon-de", f"push_stock:amazon-de:w10:{index}", 5, end),
        ("ebay-us", f"push_stock:ebay-us:w10:{index}", 5, end)]

    # a change in the next window gets the next entry, at its end (a run was recent: the first may
    # even be running)
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-2", "DE", -1, "count", now=at + T(seconds=W + 1))
    assert outbox_rows(db)[-1][1:] == (f"push_stock:ebay-us:w10:{index + 1}", 5, end + T(seconds=W))
    # after a whole window without a run the channel is quiet again: the next change leads
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-2", "DE", -1, "count", now=at + T(seconds=3 * W + 2))
    assert outbox_rows(db)[-1][1:] == (f"push_stock:ebay-us:w10:{index + 3}:lead", 5, at + T(seconds=3 * W + 2))


def test_a_bulk_change_is_pushed_now_and_the_window_still_follows(db):
    from sqlalchemy import update

    bulk = [f"SKU-{i:03d}" for i in range(dirty.BULK_MARK_MIN)]
    seed(db, stock={(sku, "DE"): 5 for sku in bulk},
         listings={"ebay-us": bulk, "amazon-de": bulk[:5]},
         last_pushed={("ebay-us", sku): 5 for sku in bulk} | {("amazon-de", sku): 5 for sku in bulk[:5]})
    at = dt.datetime.fromtimestamp(1_800_000_003, dt.timezone.utc)      # 3 s into a window
    index, end = dirty.window_of(at, W)
    # a quiet channel's first change leads: its run is due at once, the bulk needs nothing more
    with db.write() as s:
        dirty.mark_dirty(s, bulk[:1], available={bulk[0]: 9}, window_s=W, now=at)
    assert [(c, k.endswith(":lead"), a) for c, k, p, a in outbox_rows(db)] == \
        [("amazon-de", True, at), ("ebay-us", True, at)]
    # once those runs are done, the channels are busy: a later change waits for its window's end...
    with db.write() as s:
        s.execute(update(m.OutboxEntry).values(status="done"))
    later = at + T(seconds=1)
    with db.write() as s:
        dirty.mark_dirty(s, bulk, available={sku: 8 for sku in bulk}, window_s=W, now=later)
    rows = outbox_rows(db)[2:]
    # ...but eBay's 100 SKUs are a batch already: a run due now, besides the window's entry;
    # amazon-de's five wait for the end of the window
    assert [(c, a) for c, k, p, a in rows if ":bulk:" in k] == [("ebay-us", later)]
    assert sorted((c, a) for c, k, p, a in rows if ":w10:" in k) == [("amazon-de", end), ("ebay-us", end)]
    # a second bulk change while that run is still due adds none
    with db.write() as s:
        dirty.mark_dirty(s, bulk, available={sku: 7 for sku in bulk}, window_s=W, now=later + T(seconds=1))
    assert sum(1 for c, k, p, a in outbox_rows(db) if ":bulk:" in k) == 1


def test_zero_is_urgent_on_every_channel_showing_stock(db):
    seed(db, stock={("SKU-1", "DE"): 1}, listings={"ebay-us": ["SKU-1"], "shopify-eu": ["SKU-1"],
                                                    "amazon-de": ["SKU-1"]},
         last_pushed={("ebay-us", "SKU-1"): 1, ("shopify-eu", "SKU-1"): 1, ("amazon-de", "SKU-1"): 0})
    with db.write() as s:
        res = orders.upsert_orders(s, "ebay-us", [order("O1")], now=NOW)
    assert not res.short
    # amazon-de already shows 0: marked dirty, but nothing urgent to say there
    assert dirty_rows(db) == [("amazon-de", "SKU-1", 1, False), ("ebay-us", "SKU-1", 1, True),
                              ("shopify-eu", "SKU-1", 1, True)]
    urgent = [(c, a) for c, k, p, a in outbox_rows(db) if p == outbox.PRIORITY_URGENT]
    assert urgent == [("ebay-us", NOW), ("shopify-eu", NOW)]
    # the urgent entry is due now and claimable before the window's entry
    (first,) = outbox.claim(db, worker_id="w", kinds=[dirty.PUSH_STOCK], channel="ebay-us", now=NOW)
    assert first.priority == 0 and first.payload["urgent"] is True
    # another zero while an urgent entry is still due adds no second urgent entry
    with db.write() as s:
        dirty.mark_dirty(s, ["SKU-1"], available={"SKU-1": 0}, now=NOW + T(seconds=1))
    assert sum(1 for c, k, p, a in outbox_rows(db) if p == 0 and c == "shopify-eu") == 1


def test_push_run_takes_all_marks_and_only_acks_unchanged_ones(db):
    seed(db, stock={("SKU-1", "DE"): 5, ("SKU-2", "DE"): 5, ("SKU-3", "DE"): 5},
         listings={"shopify-eu": ["SKU-1", "SKU-2", "SKU-3"]})
    with db.write() as s:
        dirty.mark_dirty(s, ["SKU-1", "SKU-2", "SKU-3"], available={"SKU-1": 5, "SKU-2": 0, "SKU-3": 5}, now=NOW)

    # Given a push run took every dirty SKU of the channel (zeros first)
    taken = dirty.take_dirty(db, "shopify-eu", worker_id="run-1", lease_s=60, now=NOW)
    assert [(t.sku, t.zero) for t in taken] == [("SKU-2", True), ("SKU-1", False), ("SKU-3", False)]
    # a second run does not get the same marks while the first holds them
    assert dirty.take_dirty(db, "shopify-eu", worker_id="run-2", now=NOW) == []

    # When SKU-3 changes again during the push
    with db.write() as s:
        dirty.mark_dirty(s, ["SKU-3"], available={"SKU-3": 4}, now=NOW + T(seconds=1))
    with db.write() as s:
        with db.read() as r:
            states = dirty.listing_states(r, "shopify-eu", [t.sku for t in taken])
            avail = inventory.availability_snapshot(r, [t.sku for t in taken])
        plan = plan_stock_pushes(avail, states, {"shopify-eu": ChannelStockRule()}, FACTS_BATCH_POLICIES)
        pushed = plan["shopify-eu"].updates
        assert dirty.ack_dirty(s, taken) == 2
        record_pushed(s, "shopify-eu", pushed, now=NOW + T(seconds=2))

    # Then SKU-3 stays dirty (version moved); no other run pushes it while run-1 holds it (an older
    # quantity in flight must not land after a newer one), and once run-1 gives it back it is free
    assert dirty_rows(db) == [("shopify-eu", "SKU-3", 2, False)]
    assert dirty.take_dirty(db, "shopify-eu", worker_id="run-2", now=NOW + T(seconds=3)) == []
    with db.write() as s:
        dirty.release_dirty(s, taken, worker_id="run-1")
    (again,) = dirty.take_dirty(db, "shopify-eu", worker_id="run-2", now=NOW + T(seconds=3))
    assert again.sku == "SKU-3"
    with db.read() as s:
        shown = dict(s.execute(select(m.ChannelListing.sku, m.ChannelListing.last_pushed_qty)).all())
    assert shown == {"SKU-1": 5, "SKU-2": 5, "SKU-3": 5}


def test_marks_of_a_dead_push_run_are_taken_again_after_the_lease(db):
    seed(db, listings={"ebay-us": ["SKU-1"]})
    with db.write() as s:
        dirty.mark_dirty(s, ["SKU-1"], now=NOW)
    assert len(dirty.take_dirty(db, "ebay-us", worker_id="dead", lease_s=30, now=NOW)) == 1
    assert dirty.take_dirty(db, "ebay-us", worker_id="next", lease_s=30, now=NOW + T(seconds=29)) == []
    assert len(dirty.take_dirty(db, "ebay-us", worker_id="next", lease_s=30, now=NOW + T(seconds=31))) == 1
    # a run that gives up (quota) releases its marks at once
    with db.write() as s:
        dirty.release_dirty(s, dirty.take_dirty(s, "ebay-us", worker_id="x", now=NOW + T(minutes=5)),
                            worker_id="x")
    assert len(dirty.take_dirty(db, "ebay-us", worker_id="y", now=NOW + T(minutes=5))) == 1


def test_sweep_and_backlog(db):
    seed(db, listings={"ebay-us": ["SKU-1"], "amazon-de": ["SKU-1"]})
    with db.write() as s:
        dirty.mark_dirty(s, ["SKU-1"], now=NOW)
        s.execute(m.OutboxEntry.__table__.delete())          # Given the entries were lost (e.g. pruned)
    with db.write() as s:
        assert dirty.sweep(s, window_s=W, now=NOW + T(seconds=30)) == ["amazon-de", "ebay-us"]
        assert dirty.sweep(s, window_s=W, now=NOW + T(seconds=30)) == []      # idempotent per window
    with db.read() as s:
        assert dirty.dirty_backlog(s, now=NOW + T(seconds=30)) == {"amazon-de": (1, 30.0), "ebay-us": (1, 30.0)}


def test_unlisted_or_ended_listings_are_not_marked(db):
    seed(db, listings={"ebay-us": ["SKU-1"]})
    with db.write() as s:
        s.execute(m.ChannelListing.__table__.update().values(status="ended"))
        result = dirty.mark_dirty(s, ["SKU-1", "SKU-404"], now=NOW)
    assert result.marked == 0 and dirty_rows(db) == [] and outbox_rows(db) == []


def test_a_push_run_end_to_end_zeros_first_and_failures_retried(db):
    # Given 6 SKUs listed on eBay through the Trading API (4 items per call), two of them selling out
    skus = [f"SKU-{i}" for i in range(1, 7)]
    seed(db, stock={(s, "DE"): 2 for s in skus}, listings={"ebay-us": skus},
         last_pushed={("ebay-us", s): 2 for s in skus})
    with db.write() as s:
        s.execute(m.ChannelListing.__table__.update().values(platform_ids={"kind": "trading"}))
        orders.upsert_orders(s, "ebay-us", [order("O1", [("SKU-5", 2), ("SKU-6", 2), ("SKU-1", 1)])], now=NOW)
        for sku in ("SKU-2", "SKU-3", "SKU-4"):
            inventory.adjust_stock(s, sku, "DE", 1, "received", now=NOW)

    # When a push run prepares its calls
    push = stock_runs.prepare_stock_push(db, "ebay-us", worker_id="run", rule=None, policies=FACTS_BATCH_POLICIES,
                                    now=NOW + T(seconds=W))
    # Then the zeros lead the first call, every change is absolute, and 6 changes take 2 calls of ≤ 4
    assert [(u.sku, u.quantity) for u in push.updates] == [
        ("SKU-5", 0), ("SKU-6", 0), ("SKU-1", 1), ("SKU-2", 3), ("SKU-3", 3), ("SKU-4", 3)]
    assert [len(b.items) for b in push.plan.batches] == [4, 2] and push.plan.calls == 2

    # When the platform accepted all but SKU-4
    accepted = [u for u in push.updates if u.sku != "SKU-4"]
    assert stock_runs.finish_stock_push(db, push, accepted, now=NOW + T(seconds=W + 1)) == (5, 1)

    # Then SKU-4 is tried again by the next run, the rest is done and remembered
    again = stock_runs.prepare_stock_push(db, "ebay-us", worker_id="run-2", rule=None, policies=FACTS_BATCH_POLICIES,
                                     now=NOW + T(seconds=W + 2))
    assert [(u.sku, u.quantity) for u in again.updates] == [("SKU-4", 3)]
    with db.read() as s:
        shown = dict(s.execute(select(m.ChannelListing.sku, m.ChannelListing.last_pushed_qty)).all())
        ev = s.scalars(select(m.SyncEvent).where(m.SyncEvent.operation == "stock.push")).one()
    assert shown == {"SKU-1": 1, "SKU-2": 3, "SKU-3": 3, "SKU-4": 2, "SKU-5": 0, "SKU-6": 0}
    assert ev.outcome == "partial" and ev.details["retry"] == 1
    # nothing left once it went through
    assert stock_runs.finish_stock_push(db, again, again.updates, now=NOW + T(seconds=W + 3)) == (1, 0)
    assert dirty_rows(db) == []


def test_pushes_of_one_sku_never_overlap_and_the_changed_mark_is_pushed_after(db):
    # Given run-1 is pushing SKU-1 (an absolute quantity computed before a new sale)
    seed(db, stock={("SKU-1", "DE"): 9}, listings={"ebay-us": ["SKU-1"]}, last_pushed={("ebay-us", "SKU-1"): 9})
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-1", "DE", -1, "count", now=NOW)
    first = stock_runs.prepare_stock_push(db, "ebay-us", worker_id="run-1", rule=None, policies=FACTS_BATCH_POLICIES,
                                     now=NOW)
    assert [u.quantity for u in first.updates] == [8]
    # When another change comes while run-1's call is in flight
    with db.write() as s:
        inventory.adjust_stock(s, "SKU-1", "DE", -3, "count", now=NOW + T(seconds=1))
    # Then a second run cannot push SKU-1 (it would race run-1's older quantity)
    second = stock_runs.prepare_stock_push(db, "ebay-us", worker_id="run-2", rule=None, policies=FACTS_BATCH_POLICIES,
                                      now=NOW + T(seconds=1))
    assert second.marks == ()
    # And when run-1 finishes, SKU-1 stays dirty, is given back, and a run is woken for it
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(m.OutboxEntry))
    stock_runs.finish_stock_push(db, first, first.updates, now=NOW + T(seconds=2))
    with db.read() as s:
        after = s.scalar(select(func.count()).select_from(m.OutboxEntry))
        keys = list(s.scalars(select(m.OutboxEntry.idempotency_key).order_by(m.OutboxEntry.id.desc()).limit(1)))
    assert after == before + 1 and ":again:" in keys[0]
    third = stock_runs.prepare_stock_push(db, "ebay-us", worker_id="run-3", rule=None, policies=FACTS_BATCH_POLICIES,
                                     now=NOW + T(seconds=3))
    assert [u.quantity for u in third.updates] == [5]
