from __future__ import annotations

import datetime as dt

import pytest

from crossdock.sync_engine import cursors
from tests.sync_engine.support import NOW, seed

T = dt.timedelta


def test_cursor_only_moves_forward(db):
    seed(db)
    with db.write() as s:
        assert cursors.get_cursor(s, "ebay-us", "orders") is None
        assert cursors.advance_cursor(s, "ebay-us", "orders", NOW, now=NOW) is True
    with db.write() as s:
        # an older run finishing late must not move it back, nor an equal one touch it
        assert cursors.advance_cursor(s, "ebay-us", "orders", NOW - T(minutes=15), now=NOW + T(minutes=1)) is False
        assert cursors.advance_cursor(s, "ebay-us", "orders", NOW, now=NOW + T(minutes=1)) is False
    with db.read() as s:
        c = cursors.get_cursor(s, "ebay-us", "orders")
    assert (c.position, c.last_success_at) == (NOW, NOW)
    with db.write() as s:
        assert cursors.advance_cursor(s, "ebay-us", "orders", NOW + T(minutes=15), now=NOW + T(minutes=16))
        # streams are independent
        assert cursors.advance_cursor(s, "ebay-us", "tracking", NOW - T(days=1), now=NOW)
    with db.read() as s:
        assert cursors.get_cursor(s, "ebay-us", "orders").position == NOW + T(minutes=15)
        assert cursors.get_cursor(s, "ebay-us", "tracking").position == NOW - T(days=1)


def test_next_window_follows_the_ebay_advice():
    # every 15 min, from (last run − 2 min) to (now − 2 min)
    w = cursors.next_window(NOW - T(minutes=17), NOW, safety_lag_s=120, overlap_s=120, max_window_s=86_400)
    assert (w.start, w.end, w.more) == (NOW - T(minutes=19), NOW - T(minutes=2), False)


def test_next_window_cuts_a_long_catch_up_and_waits_at_the_horizon():
    cursor = NOW - T(days=3)
    w = cursors.next_window(cursor, NOW, safety_lag_s=120, overlap_s=60, max_window_s=86_400)
    assert (w.start, w.end, w.more) == (cursor - T(seconds=60), cursor + T(days=1), True)
    # nothing to fetch while the cursor is at the safety horizon
    assert cursors.next_window(NOW - T(minutes=2), NOW, safety_lag_s=120, overlap_s=60, max_window_s=600) is None
    # an overlap larger than the window still makes progress (the window is measured from the cursor)
    w = cursors.next_window(cursor, NOW, safety_lag_s=0, overlap_s=7200, max_window_s=600)
    assert w.end == cursor + T(seconds=600) and w.start == cursor - T(hours=2)


def test_first_window_without_cursor_uses_the_lookback():
    w = cursors.next_window(None, NOW, safety_lag_s=120, overlap_s=60, max_window_s=3600,
                            initial_lookback_s=7200)
    assert (w.start, w.end, w.more) == (NOW - T(seconds=7320), NOW - T(seconds=3720), True)
    with pytest.raises(ValueError):
        cursors.next_window(None, NOW, safety_lag_s=-1, overlap_s=0, max_window_s=60)
