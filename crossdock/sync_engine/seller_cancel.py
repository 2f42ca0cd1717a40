"""``crossdock orders cancel ORDER --reason R``: the seller cancels an order
on its channel (issue 18).

The channel is asked first (:meth:`Connector.cancel_order`, mapped per
platform by its connector); only once it has taken the cancellation does
crossdock change anything: in one transaction the order's reservations are
released the way the order import releases a cancelled order
(:func:`~crossdock.sync_engine.inventory.release_order`, its SKUs marked
dirty so the stock push follows), the units the channel put back on sale are
added to what it is believed to show (as the import does on a cancel), the
order turns ``cancelled``, an ``order.cancel`` event goes on the order's
chain (``crossdock logs trace ORDER``) and an audit record names who did it
(``--as NAME`` or the OS user).

Refused, with nothing changed locally: an order crossdock already holds as
shipped, partly shipped, returned or cancelled, or with a parcel booked
(XD-ORD-012, without asking the channel), and whatever the channel refuses
(XD-ORD-012 from its connector: shipped there, already cancelled there); the
refusal is logged on the order's chain. When the order import stores the
platform's cancellation while the channel is being asked, it has released
the order and followed the units already: the cancel records it, once. Unknown order: XD-ORD-005; unknown
reason: XD-ORD-014; a platform crossdock cannot cancel on: XD-ORD-013.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from crossdock import audit, synclog
from crossdock.connectors.contract import CANCEL_REASONS
from crossdock.db.models import Order, OrderLine, Reservation, Shipment
from crossdock.errors import CrossdockError, OrderError
from crossdock.sync_engine import dirty, inventory, shown
from crossdock.sync_engine._sql import event_row, insert_events
from crossdock.sync_engine.jobs.context import EngineContext

__all__ = ["CANCELLABLE", "CANCEL_REASONS", "cancel_order"]

#: Local statuses a seller may still cancel from.
CANCELLABLE = ("pending", "unshipped")


def _order_state(ctx: EngineContext, ref: str) -> dict[str, Any]:
    from crossdock.warehouse.shipping.orders import find_order

    with ctx.db.read() as s:
        o = find_order(s, ref)
        parcels = int(s.scalar(select(func.count()).select_from(Shipment).where(Shipment.order_id == o.id)) or 0)
        return {"id": o.id, "channel": o.channel, "platform_order_id": o.platform_order_id,
                "local_status": o.local_status, "platform_status": o.platform_status, "parcels": parcels}


def _refuse(ctx: EngineContext, st: dict[str, Any], exc: CrossdockError, reason: str, ms: int) -> None:
    synclog.record_now(ctx.db, synclog.event_from_error(
        "order.cancel", exc, channel=st["channel"], entity_type="order", entity=st["platform_order_id"],
        correlation_id=synclog.order_correlation(st["channel"], st["platform_order_id"]),
        duration_ms=ms, details={"order_id": st["id"], "reason": reason, "actor": audit.actor()}))


def cancel_order(ctx: EngineContext, ref: str, reason: str) -> dict[str, Any]:
    """Cancel order ``ref`` (platform id, ``CHANNEL/ID`` or local id) on its
    channel for ``reason`` (one of :data:`CANCEL_REASONS`), then locally (see
    the module doc). Returns what was done."""
    if reason not in CANCEL_REASONS:
        raise OrderError("XD-ORD-014", entity=f"order {ref}",
                         detail=f"reason {reason!r}: one of {', '.join(CANCEL_REASONS)}")
    st = _order_state(ctx, ref)
    channel, pid = st["channel"], st["platform_order_id"]
    entity = f"order {pid}"
    started = time.monotonic()
    if st["local_status"] not in CANCELLABLE or st["parcels"]:
        why = (f"a parcel is booked for it ({st['parcels']})" if st["local_status"] in CANCELLABLE
               else f"it is {st['local_status']} in crossdock")
        exc = OrderError("XD-ORD-012", channel=channel, entity=entity, detail=f"not cancelled: {why}")
        _refuse(ctx, st, exc, reason, 0)
        raise exc
    try:
        ctx.connectors.get(channel).cancel_order(pid, reason)
    except CrossdockError as exc:
        _refuse(ctx, st, exc, reason, int((time.monotonic() - started) * 1000))
        raise
    ms = int((time.monotonic() - started) * 1000)
    return _apply(ctx, st, reason, ms)


def _apply(ctx: EngineContext, st: dict[str, Any], reason: str, ms: int) -> dict[str, Any]:
    """The channel cancelled: release, follow what the channel shows, status, event, audit."""
    channel, pid, oid = st["channel"], st["platform_order_id"], st["id"]
    at = dt.datetime.now(dt.timezone.utc)
    marks = dirty.PendingMarks()
    with ctx.db.write() as s:
        # the lock order every writer keeps: the order's row, then its stock rows (the import updates
        # an order, then locks stock to release it; taking stock first here could deadlock with it)
        s.execute(select(Order.id).where(Order.id == oid).with_for_update())
        lines = [(sku, qty) for sku, qty in s.execute(select(OrderLine.sku, OrderLine.quantity)
                                                      .where(OrderLine.order_id == oid)) if sku]
        inventory.lock_stock(s, {sku for sku, _ in lines} | inventory.active_reservation_skus(s, [oid]))
        released = inventory.release_order(s, oid, reason=f"cancelled by the seller ({reason})", marks=marks,
                                           now=at)
        # the order row is locked (above): an import that read the order cancelled on the
        # platform after the channel took the cancel, and stored it first, has followed the units already
        imported_first = s.scalar(select(Order.local_status).where(Order.id == oid)) == "cancelled"
        if not imported_first:
            # the channel put the units back on sale, as when a buyer cancels (the import's
            # follow_platform_quantities, which gives nothing back for an order held as cancelled)
            back: Counter[tuple[str, dt.datetime]] = Counter()
            for sku, qty in lines:
                back[(sku, at)] += int(qty)
            shown.follow_platform_change(s, channel, back)
        marks.add(sorted({sku for sku, _ in lines}))
        s.execute(update(Order).where(Order.id == oid).values(
            local_status="cancelled", status_changed_at=at, updated_at=at))
        marks.flush(s, now=at)
        units = {r.sku: 0 for r in released.settled}
        for r in released.settled:
            units[r.sku] += r.quantity
        if imported_first and not units:
            # the import released them when it stored the channel's cancellation: say what it released
            units = _released_before(s, oid)
        insert_events(s, [event_row(
            operation="order.cancel", outcome="ok", at=at, channel=channel, entity_type="order", entity=pid,
            duration_ms=ms, correlation=synclog.order_correlation(channel, pid),
            message=f"cancelled on {channel} by the seller ({reason}); released "
                    + (", ".join(f"{k} x{v}" for k, v in sorted(units.items())) or "nothing")
                    + (" (by the order import, which stored the channel's cancellation first)"
                       if imported_first else ""),
            details={"order_id": oid, "reason": reason, "released": units, "actor": audit.actor(),
                     "was": st["local_status"], "imported_first": imported_first})])
        audit_id = audit.record(s, action="orders.cancel", subject=f"order {channel}/{pid}",
                                before={"local_status": st["local_status"], "platform_status": st["platform_status"]},
                                after={"local_status": "cancelled", "reason": reason, "released": units})
    return {"channel": channel, "platform_order_id": pid, "order_id": oid, "status": "cancelled",
            "reason": reason, "released": units, "imported_first": imported_first,
            "marked_skus": sorted({sku for sku, _ in lines}),
            "audit_id": audit_id}


def _released_before(s: Any, oid: int) -> dict[str, int]:
    """Units of order ``oid``'s reservations already released, per SKU."""
    rows = s.execute(select(Reservation.sku, func.sum(Reservation.quantity))
                     .join(OrderLine, OrderLine.id == Reservation.order_line_id)
                     .where(OrderLine.order_id == oid, Reservation.status == "released")
                     .group_by(Reservation.sku).order_by(Reservation.sku)).all()
    return {sku: int(n) for sku, n in rows}
