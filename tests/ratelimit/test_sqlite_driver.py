"""The SQLite quota store decides on the driver connection: its failures are
still crossdock's error codes, and a grant is stored exactly as the shared
suite expects (see test_backends / test_sharing for the numbers)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from crossdock.errors import DataError
from crossdock.ratelimit import Priority, QuotaBudget, UsagePlan
from crossdock.ratelimit.backends.sql import SqlBackend
from crossdock.ratelimit.backends.sql_tables import create_tables, ratelimit_buckets, ratelimit_counters, \
    ratelimit_daily


def _calls(engine) -> int:
    with engine.connect() as conn:
        return sum(conn.execute(select(func.coalesce(func.sum(t.c.calls), 0))).scalar()
                   for t in (ratelimit_counters, ratelimit_daily))


def test_the_quota_store_keeps_its_own_file_beside_the_database(tmp_path):
    # Given a SQLite database that kept its quota state inside (crossdock before the quota file)
    engine = create_engine(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
    create_tables(engine)
    with engine.begin() as conn:
        conn.execute(ratelimit_counters.insert().values(platform="test", account="acct", bucket="op", minute=7,
                                                        calls=3, throttled=1))
    # When the store starts
    backend = SqlBackend(engine)
    budget = QuotaBudget(backend, plans={("test", "op"): UsagePlan(1.0, 2)})
    # Then its tables are in crossdock.quota.sqlite, with the rows the database had, and decisions go there
    assert backend.path == str(tmp_path / "crossdock.quota.sqlite")
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted
    assert _calls(backend.store_engine) == 4   # the old minute (rolled up per day by now) and this call
    assert _calls(engine) == 3                 # the database's own table is left as it was
    budget.close()
    # And a second start (another process) finds the file and copies nothing again
    again = SqlBackend(engine)
    assert _calls(again.store_engine) == 4
    again.close()
    engine.dispose()


def test_a_quota_file_that_lost_its_tables_is_made_again_and_meanwhile_says_so(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    backend = SqlBackend(engine)
    budget = QuotaBudget(backend, plans={("test", "op"): UsagePlan(1.0, 2)})
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted
    # Given the quota file's buckets table dropped under a running store
    with backend.store_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE ratelimit_buckets")
    # When a call asks for quota, or reports back: the "missing tables" code, not a driver exception
    with pytest.raises(DataError) as asked:
        budget.attempt("test", "acct", "op", priority=Priority.CRITICAL)
    with pytest.raises(DataError) as told:
        budget.on_response("test", "acct", "op", status=429, headers={"Retry-After": "1"})
    assert asked.value.code == told.value.code == "XD-DATA-002"
    budget.close()
    # And the next start makes the table again
    budget = QuotaBudget(SqlBackend(engine), plans={("test", "op"): UsagePlan(1.0, 2)})
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted
    budget.close()
    engine.dispose()


def test_a_quota_file_that_cannot_be_made_is_a_coded_error(tmp_path):
    # Given a database whose quota file's place is taken by a folder
    (tmp_path / "crossdock.quota.sqlite").mkdir()
    engine = create_engine(f"sqlite:///{tmp_path / 'crossdock.sqlite'}")
    # Then starting the store is a database error with a code, naming the file
    with pytest.raises(DataError) as failed:
        SqlBackend(engine)
    assert failed.value.code.startswith("XD-DATA-") and "crossdock.quota.sqlite" in str(failed.value)
    engine.dispose()


def test_grants_and_throttles_are_stored_and_counted(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'quota.sqlite'}")
    create_tables(engine)
    backend = SqlBackend(engine)
    budget = QuotaBudget(backend, plans={("test", "op"): UsagePlan(0.001, 3)})
    # Given a fresh bucket of 3, when two calls are granted and the platform then throttles one
    assert [budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted for _ in range(2)] == [True] * 2
    budget.on_response("test", "acct", "op", status=429)
    # Then the bucket row holds what is left (nothing, after the 429) and the minutes count both
    with backend.store_engine.connect() as conn:
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
    backend = SqlBackend(engine, busy_timeout_s=0.2)
    budget = QuotaBudget(backend, plans={("test", "op"): UsagePlan(1.0, 5)})
    assert budget.attempt("test", "acct", "op", priority=Priority.CRITICAL).granted     # the bucket exists
    # Given a reader holding the quota file (rollback journal: a COMMIT must wait for it)
    assert backend.path is not None
    backend.store_engine.dispose()                 # the file leaves WAL mode (no connection may be open)
    journal = sqlite3.connect(backend.path, isolation_level=None)
    journal.execute("PRAGMA journal_mode = DELETE")
    journal.close()
    reader = sqlite3.connect(backend.path, isolation_level=None)
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
