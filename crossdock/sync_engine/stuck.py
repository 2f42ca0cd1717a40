"""Stuck orders: flagged with a code so a person looks at them.

- XD-ORD-002: the platform's status (mapped with the channel's status map)
  and crossdock's ``local_status`` have disagreed for longer than
  ``status_threshold_s`` (measured from ``status_changed_at``). Typical case:
  crossdock shipped the order but the channel never took the confirmation.
  ``shipped`` and ``delivered`` count as agreeing (Amazon never reports
  delivery of merchant-fulfilled orders).
- XD-ORD-003: still unshipped after the channel's handling time — past the
  order's ``ship_by`` when the platform gave one, else ``purchased_at`` plus
  ``handling_time_h`` for the channel.

:func:`find_stuck` adds the code to ``orders.flags`` (once) with a sync event,
and removes it from orders that are no longer stuck.

Other jobs flag orders a warehouse person must act on; :func:`flagged_orders`
lists them with their parcels (``crossdock warehouse flagged``):

- XD-ORD-007: cancelled on the channel after crossdock shipped it, before the
  confirmation arrived (set by the ``confirm_shipment`` job): intercept the
  parcel or expect a return. Cleared by a person (:func:`resolve_flag`,
  ``crossdock warehouse resolve``), never by :func:`find_stuck`.
- XD-SHIP-002: a parcel without tracking events for too long (set and cleared
  by the tracking poll).
- XD-INV-004 / XD-ORD-004: a line no stock was reserved for, its SKU not in
  the catalogue or none at all (set and cleared by the reservation).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, or_, select, update
from sqlalchemy.orm import Session

from crossdock.db.base import utcnow
from crossdock.db.engine import Database
from crossdock.db.models import Channel, Order as OrderRow
from crossdock.errors import CrossdockError
from crossdock.mapping.status import StatusMap, default_status_map
from crossdock.sync_engine._sql import chunks, event_row, insert_events, now_or

log = logging.getLogger(__name__)

ORDERS = OrderRow.__table__
CHANNELS = Channel.__table__

STATUS_DIFFERS, PAST_HANDLING = "XD-ORD-002", "XD-ORD-003"
STUCK_CODES = (STATUS_DIFFERS, PAST_HANDLING)
UNSHIPPED = ("unshipped", "partially_shipped")
_SHIPPED = ("shipped", "delivered")
DEFAULT_HANDLING_TIME_H = 48.0
DEFAULT_LOOKBACK_S = 30 * 86_400.0

CANCELLED_AFTER_SHIP, PARCEL_SILENT = "XD-ORD-007", "XD-SHIP-002"
WAREHOUSE_CODES = (CANCELLED_AFTER_SHIP, PARCEL_SILENT)
UNKNOWN_SKU, NO_SKU = "XD-INV-004", "XD-ORD-004"
#: What ``crossdock warehouse flagged`` lists.
FLAGGED_CODES = (*WAREHOUSE_CODES, UNKNOWN_SKU, NO_SKU)
#: Flags a person clears once handled (the others come and go with the state that set them).
RESOLVABLE_CODES = (CANCELLED_AFTER_SHIP,)

__all__ = ["FLAGGED_CODES", "RESOLVABLE_CODES", "STUCK_CODES", "WAREHOUSE_CODES", "FlaggedOrder", "StuckOrder", "StuckReport",
           "find_stuck", "flagged_doc", "flagged_orders", "resolve_cancelled", "resolve_flag", "statuses_agree"]


@dataclass(frozen=True, slots=True)
class StuckOrder:
    order_id: int
    channel: str
    platform_order_id: str
    code: str
    since: dt.datetime
    detail: str


@dataclass(frozen=True, slots=True)
class StuckReport:
    stuck: tuple[StuckOrder, ...]
    newly_flagged: tuple[StuckOrder, ...]
    cleared: tuple[tuple[int, str], ...]          # (order id, code) no longer stuck
    unmapped: tuple[int, ...] = ()                # platform status the map does not know


def statuses_agree(local: str, platform: str) -> bool:
    return local == platform or (local in _SHIPPED and platform in _SHIPPED)


def _handling_h(handling_time_h: float | Mapping[str, float], channel: str, default: float) -> float:
    if isinstance(handling_time_h, Mapping):
        return float(handling_time_h.get(channel, default))
    return float(handling_time_h)


def find_stuck(session: Session, now: dt.datetime | None = None, *, status_threshold_s: float,
               handling_time_h: float | Mapping[str, float],
               default_handling_time_h: float = DEFAULT_HANDLING_TIME_H,
               status_maps: Mapping[str, StatusMap] | None = None,
               lookback_s: float = DEFAULT_LOOKBACK_S, flag: bool = True) -> StuckReport:
    """Find (and with ``flag``, flag and unflag) stuck orders. ``status_maps``
    maps channel → StatusMap with the seller's overrides (default: the
    platform's default map). ``handling_time_h`` is one figure or a mapping
    channel → hours (others get ``default_handling_time_h``)."""
    at = now_or(now)
    platforms = dict(session.execute(select(CHANNELS.c.name, CHANNELS.c.platform)).all())
    maps: dict[str, StatusMap | None] = {}

    def status_map(channel: str) -> StatusMap | None:
        if channel not in maps:
            if status_maps and channel in status_maps:
                maps[channel] = status_maps[channel]
            else:
                try:
                    maps[channel] = default_status_map(platforms.get(channel, ""))
                except (CrossdockError, ValueError):
                    maps[channel] = None
        return maps[channel]

    cols = (ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.platform_status,
            ORDERS.c.local_status, ORDERS.c.status_changed_at, ORDERS.c.purchased_at, ORDERS.c.ship_by,
            ORDERS.c.flags)
    threshold = at - dt.timedelta(seconds=status_threshold_s)
    hours = [default_handling_time_h]
    if isinstance(handling_time_h, Mapping):
        hours += [float(h) for h in handling_time_h.values()]
    else:
        hours.append(float(handling_time_h))
    earliest = at - dt.timedelta(hours=min(hours))
    like = or_(*(cast(ORDERS.c.flags, String).like(f"%{code}%") for code in STUCK_CODES))
    seen: dict[int, Any] = {}
    for cond in (
            # candidates for XD-ORD-002: a status unchanged for longer than the threshold
            (ORDERS.c.status_changed_at <= threshold)
            & (ORDERS.c.status_changed_at >= at - dt.timedelta(seconds=lookback_s)),
            # candidates for XD-ORD-003
            ORDERS.c.local_status.in_(UNSHIPPED) & or_(ORDERS.c.ship_by <= at, ORDERS.c.purchased_at <= earliest),
            # flagged earlier: stuck still, or recovered
            like):
        for r in session.execute(select(*cols).where(cond)):
            seen.setdefault(r.id, r)

    stuck: dict[tuple[int, str], StuckOrder] = {}
    unmapped: list[int] = []
    for r in seen.values():
        if r.status_changed_at <= threshold and (smap := status_map(r.channel)) is not None:
            try:
                mapped = smap.map(r.platform_status, channel=r.channel, order_id=r.platform_order_id).value
            except CrossdockError:
                unmapped.append(r.id)
                mapped = None
            if mapped is not None and not statuses_agree(r.local_status, mapped):
                stuck[(r.id, STATUS_DIFFERS)] = StuckOrder(
                    r.id, r.channel, r.platform_order_id, STATUS_DIFFERS, r.status_changed_at,
                    f"crossdock says {r.local_status}, {r.channel} says {r.platform_status} ({mapped}) "
                    f"since {r.status_changed_at.isoformat()}")
        if r.local_status in UNSHIPPED:
            if r.ship_by is not None:
                deadline = r.ship_by
                why = f"ship by {r.ship_by.isoformat()}"
            else:
                h = _handling_h(handling_time_h, r.channel, default_handling_time_h)
                deadline = r.purchased_at + dt.timedelta(hours=h)
                why = f"purchased {r.purchased_at.isoformat()}, handling time {h:g} h"
            if at > deadline:
                stuck[(r.id, PAST_HANDLING)] = StuckOrder(r.id, r.channel, r.platform_order_id, PAST_HANDLING,
                                                          deadline, f"still {r.local_status}: {why}")

    newly: list[StuckOrder] = []
    cleared: list[tuple[int, str]] = []
    touched = sorted(oid for oid, r in seen.items()
                     if any(((oid, c) in stuck) != (c in (r.flags or [])) for c in STUCK_CODES))
    if flag and touched:
        updates = []
        events = []
        logged_at = utcnow()       # ``at`` is the platforms' clock; the sync log is wall-clock time
        for part in chunks(touched):   # lock in id order, re-read flags under the lock
            for locked in session.execute(select(ORDERS.c.id, ORDERS.c.flags, ORDERS.c.channel,
                                                 ORDERS.c.platform_order_id)
                                          .where(ORDERS.c.id.in_(part)).order_by(ORDERS.c.id).with_for_update()):
                flags = list(locked.flags or [])
                new_flags = list(flags)
                for code in STUCK_CODES:
                    hit = stuck.get((locked.id, code))
                    if hit and code not in new_flags:
                        new_flags.append(code)
                        newly.append(hit)
                        events.append(event_row(
                            operation="order.stuck", outcome="failed", at=logged_at, channel=locked.channel,
                            entity_type="order", entity=locked.platform_order_id, code=code, message=hit.detail,
                            details={"order_id": locked.id, "since": hit.since.isoformat()}))
                    elif not hit and code in new_flags:
                        new_flags.remove(code)
                        cleared.append((locked.id, code))
                        events.append(event_row(
                            operation="order.stuck", outcome="ok", at=logged_at, channel=locked.channel,
                            entity_type="order", entity=locked.platform_order_id,
                            message=f"{code} cleared: no longer stuck", details={"order_id": locked.id}))
                if new_flags != flags:
                    updates.append({"oid": locked.id, "flags": new_flags})
        if updates:
            session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid"))
                            .values(flags=bindparam("flags")), updates)
        insert_events(session, events)
    if newly:
        log.warning("%d orders newly stuck (%s)", len(newly), ", ".join(sorted({s.code for s in newly})))
    return StuckReport(stuck=tuple(sorted(stuck.values(), key=lambda s: (s.order_id, s.code))),
                       newly_flagged=tuple(newly), cleared=tuple(cleared), unmapped=tuple(sorted(set(unmapped))))


# ---------------------------------------------------------------- flags for the warehouse
@dataclass(frozen=True, slots=True)
class FlaggedOrder:
    order_id: int
    channel: str
    platform_order_id: str
    code: str
    local_status: str
    platform_status: str
    since: dt.datetime                          # the order's last status change
    parcels: tuple[dict[str, Any], ...]         # carrier, tracking_number, status, warehouse, confirmed

    def to_dict(self) -> dict[str, Any]:
        from crossdock.errors import lookup

        return {"order_id": self.order_id, "channel": self.channel, "platform_order_id": self.platform_order_id,
                "code": self.code, "title": lookup(self.code).title, "remedy": lookup(self.code).remedy,
                "local_status": self.local_status, "platform_status": self.platform_status,
                "since": self.since.isoformat(), "parcels": [dict(p) for p in self.parcels]}


def flagged_orders(session: Session, codes: tuple[str, ...] = WAREHOUSE_CODES, *,
                   channel: str | None = None) -> list[FlaggedOrder]:
    """Orders carrying any of ``codes`` in ``orders.flags``, one row per (order,
    code), oldest status change first, each with its shipments."""
    from crossdock.db.models import Shipment

    if not codes:
        return []
    stmt = select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.local_status,
                  ORDERS.c.platform_status, ORDERS.c.status_changed_at, ORDERS.c.flags).where(
        or_(*(cast(ORDERS.c.flags, String).like(f"%{code}%") for code in codes)))
    if channel:
        stmt = stmt.where(ORDERS.c.channel == channel)
    rows = [r for r in session.execute(stmt.order_by(ORDERS.c.status_changed_at, ORDERS.c.id))
            if any(c in (r.flags or []) for c in codes)]
    parcels: dict[int, list[dict[str, Any]]] = {}
    for part in chunks([r.id for r in rows]):
        for sh in session.execute(select(Shipment.order_id, Shipment.carrier, Shipment.tracking_number,
                                         Shipment.status, Shipment.warehouse, Shipment.confirmed_at)
                                  .where(Shipment.order_id.in_(part)).order_by(Shipment.id)):
            parcels.setdefault(sh.order_id, []).append(
                {"carrier": sh.carrier, "tracking_number": sh.tracking_number, "status": sh.status,
                 "warehouse": sh.warehouse, "confirmed": sh.confirmed_at is not None})
    return [FlaggedOrder(r.id, r.channel, r.platform_order_id, code, r.local_status, r.platform_status,
                         r.status_changed_at, tuple(parcels.get(r.id, ())))
            for r in rows for code in codes if code in (r.flags or [])]


def resolve_flag(session: Session, order_id: int, code: str, *, actor: str | None = None,
                 note: str | None = None, now: dt.datetime | None = None) -> bool:
    """A person handled the order (parcel intercepted, or back and restocked):
    remove ``code`` (one of :data:`RESOLVABLE_CODES`) from its flags with a sync
    event on the order's chain. False when the order did not carry it."""
    if code not in RESOLVABLE_CODES:
        raise ValueError(f"{code} is not cleared by hand (resolvable: {', '.join(RESOLVABLE_CODES)})")
    r = session.execute(select(ORDERS.c.id, ORDERS.c.flags, ORDERS.c.channel, ORDERS.c.platform_order_id)
                        .where(ORDERS.c.id == order_id).with_for_update()).first()
    if r is None or code not in (r.flags or []):
        return False
    from crossdock.synclog import order_correlation

    session.execute(update(ORDERS).where(ORDERS.c.id == order_id)
                    .values(flags=[f for f in r.flags if f != code]))
    insert_events(session, [event_row(
        operation="order.resolve", outcome="ok", at=now_or(now), channel=r.channel, entity_type="order",
        entity=r.platform_order_id, message=f"{code} resolved" + (f": {note}" if note else ""),
        details={"order_id": order_id, "code": code, "actor": actor},
        correlation=order_correlation(r.channel, r.platform_order_id))])
    return True


# ---------------------------------------------------------------- the warehouse commands' documents
def flagged_doc(db: Database, *, channel: str | None = None) -> list[dict[str, Any]]:
    """``warehouse flagged``: orders cancelled after they shipped (XD-ORD-007),
    parcels gone silent (XD-SHIP-002) and orders with a line no stock was
    reserved for (XD-INV-004 unknown SKU, XD-ORD-004 no SKU), with their parcels."""
    with db.read() as s:
        return [f.to_dict() for f in flagged_orders(s, FLAGGED_CODES, channel=channel)]


def resolve_cancelled(db: Database, order: str, *, note: str | None = None,
                      actor: str | None = None) -> dict[str, Any]:
    """``warehouse resolve``: clear an order's XD-ORD-007 flag once its parcel
    was intercepted or came back."""
    from crossdock.warehouse.shipping import find_order

    def run(s: Session) -> tuple[str, str, bool]:
        found = find_order(s, order)
        return found.channel, found.platform_order_id, resolve_flag(s, found.id, CANCELLED_AFTER_SHIP,
                                                                    actor=actor, note=note)

    channel, pid, cleared = db.run_write(run)
    return {"channel": channel, "platform_order_id": pid, "code": CANCELLED_AFTER_SHIP, "cleared": cleared}
