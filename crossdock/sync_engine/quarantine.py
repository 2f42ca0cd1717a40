"""Quarantined orders: one bad order never stops a channel.

A window of orders is stored in one transaction, in bulk
(:func:`~crossdock.sync_engine.orders.store_orders`); its cursor moves in the
same transaction. Before, one order the database refused (a SKU longer than
its column, two lines with one id …) rolled the whole window back, the cursor
never moved, and no later order of the channel was ever stored.
:func:`store_window` stores a window so that cannot happen:

- the bulk store runs in a savepoint; when it fails because of an order (not
  because the database is unreachable, busy or read-only: those fail the
  window, which is read again), the window is stored again **one order at a
  time**, each in its own savepoint, so a failure rolls back that order only;
  the SKUs the stored orders touched are still marked dirty ONCE for the
  transaction (:class:`~crossdock.sync_engine.dirty.PendingMarks`);
- an order that cannot be stored — or that its connector could not map
  (:class:`~crossdock.models.UnreadableOrder`: an unknown status, a field of
  the wrong shape) — is **quarantined**: kept in ``quarantined_orders`` as the
  platform sent it, with XD-ORD-008 and the reason (the cause's own code when
  it has one), and written to the sync log. The window goes on and its cursor
  moves; a quarantined order holds no stock until it is stored.

``crossdock orders quarantine`` lists them (:func:`quarantine_doc`); ``crossdock
orders retry-quarantined`` (:func:`retry_quarantined`) reads each payload
again with its channel's connector as it is configured now and stores it, e.g.
after the channel's ``order_status`` mapping learnt a new status or after an
upgrade fixed the cause. A stored order (by a retry, or because the platform
sent a version that stores) leaves the quarantine.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, InternalError, OperationalError
from sqlalchemy.orm import Session

from crossdock.clock import Clock
from crossdock.db.engine import Database, translate_db_error
from crossdock.db.models import QuarantinedOrder
from crossdock.errors import CrossdockError
from crossdock.models import Order, UnreadableOrder
from crossdock.sync_engine import dirty
from crossdock.sync_engine._sql import event_row, insert_events, now_or
from crossdock.sync_engine.order_codec import order_doc, order_from_doc
from crossdock.sync_engine.orders import UpsertResult, nothing_stored, store_orders
from crossdock.synclog import order_correlation

if TYPE_CHECKING:
    from crossdock.sync_engine.jobs.context import EngineContext

log = logging.getLogger(__name__)

__all__ = ["NORMALISED", "PLATFORM", "QUARANTINED", "SetAside", "StoredWindow", "order_specific",
           "quarantine_counts", "quarantine_doc", "retry_quarantined", "store_window"]

QUARANTINED = "XD-ORD-008"
PLATFORM, NORMALISED = "platform", "normalised"          # what a row's payload holds
Q = QuarantinedOrder.__table__
#: Errors that are the database's state, not one order's: the window fails and is read again.
_ENVIRONMENT = (OperationalError, InterfaceError, InternalError, DisconnectionError)
_ENVIRONMENT_AREAS = ("DATA", "QUOTA", "AUTH", "NET")


@dataclass(frozen=True, slots=True)
class SetAside:
    """An order of ``channel`` that could not be stored, and why."""

    channel: str
    platform_order_id: str | None
    cause_code: str | None
    error: str
    payload_kind: str
    payload: str                                   # JSON text
    platform_updated_at: dt.datetime | None = None

    @classmethod
    def of_order(cls, channel: str, order: Order, exc: BaseException) -> SetAside:
        if order.raw:
            kind, payload = PLATFORM, _dumps(order.raw)
        else:
            kind, payload = NORMALISED, _dumps(order_doc(order))
        return cls(channel, order.platform_order_id, _cause_code(exc), _reason(exc), kind, payload, order.updated_at)

    @classmethod
    def of_unreadable(cls, channel: str, u: UnreadableOrder) -> SetAside:
        return cls(u.channel or channel, u.platform_order_id, u.code, u.message, PLATFORM, _dumps(u.payload))


@dataclass
class StoredWindow:
    """What :func:`store_window` stored and what it quarantined."""

    result: UpsertResult
    quarantined: list[SetAside] = field(default_factory=list)


def order_specific(exc: BaseException) -> bool:
    """True when ``exc`` is one order's problem (quarantine it), False when it
    is the environment's (the database unreachable, busy, read-only, out of
    date; no quota; an authorisation): then the whole window fails as before."""
    if isinstance(exc, _ENVIRONMENT):
        return False
    if isinstance(exc, DBAPIError) and translate_db_error(exc) is not None:
        return False
    if isinstance(exc, CrossdockError):
        return exc.spec.area not in _ENVIRONMENT_AREAS
    return isinstance(exc, Exception)


def store_window(session: Session, channel: str, orders: Sequence[Order], clock: Clock, *,
                 unreadable: Iterable[UnreadableOrder] = (), now: dt.datetime | None = None,
                 marks: dirty.PendingMarks | None = None) -> StoredWindow:
    """Store ``orders`` of ``channel`` in the caller's transaction (see module
    doc); quarantine those that cannot be stored and the ``unreadable`` ones.
    ``marks``: the SKUs to mark dirty go there, for the caller's one mark of
    its transaction (the order import adds the units its window released);
    without it they are marked here."""
    at = now_or(now)
    aside: list[SetAside] = []
    pending = dirty.PendingMarks() if marks is None else marks
    if not orders:
        # an empty window (most polls): storing nothing writes nothing, so no savepoint nor bulk machinery
        result = nothing_stored(channel)
    else:
        own = dirty.PendingMarks()        # a savepoint rolled back marks nothing
        try:
            with session.begin_nested():
                result = store_orders(session, channel, orders, clock, marks=own)
        except Exception as exc:
            if not order_specific(exc):
                raise
            log.warning("channel %s: a window of %d orders could not be stored at once (%s); storing them "
                        "one by one", channel, len(orders), _reason(exc))
            result, aside = _one_by_one(session, channel, orders, clock, pending)
        else:
            pending.add(own.skus, available=own.available)
        if marks is None:
            pending.flush(session)
    aside.extend(SetAside.of_unreadable(channel, u) for u in unreadable)
    if result.order_ids:
        _release(session, channel, sorted(result.order_ids), at)
    for a in aside:
        _keep(session, a, at)
    return StoredWindow(result, aside)


def _one_by_one(session: Session, channel: str, orders: Sequence[Order], clock: Clock,
                marks: dirty.PendingMarks) -> tuple[UpsertResult, list[SetAside]]:
    """Each order (with the other versions of it in the window) in its own
    savepoint; the dirty marks of the stored ones gathered in ``marks``."""
    by_id: dict[str, list[Order]] = {}
    for o in orders:
        by_id.setdefault(o.platform_order_id, []).append(o)
    results: list[UpsertResult] = []
    aside: list[SetAside] = []
    for versions in by_id.values():
        own = dirty.PendingMarks()
        try:
            with session.begin_nested():
                results.append(store_orders(session, channel, versions, clock, marks=own))
        except Exception as exc:
            if not order_specific(exc):
                raise
            latest = max(versions, key=lambda o: o.updated_at)
            aside.append(SetAside.of_order(channel, latest, exc))
            continue
        marks.add(own.skus, available=own.available)
    return _merged(results), aside


def _merged(results: Sequence[UpsertResult]) -> UpsertResult:
    order_ids: dict[str, int] = {}
    reservations, released, consumed = {}, {}, {}
    for r in results:
        order_ids.update(r.order_ids)
        reservations.update(r.reservations)
        released.update(r.released)
        consumed.update(r.consumed)
    return UpsertResult(new=sum(r.new for r in results), updated=sum(r.updated for r in results),
                        unchanged=sum(r.unchanged for r in results), order_ids=order_ids,
                        new_ids=tuple(sorted(i for r in results for i in r.new_ids)),
                        status_changed=tuple(i for r in results for i in r.status_changed),
                        cancelled_before=tuple(i for r in results for i in r.cancelled_before),
                        reservations=reservations, released=released, consumed=consumed)


# ---------------------------------------------------------------- the quarantine table
def _keep(session: Session, a: SetAside, at: dt.datetime) -> None:
    """Quarantine ``a`` (a row per channel and order: a later failure updates it) and log it."""
    where = [Q.c.channel == a.channel]
    where.append(Q.c.platform_order_id == a.platform_order_id if a.platform_order_id is not None
                 else Q.c.platform_order_id.is_(None) & (Q.c.payload == a.payload))
    known = session.execute(select(Q.c.id, Q.c.attempts).where(*where)).first()
    values = {"code": QUARANTINED, "cause_code": a.cause_code, "error": a.error, "payload_kind": a.payload_kind,
              "payload": a.payload, "platform_updated_at": a.platform_updated_at, "last_tried_at": at}
    if known is None:
        attempts = 1
        session.execute(Q.insert().values(channel=a.channel, platform_order_id=a.platform_order_id,
                                          attempts=attempts, first_seen_at=at, **values))
    else:
        attempts = known.attempts + 1
        session.execute(update(Q).where(Q.c.id == known.id).values(attempts=attempts, **values))
    entity = a.platform_order_id or "(no order id)"
    log.warning("channel %s: order %s quarantined (%s): %s", a.channel, entity, a.cause_code or "-", a.error)
    insert_events(session, [event_row(
        operation="order.quarantine", outcome="failed", at=at, channel=a.channel, entity_type="order",
        entity=entity, code=QUARANTINED,
        message=f"order set aside, the import goes on: {a.error}",
        details={"cause_code": a.cause_code, "attempts": attempts, "payload_kind": a.payload_kind},
        correlation=order_correlation(a.channel, a.platform_order_id) if a.platform_order_id else None)])


#: The channel's quarantined order ids (read after every stored window: built once).
_HELD = select(Q.c.platform_order_id).where(Q.c.channel == bindparam("channel"), Q.c.platform_order_id.is_not(None))


def _release(session: Session, channel: str, pids: Sequence[str], at: dt.datetime) -> None:
    """Orders of ``channel`` just stored leave the quarantine (with an event each)."""
    held = set(session.execute(_HELD, {"channel": channel}).scalars())
    out = [p for p in pids if p in held]
    if not out:
        return
    session.execute(delete(Q).where(Q.c.channel == channel, Q.c.platform_order_id.in_(out)))
    insert_events(session, [event_row(
        operation="order.quarantine", outcome="ok", at=at, channel=channel, entity_type="order", entity=pid,
        message="stored: out of quarantine", correlation=order_correlation(channel, pid)) for pid in out])


def quarantine_counts(session: Session) -> dict[str, int]:
    """Channel → quarantined orders (``crossdock sync status``)."""
    return {c: int(n) for c, n in session.execute(select(Q.c.channel, func.count()).group_by(Q.c.channel))}


def quarantine_doc(db: Database, *, channel: str | None = None) -> list[dict[str, Any]]:
    """``crossdock orders quarantine``: every quarantined order, oldest first,
    with its reason and the payload as the platform sent it."""
    from crossdock.errors import lookup

    spec = lookup(QUARANTINED)
    stmt = select(QuarantinedOrder).order_by(QuarantinedOrder.first_seen_at, QuarantinedOrder.id)
    if channel:
        stmt = stmt.where(QuarantinedOrder.channel == channel)
    with db.read() as s:
        rows = list(s.scalars(stmt))
    return [{"id": r.id, "channel": r.channel, "platform_order_id": r.platform_order_id, "code": r.code,
             "title": spec.title, "cause_code": r.cause_code, "error": r.error, "remedy": spec.remedy,
             "attempts": r.attempts, "first_seen_at": r.first_seen_at.isoformat(),
             "last_tried_at": r.last_tried_at.isoformat(),
             "platform_updated_at": r.platform_updated_at.isoformat() if r.platform_updated_at else None,
             "payload_kind": r.payload_kind, "payload": _loads(r.payload)} for r in rows]


# ---------------------------------------------------------------- retry
def retry_quarantined(ctx: EngineContext, *, channel: str | None = None,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """Read every quarantined order (of ``channel``) again from its payload,
    with its channel's connector as configured now, and store it; each in its
    own transaction. A stored order leaves the quarantine; one that fails again
    stays, with the new reason and one more attempt."""
    stmt = select(Q.c.id, Q.c.channel, Q.c.platform_order_id, Q.c.payload_kind, Q.c.payload).order_by(Q.c.id)
    if channel:
        stmt = stmt.where(Q.c.channel == channel)
    with ctx.db.read() as s:
        rows = s.execute(stmt).all()
    outcomes: list[dict[str, Any]] = []
    for row in rows:
        at = now_or(now)
        with ctx.db.write() as s:
            try:
                conn = ctx.connectors.get(row.channel)      # XD-CFG-… when the channel left the configuration
                payload = json.loads(row.payload)
                order = (conn.order_from_payload(payload) if row.payload_kind == PLATFORM
                         else order_from_doc(payload))
            except Exception as exc:
                if not order_specific(exc):
                    raise
                again = SetAside(row.channel, row.platform_order_id, _cause_code(exc), _reason(exc),
                                 row.payload_kind, row.payload)
                _keep(s, again, at)
                outcomes.append(_outcome(row, "quarantined", again))
                continue
            stored = store_window(s, row.channel, [order], conn.clock, now=at)
            if stored.quarantined:
                outcomes.append(_outcome(row, "quarantined", stored.quarantined[0]))
                continue
            s.execute(delete(Q).where(Q.c.id == row.id))        # stored (also when the payload named no id)
            outcomes.append({"channel": row.channel, "platform_order_id": order.platform_order_id,
                             "outcome": "stored", "new": bool(stored.result.new)})
    return {"tried": len(outcomes), "stored": sum(1 for o in outcomes if o["outcome"] == "stored"),
            "still_quarantined": sum(1 for o in outcomes if o["outcome"] != "stored"), "orders": outcomes}


def _outcome(row: Any, outcome: str, a: SetAside) -> dict[str, Any]:
    return {"channel": row.channel, "platform_order_id": row.platform_order_id, "outcome": outcome,
            "cause_code": a.cause_code, "error": a.error}


# ---------------------------------------------------------------- helpers
def _cause_code(exc: BaseException) -> str | None:
    return exc.code if isinstance(exc, CrossdockError) else None


def _reason(exc: BaseException) -> str:
    """The error in one line, without the SQL and its parameters (a buyer's
    address must not reach the log): the driver's own message for a database
    error, the message of a crossdock error."""
    if isinstance(exc, CrossdockError):
        return exc.message[:1000]
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).splitlines() or [""]
    # PostgreSQL's DETAIL may hold the whole failing row (the buyer's address): only a key is kept
    text = " ".join([lines[0], *(ln for ln in lines[1:] if ln.startswith("DETAIL:") and "Key (" in ln)])
    text = " ".join(text.split())
    kind = type(exc).__name__ if orig is exc else f"{type(exc).__name__} ({type(orig).__name__})"
    return f"{kind}: {text}"[:1000]


def _dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, default=str, sort_keys=True, ensure_ascii=True)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
