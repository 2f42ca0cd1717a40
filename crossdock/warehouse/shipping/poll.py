"""Following shipped parcels: :func:`poll_tracking` asks each carrier about
open parcels, stores new tracking events, moves the shipment (and, when every
parcel arrived, the order) to ``delivered`` and flags parcels silent for too
long with XD-SHIP-002. The pure rules (status summary, staleness) are in
:mod:`crossdock.warehouse.tracking`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.engine import Database
from crossdock.db.models import Order, Shipment
from crossdock.db.models import TrackingEvent as TrackingEventRow
from crossdock.errors import CrossdockError, ShippingError
from crossdock.models import TrackingEvent
from crossdock.warehouse.carriers.base import Carrier
from crossdock.warehouse.shipping.options import DEFAULT_STALE_DAYS
from crossdock.warehouse.shipping.orders import order_ident
from crossdock.warehouse.tracking import (
    STALE_CODE,
    TERMINAL_STATUSES,
    TrackedParcel,
    stale_parcels,
    tracking_status_summary,
)

log = logging.getLogger(__name__)

CarrierFactory = Callable[[str], Carrier]

#: Shipment status of a parcel whose carrier cannot be followed (manual carriers).
UNTRACKED = "untracked"


@dataclass(frozen=True, slots=True)
class TrackingResult:
    checked: int = 0
    new_events: int = 0
    delivered: tuple[str, ...] = ()              # tracking numbers delivered in this run
    stale: tuple[dict[str, Any], ...] = ()       # newly flagged XD-SHIP-002 parcels
    failures: tuple[dict[str, Any], ...] = ()    # carriers that could not answer
    skipped: int = 0                             # untrackable (manual) parcels

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "new_events": self.new_events, "delivered": list(self.delivered),
                "stale": list(self.stale), "failures": list(self.failures), "skipped": self.skipped}


@dataclass(slots=True)
class _Open:
    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str
    created_at: dt.datetime
    events: list[TrackingEvent] = field(default_factory=list)


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("tracking event times must be aware datetimes")
    return value.astimezone(dt.timezone.utc)


def poll_tracking(
    db: Database,
    carrier_factory: CarrierFactory,
    now: dt.datetime,
    *,
    max_silence_days: float = DEFAULT_STALE_DAYS,
    max_age_days: float = 90.0,
    limit: int = 500,
) -> TrackingResult:
    """Ask the carriers about every parcel not yet delivered and shipped in
    the last ``max_age_days`` (oldest first, at most ``limit``); store new
    events, update the shipment (and the order once all its parcels are
    delivered) and flag silent parcels with XD-SHIP-002 on the order, once.
    Parcels of carriers that cannot be tracked (manual carriers) are set to
    status ``untracked`` and never asked again. Carriers are called outside
    any transaction; each shipment is then written in its own short
    transaction."""
    now = _as_utc(now)
    with db.read() as session:
        rows = list(session.scalars(
            select(Shipment).where(Shipment.delivered_at.is_(None),
                                   Shipment.status.not_in([*TERMINAL_STATUSES, UNTRACKED]),
                                   Shipment.created_at >= now - dt.timedelta(days=max_age_days))
            .order_by(Shipment.created_at, Shipment.id).limit(limit)))
        open_parcels = [_Open(r.id, r.order_id, r.carrier, r.tracking_number, r.created_at) for r in rows]
        stored = _stored_state(session, rows)

    carriers: dict[str, Carrier | CrossdockError] = {}
    checked = new_total = skipped = 0
    delivered: list[str] = []
    stale: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for parcel in open_parcels:
        carrier = carriers.get(parcel.carrier)
        if carrier is None:
            try:
                carrier = carrier_factory(parcel.carrier)
            except CrossdockError as exc:
                carrier = exc
            carriers[parcel.carrier] = carrier
        trackable = not isinstance(carrier, CrossdockError) and bool(getattr(carrier, "trackable", True))
        events: list[TrackingEvent] = []
        error: CrossdockError | None = carrier if isinstance(carrier, CrossdockError) else None
        if trackable:
            assert not isinstance(carrier, CrossdockError)
            try:
                events = list(carrier.track(parcel.tracking_number, shipped_at=parcel.created_at))
            except CrossdockError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - translate the carrier's own failure once
                error = ShippingError("XD-SHIP-001", entity=f"tracking {parcel.tracking_number}",
                                      detail=f"tracking query failed: {type(exc).__name__}: {exc}"[:300],
                                      retry_after_s=60.0)
        elif error is None:
            db.run_write(partial(_mark_untracked, shipment_id=parcel.shipment_id))
            skipped += 1
            continue
        checked += 1
        if error is None and _nothing_to_store(parcel, events, stored.get(parcel.shipment_id), now=now,
                                               max_silence_days=max_silence_days):
            continue          # no new event, and the shipment and its order already say what they would
        outcome = db.run_write(partial(_store_tracking, parcel=parcel, events=events, error=error, now=now,
                                       max_silence_days=max_silence_days))
        new_total += outcome["new"]
        if outcome["delivered"]:
            delivered.append(parcel.tracking_number)
        if outcome["stale"] is not None:
            stale.append(outcome["stale"])
        if error is not None:
            failures.append({"tracking_number": parcel.tracking_number, "carrier": parcel.carrier,
                             "code": error.code, "message": error.message})
    log.info("tracking: %d parcels checked, %d new events, %d delivered, %d newly stale, %d failures",
             checked, new_total, len(delivered), len(stale), len(failures))
    return TrackingResult(checked=checked, new_events=new_total, delivered=tuple(delivered), stale=tuple(stale),
                          failures=tuple(failures), skipped=skipped)


@dataclass(frozen=True, slots=True)
class _Stored:
    """A parcel as the poll's read found it: its events and what they were summed up to."""

    events: tuple[TrackingEvent, ...]
    status: str | None
    last_event_at: dt.datetime | None
    stale_flagged: bool


def _stored_state(session: Session, shipments: list[Shipment]) -> dict[int, _Stored]:
    """The stored events of ``shipments`` and their orders' stale flag, in two queries."""
    if not shipments:
        return {}
    events: dict[int, list[TrackingEvent]] = {s.id: [] for s in shipments}
    numbers = {s.id: s.tracking_number for s in shipments}
    ids = sorted(events)
    order_ids = sorted({s.order_id for s in shipments})
    flagged: set[int] = set()
    for i in range(0, len(ids), 500):
        for r in session.scalars(select(TrackingEventRow).where(TrackingEventRow.shipment_id.in_(ids[i:i + 500]))):
            events[r.shipment_id].append(TrackingEvent(
                tracking_number=numbers[r.shipment_id], occurred_at=_as_utc(r.occurred_at), status=r.status,
                description=r.description or "", location=r.location))
    for i in range(0, len(order_ids), 500):
        flagged.update(oid for oid, flags in session.execute(
            select(Order.id, Order.flags).where(Order.id.in_(order_ids[i:i + 500]))) if STALE_CODE in (flags or []))
    return {s.id: _Stored(tuple(events[s.id]), s.status, s.last_event_at, s.order_id in flagged) for s in shipments}


def _nothing_to_store(parcel: _Open, events: list[TrackingEvent], stored: _Stored | None, *, now: dt.datetime,
                      max_silence_days: float) -> bool:
    """True when :func:`_store_tracking` would write nothing: every event the
    carrier sent is stored, the shipment's status is what its events sum up
    to and it is not delivered, and the order is flagged stale exactly when
    the parcel is silent. (Its transaction reads the rows again: a parcel
    this read saw out of date is written, never skipped wrongly for long —
    the next poll looks again.)"""
    if stored is None:
        return False
    seen = {(e.occurred_at, e.status) for e in stored.events}
    if any((_as_utc(ev.occurred_at), ev.status) not in seen for ev in events):
        return False
    summary = tracking_status_summary(stored.events)
    if summary.event_count and (summary.delivered_at is not None or summary.status != stored.status
                                or summary.last_event_at != stored.last_event_at):
        return False
    silent = bool(stale_parcels([TrackedParcel(tracking_number=parcel.tracking_number, carrier=parcel.carrier,
                                               shipped_at=parcel.created_at, events=stored.events)],
                                now, max_silence_days=max_silence_days))
    return silent == stored.stale_flagged


def _mark_untracked(session: Session, shipment_id: int) -> None:
    shipment = session.get(Shipment, shipment_id, populate_existing=True)
    if shipment is not None and shipment.status == "label_created":
        shipment.status = UNTRACKED


def _store_tracking(session: Session, parcel: _Open, events: list[TrackingEvent], error: CrossdockError | None,
                    *, now: dt.datetime, max_silence_days: float) -> dict[str, Any]:
    shipment = session.get(Shipment, parcel.shipment_id, populate_existing=True)
    order = session.get(Order, parcel.order_id, populate_existing=True)
    assert shipment is not None and order is not None
    ident = order_ident(session, order)
    stored = list(session.scalars(select(TrackingEventRow).where(TrackingEventRow.shipment_id == shipment.id)))
    seen = {(_as_utc(r.occurred_at), r.status) for r in stored}
    known = [TrackingEvent(tracking_number=shipment.tracking_number, occurred_at=_as_utc(r.occurred_at),
                           status=r.status, description=r.description or "", location=r.location) for r in stored]
    new: list[TrackingEvent] = []
    for ev in sorted(events, key=lambda e: _as_utc(e.occurred_at)):
        key = (_as_utc(ev.occurred_at), ev.status)
        if key in seen:
            continue
        seen.add(key)
        new.append(ev)
        session.add(TrackingEventRow(shipment_id=shipment.id, occurred_at=key[0], status=ev.status,
                                     description=ev.description or "", location=ev.location, recorded_at=now))
        synclog.record(session, ident.event("tracking.event", "ok", details={
            "tracking_number": shipment.tracking_number, "carrier": shipment.carrier, "status": ev.status,
            "occurred_at": key[0].isoformat(), "location": ev.location, "description": ev.description}))
    if error is not None:
        synclog.record(session, ident.failure("tracking.poll", error, outcome="retry", details={
            "tracking_number": shipment.tracking_number, "carrier": shipment.carrier}))

    summary = tracking_status_summary([*known, *new])
    became_delivered = False
    if summary.event_count:
        shipment.status = summary.status
        shipment.last_event_at = summary.last_event_at
        if summary.delivered_at is not None and shipment.delivered_at is None:
            shipment.delivered_at = summary.delivered_at
            became_delivered = True
    if became_delivered:
        synclog.record(session, ident.event("shipment.delivered", "ok", details={
            "tracking_number": shipment.tracking_number, "delivered_at": summary.delivered_at.isoformat()
            if summary.delivered_at else None}))
        undelivered = session.scalar(select(func.count()).select_from(Shipment).where(
            Shipment.order_id == order.id, Shipment.id != shipment.id, Shipment.delivered_at.is_(None)))
        if not undelivered and order.local_status == "shipped":
            order.local_status = "delivered"
            order.status_changed_at = now

    flags = list(order.flags or [])
    silent = stale_parcels([TrackedParcel(tracking_number=shipment.tracking_number, carrier=shipment.carrier,
                                          shipped_at=shipment.created_at, events=[*known, *new],
                                          order_ref=f"{order.channel}/{order.platform_order_id}")],
                           now, max_silence_days=max_silence_days)
    newly_stale: dict[str, Any] | None = None
    if silent and STALE_CODE not in flags:
        s = silent[0]
        order.flags = [*flags, STALE_CODE]
        newly_stale = {"tracking_number": s.tracking_number, "carrier": s.carrier, "order": s.order_ref,
                       "last_heard_at": s.last_heard_at.isoformat(), "last_status": s.last_status,
                       "silent_days": round(s.silent_for.total_seconds() / 86400, 1)}
        synclog.record(session, ident.event(
            "tracking.stale", "failed", code=STALE_CODE,
            message=f"no tracking event for {newly_stale['silent_days']} days "
                    f"({shipment.carrier} {shipment.tracking_number})", details=newly_stale))
    elif not silent and STALE_CODE in flags:
        order.flags = [f for f in flags if f != STALE_CODE]
        synclog.record(session, ident.event("tracking.resumed", "ok", details={
            "tracking_number": shipment.tracking_number}))
    return {"new": len(new), "delivered": became_delivered, "stale": newly_stale}


__all__ = ["UNTRACKED", "CarrierFactory", "TrackingResult", "poll_tracking"]
