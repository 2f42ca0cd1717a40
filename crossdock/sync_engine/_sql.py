"""Small SQL helpers shared by the sync engine modules (private).

Everything here works the same on SQLite and PostgreSQL: dialect-specific
``INSERT … ON CONFLICT``, chunking of ``IN (…)`` lists, bulk sync events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crossdock.db.base import utcnow
from crossdock.db.models import SyncEvent
from crossdock.synclog import OUTCOMES, correlation_id

T = TypeVar("T")

# Well under SQLite's bound-parameter limit and PostgreSQL's 65535.
IN_CHUNK = 900

EVENTS = SyncEvent.__table__


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return dialect(session) == "postgresql"


def upsert_insert(session: Session, table: Any):
    """``INSERT`` that accepts ``.on_conflict_do_nothing()`` / ``.on_conflict_do_update()``."""
    return pg_insert(table) if is_postgres(session) else sqlite_insert(table)


def chunks(items: Sequence[T] | Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def now_or(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given as now; use an aware UTC datetime")
    return now.astimezone(dt.timezone.utc)


def event_row(*, operation: str, outcome: str, at: dt.datetime, channel: str | None = None,
              entity_type: str | None = None, entity: str | None = None, code: str | None = None,
              message: str | None = None, details: dict[str, Any] | None = None,
              attempt: int = 1, duration_ms: int | None = None,
              correlation: str | None = None) -> dict[str, Any]:
    """One ``sync_events`` row as a dict for a Core bulk insert. Callers only
    put identifiers and counts in ``message``/``details`` (never secrets)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    return {"at": at, "correlation_id": correlation or correlation_id(), "channel": channel, "entity_type": entity_type,
            "entity": entity, "operation": operation, "outcome": outcome, "code": code, "message": message,
            "attempt": attempt, "duration_ms": duration_ms, "details": details}


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if len(rows) > 50:
        bulk_insert(session, EVENTS, rows)
    elif rows:
        session.execute(core_insert(EVENTS), rows)


# ---------------------------------------------------------------- bulk writes without per-row Core overhead
def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, so a bulk insert needs no RETURNING.

    PostgreSQL draws them from the column's sequence (safe under any
    concurrency). SQLite continues after the largest id: safe because a
    crossdock write transaction holds the database write lock from its first
    statement (``BEGIN IMMEDIATE``), so no one else inserts until we commit.
    """
    if n <= 0:
        return []
    if is_postgres(session):
        return list(session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n}).scalars())
    top = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + n))


def bulk_insert(session: Session, table: Any, rows: Sequence[dict[str, Any]], *,
                conflict_do_nothing: Sequence[str] | None = None, on_conflict_sql: str | None = None) -> None:
    """INSERT ``rows`` (dicts with the same keys) with one DBAPI executemany.

    Values go through each column type's own bind processor (the same
    conversion Core applies — aware datetimes to UTC, JSON, money), but once
    per value instead of through Core's per-row parameter machinery, and a
    value shared by every row (the transaction's timestamp) is converted once.
    Used for the order import's hot inserts; everything else uses Core.
    ``on_conflict_sql`` is a literal ``ON CONFLICT …`` clause (same syntax on
    SQLite and PostgreSQL; never built from data).
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    cols = list(rows[0])
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in cols)
    target = quote(table.name)
    if dialect.paramstyle == "qmark":
        sql = f"INSERT INTO {target} ({names}) VALUES ({', '.join('?' for _ in cols)})"
    elif dialect.paramstyle == "pyformat":
        sql = f"INSERT INTO {target} ({names}) VALUES ({', '.join(f'%({c})s' for c in cols)})"
    else:  # pragma: no cover - the two drivers crossdock ships use these styles
        raise RuntimeError(f"unsupported paramstyle {dialect.paramstyle}")
    if conflict_do_nothing:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict_do_nothing)}) DO NOTHING"
    elif on_conflict_sql:
        sql += " " + on_conflict_sql
    first, last, n = rows[0], rows[-1], len(rows)
    columns = []
    for c in cols:   # column by column: one processor lookup, a C-level map over the values
        proc = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        v = first[c]
        if v is last[c] and all(r[c] is v for r in rows):
            columns.append([proc(v) if proc is not None else v] * n)     # shared value: convert once
        elif proc is None:
            columns.append([r[c] for r in rows])
        else:
            columns.append(list(map(proc, [r[c] for r in rows])))
    if dialect.paramstyle == "qmark":
        params: list[Any] = list(zip(*columns))
    else:
        params = [dict(zip(cols, values)) for values in zip(*columns)]
    session.connection().exec_driver_sql(sql, params)
