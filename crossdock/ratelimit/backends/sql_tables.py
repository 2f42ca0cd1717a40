"""The quota store's tables in crossdock's own database, and their rows read
back as the backend's state objects.

The tables live on ``crossdock.db.base.Base.metadata`` so crossdock's Alembic
migrations include them; :func:`create_tables` is for tests and tools.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Double, Engine, Integer, Row, String, Table, and_

from crossdock.db.base import Base
from crossdock.ratelimit.backends.base import BucketRef, BucketState, WindowRef, WindowState

__all__ = [
    "TABLES",
    "bucket_key",
    "bucket_state",
    "create_tables",
    "ratelimit_buckets",
    "ratelimit_counters",
    "ratelimit_daily",
    "ratelimit_windows",
    "window_ref",
    "window_state",
]

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

ratelimit_daily = Table(
    "ratelimit_daily", Base.metadata,
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("bucket", String(128), primary_key=True),
    Column("day", Integer, primary_key=True),  # seconds since the epoch // 86400 (UTC days)
    Column("calls", Integer, nullable=False, default=0),
    Column("throttled", Integer, nullable=False, default=0),
    comment="crossdock quota budget: the per-minute counts rolled up per day as they are pruned "
            "(crossdock report api-usage)",
)

TABLES = (ratelimit_buckets, ratelimit_windows, ratelimit_counters, ratelimit_daily)


def create_tables(engine: Engine) -> None:
    """Create the quota tables if missing (tests, tools; production uses Alembic)."""
    Base.metadata.create_all(engine, tables=list(TABLES))


def bucket_key(ref: BucketRef) -> ColumnElement[bool]:
    """The WHERE clause of one bucket's row."""
    t = ratelimit_buckets.c
    return and_(t.platform == ref.platform, t.account == ref.account, t.bucket == ref.bucket)


def bucket_state(row: Row[Any]) -> BucketState:
    return BucketState(tokens=row.tokens, updated_at_s=row.updated_at_s,
                       adopted_rate_per_s=row.adopted_rate_per_s, adopted_burst=row.adopted_burst,
                       throttled_total=row.throttled_total,
                       last_throttled_at_s=row.last_throttled_at_s,
                       last_granted_at_s=row.last_granted_at_s)


def window_ref(row: Row[Any]) -> WindowRef:
    return WindowRef(row.platform, row.account, row.name, row.subject)


def window_state(row: Row[Any]) -> WindowState:
    return WindowState(window_start_s=row.window_start_s, used=row.used,
                       adopted_limit=row.adopted_limit)
