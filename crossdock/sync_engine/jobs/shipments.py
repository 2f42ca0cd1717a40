"""Shipment confirmations: tell the channel about a shipment, once
(:func:`confirm_shipment`, outbox kind ``confirm_shipment``, enqueued with
the shipment), and what follows when the channel refuses it because the
buyer cancelled meanwhile."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from crossdock import synclog
from crossdock.clock import parse_iso
from crossdock.connectors.base import Connector
from crossdock.db.base import utcnow
from crossdock.db.models import Order, Shipment
from crossdock.errors import CrossdockError, SyncError
from crossdock.errors.catalogue import ACTION_PAUSE, ACTION_WAIT, may_pass
from crossdock.models import Order as PlatformOrder
from crossdock.models import ShipmentConfirmation
from crossdock.sync_engine import dirty, outbox
from crossdock.sync_engine.jobs.context import EngineContext, hold_claim
from crossdock.sync_engine.orders import store_orders
from crossdock.sync_engine.orders import UpsertResult

log = logging.getLogger(__name__)

__all__ = ["CONFIRM_SHIPMENT", "apply_platform_order", "confirm_shipment", "waits_for_channel"]

CONFIRM_SHIPMENT = "confirm_shipment"


def waits_for_channel(exc: CrossdockError) -> bool:
    """The catalogue says the channel, not this shipment, is the problem:
    wait for quota or pause the channel (``action`` wait or pause). The
    entry runs again then, as for the confirmation itself."""
    return exc.spec.action in (ACTION_WAIT, ACTION_PAUSE)


# Platform refusals that may mean "this shipment is already there" (order
# already shipped, nothing left to fulfil): before failing the entry, ask.
_MAYBE_ALREADY_SHIPPED = frozenset({"XD-SHIP-005", "XD-PLATFORM-001", "XD-PLATFORM-007"})


def _tried_before(ctx: EngineContext, entry: outbox.ClaimedEntry) -> bool:
    """An earlier run may have reached the platform: the entry failed or was
    reclaimed from a dead worker (attempts counted), or was replayed from the
    failed list (attempts reset, its last error kept)."""
    if entry.attempts > 0:
        return True
    from crossdock.db.models import OutboxEntry

    with ctx.db.read() as s:
        return s.scalar(select(OutboxEntry.last_error).where(OutboxEntry.id == entry.id)) is not None


def _ask_platform(conn: Connector, confirmation: ShipmentConfirmation, shipments_of_order: int, *,
                  channel: str, before_sending: bool = False) -> bool | None:
    """Does the channel already hold this shipment (``Connector.shipment_confirmed``:
    True / False, or None when it cannot tell). A failing read means "cannot
    tell" — except ``before_sending`` an entry that may already have reached
    the platform, when a read that may succeed later (network, 5xx: any action
    but ``fail``) stops the run: the entry is tried again, rather than
    confirming blind what an earlier attempt may have confirmed (a second
    fulfilment, a second tracking mail to the buyer)."""
    try:
        return conn.shipment_confirmed(confirmation, shipments_of_order=shipments_of_order)
    except CrossdockError as exc:
        if waits_for_channel(exc):
            raise                      # wait for quota / pause the channel, as for the confirmation itself
        if before_sending and may_pass(exc.code, unknown=True):
            log.info("%s: could not read order %s back (%s); confirming later, not blind", channel,
                     confirmation.platform_order_id, exc.code)
            raise
        log.warning("%s: could not read order %s back (%s); sending the confirmation", channel,
                    confirmation.platform_order_id, exc.code)
        return None




def confirm_shipment(ctx: EngineContext, entry: outbox.ClaimedEntry) -> dict[str, str]:
    """Tell the channel about a shipment, once: a confirmed shipment is never
    confirmed again (``shipments.confirmed_at``).

    A worker can die after the platform accepted the confirmation and before
    ``confirmed_at`` was written; the entry then runs again. So a run that
    follows an earlier attempt first asks the channel whether it already holds
    the shipment (``Connector.shipment_confirmed``) and then only records it, and
    a refusal that may mean "already shipped" is checked the same way before
    the entry is failed.

    A buyer may cancel after the parcel was booked and before the confirmation
    arrives; the channel then refuses it. A refusal that may mean "cancelled"
    (eBay XD-ORD-006, Amazon and Shopify XD-PLATFORM-007) reads the order back:
    when the channel shows it cancelled, the entry is done, not failed — there
    is nothing left to confirm — and :func:`_cancelled_after_ship` applies the
    cancel and flags the order XD-ORD-007 for a person to intercept the parcel."""
    p = entry.payload
    channel = p["channel"]
    shipment_id = int(p["shipment_id"])
    with ctx.db.read() as s:
        shipment = s.get(Shipment, shipment_id)
        if shipment is None:
            raise SyncError("XD-SYNC-001", channel=channel, detail=f"shipment {p['shipment_id']} not found")
        if shipment.confirmed_at is not None:
            return {"skipped": "already confirmed"}
        shipments_of_order = s.scalar(select(func.count()).select_from(Shipment)
                                      .where(Shipment.order_id == shipment.order_id)) or 0
    conn: Connector = ctx.connectors.get(channel)
    confirmation = ShipmentConfirmation(
        platform_order_id=p["platform_order_id"], carrier=p["carrier"], tracking_number=p["tracking_number"],
        shipped_at=parse_iso(p["shipped_at"]) if p.get("shipped_at") else conn.clock.now(),
        lines=tuple((str(a), int(b)) for a, b in p.get("lines") or ()), service=p.get("service"),
        tracking_url=p.get("tracking_url"))
    already = False
    cancelled: tuple[PlatformOrder, CrossdockError] | None = None   # (the order as the channel shows it, the refusal)
    with synclog.timed() as t:
        if _tried_before(ctx, entry):
            already = _ask_platform(conn, confirmation, shipments_of_order, channel=channel,
                                    before_sending=True) is True
        if not already:
            hold_claim(ctx, entry)      # a worker stalled past its lease confirms nothing
            try:
                conn.confirm_shipment(confirmation)
            except CrossdockError as exc:
                if exc.code in _MAYBE_ALREADY_SHIPPED and \
                        _ask_platform(conn, confirmation, shipments_of_order, channel=channel) is True:
                    already = True
                    log.info("%s: order %s refused the confirmation (%s) but already holds shipment %s",
                             channel, p["platform_order_id"], exc.code, shipment_id)
                else:
                    order = _cancelled_on_channel(conn, exc, confirmation.platform_order_id, channel=channel)
                    if order is None:
                        raise
                    cancelled = (order, exc)
    if cancelled is not None:
        return _cancelled_after_ship(ctx, p, *cancelled, ms=t.ms)
    with ctx.db.write() as s:
        s.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.confirmed_at.is_(None))
                  .values(confirmed_at=utcnow()))
        synclog.record(s, operation="shipment.confirm", outcome="ok", channel=channel, entity_type="order",
                       entity=p["platform_order_id"], duration_ms=t.ms,
                       message=f"{p['carrier']} {p['tracking_number']} "
                               + ("already on the channel (not sent again)" if already
                                  else "confirmed on the channel"),
                       details={"shipment_id": p["shipment_id"], "tracking_number": p["tracking_number"],
                                "already_on_channel": already})
    return {"already_on_channel" if already else "confirmed": p["platform_order_id"]}


# Refusals that may mean "the order was cancelled meanwhile" (eBay answers 409 → XD-ORD-006;
# Amazon's 400 and Shopify's cancelled order → XD-PLATFORM-007): read the order back before failing.
_MAYBE_CANCELLED = frozenset({"XD-ORD-006", "XD-PLATFORM-007"})


def _cancelled_on_channel(conn: Connector, refusal: CrossdockError, platform_order_id: str, *,
                          channel: str) -> PlatformOrder | None:
    """After a refusal that may mean "cancelled": the order as the channel shows
    it now (``fetch_order``) when it is cancelled there, else None (not
    cancelled, not readable, or the connector cannot read one order)."""
    from crossdock.models import OrderStatus

    if refusal.code not in _MAYBE_CANCELLED:
        return None
    try:
        order = conn.fetch_order(platform_order_id)
    except CrossdockError as exc:
        if waits_for_channel(exc):
            raise                      # wait for quota / pause the channel; the entry runs again
        log.warning("%s: order %s refused the confirmation (%s) and could not be read back (%s)", channel,
                    platform_order_id, refusal.code, exc.code)
        return None
    return order if order is not None and order.status == OrderStatus.CANCELLED else None


def apply_platform_order(ctx: EngineContext, channel: str, order: PlatformOrder) -> UpsertResult:
    """Store one order as the channel shows it now, read outside an import
    window (a refused confirmation, auto-ship's look before buying a label),
    through the import's own path (:func:`store_orders`: status, reservations
    released when cancelled, events, the listing quantity the platform
    restored itself). Unchanged → no-op.
    Returns the :class:`~crossdock.sync_engine.orders.UpsertResult`."""
    with ctx.db.write() as s:
        return store_orders(s, channel, [order], ctx.connectors.get(channel).clock)


def _cancelled_after_ship(ctx: EngineContext, p: dict[str, Any], order: PlatformOrder, refusal: CrossdockError, *,
                         ms: int) -> dict[str, str]:
    """The channel refused the confirmation because the order is cancelled: there
    is nothing to confirm any more, but a parcel is on its way. Apply the cancel
    (:func:`apply_platform_order`), flag the order XD-ORD-007 (``crossdock
    warehouse flagged``, ``crossdock sync status``), record the event on the
    order's chain (``crossdock logs trace ORDER``) and mark its SKUs dirty: the
    channel put the units back on sale, crossdock's stock shipped them. The
    shipment stays unconfirmed; its stock is not restored (the goods are
    gone until they come back: ``crossdock stock adjust``)."""
    from crossdock.db.models import OrderLine
    from crossdock.sync_engine.stuck import CANCELLED_AFTER_SHIP

    channel, pid, shipment_id = p["channel"], p["platform_order_id"], int(p["shipment_id"])
    apply_platform_order(ctx, channel, order)
    with ctx.db.write() as s:
        shipment = s.get(Shipment, shipment_id)
        row = s.get(Order, shipment.order_id, with_for_update=True, populate_existing=True) if shipment else None
        if row is None:
            raise SyncError("XD-SYNC-001", channel=channel, detail=f"shipment {shipment_id} or its order not found")
        flags = list(row.flags or [])
        if CANCELLED_AFTER_SHIP not in flags:
            row.flags = [*flags, CANCELLED_AFTER_SHIP]
        skus = dict(s.execute(select(OrderLine.platform_line_id, OrderLine.sku)
                              .where(OrderLine.order_id == row.id)).all())
        units: Counter[str] = Counter()
        for line_id, qty in p.get("lines") or ():
            sku = skus.get(str(line_id))
            if sku:
                units[sku] += int(qty)
        synclog.record(s, operation="shipment.confirm", outcome="failed", code=CANCELLED_AFTER_SHIP,
                       channel=channel, entity_type="order", entity=pid, duration_ms=ms,
                       message=f"{p['carrier']} {p['tracking_number']} not confirmed: the order was cancelled on "
                               f"the channel after it shipped ({refusal.code}); intercept the parcel or expect a "
                               f"return, then restock with `crossdock stock adjust`",
                       details={"shipment_id": shipment_id, "carrier": p["carrier"],
                                "tracking_number": p["tracking_number"], "warehouse": p.get("warehouse"),
                                "units": dict(units), "refused_with": refusal.code,
                                "platform_status": order.platform_status})
        listed = sorted({sku for sku in skus.values() if sku})
        if listed:
            dirty.mark_dirty(s, listed)
    log.warning("%s: order %s was cancelled after it shipped (%s %s); flagged %s", channel, pid, p["carrier"],
                p["tracking_number"], CANCELLED_AFTER_SHIP)
    return {"cancelled_after_ship": pid}
