"""The sync log: every action crossdock takes (fetch, push, retry, skip,
failure) as one structured, queryable row in ``sync_events``.

Write with :func:`record` (inside the caller's transaction, so the event
commits with the change it describes) or :func:`record_now` (its own
transaction, for failures whose business transaction rolled back). Secrets are
redacted before anything is written. The correlation id ties the events of one
chain (an order's import → reservation → label → confirmation) together; it is
carried in a context variable and in outbox payloads.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Iterator

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crossdock.db.base import utcnow
from crossdock.db.models import Order, Shipment, SyncEvent
from crossdock.errors import CrossdockError
from crossdock.secrets import redact
from crossdock.textsafe import printable

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "failed", "retry", "skipped", "partial")

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("crossdock_correlation", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:16]


def correlation_id() -> str | None:
    return _correlation.get()


def order_correlation(channel: str, platform_order_id: str) -> str:
    """The stable correlation id of one order's chain (import → reservation →
    label → confirmation → tracking), the same in every process."""
    return "o" + sha256(f"order:{channel}:{platform_order_id}".encode()).hexdigest()[:15]


@contextlib.contextmanager
def correlation(cid: str | None = None) -> Iterator[str]:
    cid = cid or _correlation.get() or new_correlation_id()
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)


@dataclass
class Event:
    operation: str
    outcome: str
    channel: str | None = None
    entity_type: str | None = None
    entity: str | None = None
    code: str | None = None
    message: str | None = None
    attempt: int = 1
    duration_ms: int | None = None
    details: dict[str, Any] | None = None
    correlation_id: str | None = None
    at: dt.datetime | None = None

    def values(self) -> dict[str, Any]:
        """The row's column values (secrets redacted)."""
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        return {"at": self.at or utcnow(), "correlation_id": self.correlation_id or correlation_id(),
                "channel": self.channel, "entity_type": self.entity_type, "entity": self.entity,
                "operation": self.operation, "outcome": self.outcome, "code": self.code,
                "message": redact(self.message) if self.message else None, "attempt": self.attempt,
                "duration_ms": self.duration_ms, "details": redact(self.details) if self.details else None}

    def row(self) -> SyncEvent:
        return SyncEvent(**self.values())


def event_from_error(operation: str, exc: CrossdockError, *, outcome: str = "failed", **kw: Any) -> Event:
    details = dict(kw.pop("details", None) or {})
    if exc.context:
        details.setdefault("context", {k: str(v) for k, v in exc.context.items()})
    if exc.retry_after_s is not None:
        details["retry_after_s"] = exc.retry_after_s
    return Event(operation=operation, outcome=outcome, code=exc.code, message=exc.message,
                 channel=kw.pop("channel", None) or exc.channel, entity=kw.pop("entity", None) or exc.entity,
                 details=details or None, **kw)


def record(session: Session, event: Event | None = None, /, **fields: Any) -> SyncEvent:
    """Add an event to ``session`` (commits with the caller's transaction)."""
    ev = event or Event(**fields)
    row = ev.row()
    session.add(row)
    _log(ev)
    return row


_INSERT = SyncEvent.__table__.insert()


def insert(session: Session, event: Event | None = None, /, **fields: Any) -> None:
    """:func:`record` as one Core ``INSERT`` in ``session``'s transaction, at
    once: the same row, without the ORM's unit of work at the flush (for hot
    paths that need no row back: the order import writes one on every poll)."""
    ev = event or Event(**fields)
    session.execute(_INSERT, ev.values())
    _log(ev)


def record_now(db, event: Event | None = None, /, **fields: Any) -> None:
    """Write an event in its own transaction (never raises: logging must not
    turn one failure into two)."""
    ev = event or Event(**fields)
    try:
        with db.write() as s:
            s.add(ev.row())
    except Exception:  # noqa: BLE001 - last resort, keep going
        log.exception("could not write sync event %s/%s", ev.operation, ev.outcome)
    _log(ev)


def _shown(value: str | None) -> str | None:
    return None if value is None else printable(value)


def _log(ev: Event) -> None:
    level = logging.INFO if ev.outcome in ("ok", "skipped") else logging.WARNING
    if log.isEnabledFor(level):
        # the values are the platforms' (a SKU, an order id, an error message): escaped here, so the
        # line stays one line whatever formatter the program that runs crossdock installed
        log.log(level, "%s %s channel=%s %s=%s code=%s cid=%s %s", ev.operation, ev.outcome, _shown(ev.channel),
                ev.entity_type, _shown(ev.entity), ev.code, ev.correlation_id or correlation_id(),
                printable(redact(ev.message or "")))


class timed:
    """``with timed() as t: …; t.ms`` — duration for events."""

    def __enter__(self) -> "timed":
        self._t = time.perf_counter()
        self.ms = 0
        return self

    def __exit__(self, *exc) -> None:
        self.ms = int((time.perf_counter() - self._t) * 1000)


def to_dict(e: SyncEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "correlation_id": e.correlation_id,
            "channel": e.channel, "entity_type": e.entity_type, "entity": e.entity, "operation": e.operation,
            "outcome": e.outcome, "code": e.code, "message": e.message, "attempt": e.attempt,
            "duration_ms": e.duration_ms, "details": e.details}


def query(session: Session, *, channel: str | None = None, code: str | None = None,
          since: dt.datetime | None = None, entity: str | None = None, outcome: str | None = None,
          limit: int = 200) -> list[SyncEvent]:
    """Newest first."""
    stmt = select(SyncEvent)
    if channel:
        stmt = stmt.where(SyncEvent.channel == channel)
    if code:
        stmt = stmt.where(SyncEvent.code.like(code.upper() + "%") if code.upper().count("-") < 2
                          else SyncEvent.code == code.upper())
    if since:
        stmt = stmt.where(SyncEvent.at >= since)
    if entity:
        stmt = stmt.where(SyncEvent.entity == entity)
    if outcome:
        stmt = stmt.where(SyncEvent.outcome == outcome)
    stmt = stmt.order_by(SyncEvent.at.desc(), SyncEvent.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def trace(session: Session, entity_id: str, *, limit: int = 5000) -> list[SyncEvent]:
    """The whole chain for one order, SKU or shipment, oldest first: events
    naming the entity, plus every event sharing a correlation id with them.

    A shipment's tracking number names the chain of the order it belongs to
    (its import, reservation, label, confirmation and tracking events), plus
    any event naming the tracking number itself."""
    orders = session.execute(select(Order.channel, Order.platform_order_id)
                             .join(Shipment, Shipment.order_id == Order.id)
                             .where(Shipment.tracking_number == entity_id).distinct()).all()
    named = [SyncEvent.entity == entity_id]
    for channel, platform_order_id in orders:
        named.append(and_(SyncEvent.entity == platform_order_id,
                          or_(SyncEvent.channel == channel, SyncEvent.channel.is_(None))))
    direct = select(SyncEvent.correlation_id).where(or_(*named), SyncEvent.correlation_id.is_not(None)).distinct()
    stmt = (select(SyncEvent)
            .where(or_(*named, SyncEvent.correlation_id.in_(direct)))
            .order_by(SyncEvent.at.asc(), SyncEvent.id.asc()).limit(limit))
    return list(session.scalars(stmt))


def events_doc(session: Session, **filters: Any) -> list[dict[str, Any]]:
    """``crossdock logs --json`` and ``GET /api/logs``: :func:`query`'s events as dicts."""
    return [to_dict(e) for e in query(session, **filters)]


def trace_doc(session: Session, entity_id: str) -> dict[str, Any]:
    """``crossdock logs trace ID --json`` and ``GET /api/orders/ID``: the chain, oldest first."""
    return {"entity": entity_id, "events": [to_dict(e) for e in trace(session, entity_id)]}
