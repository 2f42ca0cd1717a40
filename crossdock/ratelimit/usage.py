"""API calls and 429s per platform, account, operation (bucket) and time,
as the SQL quota backend records them: per minute for two hours, then per
day (``ratelimit_daily``, rolled up as the minutes are pruned). The Redis
and in-memory backends keep no history: there the usage is empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import inspect, select

from crossdock.ratelimit.backends.sql_tables import ratelimit_counters, ratelimit_daily

__all__ = ["usage_rows"]


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def usage_rows(db: Any) -> Iterator[tuple[str, str, str, dt.datetime, int, int]]:
    """(platform, account, operation, start of the minute or day, calls, 429s)."""
    names = set(inspect(db.engine).get_table_names())
    if not {"ratelimit_daily", "ratelimit_counters"} <= names:
        return
    with db.read() as s:
        d = ratelimit_daily.c
        for r in s.execute(select(d.platform, d.account, d.bucket, d.day, d.calls, d.throttled)):
            yield r.platform, r.account, r.bucket, _at(int(r.day) * 86_400), int(r.calls), int(r.throttled)
        m = ratelimit_counters.c
        for r in s.execute(select(m.platform, m.account, m.bucket, m.minute, m.calls, m.throttled)):
            yield r.platform, r.account, r.bucket, _at(int(r.minute) * 60), int(r.calls), int(r.throttled)
