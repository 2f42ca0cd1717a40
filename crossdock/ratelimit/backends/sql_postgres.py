"""PostgreSQL's one-statement quota decisions (see
:mod:`crossdock.ratelimit.backends.sql` for when they are used).

A bucket-only acquire, and bucket feedback without long windows, are each ONE
statement in autocommit mode, like the Redis backend's one Lua script. The
statements below apply :mod:`crossdock.ratelimit.arithmetic` in SQL,
expression for expression; the shared test suite and a differential test hold
them to the Python functions.
"""

from __future__ import annotations

from sqlalchemy import text

from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.backends.base import BucketParams, BucketRef

__all__ = ["PG_ACQUIRE", "PG_FEEDBACK", "Binds", "bucket_binds"]

#: Bind parameters of the statements below.
Binds = dict[str, str | float | bool | None]

# One statement per decision. ``cur`` locks the bucket row; ``s`` reads the
# clock from the locked row's output, so any wait for the lock comes before the
# stamp (the clock in the same SELECT as FOR UPDATE would be read before the
# wait). Every CTE below mirrors a function of crossdock.ratelimit.arithmetic:
# pick/effective (``s``), level/floor_for (``lv``), bucket_wait/bucket_take
# (``d``, ``upd``), bucket_feedback (``fb``, ``upd``). Mind that least() and
# greatest() skip NULLs: optional values are tested with IS NULL first (and
# cast in ``prm``, since a NULL parameter carries no type).

def _pick_sql(plan: str, adopted: str, pinned: str) -> str:
    return (f"(CASE WHEN {adopted} IS NULL OR {adopted} <= 0 THEN {plan} "
            f"WHEN {pinned} THEN least({plan}, {adopted}) ELSE {adopted} END)")


def _level_sql(tokens: str, updated: str, now: str, rate: str, burst: str) -> str:
    return (f"(CASE WHEN {now} - {updated} <= 0 THEN least({tokens}, {burst}) "
            f"ELSE least({burst}, {tokens} + ({now} - {updated}) * {rate}) END)")


_PK_SQL = "platform = :platform AND account = :account AND bucket = :bucket"

PG_ACQUIRE = text(f"""
WITH cur AS MATERIALIZED (
    SELECT tokens, updated_at_s, adopted_rate_per_s, adopted_burst, last_granted_at_s
    FROM ratelimit_buckets WHERE {_PK_SQL}
    FOR UPDATE
), s AS MATERIALIZED (
    SELECT cur.*, extract(epoch FROM clock_timestamp())::float8 AS now_s,
           {_pick_sql(":plan_rate", "adopted_rate_per_s", ":pin_rate")} * :scale AS rate,
           {_pick_sql(":plan_burst", "adopted_burst", ":pin_burst")} AS burst
    FROM cur
), lv AS (
    SELECT s.*,
           {_level_sql("tokens", "updated_at_s", "now_s", "rate", "burst")} AS have,
           greatest(0.0, updated_at_s - now_s) AS blocked_s,
           :cost + greatest(0.0, least(:frac * burst + rate * :jitter_s, burst - :cost)) AS need
    FROM s
), d AS (
    SELECT lv.*,
           (:cost <= burst + :eps AND blocked_s = 0 AND have + :eps >= need) AS granted,
           CASE WHEN :cost > burst + :eps OR rate <= 0 THEN NULL
                ELSE blocked_s + greatest(0.0, need - have) / rate END AS wait_s
    FROM lv
), upd AS (
    UPDATE ratelimit_buckets AS b
    SET tokens = greatest(0.0, d.have - :cost), updated_at_s = greatest(d.updated_at_s, d.now_s),
        last_granted_at_s = d.now_s
    FROM d
    WHERE d.granted AND b.platform = :platform AND b.account = :account AND b.bucket = :bucket
), cnt AS (
    INSERT INTO ratelimit_counters (platform, account, bucket, minute, calls, throttled)
    SELECT :platform, :account, :bucket, floor(d.now_s / {ar.SECONDS_PER_MINUTE})::int, 1, 0
    FROM d WHERE d.granted
    ON CONFLICT (platform, account, bucket, minute)
    DO UPDATE SET calls = ratelimit_counters.calls + 1
)
SELECT granted, wait_s, now_s, updated_at_s > now_s AS blocked, last_granted_at_s FROM d
""")

PG_FEEDBACK = text(f"""
WITH prm AS (
    SELECT CAST(:new_rate AS float8) AS new_rate, CAST(:new_burst AS float8) AS new_burst,
           CAST(:available AS float8) AS available, CAST(:retry_after AS float8) AS retry_after
), cur AS MATERIALIZED (
    SELECT tokens, updated_at_s, adopted_rate_per_s, adopted_burst, throttled_total,
           last_throttled_at_s
    FROM ratelimit_buckets WHERE {_PK_SQL}
    FOR UPDATE
), s AS MATERIALIZED (
    SELECT cur.*, prm.*, extract(epoch FROM clock_timestamp())::float8 AS now_s,
           {_pick_sql(":plan_rate", "adopted_rate_per_s", ":pin_rate")} * :scale AS old_rate,
           {_pick_sql(":plan_burst", "adopted_burst", ":pin_burst")} AS old_burst,
           CASE WHEN prm.new_rate > 0 THEN prm.new_rate ELSE adopted_rate_per_s END AS a_rate,
           CASE WHEN prm.new_burst > 0 THEN prm.new_burst ELSE adopted_burst END AS a_burst
    FROM cur, prm
), st AS (
    SELECT s.*,
           {_level_sql("tokens", "updated_at_s", "now_s", "old_rate", "old_burst")} AS settled,
           greatest(updated_at_s, now_s) AS settled_at,
           {_pick_sql(":plan_rate", "a_rate", ":pin_rate")} * :scale AS rate,
           {_pick_sql(":plan_burst", "a_burst", ":pin_burst")} AS burst
    FROM s
), fb AS (
    SELECT st.*,
           greatest(0.0, least(settled + (burst - old_burst)
                                 + CASE WHEN :refund > 0 THEN :refund ELSE 0.0 END,
                               burst,
                               CASE WHEN available IS NULL THEN 'Infinity'::float8
                                    ELSE greatest(0.0, available) END)) AS fed
    FROM st
), upd AS (
    UPDATE ratelimit_buckets AS b
    SET tokens = CASE WHEN :throttled THEN 0.0 ELSE fb.fed END,
        updated_at_s = CASE WHEN :throttled AND fb.retry_after > 0 AND fb.rate > 0
                            THEN greatest(fb.settled_at,
                                          fb.now_s + greatest(0.0, fb.retry_after - 1.0 / fb.rate))
                            ELSE fb.settled_at END,
        adopted_rate_per_s = fb.a_rate, adopted_burst = fb.a_burst,
        throttled_total = fb.throttled_total + CASE WHEN :throttled THEN 1 ELSE 0 END,
        last_throttled_at_s = CASE WHEN :throttled THEN fb.now_s ELSE fb.last_throttled_at_s END
    FROM fb
    WHERE b.platform = :platform AND b.account = :account AND b.bucket = :bucket
), cnt AS (
    INSERT INTO ratelimit_counters (platform, account, bucket, minute, calls, throttled)
    SELECT :platform, :account, :bucket, floor(fb.now_s / {ar.SECONDS_PER_MINUTE})::int, 0, 1
    FROM fb WHERE :throttled
    ON CONFLICT (platform, account, bucket, minute)
    DO UPDATE SET throttled = ratelimit_counters.throttled + 1
)
SELECT now_s FROM fb
""")


def bucket_binds(ref: BucketRef, params: BucketParams) -> Binds:
    return {"platform": ref.platform, "account": ref.account, "bucket": ref.bucket,
            "plan_rate": float(params.rate_per_s), "plan_burst": float(params.burst),
            "pin_rate": bool(params.pinned_rate), "pin_burst": bool(params.pinned_burst),
            "scale": float(params.time_scale)}
