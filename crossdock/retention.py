"""``[retention]``: the sync log kept for ``sync_log_days``; older events are
deleted, their counts kept per day, operation, outcome and code in
``sync_log_summary`` (so "how many imports failed in March" still has an
answer). Applied by the worker's ``retention`` job (one worker per run, like
every schedule), a batch per transaction: the counts of a batch and its
deletion commit together, and a run cut short resumes where it stopped.

The record of event deliveries (``event_deliveries``: webhooks, notifications,
queue messages, refused ones included) is kept ``event_deliveries_days``: it is
the dedupe of deliveries, and a platform redelivers for hours (Shopify 48 h),
not weeks; a replay older than that is taken as new and costs one targeted
read of the truth (docs/events.md), never a change of data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, column, delete, select, table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from crossdock.db.base import Base
from crossdock.db.models import SyncEvent

__all__ = ["BATCH", "SUMMARY", "SyncLogSummary", "apply_retention", "summary_rows"]

BATCH = 5000
EVENTS = SyncEvent.__table__
# crossdock.events owns the table (it imports the engine, which imports this module's job)
DELIVERIES = table("event_deliveries", column("id", Integer), column("received_at", DateTime(timezone=True)))


class SyncLogSummary(Base):
    """Counts of sync events removed by retention."""

    __tablename__ = "sync_log_summary"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)      # "" for none
    count: Mapped[int] = mapped_column(Integer, default=0)


SUMMARY = SyncLogSummary.__table__


def apply_retention(db: Any, *, sync_log_days: float, event_deliveries_days: float | None = None,
                    now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, Any]:
    """Delete sync events older than ``sync_log_days``, keeping their counts,
    and event deliveries older than ``event_deliveries_days`` (None: kept)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = now - dt.timedelta(days=sync_log_days)
    removed = 0
    while True:
        with db.write() as s:
            rows = s.execute(select(EVENTS.c.id, EVENTS.c.at, EVENTS.c.operation, EVENTS.c.outcome, EVENTS.c.code)
                             .where(EVENTS.c.at < cutoff).order_by(EVENTS.c.id).limit(batch)).all()
            if not rows:
                break
            counts = Counter((r.at.astimezone(dt.timezone.utc).date(), r.operation, r.outcome, r.code or "")
                             for r in rows)
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            for (day, operation, outcome, code), n in counts.items():
                stmt = insert(SUMMARY).values(day=day, operation=operation, outcome=outcome, code=code, count=n)
                s.execute(stmt.on_conflict_do_update(index_elements=["day", "operation", "outcome", "code"],
                                                     set_={"count": SUMMARY.c.count + stmt.excluded.count}))
            s.execute(delete(EVENTS).where(EVENTS.c.id.in_([r.id for r in rows])))
            removed += len(rows)
        if len(rows) < batch:
            break
    out: dict[str, Any] = {"sync_events_removed": removed, "cutoff": cutoff.isoformat()}
    if event_deliveries_days is not None:
        out["event_deliveries_removed"] = _prune_deliveries(db, now - dt.timedelta(days=event_deliveries_days),
                                                            batch)
    return out


def _prune_deliveries(db: Any, cutoff: dt.datetime, batch: int) -> int:
    removed = 0
    while True:
        with db.write() as s:
            ids = list(s.scalars(select(DELIVERIES.c.id).where(DELIVERIES.c.received_at < cutoff)
                                 .order_by(DELIVERIES.c.id).limit(batch)))
            if ids:
                s.execute(delete(DELIVERIES).where(DELIVERIES.c.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch:
            return removed


def summary_rows(db: Any) -> list[dict[str, Any]]:
    with db.read() as s:
        return [{"day": r.day.isoformat(), "operation": r.operation, "outcome": r.outcome, "code": r.code or None,
                 "count": r.count} for r in s.execute(select(SUMMARY).order_by(SUMMARY.c.day, SUMMARY.c.operation))]
