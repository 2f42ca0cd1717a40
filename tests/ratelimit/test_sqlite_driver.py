"""The SQLite quota store decides on the driver connection: its failures are
still crossdock's error codes, and a grant is stored exactly as the shared
suite expects (see test_backends / test_sharing for the numbers)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from crossdock.errors import DataError
from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.sql import SqlBackend
from crossdock.ratelimit.backends.sql_tables import create_tables, ratelimit_buckets, ratelimit_counters


def test_missing_quota_tables_are_xd_data_002(tmp_path):
    # Given a SQLite database without the quota tables
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    budget = QuotaBudget(SqlBackend(engine), plans={("test", "op"): UsagePlan(1.0, 2)})
    # When a call asks for quota, or reports back
    # Then the answer is the "not migrated" code, not a driver exception
    with pytest.raises(DataError) as asked:
        budget.attempt("test", "acct", "op", priority=Priority.CRITICAL)
    with pytest.raises(DataError) as told:
        budget.on_response("test", "acct", "op", status=429, headers={"Retry-After": "1"})
    assert asked.value.code == told.value.code == "XD-DATA-002"
    budget.close()
    engine.dispose()


def test_grants_and_throttles_are_stored_and_counted(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'quota.sqlite'}")
    create_tables(engine)
    budget = QuotaBudget(SqlBackend(engine), plans={("test", "op"): UsagePlan(0.001, 3)})
    # Given a fresh bucket of 3, when two calls are granted and the platform then throttles one
    assert [budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted for _ in range(2)] == [True] * 2
    budget.on_response("test", "acct", "op", status=429)
    # Then the bucket row holds what is left (nothing, after the 429) and the minutes count both
    with engine.connect() as conn:
        tokens, throttled_total = conn.execute(select(ratelimit_buckets.c.tokens,
                                                      ratelimit_buckets.c.throttled_total)).one()
        calls, throttled = conn.execute(select(func.sum(ratelimit_counters.c.calls),
                                               func.sum(ratelimit_counters.c.throttled))).one()
    assert (tokens, throttled_total, calls, throttled) == (0.0, 1, 2, 1)
    assert not budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted
    budget.close()
    engine.dispose()


def test_a_refused_commit_leaves_no_transaction_open_on_the_pooled_connection(tmp_path):
    import sqlite3

    path = tmp_path / "quota.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    create_tables(engine)
    budget = QuotaBudget(SqlBackend(engine, busy_timeout_s=0.2), plans={("test", "op"): UsagePlan(1.0, 5)})
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted     # the bucket exists
    # Given a reader holding the database (rollback journal: a COMMIT must wait for it)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ratelimit_buckets").fetchone()
    # When a decision's COMMIT is refused as busy
    with pytest.raises(Exception) as refused:
        budget.attempt("test", "acct", "op", priority=Priority.CRITICAL)
    assert "locked" in str(refused.value).lower() or getattr(refused.value, "code", "").startswith("XD-"), refused.value
    reader.execute("ROLLBACK")
    reader.close()
    # Then the pool got its connection back with no transaction open: the next decisions, on the
    # decision path and on the backend's own transactions, begin theirs as usual
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted
    budget.on_response("test", "acct", "op", status=429)
    assert budget.snapshot() is not None
    budget.close()
    engine.dispose()
