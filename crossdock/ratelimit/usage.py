"""API calls and 429s per platform, account, operation (bucket) and time,
as the SQL quota backend records them: per minute for two hours, then per
day (``ratelimit_daily``, rolled up as the minutes are pruned); on SQLite in
the quota store's own file. The Redis
and in-memory backends keep no history: there the usage is empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crossdock.ratelimit.backends.sql_file import BUSY_TIMEOUT_S, prepare_quota_file
from crossdock.ratelimit.backends.sql_tables import ratelimit_counters, ratelimit_daily

__all__ = ["usage_rows"]


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def usage_rows(db: Any) -> Iterator[tuple[str, str, str, dt.datetime, int, int]]:
    """(platform, account, operation, start of the minute or day, calls, 429s).
    On SQLite they are in the quota store's own file (:mod:`~crossdock.ratelimit.backends.sql_file`),
    made as the store makes it (with an older database's rows) when no worker has yet."""
    if db.engine.dialect.name == "sqlite":
        path = prepare_quota_file(db.engine.url.database or "", busy_timeout_s=BUSY_TIMEOUT_S)
        engine = create_engine(db.engine.url.set(database=path))
        try:
            with engine.connect() as conn:
                yield from _rows(conn)
        finally:
            engine.dispose()
        return
    if not {"ratelimit_daily", "ratelimit_counters"} <= set(inspect(db.engine).get_table_names()):
        return
    with db.read() as s:
        yield from _rows(s)


def _rows(conn: Connection | Session) -> Iterator[tuple[str, str, str, dt.datetime, int, int]]:
    d = ratelimit_daily.c
    for r in conn.execute(select(d.platform, d.account, d.bucket, d.day, d.calls, d.throttled)):
        yield r.platform, r.account, r.bucket, _at(int(r.day) * 86_400), int(r.calls), int(r.throttled)
    m = ratelimit_counters.c
    for r in conn.execute(select(m.platform, m.account, m.bucket, m.minute, m.calls, m.throttled)):
        yield r.platform, r.account, r.bucket, _at(int(r.minute) * 60), int(r.calls), int(r.throttled)
