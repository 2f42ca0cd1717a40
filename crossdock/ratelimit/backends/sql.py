"""Quota store in crossdock's own database (SQLite or PostgreSQL).

One clock, the database's: every decision reads the time after the rows it
decides on are locked (PostgreSQL ``clock_timestamp()``, SQLite
``julianday('now')``), so workers on different machines with skewed clocks
still share one budget exactly, and a caller that queued for the lock is
stamped when it got it, not when it started waiting.

PostgreSQL, the shared store: a bucket-only decision (every Amazon and Shopify
call; eBay calls that are charged against long windows take the general path
below) is ONE statement in autocommit mode, like the Redis backend's one Lua
script: it locks the bucket row, reads the clock, applies the rules of
:mod:`crossdock.ratelimit.arithmetic` in SQL (mirrored expression for
expression; the shared test suite and a differential test hold it to the
Python functions), writes the row and counts the call. The row lock is held
for the statement's own execution instead of a transaction's worth of round
trips (so four workers no longer queue behind each other's network time), and
the answer reaches the caller as soon as the statement commits, not several
statements after its stamp. Platform feedback without long windows (every
Shopify response) is one statement too.

The general path (SQLite; calls charged against long windows; window
feedback): one short transaction that locks the bucket row and then the window
rows in key order (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite takes the
database write lock up front with ``BEGIN IMMEDIATE`` on a private connection
pool in autocommit mode, so the transaction is ours whatever the application
engine is configured to do), reads the clock, decides in Python and writes.
Nothing sleeps inside either.

The tables are in :mod:`.sql_tables`, the PostgreSQL statements in
:mod:`.sql_postgres`.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    Row,
    Table,
    TextClause,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from crossdock.db.sqlite_writers import connect_args as sqlite_connect_args
from crossdock.errors import ConfigError, DataError, QuotaError
from crossdock.ratelimit import arithmetic as ar
from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    AcquireResult,
    BucketParams,
    BucketRef,
    BucketRow,
    BucketState,
    Feedback,
    QuotaBackend,
    Snapshot,
    WindowRef,
    WindowRow,
    WindowState,
    apply_feedback,
    decide,
)
from crossdock.ratelimit.backends.sql_file import BUSY_TIMEOUT_S, prepare_quota_file
from crossdock.ratelimit.backends.sql_sqlite import SQLITE_NOW, SqliteDecisions, end_or_invalidate
from crossdock.ratelimit.backends.sql_postgres import PG_ACQUIRE, PG_FEEDBACK, Binds, bucket_binds
from crossdock.ratelimit.backends.sql_tables import (
    bucket_key,
    bucket_state,
    ratelimit_buckets,
    ratelimit_counters,
    ratelimit_daily,
    ratelimit_windows,
    window_ref,
    window_state,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
_ATTEMPTS = 5
_LISTING_WINDOW_KEEP_S = 3 * 86_400.0
MINUTES_PER_DAY = 1440


def _sqlite_durability(dbapi_conn: Any, _record: Any) -> None:
    """The quota store's connections commit as the application's do (crossdock.db.engine):
    in WAL mode, ``synchronous = NORMAL`` writes the log without an fsync per commit, where
    SQLite's default (FULL) made every quota decision pay one. A commit lost to a power cut is
    lost from the orders beside it as well; a quota decision lost so is at worst one call the
    platform may throttle, which its feedback then corrects."""
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")


class SqlBackend(QuotaBackend):
    name = "sql"
    path: str | None = None     # SQLite: the quota store's own file (.sql_file)

    def __init__(self, engine: Engine, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            database = engine.url.database
            if not database or database == ":memory:" or database.startswith("file::memory:"):
                raise ConfigError(
                    "XD-CFG-008",
                    detail="the sql:// rate limiter needs a file or server database, not an "
                           "in-memory SQLite; use memory:// for an in-process budget")
            # A private pool in autocommit mode: we issue BEGIN IMMEDIATE ourselves, and end every
            # transaction we begin (COMMIT, or ROLLBACK when anything fails, COMMIT included; a
            # connection that cannot roll back is invalidated), so the pool need not roll back each
            # connection it gets back: that reset was a quarter of the CPU of a quota decision.
            # ... on a file of its own beside the database (.sql_file: decisions wait only for decisions)
            self.path = prepare_quota_file(database, busy_timeout_s=busy_timeout_s)
            self._engine = create_engine(engine.url.set(database=self.path), isolation_level="AUTOCOMMIT",
                                         pool_reset_on_return=None, connect_args=sqlite_connect_args(busy_timeout_s))
            event.listen(self._engine, "connect", _sqlite_durability)
            self._own_engine = True
            self._insert: Callable[[Table], sqlite.Insert | postgresql.Insert] = sqlite_insert
            self._now_sql = select(text(SQLITE_NOW))
        elif dialect == "postgresql":
            self._engine = engine
            self._own_engine = False
            self._insert = pg_insert
            self._now_sql = select(func.extract("epoch", func.clock_timestamp()))
            # The one-statement decisions run outside any transaction of ours
            # (same pool as the application, no BEGIN/COMMIT round trips).
            self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            raise ConfigError("XD-CFG-008", detail=f"the sql:// rate limiter supports SQLite and "
                                                   f"PostgreSQL, not {dialect}")
        self._sqlite = dialect == "sqlite"
        # SQLite: acquire and feedback on the driver connection (the per-call hot path)
        self._decisions = SqliteDecisions(self._engine) if self._sqlite else None

    @property
    def store_engine(self) -> Engine:
        """The engine of the database holding the quota tables: on SQLite the
        quota store's own file (:attr:`path`), on PostgreSQL crossdock's."""
        return self._engine

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._sqlite:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.exec_driver_sql("COMMIT")
                except BaseException:
                    end_or_invalidate(conn.connection)
                    raise
        else:
            with self._engine.begin() as conn:
                yield conn

    def _run(self, work: Callable[[Connection], T]) -> T:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._transaction() as conn:
                    return work(conn)
            except sa_exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate in _RETRY_SQLSTATES and attempt < _ATTEMPTS:
                    log.debug("quota transaction retried after %s (attempt %d)", sqlstate, attempt)
                    continue
                raise self._translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: sa_exc.DBAPIError | sqlite3.Error) -> Exception:
        orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
        message = str(orig)
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate == "42P01" or "no such table" in message:
            return DataError("XD-DATA-002", detail="the quota tables (ratelimit_buckets, ...) are "
                                                   "missing: " + message.splitlines()[0])
        if "database is locked" in message:
            return DataError("XD-DATA-003", detail="quota store: " + message.splitlines()[0])
        return QuotaError("XD-QUOTA-006", detail=f"{type(orig).__name__}: "
                                                 f"{message.splitlines()[0] if message else ''}")

    def _now(self, conn: Connection) -> float:
        return float(conn.execute(self._now_sql).scalar_one())

    def _lock_bucket(self, conn: Connection, ref: BucketRef, params: BucketParams) -> BucketState:
        query = select(ratelimit_buckets).where(bucket_key(ref)).with_for_update()
        row = conn.execute(query).first()
        if row is None:
            self._create_bucket(conn, ref, params)
            row = conn.execute(query).one()
        return bucket_state(row)

    def _lock_windows(self, conn: Connection, refs: Iterable[WindowRef]) -> dict[WindowRef, WindowState]:
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        t = ratelimit_windows.c
        keys = [(r.platform, r.account, r.name, r.subject) for r in wanted]
        query = (select(ratelimit_windows)
                 .where(tuple_(t.platform, t.account, t.name, t.subject).in_(keys))
                 .order_by(t.platform, t.account, t.name, t.subject)
                 .with_for_update())
        found = {window_ref(row): window_state(row) for row in conn.execute(query)}
        missing = [r for r in wanted if r not in found]
        if missing:
            conn.execute(self._insert(ratelimit_windows).values([
                {"platform": r.platform, "account": r.account, "name": r.name,
                 "subject": r.subject, "window_start_s": 0.0, "used": 0.0} for r in missing
            ]).on_conflict_do_nothing())
            found = {window_ref(row): window_state(row) for row in conn.execute(query)}
        return found

    def _store_bucket(self, conn: Connection, ref: BucketRef, state: BucketState) -> None:
        conn.execute(update(ratelimit_buckets).where(bucket_key(ref)).values(
            tokens=state.tokens, updated_at_s=state.updated_at_s,
            adopted_rate_per_s=state.adopted_rate_per_s, adopted_burst=state.adopted_burst,
            throttled_total=state.throttled_total, last_throttled_at_s=state.last_throttled_at_s,
            last_granted_at_s=state.last_granted_at_s))

    def _store_windows(self, conn: Connection, windows: dict[WindowRef, WindowState]) -> None:
        if not windows:
            return
        t = ratelimit_windows.c
        stmt = update(ratelimit_windows).where(and_(
            t.platform == bindparam("k_platform"), t.account == bindparam("k_account"),
            t.name == bindparam("k_name"), t.subject == bindparam("k_subject"),
        )).values(window_start_s=bindparam("v_start"), used=bindparam("v_used"),
                  adopted_limit=bindparam("v_limit"))
        conn.execute(stmt, [
            {"k_platform": r.platform, "k_account": r.account, "k_name": r.name,
             "k_subject": r.subject, "v_start": s.window_start_s, "v_used": s.used,
             "v_limit": s.adopted_limit}
            for r, s in sorted(windows.items())
        ])

    def _count(self, conn: Connection, ref: BucketRef, now_s: float, *, calls: int = 0,
               throttled: int = 0, previous_s: float | None = None) -> None:
        minute = ar.minute_of(now_s)
        stmt = self._insert(ratelimit_counters).values(
            platform=ref.platform, account=ref.account, bucket=ref.bucket, minute=minute,
            calls=calls, throttled=throttled)
        stmt = stmt.on_conflict_do_update(
            index_elements=["platform", "account", "bucket", "minute"],
            set_={"calls": ratelimit_counters.c.calls + stmt.excluded.calls,
                  "throttled": ratelimit_counters.c.throttled + stmt.excluded.throttled})
        conn.execute(stmt)
        if previous_s is None or ar.minute_of(previous_s) != minute:
            # First event of this bucket in a new minute: drop what is older than two hours.
            self._prune(conn, ref, now_s)

    def _run_statement(self, work: Callable[[Connection], T]) -> T:
        """PostgreSQL one-statement decisions: autocommit, same retry rules."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._autocommit.connect() as conn:
                    return work(conn)
            except sa_exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate in _RETRY_SQLSTATES and attempt < _ATTEMPTS:
                    log.debug("quota statement retried after %s (attempt %d)", sqlstate, attempt)
                    continue
                raise self._translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_bucket(self, conn: Connection, ref: BucketRef, params: BucketParams) -> None:
        fresh = ar.fresh_bucket(params)
        conn.execute(self._insert(ratelimit_buckets).values(
            platform=ref.platform, account=ref.account, bucket=ref.bucket,
            tokens=fresh.tokens, updated_at_s=fresh.updated_at_s, throttled_total=0,
        ).on_conflict_do_nothing())

    def _bucket_statement(self, conn: Connection, stmt: TextClause, ref: BucketRef,
                          params: BucketParams, binds: Binds) -> Row[Any]:
        """Run a one-bucket statement; a bucket never seen before is created
        (full, as :func:`~crossdock.ratelimit.arithmetic.fresh_bucket`) first."""
        row = conn.execute(stmt, binds).first()
        if row is None:
            self._create_bucket(conn, ref, params)
            row = conn.execute(stmt, binds).one()
        return row

    def _prune(self, conn: Connection, ref: BucketRef, now_s: float) -> None:
        """Roll counters older than two hours up into their day, drop them,
        and drop stale per-listing windows."""
        c = ratelimit_counters.c
        old = and_(c.platform == ref.platform, c.account == ref.account, c.bucket == ref.bucket,
                   c.minute < ar.minute_of(now_s) - 2 * ar.HOUR_MINUTES)
        day = c.minute // MINUTES_PER_DAY
        for d, calls, throttled in conn.execute(select(day, func.sum(c.calls), func.sum(c.throttled))
                                                .where(old).group_by(day)).all():
            stmt = self._insert(ratelimit_daily).values(platform=ref.platform, account=ref.account, bucket=ref.bucket,
                                                        day=int(d), calls=int(calls or 0),
                                                        throttled=int(throttled or 0))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["platform", "account", "bucket", "day"],
                set_={"calls": ratelimit_daily.c.calls + stmt.excluded.calls,
                      "throttled": ratelimit_daily.c.throttled + stmt.excluded.throttled}))
        conn.execute(delete(ratelimit_counters).where(old))
        w = ratelimit_windows.c
        conn.execute(delete(ratelimit_windows).where(
            w.platform == ref.platform, w.account == ref.account, w.subject != "",
            w.window_start_s < now_s - _LISTING_WINDOW_KEEP_S))

    def _acquire_statement(self, request: AcquireRequest) -> AcquireResult:
        binds = {**bucket_binds(request.bucket, request.params),
                 "cost": float(request.cost), "frac": float(request.floor_fraction),
                 "jitter_s": float(request.params.arrival_jitter_s), "eps": ar.EPS}

        row = self._run_statement(lambda conn: self._bucket_statement(
            conn, PG_ACQUIRE, request.bucket, request.params, binds))
        now_s = float(row.now_s)
        if row.granted:
            previous = row.last_granted_at_s
            if previous is None or ar.minute_of(previous) != ar.minute_of(now_s):
                # First call of this minute: housekeeping, after (and apart from)
                # the decision, so that a retried prune can never grant twice.
                try:
                    self._run_statement(lambda conn: self._prune(conn, request.bucket, now_s))
                except (QuotaError, DataError) as exc:
                    log.warning("quota counters of %s/%s/%s not pruned: %s", request.bucket.platform,
                                request.bucket.account, request.bucket.bucket, exc)
            return AcquireResult(True, 0.0, now_s)
        if row.wait_s is None:
            return AcquireResult(False, math.inf, now_s, "XD-QUOTA-005")
        return AcquireResult(False, float(row.wait_s), now_s,
                             "XD-QUOTA-001" if row.blocked else "XD-QUOTA-003")

    def _feedback_statement(self, feedback: Feedback) -> float:
        """Apply bucket feedback in one statement; the database time it applied at."""
        ref, params = feedback.bucket, feedback.params
        if ref is None or params is None:
            raise ValueError("bucket feedback needs the bucket and its params")
        binds = {**bucket_binds(ref, params),
                 "new_rate": feedback.rate_per_s, "new_burst": feedback.burst,
                 "available": feedback.available, "refund": float(feedback.refund),
                 "throttled": bool(feedback.throttled), "retry_after": feedback.retry_after_s}
        row = self._run_statement(lambda conn: self._bucket_statement(
            conn, PG_FEEDBACK, ref, params, binds))
        return float(row.now_s)

    # ------------------------------------------------------------ interface

    def _prune_apart(self, ref: BucketRef, now_s: float) -> None:
        """Counter housekeeping in a transaction of its own, after (and apart
        from) the decision, so that a failed or retried prune never touches a grant."""
        try:
            self._run(lambda conn: self._prune(conn, ref, now_s))
        except (QuotaError, DataError) as exc:
            log.warning("quota counters of %s/%s/%s not pruned: %s", ref.platform, ref.account, ref.bucket, exc)

    def acquire(self, request: AcquireRequest) -> AcquireResult:
        if self._decisions is not None:
            try:
                result, previous = self._decisions.acquire(request)
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            if result.granted and (previous is None or ar.minute_of(previous) != ar.minute_of(result.now_s)):
                self._prune_apart(request.bucket, result.now_s)    # first grant of this bucket in a new minute
            return result
        if not request.windows:
            return self._acquire_statement(request)

        def work(conn: Connection) -> AcquireResult:
            bucket = self._lock_bucket(conn, request.bucket, request.params)
            windows = self._lock_windows(conn, (c.ref for c in request.windows))
            now_s = self._now(conn)
            previous = bucket.last_granted_at_s
            result = decide(request, bucket, windows, now_s)
            if result.granted:
                self._store_bucket(conn, request.bucket, bucket)
                self._store_windows(conn, windows)
                self._count(conn, request.bucket, now_s, calls=1, previous_s=previous)
            return result

        return self._run(work)

    def feedback(self, feedback: Feedback) -> None:
        if self._decisions is not None:
            try:
                self._decisions.feedback(feedback)
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            return
        if (not feedback.windows and feedback.bucket is not None
                and feedback.params is not None):
            self._feedback_statement(feedback)
            return

        def work(conn: Connection) -> None:
            bucket = None
            if feedback.bucket is not None and feedback.params is not None:
                bucket = self._lock_bucket(conn, feedback.bucket, feedback.params)
            windows = self._lock_windows(conn, (a.charge.ref for a in feedback.windows))
            now_s = self._now(conn)
            apply_feedback(feedback, bucket, windows, now_s)
            if bucket is not None and feedback.bucket is not None:
                self._store_bucket(conn, feedback.bucket, bucket)
                if feedback.throttled:
                    self._count(conn, feedback.bucket, now_s, throttled=1, previous_s=now_s)
            self._store_windows(conn, windows)

        self._run(work)

    def snapshot(self) -> Snapshot:
        def work(conn: Connection) -> Snapshot:
            now_s = self._now(conn)
            c = ratelimit_counters.c
            since = ar.minute_of(now_s) - ar.HOUR_MINUTES
            counts = {
                (r.platform, r.account, r.bucket): (int(r.calls or 0), int(r.throttled or 0))
                for r in conn.execute(
                    select(c.platform, c.account, c.bucket, func.sum(c.calls).label("calls"),
                           func.sum(c.throttled).label("throttled"))
                    .where(c.minute > since).group_by(c.platform, c.account, c.bucket))
            }
            b = ratelimit_buckets.c
            buckets = []
            for row in conn.execute(select(ratelimit_buckets).order_by(b.platform, b.account, b.bucket)):
                calls, throttled = counts.get((row.platform, row.account, row.bucket), (0, 0))
                buckets.append(BucketRow(BucketRef(row.platform, row.account, row.bucket),
                                         bucket_state(row), calls, throttled))
            w = ratelimit_windows.c
            windows = [WindowRow(window_ref(row), window_state(row)) for row in conn.execute(
                select(ratelimit_windows)
                .where(or_(w.subject == "", w.window_start_s >= now_s - 2 * 86_400.0))
                .order_by(w.platform, w.account, w.name, w.subject))]
            return Snapshot(now_s, buckets, windows)

        if self._sqlite:
            # A read needs no write lock; plain autocommit reads are consistent enough here.
            try:
                with self._engine.connect() as conn:
                    return work(conn)
            except sa_exc.DBAPIError as exc:
                raise self._translate(exc) from exc
        return self._run(work)

    def close(self) -> None:
        if self._own_engine:
            self._engine.dispose()
