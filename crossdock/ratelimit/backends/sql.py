"""Quota store in crossdock's own database (SQLite or PostgreSQL).

One clock, the database's: every decision reads the time inside the
transaction after the rows are locked (PostgreSQL ``clock_timestamp()``,
SQLite ``julianday('now')``), so workers on different machines with skewed
clocks still share one budget exactly.

Locking: PostgreSQL locks the bucket row and then the window rows in key order
with ``SELECT ... FOR UPDATE``; SQLite takes the database write lock up front
with ``BEGIN IMMEDIATE`` (on a private connection pool in autocommit mode, so
the transaction is ours whatever the application engine is configured to do).
Each call is one short transaction; nothing sleeps inside it.

The tables live on ``crossdock.db.base.Base.metadata`` so crossdock's Alembic
migrations include them; :func:`create_tables` is for tests and tools.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Double,
    Engine,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from crossdock.db.base import Base
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

log = logging.getLogger(__name__)

T = TypeVar("T")

ratelimit_buckets = Table(
    "ratelimit_buckets", Base.metadata,
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("bucket", String(128), primary_key=True),
    Column("tokens", Double, nullable=False),
    # seconds since the epoch on the database clock; in the future = blocked
    Column("updated_at_s", Double, nullable=False),
    Column("adopted_rate_per_s", Double),
    Column("adopted_burst", Double),
    Column("throttled_total", Integer, nullable=False, default=0),
    Column("last_throttled_at_s", Double),
    Column("last_granted_at_s", Double),
    comment="crossdock quota budget: one token bucket per (platform, account, bucket)",
)

ratelimit_windows = Table(
    "ratelimit_windows", Base.metadata,
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("subject", String(255), primary_key=True),  # listing id, or ""
    Column("window_start_s", Double, nullable=False),
    Column("used", Double, nullable=False),
    Column("adopted_limit", Double),
    comment="crossdock quota budget: long-window (daily, per-listing) call counts",
)

ratelimit_counters = Table(
    "ratelimit_counters", Base.metadata,
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("bucket", String(128), primary_key=True),
    Column("minute", Integer, primary_key=True),  # seconds since the epoch // 60
    Column("calls", Integer, nullable=False, default=0),
    Column("throttled", Integer, nullable=False, default=0),
    comment="crossdock quota budget: calls and 429s per minute, kept two hours",
)

TABLES = (ratelimit_buckets, ratelimit_windows, ratelimit_counters)

_RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
_ATTEMPTS = 5
_LISTING_WINDOW_KEEP_S = 3 * 86_400.0


def create_tables(engine: Engine) -> None:
    """Create the quota tables if missing (tests, tools; production uses Alembic)."""
    Base.metadata.create_all(engine, tables=list(TABLES))


def _bucket_pk(ref: BucketRef) -> Any:
    t = ratelimit_buckets.c
    return and_(t.platform == ref.platform, t.account == ref.account, t.bucket == ref.bucket)


def _bucket_state(row: Any) -> BucketState:
    return BucketState(tokens=row.tokens, updated_at_s=row.updated_at_s,
                       adopted_rate_per_s=row.adopted_rate_per_s, adopted_burst=row.adopted_burst,
                       throttled_total=row.throttled_total,
                       last_throttled_at_s=row.last_throttled_at_s,
                       last_granted_at_s=row.last_granted_at_s)


def _window_ref(row: Any) -> WindowRef:
    return WindowRef(row.platform, row.account, row.name, row.subject)


def _window_state(row: Any) -> WindowState:
    return WindowState(window_start_s=row.window_start_s, used=row.used,
                       adopted_limit=row.adopted_limit)


class SqlBackend(QuotaBackend):
    name = "sql"

    def __init__(self, engine: Engine, *, busy_timeout_s: float = 30.0) -> None:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            database = engine.url.database
            if not database or database == ":memory:" or database.startswith("file::memory:"):
                raise ConfigError(
                    "XD-CFG-008",
                    detail="the sql:// rate limiter needs a file or server database, not an "
                           "in-memory SQLite; use memory:// for an in-process budget")
            # A private pool in autocommit mode: we issue BEGIN IMMEDIATE ourselves.
            self._engine = create_engine(engine.url, isolation_level="AUTOCOMMIT",
                                         connect_args={"timeout": busy_timeout_s})
            self._own_engine = True
            self._insert: Callable[..., Any] = sqlite_insert
            self._now_sql = select(text("(julianday('now') - 2440587.5) * 86400.0"))
        elif dialect == "postgresql":
            self._engine = engine
            self._own_engine = False
            self._insert = pg_insert
            self._now_sql = select(func.extract("epoch", func.clock_timestamp()))
        else:
            raise ConfigError("XD-CFG-008", detail=f"the sql:// rate limiter supports SQLite and "
                                                   f"PostgreSQL, not {dialect}")
        self._sqlite = dialect == "sqlite"

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._sqlite:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
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

    def _translate(self, exc: sa_exc.DBAPIError) -> Exception:
        message = str(exc.orig)
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == "42P01" or "no such table" in message:
            return DataError("XD-DATA-002", detail="the quota tables (ratelimit_buckets, ...) are "
                                                   "missing: " + message.splitlines()[0])
        if "database is locked" in message:
            return DataError("XD-DATA-003", detail="quota store: " + message.splitlines()[0])
        return QuotaError("XD-QUOTA-006", detail=f"{type(exc.orig).__name__}: "
                                                 f"{message.splitlines()[0] if message else ''}")

    def _now(self, conn: Connection) -> float:
        return float(conn.execute(self._now_sql).scalar_one())

    def _lock_bucket(self, conn: Connection, ref: BucketRef, params: BucketParams) -> BucketState:
        query = select(ratelimit_buckets).where(_bucket_pk(ref)).with_for_update()
        row = conn.execute(query).first()
        if row is None:
            fresh = ar.fresh_bucket(params)
            conn.execute(self._insert(ratelimit_buckets).values(
                platform=ref.platform, account=ref.account, bucket=ref.bucket,
                tokens=fresh.tokens, updated_at_s=fresh.updated_at_s, throttled_total=0,
            ).on_conflict_do_nothing())
            row = conn.execute(query).one()
        return _bucket_state(row)

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
        found = {_window_ref(row): _window_state(row) for row in conn.execute(query)}
        missing = [r for r in wanted if r not in found]
        if missing:
            conn.execute(self._insert(ratelimit_windows).values([
                {"platform": r.platform, "account": r.account, "name": r.name,
                 "subject": r.subject, "window_start_s": 0.0, "used": 0.0} for r in missing
            ]).on_conflict_do_nothing())
            found = {_window_ref(row): _window_state(row) for row in conn.execute(query)}
        return found

    def _store_bucket(self, conn: Connection, ref: BucketRef, state: BucketState) -> None:
        conn.execute(update(ratelimit_buckets).where(_bucket_pk(ref)).values(
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
            c = ratelimit_counters.c
            conn.execute(delete(ratelimit_counters).where(
                c.platform == ref.platform, c.account == ref.account, c.bucket == ref.bucket,
                c.minute < minute - 2 * ar.HOUR_MINUTES))
            w = ratelimit_windows.c
            conn.execute(delete(ratelimit_windows).where(
                w.platform == ref.platform, w.account == ref.account, w.subject != "",
                w.window_start_s < now_s - _LISTING_WINDOW_KEEP_S))

    # ------------------------------------------------------------ interface

    def acquire(self, request: AcquireRequest) -> AcquireResult:
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
                                         _bucket_state(row), calls, throttled))
            w = ratelimit_windows.c
            windows = [WindowRow(_window_ref(row), _window_state(row)) for row in conn.execute(
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
