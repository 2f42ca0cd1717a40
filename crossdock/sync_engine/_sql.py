"""Small SQL helpers shared by the sync engine modules (private).

Everything here works the same on SQLite and PostgreSQL: dialect-specific
``INSERT … ON CONFLICT``, chunking of ``IN (…)`` lists, bulk sync events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

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
              attempt: int = 1, duration_ms: int | None = None) -> dict[str, Any]:
    """One ``sync_events`` row as a dict for a Core bulk insert. Callers only
    put identifiers and counts in ``message``/``details`` (never secrets)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    return {"at": at, "correlation_id": correlation_id(), "channel": channel, "entity_type": entity_type,
            "entity": entity, "operation": operation, "outcome": outcome, "code": code, "message": message,
            "attempt": attempt, "duration_ms": duration_ms, "details": details}


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(core_insert(EVENTS), rows)
