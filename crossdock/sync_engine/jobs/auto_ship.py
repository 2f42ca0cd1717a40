"""Auto-ship (outbox kind ``shipments``): ship ready orders with the
configured carrier, after reading each back from its channel.

Auto-ship is opt-in (``[sync] auto_ship = true`` — the demo turns it on): a
seller normally ships from the pick list with ``crossdock warehouse ship``.
The confirmation to the channel is not sent here: shipping enqueues a
``confirm_shipment`` outbox entry in the same transaction as the shipment, and
the engine sends it once. Right before booking, auto-ship reads each order
back from its channel (:func:`look_before_booking`), so an order cancelled
since the last import gets no label and its reservation is released.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import bindparam, select

from crossdock import synclog
from crossdock.db.models import Order
from crossdock.errors import CrossdockError
from crossdock.errors.catalogue import ACTION_FAIL
from crossdock.models import OrderStatus
from crossdock.sync_engine import outbox
from crossdock.sync_engine.jobs.context import EngineContext
from crossdock.sync_engine.jobs.runner import paused
from crossdock.sync_engine.jobs.shipments import apply_platform_order

if TYPE_CHECKING:
    from crossdock.warehouse.carriers.base import Carrier
    from crossdock.warehouse.picking import ReadyOrder

log = logging.getLogger(__name__)

__all__ = ["AUTO_SHIP", "AutoShipResult", "auto_ship", "carrier_for", "labels_dir", "look_before_booking"]

AUTO_SHIP = "shipments"

_carriers: dict[tuple[int, str], Carrier] = {}
_lock = threading.Lock()


class AutoShipResult(TypedDict, total=False):
    skipped: str
    ready: int
    shipped: int
    failed: int
    closed_on_channel: int
    waiting: int


def carrier_for(ctx: EngineContext, name: str = "sandbox") -> Carrier:
    """One carrier instance per engine (the sandbox carrier keeps its seeded
    failure sequence and can track what it booked)."""
    from crossdock.warehouse.carriers import get_carrier

    key = (id(ctx), name)
    with _lock:
        carrier = _carriers.get(key)
        if carrier is None:
            opts = dict(ctx.cfg.sandbox.get("carrier") or {}) if name == "sandbox" else {}
            if name == "sandbox":
                opts.setdefault("clock", ctx.clock.now)
                opts.setdefault("time_scale", 1.0)   # the clock is already the platform's
            carrier = get_carrier(name, **opts)
            _carriers[key] = carrier
        return carrier


def labels_dir(ctx: EngineContext) -> Path:
    base = Path(ctx.cfg.path).parent if ctx.cfg.path else Path.cwd()
    return base / ctx.cfg.labels_dir


def auto_ship(ctx: EngineContext, entry: outbox.ClaimedEntry | None = None, *, limit: int = 50) -> AutoShipResult:
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.picking import ready_orders
    from crossdock.warehouse.shipping import ship_order

    if not ctx.cfg.sync.get("auto_ship", False):
        return {"skipped": "auto_ship is off"}
    with ctx.db.read() as s:
        ready = ready_orders(s, limit=limit)
    carrier = carrier_for(ctx, str(ctx.cfg.sync.get("auto_ship_carrier", "sandbox")))
    shipped, failed, closed, waiting = 0, 0, 0, 0
    unreadable: set[str] = set()            # channels that cannot be read this run: skip their other orders
    for order in ready:
        look = WAIT if order.channel in unreadable else look_before_booking(ctx, order)
        if look == CLOSED:
            closed += 1
            continue
        if look in (WAIT, UNREADABLE):
            waiting += 1
            if look == UNREADABLE:
                unreadable.add(order.channel)
            continue
        try:
            # by channel and platform id, the order read back: one lookup by a unique key, where a local
            # id was first looked up as a platform id (another order's, were they the same digits)
            ship_order(ctx.db, order.ref, carrier=carrier, ledger=ENGINE_LEDGER, labels_dir=labels_dir(ctx),
                       clock=ctx.clock.now, cfg=ctx.cfg)
            shipped += 1
        except CrossdockError as exc:   # the order stays ready, its reservation intact; next run retries
            failed += 1
            log.info("auto-ship %s: %s", order.ref, exc.message)
    return {"ready": len(ready), "shipped": shipped, "failed": failed, "closed_on_channel": closed,
            "waiting": waiting}


SHIP, CLOSED, WAIT, UNREADABLE = "ship", "closed", "wait", "unreadable"

_LOCAL_STATUS = select(Order.local_status).where(Order.id == bindparam("order_id"))   # built once, read per order


def look_before_booking(ctx: EngineContext, order: ReadyOrder) -> str:
    """Read ``order`` (a :class:`~crossdock.warehouse.picking.ReadyOrder`) back
    from its channel right before a label is bought for it: the buyer may have
    cancelled since the last import (Amazon shows orders minutes late, and
    imports run on an interval). One ``fetch_order`` call (eBay getOrder; one
    Shopify query; Amazon getOrder at 0.5/s, burst 30, and getOrderItems only
    when the order turns out cancelled) —
    through the connector's quota budget (Amazon and eBay at the job's
    priority, below the order import's).

    The order is stored through the import's own path
    (:func:`~crossdock.sync_engine.jobs.shipments.apply_platform_order`): a cancel
    releases the reservation and puts the units back on sale, exactly as when
    the import finds it. Returns SHIP (still ready), CLOSED (the channel no
    longer wants it shipped: cancelled, or shipped by other means — no label
    bought), WAIT (this order could not be read) or UNREADABLE (the channel
    cannot be read now — paused, out of quota, credentials or network failing).
    Either way no label is bought blind: the order stays ready for the next
    run, or `crossdock warehouse ship` ships it by hand. Which of the two a
    failed read is, the catalogue's ``action`` for its code says: ``fail``
    concerns this order (WAIT); wait, pause or retry (quota, credentials,
    network) concern the channel (UNREADABLE). A connector that
    cannot read one order (``fetch_order`` gives None) ships as before (SHIP)."""
    from crossdock.warehouse.picking import READY_STATUSES

    cid = synclog.order_correlation(order.channel, order.platform_order_id)
    code = paused(ctx.db, order.channel)
    if code:
        log.info("auto-ship %s: channel paused (%s); not shipped until it can be read", order.ref, code)
        return UNREADABLE
    try:
        conn = ctx.connectors.get(order.channel)
        # the order alone tells whether it is still open (Amazon: getOrder without its items);
        # its lines are read only for a cancel, when a connector left them out
        fresh = conn.fetch_order(order.platform_order_id, with_items=False)
        if fresh is None:
            return SHIP
        if fresh.status == OrderStatus.CANCELLED and not fresh.lines:
            fresh = conn.fetch_order(order.platform_order_id)
            if fresh is None:
                return SHIP
    except CrossdockError as exc:
        log.info("auto-ship %s: order not read back (%s); not shipped this run", order.ref, exc.code)
        synclog.record_now(ctx.db, synclog.event_from_error(
            "shipment.check", exc, outcome="retry", channel=order.channel, entity_type="order",
            entity=order.platform_order_id, correlation_id=cid,
            details={"note": "no label bought before the channel confirms the order is still open"}))
        return WAIT if exc.spec.action == ACTION_FAIL else UNREADABLE
    with synclog.correlation(cid):
        result = apply_platform_order(ctx, order.channel, fresh)
    with ctx.db.glance() as db_conn:
        status = db_conn.scalar(_LOCAL_STATUS, {"order_id": order.order_id})
    if status in READY_STATUSES:
        return SHIP
    released = result.released.get(order.order_id)
    units = released.quantity if released is not None else 0
    message = (f"not shipped: {order.channel} shows the order {fresh.platform_status} since the last import; "
               f"no label bought" + (f", {units} reserved units released" if units else ""))
    synclog.record_now(ctx.db, synclog.Event(
        operation="shipment.create", outcome="skipped", code="XD-ORD-006", channel=order.channel,
        entity_type="order", entity=order.platform_order_id, correlation_id=cid, message=message,
        details={"order_id": order.order_id, "platform_status": fresh.platform_status, "local_status": status,
                 "released_units": units}))
    log.info("auto-ship %s: %s", order.ref, message)
    return CLOSED
