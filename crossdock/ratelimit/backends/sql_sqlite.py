"""The SQLite quota decisions on the driver connection (private to :mod:`.sql`).

Every platform call asks the budget once and may tell it once: on SQLite
that is a write transaction per call. Through SQLAlchemy Core each one built,
compiled-from-cache and bound five statements and checked a connection out of
the pool (2-3 ms of CPU a call); here the same statements are literal SQL run
on the sqlite3 connection itself (about 0.1 ms). The transaction is the same
one :mod:`.sql` describes: ``BEGIN IMMEDIATE`` takes the database write lock
up front, the clock is the database's (``julianday('now')``, read in the
statement that reads the bucket, i.e. after the lock is held), the decision is
:func:`~crossdock.ratelimit.backends.base.decide` /
:func:`~crossdock.ratelimit.backends.base.apply_feedback` in Python, and the
rows are written back before ``COMMIT``. Nothing sleeps inside.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    AcquireResult,
    BucketParams,
    BucketRef,
    BucketState,
    Feedback,
    WindowRef,
    WindowState,
    apply_feedback,
    decide,
)

__all__ = ["SQLITE_NOW", "SqliteDecisions"]

# SQLite's clock counts milliseconds; rounded to them, the Julian day's float noise (~0.02 ms) is gone
SQLITE_NOW = "round((julianday('now') - 2440587.5) * 86400.0, 3)"
_BUCKET = ("SELECT tokens, updated_at_s, adopted_rate_per_s, adopted_burst, throttled_total, last_throttled_at_s, "
           f"last_granted_at_s, {SQLITE_NOW} FROM ratelimit_buckets WHERE platform = ? AND account = ? AND bucket = ?")
_NEW_BUCKET = ("INSERT INTO ratelimit_buckets (platform, account, bucket, tokens, updated_at_s, throttled_total) "
               "VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING")
_STORE_BUCKET = ("UPDATE ratelimit_buckets SET tokens = ?, updated_at_s = ?, adopted_rate_per_s = ?, "
                 "adopted_burst = ?, throttled_total = ?, last_throttled_at_s = ?, last_granted_at_s = ? "
                 "WHERE platform = ? AND account = ? AND bucket = ?")
_WINDOW = ("SELECT window_start_s, used, adopted_limit FROM ratelimit_windows "
           "WHERE platform = ? AND account = ? AND name = ? AND subject = ?")
_NEW_WINDOW = ("INSERT INTO ratelimit_windows (platform, account, name, subject, window_start_s, used) "
               "VALUES (?, ?, ?, ?, 0.0, 0.0) ON CONFLICT DO NOTHING")
_STORE_WINDOW = ("UPDATE ratelimit_windows SET window_start_s = ?, used = ?, adopted_limit = ? "
                 "WHERE platform = ? AND account = ? AND name = ? AND subject = ?")
_COUNT = ("INSERT INTO ratelimit_counters (platform, account, bucket, minute, calls, throttled) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, account, bucket, minute) "
          "DO UPDATE SET calls = calls + excluded.calls, throttled = throttled + excluded.throttled")


class SqliteDecisions:
    """Acquire and feedback transactions of the SQLite quota store, on the
    driver connections of ``engine`` (a private pool in autocommit mode: the
    transaction is ours, begun with ``BEGIN IMMEDIATE``). Raises the driver's
    own ``sqlite3.Error``; the backend translates it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        pooled = self._engine.raw_connection()
        try:
            conn = pooled.driver_connection
            if not isinstance(conn, sqlite3.Connection):      # the engine is a SQLite engine: never
                raise TypeError(f"not a sqlite3 connection: {type(conn).__name__}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                end_or_invalidate(pooled)
                raise
        finally:
            pooled.close()

    @staticmethod
    def _bucket(conn: sqlite3.Connection, ref: BucketRef, params: BucketParams) -> tuple[BucketState, float]:
        """The bucket's state (a bucket never seen before is created full, as
        :func:`~crossdock.ratelimit.arithmetic.fresh_bucket`) and the database's time."""
        key = (ref.platform, ref.account, ref.bucket)
        row = conn.execute(_BUCKET, key).fetchone()
        if row is None:
            fresh = ar.fresh_bucket(params)
            conn.execute(_NEW_BUCKET, (*key, fresh.tokens, fresh.updated_at_s))
            row = conn.execute(_BUCKET, key).fetchone()
        return BucketState(tokens=row[0], updated_at_s=row[1], adopted_rate_per_s=row[2], adopted_burst=row[3],
                           throttled_total=row[4], last_throttled_at_s=row[5], last_granted_at_s=row[6]), row[7]

    @staticmethod
    def _windows(conn: sqlite3.Connection, refs: Iterable[WindowRef]) -> dict[WindowRef, WindowState]:
        found: dict[WindowRef, WindowState] = {}
        for ref in sorted(set(refs)):
            key = (ref.platform, ref.account, ref.name, ref.subject)
            row = conn.execute(_WINDOW, key).fetchone()
            if row is None:
                conn.execute(_NEW_WINDOW, key)
                row = conn.execute(_WINDOW, key).fetchone()
            found[ref] = WindowState(window_start_s=row[0], used=row[1], adopted_limit=row[2])
        return found

    @staticmethod
    def _store(conn: sqlite3.Connection, ref: BucketRef | None, state: BucketState | None,
               windows: dict[WindowRef, WindowState]) -> None:
        if ref is not None and state is not None:
            conn.execute(_STORE_BUCKET, (state.tokens, state.updated_at_s, state.adopted_rate_per_s,
                                         state.adopted_burst, state.throttled_total, state.last_throttled_at_s,
                                         state.last_granted_at_s, ref.platform, ref.account, ref.bucket))
        for wref, s in sorted(windows.items()):
            conn.execute(_STORE_WINDOW, (s.window_start_s, s.used, s.adopted_limit,
                                         wref.platform, wref.account, wref.name, wref.subject))

    @staticmethod
    def _count(conn: sqlite3.Connection, ref: BucketRef, now_s: float, *, calls: int = 0, throttled: int = 0) -> None:
        conn.execute(_COUNT, (ref.platform, ref.account, ref.bucket, ar.minute_of(now_s), calls, throttled))

    def acquire(self, request: AcquireRequest) -> tuple[AcquireResult, float | None]:
        """Decide and charge; also the bucket's previous grant time (the
        caller prunes the counters on the first grant of a minute)."""
        with self._transaction() as conn:
            bucket, now_s = self._bucket(conn, request.bucket, request.params)
            windows = self._windows(conn, (c.ref for c in request.windows))
            previous = bucket.last_granted_at_s
            result = decide(request, bucket, windows, now_s)
            if result.granted:
                self._store(conn, request.bucket, bucket, windows)
                self._count(conn, request.bucket, now_s, calls=1)
        return result, previous

    def feedback(self, feedback: Feedback) -> None:
        with self._transaction() as conn:
            bucket: BucketState | None = None
            ref = feedback.bucket if feedback.params is not None else None
            if ref is not None and feedback.params is not None:
                bucket, now_s = self._bucket(conn, ref, feedback.params)
            else:
                now_s = conn.execute(f"SELECT {SQLITE_NOW}").fetchone()[0]
            windows = self._windows(conn, (a.charge.ref for a in feedback.windows))
            apply_feedback(feedback, bucket, windows, now_s)
            self._store(conn, ref, bucket, windows)
            if ref is not None and feedback.throttled:
                self._count(conn, ref, now_s, throttled=1)


def end_or_invalidate(pooled: Any) -> None:
    """After a failure inside a transaction we began (a failed COMMIT too: SQLite
    keeps the transaction open when COMMIT is refused as busy): roll it back, or,
    when even that fails, invalidate the connection, so none goes back to the
    pool (which does not reset connections it gets back) with a transaction open."""
    conn = pooled.driver_connection
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pooled.invalidate()
