"""The quota budget's per-minute counts are rolled up per day when pruned,
so ``crossdock report api-usage`` keeps what happened after two hours
(SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import insert, select

from crossdock.ratelimit.backends.base import BucketRef
from crossdock.ratelimit.backends.sql import SqlBackend
from crossdock.ratelimit.backends.sql_tables import ratelimit_counters, ratelimit_daily
from crossdock.ratelimit.usage import usage_rows

DAY_MINUTES = 1440


def test_pruned_minutes_are_kept_per_day(db):
    ref = BucketRef("ebay", "seller-uk", "getOrders")
    day = 20_000                                   # a UTC day number
    rows = [(day * DAY_MINUTES + 5, 3, 1), (day * DAY_MINUTES + 900, 4, 0), ((day + 1) * DAY_MINUTES + 1, 2, 2)]
    backend = SqlBackend(db.engine)
    store = backend.store_engine                   # SQLite: the quota store's own file
    with store.begin() as conn:
        conn.execute(insert(ratelimit_counters), [
            {"platform": ref.platform, "account": ref.account, "bucket": ref.bucket, "minute": m, "calls": c,
             "throttled": t} for m, c, t in rows])
    before = sorted((op, at.date(), c, t) for _, _, op, at, c, t in usage_rows(db))
    now_s = (day + 1) * 86_400.0 + 4 * 3600          # the first two days' minutes are older than two hours
    with store.begin() as conn:
        backend._prune(conn, ref, now_s)
        backend._prune(conn, ref, now_s)              # a second prune finds nothing more to add
    with store.begin() as conn:
        daily = sorted((r.day, r.calls, r.throttled) for r in conn.execute(select(ratelimit_daily)))
        left = conn.execute(select(ratelimit_counters)).all()
    assert daily == [(day, 7, 1), (day + 1, 2, 2)] and left == []
    after = usage_rows(db)
    totals = sorted((at.date(), c, t) for _, _, _, at, c, t in after)
    assert [(d, c, t) for d, c, t in totals] == [(before[0][1], 7, 1), (before[-1][1], 2, 2)]
