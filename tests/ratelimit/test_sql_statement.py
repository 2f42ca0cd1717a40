"""PostgreSQL decides in one statement: it must read the clock after the row
lock, and it must apply exactly the rules of crossdock.ratelimit.arithmetic."""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, select, text

from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    BucketParams,
    BucketRef,
    BucketState,
    Feedback,
    apply_feedback,
    decide,
)
from crossdock.ratelimit.backends.sql import SqlBackend
from crossdock.ratelimit.backends.sql_tables import ratelimit_buckets

HOLD_S = 0.3


@pytest.fixture
def pg(pg_ratelimit_url):
    engine = create_engine(pg_ratelimit_url)
    backend = SqlBackend(engine)
    yield engine, backend
    backend.close()
    engine.dispose()


def _db_now(engine) -> float:
    with engine.connect() as conn:
        return float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())::float8")).scalar_one())


def _write(engine, ref: BucketRef, state: BucketState) -> None:
    with engine.begin() as conn:
        conn.execute(ratelimit_buckets.insert().values(
            platform=ref.platform, account=ref.account, bucket=ref.bucket, tokens=state.tokens,
            updated_at_s=state.updated_at_s, adopted_rate_per_s=state.adopted_rate_per_s,
            adopted_burst=state.adopted_burst, throttled_total=state.throttled_total,
            last_throttled_at_s=state.last_throttled_at_s, last_granted_at_s=state.last_granted_at_s))


def _read(engine, ref: BucketRef) -> BucketState:
    t = ratelimit_buckets.c
    with engine.connect() as conn:
        row = conn.execute(select(ratelimit_buckets).where(
            t.platform == ref.platform, t.account == ref.account, t.bucket == ref.bucket)).one()
    return BucketState(tokens=row.tokens, updated_at_s=row.updated_at_s,
                       adopted_rate_per_s=row.adopted_rate_per_s, adopted_burst=row.adopted_burst,
                       throttled_total=row.throttled_total,
                       last_throttled_at_s=row.last_throttled_at_s,
                       last_granted_at_s=row.last_granted_at_s)


def _same_state(got: BucketState, want: BucketState) -> None:
    for name in ("tokens", "updated_at_s", "adopted_rate_per_s", "adopted_burst",
                 "last_throttled_at_s", "last_granted_at_s"):
        g, w = getattr(got, name), getattr(want, name)
        assert (g is None) == (w is None), name
        if g is not None:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-9), name
    assert got.throttled_total == want.throttled_total


@pytest.mark.parametrize("holder", ["locks only", "updates"])
def test_clock_is_read_after_waiting_for_the_row_lock(pg, holder):
    # Given another transaction holding the bucket row for 300 ms; a holder that
    # never writes is the case a stamp taken with the lock request would get wrong
    engine, backend = pg
    ref = BucketRef("test", f"lock-{uuid.uuid4().hex[:8]}", "op")
    request = AcquireRequest(ref, BucketParams(10.0, 5.0))
    assert backend.acquire(request).granted  # creates the row
    results = []
    with engine.connect() as conn, conn.begin():
        conn.execute(select(ratelimit_buckets).where(
            ratelimit_buckets.c.account == ref.account).with_for_update())
        if holder == "updates":
            conn.execute(ratelimit_buckets.update().where(
                ratelimit_buckets.c.account == ref.account).values(tokens=5.0))
        # When a decision queues behind it
        waiter = threading.Thread(target=lambda: results.append(backend.acquire(request)))
        waiter.start()
        time.sleep(HOLD_S)
        released_s = float(conn.execute(text(
            "SELECT extract(epoch FROM clock_timestamp())::float8")).scalar_one())
    waiter.join(timeout=10)
    # Then it is stamped when it got the lock, not when it asked for it
    [result] = results
    assert result.granted and result.now_s >= released_s


def _random_state(rng: random.Random, now_s: float, burst: float) -> BucketState:
    updated = now_s + rng.choice([-10_000.0, -5.0, -0.2, -0.001, 0.4, 3.0])  # > now: blocked
    return BucketState(
        tokens=rng.choice([0.0, rng.uniform(0, 1.2 * burst), burst]),
        updated_at_s=updated,
        adopted_rate_per_s=rng.choice([None, 0.0, rng.uniform(0.01, 50)]),
        adopted_burst=rng.choice([None, rng.uniform(1, 3 * burst)]),
        throttled_total=rng.randrange(3),
        last_throttled_at_s=rng.choice([None, now_s - 30]),
        last_granted_at_s=rng.choice([None, now_s - 100, now_s - 0.5]),
    )


def _random_params(rng: random.Random) -> BucketParams:
    return BucketParams(rate_per_s=rng.choice([0.0167, 0.5, 2.0, 100.0]),
                        burst=rng.choice([2.0, 30.0, 1000.0]),
                        pinned_rate=rng.random() < 0.3, pinned_burst=rng.random() < 0.3,
                        time_scale=rng.choice([1.0, 0.99, 20.0]),
                        arrival_jitter_s=rng.choice([0.0, 0.1, 2.0]))


def test_acquire_statement_matches_the_python_rules(pg):
    engine, backend = pg
    rng = random.Random(20260101)
    run = uuid.uuid4().hex[:8]
    outcomes = set()
    for i in range(150):
        # Given a bucket in a random state (refilling, full, empty, blocked, adopted values)
        ref = BucketRef("test", f"diff-{run}-{i}", "op")
        params = _random_params(rng)
        before = _random_state(rng, _db_now(engine), params.burst)
        _write(engine, ref, before)
        request = AcquireRequest(ref, params, cost=rng.choice([1.0, 0.5, 3.0, 40.0, 1500.0]),
                                 floor_fraction=rng.choice([0.0, 0.2, 0.5]))
        # When PostgreSQL decides in one statement
        got = backend.acquire(request)
        # Then it is the decision (and the bucket) the Python rules give at its stamp
        state = replace(before)
        want = decide(request, state, {}, got.now_s)
        assert (got.granted, got.code) == (want.granted, want.code), (i, before, request)
        if math.isinf(want.wait_s):
            assert math.isinf(got.wait_s)
        else:
            assert got.wait_s == pytest.approx(want.wait_s, rel=1e-12, abs=1e-9)
        _same_state(_read(engine, ref), state)
        outcomes.add(want.code)
    assert outcomes == {None, "XD-QUOTA-001", "XD-QUOTA-003", "XD-QUOTA-005"}


def test_feedback_statement_matches_the_python_rules(pg):
    engine, backend = pg
    rng = random.Random(20260102)
    run = uuid.uuid4().hex[:8]
    for i in range(150):
        ref = BucketRef("test", f"fb-{run}-{i}", "op")
        params = _random_params(rng)
        before = _random_state(rng, _db_now(engine), params.burst)
        _write(engine, ref, before)
        feedback = Feedback(
            ref, params,
            rate_per_s=rng.choice([None, 0.0, rng.uniform(0.01, 50)]),
            burst=rng.choice([None, params.burst, rng.uniform(1, 3 * params.burst)]),
            available=rng.choice([None, -5.0, rng.uniform(0, 2 * params.burst)]),
            refund=rng.choice([0.0, rng.uniform(0, 200)]),
            throttled=rng.random() < 0.3,
            retry_after_s=rng.choice([None, 0.0, 0.01, 5.0]))
        now_s = backend._feedback_statement(feedback)  # noqa: SLF001 - its stamp, for the check
        state = replace(before)
        apply_feedback(feedback, state, {}, now_s)
        _same_state(_read(engine, ref), state)


def test_a_bucket_never_seen_is_created_full_by_either_statement(pg):
    engine, backend = pg
    params = BucketParams(0.001, 3.0)
    fresh = BucketRef("test", f"fresh-{uuid.uuid4().hex[:8]}", "op")
    assert backend.acquire(AcquireRequest(fresh, params, cost=3.0)).granted
    assert _read(engine, fresh).tokens == pytest.approx(0.0, abs=1e-6)
    adopted = BucketRef("test", f"fresh-{uuid.uuid4().hex[:8]}", "op")
    backend.feedback(Feedback(adopted, params, burst=5.0))
    # grown from the planned 3 to the reported 5: the fresh (full) bucket is full again
    assert _read(engine, adopted).tokens == pytest.approx(5.0)


def test_first_grant_of_a_minute_prunes_old_counters_and_listing_windows(pg):
    from crossdock.ratelimit.backends.sql_tables import ratelimit_counters, ratelimit_windows

    engine, backend = pg
    ref = BucketRef("test", f"prune-{uuid.uuid4().hex[:8]}", "op")
    minute = int(_db_now(engine) // 60)
    # Given counters from three hours and from one hour ago, and a listing window from last week
    with engine.begin() as conn:
        for m in (minute - 180, minute - 60):
            conn.execute(ratelimit_counters.insert().values(
                platform="test", account=ref.account, bucket="op", minute=m, calls=7, throttled=0))
        conn.execute(ratelimit_windows.insert().values(
            platform="test", account=ref.account, name="revisions", subject="L1",
            window_start_s=(minute - 7 * 1440) * 60.0, used=3.0))
    # When the bucket's first call is granted
    assert backend.acquire(AcquireRequest(ref, BucketParams(0.001, 5.0))).granted
    # Then only what is older than two hours (listings: three days) is gone
    c = ratelimit_counters.c
    with engine.connect() as conn:
        kept = [tuple(r) for r in conn.execute(
            select(c.minute, c.calls).where(c.account == ref.account).order_by(c.minute))]
        windows = conn.execute(select(ratelimit_windows).where(
            ratelimit_windows.c.account == ref.account)).all()
    assert (minute - 60, 7) in kept and min(m for m, _ in kept) == minute - 60
    assert sum(n for m, n in kept if m >= minute) == 1  # this call (in this minute or the next)
    assert windows == []
