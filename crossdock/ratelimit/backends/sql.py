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

The tables live on ``crossdock.db.base.Base.metadata`` so crossdock's Alembic
migrations include them; :func:`create_tables` is for tests and tools.
"""

from __future__ import annotations

import logging
import math
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


# ----------------------------------------------------------------- PostgreSQL
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

_PG_ACQUIRE = text(f"""
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

_PG_FEEDBACK = text(f"""
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


def _bucket_binds(ref: BucketRef, params: BucketParams) -> dict[str, Any]:
    return {"platform": ref.platform, "account": ref.account, "bucket": ref.bucket,
            "plan_rate": float(params.rate_per_s), "plan_burst": float(params.burst),
            "pin_rate": bool(params.pinned_rate), "pin_burst": bool(params.pinned_burst),
            "scale": float(params.time_scale)}


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
            # The one-statement decisions run outside any transaction of ours
            # (same pool as the application, no BEGIN/COMMIT round trips).
            self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
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
            self._create_bucket(conn, ref, params)
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

    def _bucket_statement(self, conn: Connection, stmt: Any, ref: BucketRef,
                          params: BucketParams, binds: dict[str, Any]) -> Any:
        """Run a one-bucket statement; a bucket never seen before is created
        (full, as :func:`~crossdock.ratelimit.arithmetic.fresh_bucket`) first."""
        row = conn.execute(stmt, binds).first()
        if row is None:
            self._create_bucket(conn, ref, params)
            row = conn.execute(stmt, binds).one()
        return row

    def _prune(self, conn: Connection, ref: BucketRef, now_s: float) -> None:
        """Drop counters older than two hours and stale per-listing windows."""
        c = ratelimit_counters.c
        conn.execute(delete(ratelimit_counters).where(
            c.platform == ref.platform, c.account == ref.account, c.bucket == ref.bucket,
            c.minute < ar.minute_of(now_s) - 2 * ar.HOUR_MINUTES))
        w = ratelimit_windows.c
        conn.execute(delete(ratelimit_windows).where(
            w.platform == ref.platform, w.account == ref.account, w.subject != "",
            w.window_start_s < now_s - _LISTING_WINDOW_KEEP_S))

    def _acquire_statement(self, request: AcquireRequest) -> AcquireResult:
        binds = {**_bucket_binds(request.bucket, request.params),
                 "cost": float(request.cost), "frac": float(request.floor_fraction),
                 "jitter_s": float(request.params.arrival_jitter_s), "eps": ar.EPS}

        row = self._run_statement(lambda conn: self._bucket_statement(
            conn, _PG_ACQUIRE, request.bucket, request.params, binds))
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
        binds = {**_bucket_binds(ref, params),
                 "new_rate": feedback.rate_per_s, "new_burst": feedback.burst,
                 "available": feedback.available, "refund": float(feedback.refund),
                 "throttled": bool(feedback.throttled), "retry_after": feedback.retry_after_s}
        row = self._run_statement(lambda conn: self._bucket_statement(
            conn, _PG_FEEDBACK, ref, params, binds))
        return float(row.now_s)

    # ------------------------------------------------------------ interface

    def acquire(self, request: AcquireRequest) -> AcquireResult:
        if not self._sqlite and not request.windows:
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
        if (not self._sqlite and not feedback.windows and feedback.bucket is not None
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
