"""Which workers are alive, and who holds a singleton duty.

Every ``crossdock worker`` process (and the demo's embedded runtime) writes a
heartbeat to ``workers`` every few seconds. A worker whose heartbeat is older
than ``dead_after_s`` is dead: :func:`reap_dead` marks it so and hands the
outbox entries it held back to ``pending`` at once — recovery after a killed
worker takes seconds, not the outbox lease.

``leases`` gives one duty to one worker at a time (the outbox relay):
:func:`hold_lease` takes a free or expired lease, or renews the caller's own,
with one compare-and-set ``UPDATE``; a worker that dies loses it when it
expires, and the next worker to ask takes it over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, JSONType, utcnow
from crossdock.db.models import OutboxEntry
from crossdock.sync_engine._sql import changed, event_row, insert_events, now_or, upsert_insert

log = logging.getLogger(__name__)

RUNNING, STOPPED, DEAD = "running", "stopped", "dead"
DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_DEAD_AFTER_S = 30.0


class WorkerRow(Base):
    """One ``crossdock worker`` process (or embedded runtime)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)       # host:pid (prefix of its claims)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)     # running | stopped | dead
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_tick_at: Mapped[dt.datetime | None] = mapped_column()           # last scheduler tick it ran
    stopped_at: Mapped[dt.datetime | None] = mapped_column()
    info: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # broker, threads, version, channels


class Lease(Base):
    """A singleton duty (``relay``) held by one worker until ``expires_at``."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0)


WORKERS = WorkerRow.__table__
LEASES = Lease.__table__
OUTBOX = OutboxEntry.__table__


def process_id() -> str:
    """``host:pid``: the prefix of every claim this process makes
    (:func:`crossdock.sync_engine.outbox.default_worker_id`)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerState:
    id: str
    host: str
    pid: int
    status: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    last_tick_at: dt.datetime | None
    info: dict[str, Any]

    def alive(self, now: dt.datetime, dead_after_s: float = DEFAULT_DEAD_AFTER_S) -> bool:
        return self.status == RUNNING and (now - self.heartbeat_at).total_seconds() < dead_after_s

    def to_dict(self, now: dt.datetime, dead_after_s: float = DEFAULT_DEAD_AFTER_S) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "pid": self.pid,
                "status": self.status if self.status != RUNNING or self.alive(now, dead_after_s) else "silent",
                "alive": self.alive(now, dead_after_s), "started_at": self.started_at.isoformat(),
                "heartbeat_at": self.heartbeat_at.isoformat(),
                "heartbeat_age_s": round((now - self.heartbeat_at).total_seconds(), 1),
                "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
                **{k: v for k, v in self.info.items() if k in ("broker", "threads", "version", "channels")}}


def register(session: Session, worker_id: str, *, info: dict[str, Any], now: dt.datetime | None = None) -> None:
    at = now_or(now)
    host, _, pid = worker_id.rpartition(":")
    values = dict(host=host, pid=int(pid) if pid.isdigit() else 0, status=RUNNING, started_at=at,
                  heartbeat_at=at, last_tick_at=None, stopped_at=None, info=info)
    session.execute(upsert_insert(session, WORKERS).values(id=worker_id, **values)
                    .on_conflict_do_update(index_elements=["id"], set_=values))


def heartbeat(session: Session, worker_id: str, *, ticked: bool = False, now: dt.datetime | None = None) -> bool:
    """Renew this worker's heartbeat. False when another worker declared it
    dead meanwhile (its claims were handed out again): the caller re-registers."""
    at = now_or(now)
    values: dict[str, Any] = {"heartbeat_at": at}
    if ticked:
        values["last_tick_at"] = at
    n = changed(session, update(WORKERS).where(WORKERS.c.id == worker_id, WORKERS.c.status == RUNNING)
                         .values(**values))
    return n == 1


def renew_claims(session: Session, worker_id: str, *, lease_s: float, now: dt.datetime | None = None) -> int:
    """A living worker's jobs keep their leases while they run: every running
    outbox entry it (any of its threads) holds gets ``lease_s`` more. A job
    waiting on a slow platform answer is not taken over by another worker and
    done twice; only a worker that stops beating (dead, or stalled as a whole)
    loses its work, after ``worker_dead_after_s`` or the lease. Returns the
    entries renewed."""
    at = now_or(now)
    mine = or_(OUTBOX.c.claimed_by == worker_id, OUTBOX.c.claimed_by.like(f"{_escape_like(worker_id)}:%",
                                                                          escape="\\"))
    return changed(session, update(OUTBOX).where(OUTBOX.c.status == "running", mine,
                                                 OUTBOX.c.claimed_until.is_not(None))
                   .values(claimed_until=at + dt.timedelta(seconds=lease_s)))


def stopped(session: Session, worker_id: str, *, now: dt.datetime | None = None) -> None:
    at = now_or(now)
    session.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(status=STOPPED, stopped_at=at))


def workers(session: Session, *, include_stopped_since: dt.datetime | None = None) -> list[WorkerState]:
    stmt = select(WORKERS).order_by(WORKERS.c.started_at)
    if include_stopped_since is not None:
        stmt = stmt.where(or_(WORKERS.c.status == RUNNING, WORKERS.c.heartbeat_at >= include_stopped_since))
    return [WorkerState(id=r.id, host=r.host, pid=r.pid, status=r.status, started_at=r.started_at,
                        heartbeat_at=r.heartbeat_at, last_tick_at=r.last_tick_at, info=dict(r.info or {}))
            for r in session.execute(stmt)]


def release_claims(session: Session, worker_id: str, *, now: dt.datetime | None = None,
                   reason: str) -> int:
    """Outbox entries claimed by ``worker_id`` (any of its threads) go back to
    pending now, without using an attempt: the worker stopped or died, the
    job did not fail."""
    at = now_or(now)
    mine = or_(OUTBOX.c.claimed_by == worker_id, OUTBOX.c.claimed_by.like(f"{_escape_like(worker_id)}:%",
                                                                          escape="\\"))
    return changed(session, update(OUTBOX).where(OUTBOX.c.status == "running", mine)
                            .values(status="pending", claimed_by=None, claimed_until=None, available_at=at,
                                    last_error=reason, updated_at=at))


def reap_dead(session: Session, *, dead_after_s: float = DEFAULT_DEAD_AFTER_S,
              now: dt.datetime | None = None) -> list[str]:
    """Mark workers silent for ``dead_after_s`` dead and release what they held.
    Returns their ids."""
    at = now_or(now)
    limit = at - dt.timedelta(seconds=dead_after_s)
    dead = list(session.execute(
        update(WORKERS).where(WORKERS.c.status == RUNNING, WORKERS.c.heartbeat_at < limit)
        .values(status=DEAD, stopped_at=at).returning(WORKERS.c.id, WORKERS.c.heartbeat_at)))
    rows = []
    for worker_id, seen in dead:
        released = release_claims(session, worker_id, now=at,
                                  reason=f"worker {worker_id} stopped sending heartbeats; entry handed back")
        from crossdock.sync_engine import dirty

        released_skus = dirty.release_claims_of(session, worker_id)
        rows.append(event_row(operation="worker.dead", outcome="ok", at=at, entity_type="worker", entity=worker_id,
                              code="XD-SYNC-007",
                              message=f"no heartbeat since {seen.isoformat()}: {released} job(s) and "
                                      f"{released_skus} claimed SKU(s) handed back",
                              details={"released_jobs": released, "released_skus": released_skus}))
        log.warning("worker %s declared dead (no heartbeat since %s); %d job(s) handed back",
                    worker_id, seen.isoformat(), released)
    if rows:
        insert_events(session, rows)
    return [w for w, _ in dead]


def hold_lease(session: Session, name: str, holder: str, *, ttl_s: float, now: dt.datetime | None = None) -> bool:
    """Take lease ``name`` if it is free, expired or already ours, for ``ttl_s``.
    One compare-and-set: two workers asking at once never both get it."""
    at = now_or(now)
    until = at + dt.timedelta(seconds=ttl_s)
    session.execute(upsert_insert(session, LEASES)
                    .values(name=name, holder=None, expires_at=at - dt.timedelta(seconds=1), version=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    n = changed(session, update(LEASES).where(LEASES.c.name == name,
                                              or_(LEASES.c.holder == holder, LEASES.c.holder.is_(None),
                                                  LEASES.c.expires_at < at))
                         .values(holder=holder, expires_at=until, version=LEASES.c.version + 1))
    return n == 1


def drop_lease(session: Session, name: str, holder: str) -> None:
    session.execute(update(LEASES).where(and_(LEASES.c.name == name, LEASES.c.holder == holder))
                    .values(holder=None))


def lease_holder(session: Session, name: str, *, now: dt.datetime | None = None) -> str | None:
    at = now_or(now)
    row = session.execute(select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == name)).first()
    if row is None or row.holder is None or row.expires_at < at:
        return None
    return row.holder


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
