"""The transactional outbox: durable work in the ``outbox`` table.

A business change and the outbox entry describing the work it causes commit
in ONE transaction (:func:`enqueue` takes the caller's session). Broker
messages are only wake-ups (:func:`relay`; an entry due at once is also woken
as its transaction commits, :mod:`~crossdock.sync_engine.wakeups`); a worker takes work from the table
with :func:`claim`, so a lost message, a dead broker or a killed worker loses
nothing:

- ``idempotency_key`` is unique: enqueuing the same work twice is a no-op;
- :func:`claim` hands an entry to one worker for ``lease_s`` seconds
  (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the ``BEGIN IMMEDIATE``
  write lock on SQLite); an entry whose lease ran out (worker killed) goes back
  to ``pending`` with one more attempt and is claimed again;
- :func:`complete` / :func:`fail` / :func:`release` only act while the caller
  still holds the lease, so a worker that lost its lease cannot overwrite the
  outcome of the worker that took over;
- after ``max_attempts`` an entry is ``failed`` (XD-SYNC-001): visible with
  :func:`failed_jobs`, replayed with :func:`retry`.

Status: ``pending`` → ``running`` → ``done`` | ``failed`` (or back to
``pending`` on a retryable failure, a released claim or an expired lease).
Priority: lower runs first (0 = urgent, 5 = normal).

Functions that change entries accept a :class:`~crossdock.db.engine.Database`
(one short write transaction of their own) or a Session (the caller's
transaction — e.g. an actor completing its entry together with the business
write it made).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from crossdock.db.engine import Database
from crossdock.db.models import OutboxEntry
from crossdock.errors import SyncError
from crossdock.sync_engine import wakeups
from crossdock.sync_engine._outbox_sql import (
    ANY_EXPIRED,
    COMPLETE,
    DONE,
    FAILED,
    FENCE,
    OUTBOX,
    PENDING,
    RUNNING,
    claim_statement,
    enqueue_statement,
)
from crossdock.sync_engine._sql import changed, event_row, insert_events, is_postgres, now_or, write_tx

log = logging.getLogger(__name__)


PRIORITY_URGENT = 0
PRIORITY_NORMAL = 5
DEFAULT_LEASE_S = 300.0
DEFAULT_MAX_ATTEMPTS = 8

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "RUNNING",
    "DEFAULT_LEASE_S",
    "DEFAULT_MAX_ATTEMPTS",
    "PRIORITY_NORMAL",
    "PRIORITY_URGENT",
    "BacklogRow",
    "ClaimedEntry",
    "RelayResult",
    "WakeupTracker",
    "backlog",
    "claim",
    "complete",
    "default_worker_id",
    "enqueue",
    "fail",
    "failed_jobs",
    "get_entry",
    "reclaim_expired",
    "relay",
    "release",
    "retry",
]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    """A snapshot of an entry handed to one worker (safe to use after the
    claiming transaction ended)."""

    id: int
    kind: str
    channel: str | None
    entity: str | None
    payload: dict[str, Any]
    idempotency_key: str
    priority: int
    attempts: int
    available_at: dt.datetime
    claimed_by: str
    claimed_until: dt.datetime
    correlation_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> ClaimedEntry:
        return cls(id=row.id, kind=row.kind, channel=row.channel, entity=row.entity, payload=row.payload or {},
                   idempotency_key=row.idempotency_key, priority=row.priority, attempts=row.attempts,
                   available_at=row.available_at, claimed_by=row.claimed_by, claimed_until=row.claimed_until,
                   correlation_id=row.correlation_id)


# ---------------------------------------------------------------- writing work
def enqueue(session: Session, kind: str, *, channel: str | None, entity: str | None = None,
            payload: Mapping[str, Any] | None = None, idempotency_key: str,
            priority: int = PRIORITY_NORMAL, available_at: dt.datetime | None = None,
            correlation_id: str | None = None, now: dt.datetime | None = None) -> bool:
    """Add work in the caller's transaction. Returns True when the entry is
    new, False when an entry with ``idempotency_key`` already exists (in any
    status: a completed job is not repeated)."""
    if not idempotency_key:
        raise ValueError("an outbox entry needs an idempotency key")
    if len(idempotency_key) > 200:
        raise ValueError(f"idempotency key longer than 200 characters: {idempotency_key[:60]}…")
    from crossdock.synclog import correlation_id as current_cid

    at = now_or(now)
    due = now_or(available_at) if available_at is not None else at
    # RETURNING, not rowcount: drivers need not report a row count for INSERT.
    row = session.execute(enqueue_statement(is_postgres(session)), {
        "p_kind": kind, "p_channel": channel, "p_entity": entity, "p_payload": dict(payload or {}),
        "p_key": idempotency_key, "p_priority": priority, "p_due": due,
        "p_cid": correlation_id or current_cid(), "p_at": at}).first()
    if row is None:
        return False
    log.debug("outbox + %s channel=%s key=%s", kind, channel, idempotency_key)
    if due <= at:
        wakeups.note(session, row.id, kind, row.available_at)     # woken at commit, not at the next tick
    else:
        wakeups.note_later(session, row.available_at)             # the relay looks by then
    return True


# ---------------------------------------------------------------- taking work
def claim(db: Database | Session, *, worker_id: str, kinds: Iterable[str] | None = None,
          channel: str | None = None, ids: Iterable[int] | None = None, limit: int = 1,
          lease_s: float = DEFAULT_LEASE_S, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
          now: dt.datetime | None = None) -> list[ClaimedEntry]:
    """Claim up to ``limit`` due pending entries (priority, then age) for
    ``worker_id`` until now + ``lease_s``. Expired leases are reclaimed first.
    Concurrent claimers never get the same entry."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if lease_s <= 0:
        raise ValueError("lease_s must be positive")
    at = now_or(now)
    until = at + dt.timedelta(seconds=lease_s)
    params: dict[str, Any] = {"p_at": at, "p_until": until, "p_worker": worker_id}
    if kinds is not None:
        params["p_kinds"] = list(kinds)
    if channel is not None:
        params["p_channel"] = channel
    if ids is not None:
        params["p_ids"] = list(ids)
    stmt = claim_statement(kinds is not None, channel is not None, ids is not None, limit)
    with write_tx(db) as session:
        _reclaim(session, at, max_attempts=max_attempts)
        rows = session.execute(stmt, params).all()
    claimed = sorted((ClaimedEntry.from_row(r) for r in rows), key=lambda e: (e.priority, e.available_at, e.id))
    if claimed:
        log.debug("worker %s claimed %d outbox entries", worker_id, len(claimed))
    return claimed


def _reclaim(session: Session, at: dt.datetime, *, max_attempts: int) -> int:
    if session.execute(ANY_EXPIRED, {"p_at": at}).first() is None:
        return 0
    expired = and_(OUTBOX.c.status == RUNNING, OUTBOX.c.claimed_until < at)
    # concurrent claimers each take the expired rows nobody else is reclaiming (no lock waits, no deadlock)
    free = OUTBOX.c.id.in_(select(OUTBOX.c.id).where(expired).with_for_update(skip_locked=True).scalar_subquery())
    msg = "lease expired: the worker holding this entry stopped before finishing it"
    gone = session.execute(
        update(OUTBOX).where(free, expired, OUTBOX.c.attempts + 1 >= max_attempts)
        .values(status=FAILED, attempts=OUTBOX.c.attempts + 1, claimed_by=None, claimed_until=None,
                last_code="XD-SYNC-001", last_error=msg, updated_at=at)
        .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.channel, OUTBOX.c.entity, OUTBOX.c.attempts)).all()
    back = changed(session, update(OUTBOX).where(free, expired)
                   .values(status=PENDING, attempts=OUTBOX.c.attempts + 1, claimed_by=None, claimed_until=None,
                           last_error=msg, available_at=at, updated_at=at))
    if gone:
        insert_events(session, [event_row(
            operation=f"job.{r.kind}", outcome="failed", at=at, channel=r.channel, entity_type="job",
            entity=str(r.id), code="XD-SYNC-001", message=msg, attempt=r.attempts,
            details={"outbox_id": r.id, "entity": r.entity}) for r in gone])
    if back or gone:
        log.warning("outbox: %d expired leases reclaimed, %d entries failed after %d attempts",
                    back, len(gone), max_attempts)
    return back + len(gone)


def reclaim_expired(db: Database | Session, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                    now: dt.datetime | None = None) -> int:
    """Entries whose worker's lease ran out go back to pending (attempts + 1),
    or to failed once ``max_attempts`` is reached. Returns how many moved."""
    with write_tx(db) as session:
        return _reclaim(session, now_or(now), max_attempts=max_attempts)


# ---------------------------------------------------------------- outcomes
def _held(entry_id: int, worker_id: str):
    return and_(OUTBOX.c.id == entry_id, OUTBOX.c.status == RUNNING, OUTBOX.c.claimed_by == worker_id)


def fence(db: Database | Session, entry: ClaimedEntry, *, lease_s: float, now: dt.datetime | None = None) -> bool:
    """Just before a side effect on a platform: True, with the lease renewed,
    when ``entry`` is still held by the claim that handed it out (same
    worker, same attempt: a compare-and-set); False when the worker stalled
    past its lease or was declared dead and the entry went back (or on to
    another worker): the caller must then send nothing. A lease that ran out
    with nobody reclaiming the entry yet is renewed (a reclaim changes the
    row atomically, so the two never both win)."""
    at = now_or(now)
    with write_tx(db) as session:
        n = changed(session, FENCE, {"p_id": entry.id, "p_worker": entry.claimed_by, "p_attempts": entry.attempts,
                                      "p_until": at + dt.timedelta(seconds=lease_s)})
    return n == 1


def complete(db: Database | Session, entry_id: int, worker_id: str, *, now: dt.datetime | None = None) -> bool:
    """Mark done. False when ``worker_id`` no longer holds the entry (its lease
    expired and someone else took it over): the caller must not report success."""
    at = now_or(now)
    with write_tx(db) as session:
        n = changed(session, COMPLETE, {"p_id": entry_id, "p_worker": worker_id, "p_at": at})
    if not n:
        log.warning("outbox entry %s: complete by %s ignored (lease lost)", entry_id, worker_id)
    return n == 1


def release(db: Database | Session, entry_id: int, worker_id: str, *, available_at: dt.datetime,
            now: dt.datetime | None = None) -> bool:
    """Give the entry back without counting an attempt (waiting for quota or
    for a paused channel is not a failure)."""
    at = now_or(now)
    with write_tx(db) as session:
        n = changed(session, update(OUTBOX).where(_held(entry_id, worker_id))
                             .values(status=PENDING, claimed_by=None, claimed_until=None,
                                     available_at=now_or(available_at), updated_at=at))
        if n:
            wakeups.note_later(session, now_or(available_at))
    return n == 1


def fail(db: Database | Session, entry_id: int, worker_id: str, code: str | None, message: str, *,
         retry_at: dt.datetime | None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
         now: dt.datetime | None = None) -> str | None:
    """Record a failed attempt (attempts + 1). With ``retry_at`` the entry is
    pending again from then on, until ``max_attempts`` is used up; with
    ``retry_at=None`` (a permanent error) or attempts used up it is ``failed``.
    Returns the new status, or None when the lease was lost (nothing changed).
    ``message`` must not contain secrets (it is stored and shown)."""
    at = now_or(now)
    with write_tx(db) as session:
        row = session.execute(select(OUTBOX.c.attempts, OUTBOX.c.kind, OUTBOX.c.channel, OUTBOX.c.entity)
                              .where(_held(entry_id, worker_id))).first()
        if row is None:
            log.warning("outbox entry %s: fail by %s ignored (lease lost)", entry_id, worker_id)
            return None
        attempts = row.attempts + 1
        final = retry_at is None or attempts >= max_attempts
        status = FAILED if final else PENDING
        values: dict[str, Any] = dict(status=status, attempts=attempts, claimed_by=None, claimed_until=None,
                                      last_code=code, last_error=message, updated_at=at)
        if not final:
            values["available_at"] = now_or(retry_at)
        n = changed(session, update(OUTBOX).where(_held(entry_id, worker_id)).values(**values))
        if not n:
            return None
        if not final:
            wakeups.note_later(session, values["available_at"])
        details: dict[str, Any] = {"outbox_id": entry_id, "entity": row.entity, "cause": code}
        if not final:
            details["retry_at"] = now_or(retry_at).isoformat()
        insert_events(session, [event_row(
            operation=f"job.{row.kind}", outcome="failed" if final else "retry", at=at, channel=row.channel,
            entity_type="job", entity=str(entry_id),
            code=("XD-SYNC-001" if final and retry_at is not None else code), message=message,
            attempt=attempts, details=details)])
    log.log(logging.WARNING if final else logging.INFO, "outbox entry %s %s after attempt %d: %s %s",
            entry_id, status, attempts, code, message)
    return status


# ---------------------------------------------------------------- visibility and replay
def get_entry(session: Session, entry_id: int) -> OutboxEntry | None:
    return session.get(OutboxEntry, entry_id)


def failed_jobs(session: Session, *, channel: str | None = None, kind: str | None = None,
                limit: int = 500) -> list[OutboxEntry]:
    """Failed entries, newest failure first."""
    stmt = select(OutboxEntry).where(OutboxEntry.status == FAILED)
    if channel is not None:
        stmt = stmt.where(OutboxEntry.channel == channel)
    if kind is not None:
        stmt = stmt.where(OutboxEntry.kind == kind)
    return list(session.scalars(stmt.order_by(OutboxEntry.updated_at.desc(), OutboxEntry.id.desc()).limit(limit)))


def retry(db: Database | Session, ids: Iterable[int] | Literal["all"], *, channel: str | None = None,
          now: dt.datetime | None = None) -> list[int]:
    """Failed entries back to pending with a fresh set of attempts. Returns
    the ids that moved (ids that are not failed are left alone)."""
    at = now_or(now)
    conds = [OUTBOX.c.status == FAILED]
    if ids != "all":
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        conds.append(OUTBOX.c.id.in_(wanted))
    elif channel is not None:
        conds.append(OUTBOX.c.channel == channel)
    with write_tx(db) as session:
        rows = session.execute(update(OUTBOX).where(*conds)
                               .values(status=PENDING, attempts=0, available_at=at, claimed_by=None,
                                       claimed_until=None, updated_at=at)
                               .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.channel, OUTBOX.c.last_code)).all()
        insert_events(session, [event_row(
            operation=f"job.{r.kind}", outcome="retry", at=at, channel=r.channel, entity_type="job",
            entity=str(r.id), message="replayed from the failed list", details={"previous_code": r.last_code})
            for r in rows])
    moved = sorted(r.id for r in rows)
    if moved:
        log.info("outbox: %d failed entries replayed", len(moved))
    return moved


@dataclass(frozen=True, slots=True)
class BacklogRow:
    channel: str | None
    kind: str
    status: str
    count: int
    oldest_age_s: float | None   # since the oldest entry became due (available_at)


def backlog(session: Session, *, now: dt.datetime | None = None,
            statuses: Iterable[str] = (PENDING, RUNNING, FAILED)) -> list[BacklogRow]:
    """Open work per (channel, kind, status) with the age of the oldest entry."""
    at = now_or(now)
    rows = session.execute(
        select(OUTBOX.c.channel, OUTBOX.c.kind, OUTBOX.c.status, func.count(), func.min(OUTBOX.c.available_at))
        .where(OUTBOX.c.status.in_(list(statuses)))
        .group_by(OUTBOX.c.channel, OUTBOX.c.kind, OUTBOX.c.status)).all()
    out = []
    for channel, kind, status, count, oldest in rows:
        age = max(0.0, (at - oldest).total_seconds()) if oldest is not None else None
        out.append(BacklogRow(channel=channel, kind=kind, status=status, count=int(count), oldest_age_s=age))
    return sorted(out, key=lambda r: (r.channel or "", r.kind, r.status))


# ---------------------------------------------------------------- relay
@dataclass
class WakeupTracker:
    """Remembers when each entry's wake-up was last sent, so a relay loop does
    not resend it on every tick. An entry is known by its id and the time it
    became due: an entry given back (quota wait, retry, a dead worker's claim
    handed back) is due anew and gets a wake-up as soon as it is due again.
    Losing this state (a restart) only means a harmless duplicate wake-up."""

    resend_after_s: float = 60.0
    _sent: dict[tuple[int, dt.datetime], dt.datetime] = field(default_factory=dict)

    def should_send(self, key: tuple[int, dt.datetime], at: dt.datetime) -> bool:
        last = self._sent.get(key)
        return last is None or (at - last).total_seconds() >= self.resend_after_s

    def sent(self, key: tuple[int, dt.datetime], at: dt.datetime) -> None:
        self._sent[key] = at

    def forget_except(self, keys: set[tuple[int, dt.datetime]]) -> None:
        # a snapshot of the keys: a wake-up sent at a commit (wakeups) may note one meanwhile
        for key in [k for k in list(self._sent) if k not in keys]:
            self._sent.pop(key, None)


@dataclass(frozen=True, slots=True)
class RelayResult:
    due: int
    sent: int
    error: str | None = None
    #: the earliest pending entry not yet due when the relay looked (None: none); the engine's
    #: loop need not look again before then unless told of new work (:mod:`.wakeups`)
    next_at: dt.datetime | None = None


_due_keys_cache: dict[int, Any] = {}
_NEXT_DUE = select(func.min(OUTBOX.c.available_at)).where(OUTBOX.c.status == PENDING,
                                                          OUTBOX.c.available_at > bindparam("at"))


def _due_keys(limit: int) -> Any:
    """(id, available_at) of the due pending entries, in :func:`relay`'s order."""
    stmt = _due_keys_cache.get(limit)
    if stmt is None:
        stmt = _due_keys_cache[limit] = (
            select(OUTBOX.c.id, OUTBOX.c.available_at)
            .where(OUTBOX.c.status == PENDING, OUTBOX.c.available_at <= bindparam("at"))
            .order_by(OUTBOX.c.priority, OUTBOX.c.available_at, OUTBOX.c.id).limit(limit))
    return stmt


def relay(db: Database, send: Callable[[OutboxEntry], None], *, tracker: WakeupTracker | None = None,
          kinds: Iterable[str] | None = None, limit: int = 1000, now: dt.datetime | None = None) -> RelayResult:
    """Send a wake-up for each due pending entry (oldest, most urgent first).

    ``send`` gets a detached :class:`OutboxEntry` and should enqueue a broker
    message naming it; it runs outside any database transaction. A wake-up is
    only a hint — workers :func:`claim` from the table — so a duplicate is
    harmless and a lost one only delays work until the next relay or claim.
    When ``send`` raises (broker down, XD-SYNC-006) the relay stops; the
    entries stay pending and the next call sends them.
    """
    at = now_or(now)
    if tracker is not None and kinds is None:
        # Most ticks find only entries already woken: decide that from (id, due time) alone, with a
        # prebuilt statement on a plain connection, before loading any entry.
        with db.glance() as conn:
            keys = [(r.id, r.available_at) for r in conn.execute(_due_keys(limit), {"at": at})]
            next_at = conn.execute(_NEXT_DUE, {"at": at}).scalar()
        if not any(tracker.should_send(k, at) for k in keys):
            tracker.forget_except(set(keys))
            return RelayResult(due=len(keys), sent=0, next_at=next_at)
    else:
        next_at = None
    with db.read() as session:
        stmt = (select(OutboxEntry).where(OutboxEntry.status == PENDING, OutboxEntry.available_at <= at)
                .order_by(OutboxEntry.priority, OutboxEntry.available_at, OutboxEntry.id).limit(limit))
        if kinds is not None:
            stmt = stmt.where(OutboxEntry.kind.in_(list(kinds)))
        entries = list(session.scalars(stmt))
        for e in entries:
            session.expunge(e)
    if tracker is not None:
        tracker.forget_except({(e.id, e.available_at) for e in entries})
    sent = 0
    for entry in entries:
        if tracker is not None and not tracker.should_send((entry.id, entry.available_at), at):
            continue
        try:
            send(entry)
        except Exception as exc:  # noqa: BLE001 - any broker failure: keep the work, report once
            err = SyncError("XD-SYNC-006", detail=f"{type(exc).__name__}: {exc}"[:300])
            log.warning("relay stopped after %d of %d wake-ups: %s", sent, len(entries), err.message)
            return RelayResult(due=len(entries), sent=sent, error=err.message)
        sent += 1
        if tracker is not None:
            tracker.sent((entry.id, entry.available_at), at)
    return RelayResult(due=len(entries), sent=sent, next_at=next_at)

