"""The outbox as an operator sees it: ``crossdock jobs failed|list|retry``.

Each function builds the document a command prints (and the web console
shows): the failed list, the entries by status, and the replay of failed jobs
with its ``jobs.retry`` event. The mechanism itself is :mod:`.outbox`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock import audit, synclog
from crossdock.db.engine import Database
from crossdock.db.models import OutboxEntry
from crossdock.errors import ConfigError
from crossdock.secrets import redact
from crossdock.sync_engine import outbox
from crossdock.sync_engine._sql import now_or

__all__ = ["STATUSES", "entry_dict", "failed_doc", "jobs_doc", "retry_jobs"]

STATUSES = (outbox.PENDING, outbox.RUNNING, outbox.DONE, outbox.FAILED)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def entry_dict(e: OutboxEntry) -> dict[str, Any]:
    """One entry, its error redacted."""
    return {"id": e.id, "kind": e.kind, "channel": e.channel, "entity": e.entity, "status": e.status,
            "priority": e.priority, "attempts": e.attempts, "last_code": e.last_code,
            "last_error": redact(e.last_error) if e.last_error else None,
            "available_at": _iso(e.available_at), "claimed_by": e.claimed_by,
            "claimed_until": _iso(e.claimed_until), "correlation_id": e.correlation_id,
            "created_at": _iso(e.created_at), "updated_at": _iso(e.updated_at), "done_at": _iso(e.done_at)}


def failed_doc(db: Database, *, channel: str | None = None, kind: str | None = None,
               limit: int = 500) -> dict[str, Any]:
    """``jobs failed``: jobs that used up their retries (XD-SYNC-001), newest failure first."""
    with db.read() as s:
        rows = [entry_dict(e) for e in outbox.failed_jobs(s, channel=channel, kind=kind, limit=limit)]
    return {"failed": rows, "count": len(rows)}


def jobs_doc(db: Database, *, status: str | None = None, channel: str | None = None, kind: str | None = None,
             limit: int = 200) -> dict[str, Any]:
    """``jobs list``: entries, most recently changed first (a ``status``
    outside :data:`STATUSES` is XD-CFG-009)."""
    if status is not None and status not in STATUSES:
        raise ConfigError("XD-CFG-009", detail=f"--status {status!r}: one of {', '.join(STATUSES)}")
    stmt = select(OutboxEntry)
    if status:
        stmt = stmt.where(OutboxEntry.status == status)
    if channel:
        stmt = stmt.where(OutboxEntry.channel == channel)
    if kind:
        stmt = stmt.where(OutboxEntry.kind == kind)
    stmt = stmt.order_by(OutboxEntry.updated_at.desc(), OutboxEntry.id.desc()).limit(limit)
    with db.read() as s:
        rows = [entry_dict(e) for e in s.scalars(stmt)]
    return {"jobs": rows, "count": len(rows), "status": status}


def retry_jobs(db: Database, ids: list[int] | None = None, *, all_failed: bool = False, channel: str | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """``jobs retry``: failed jobs back to pending (:func:`.outbox.retry`) plus
    one ``jobs.retry`` event and audit record, in one transaction. ``not_retried`` names
    requested ids that were not failed (or do not exist)."""
    wanted = sorted(set(ids or []))
    if bool(wanted) == all_failed:
        raise ConfigError("XD-CFG-009", detail="name the job ids to retry, or --all (not both)")
    if channel and not all_failed:
        raise ConfigError("XD-CFG-009", detail="--channel goes with --all")
    now = now_or(now)

    def run(s: Session) -> tuple[list[int], dict[int, str | None]]:
        moved = outbox.retry(s, "all" if all_failed else wanted, channel=channel, now=now)
        left = [i for i in wanted if i not in set(moved)]
        found = dict(s.execute(select(OutboxEntry.id, OutboxEntry.status)
                               .where(OutboxEntry.id.in_(left))).all()) if left else {}
        missed = {i: found.get(i) for i in left}
        synclog.record(s, operation="jobs.retry", outcome="ok" if moved else "skipped", channel=channel,
                       entity_type="job", entity=str(moved[0]) if len(moved) == 1 else None, at=now,
                       message=f"{len(moved)} failed job(s) replayed"
                               + (f"; {len(missed)} not failed, left alone" if missed else ""),
                       details={"ids": moved[:500], "all": all_failed,
                                "not_retried": {str(k): v for k, v in list(missed.items())[:500]}})
        if moved:       # who replayed what (the CLI's, the console's or the API's caller)
            audit.record(s, action="jobs.retry", subject=f"job {moved[0]}" if len(moved) == 1 else
                         f"{len(moved)} jobs" + (f" on {channel}" if channel else ""),
                         before={"status": "failed", "ids": moved[:500]},
                         after={"status": "pending", "ids": moved[:500]})
        return moved, missed

    moved, missed = db.run_write(run)
    return {"retried": moved,
            "not_retried": [{"id": i, "status": st,
                             "reason": "not found" if st is None else f"status is {st}, not failed"}
                            for i, st in missed.items()]}
