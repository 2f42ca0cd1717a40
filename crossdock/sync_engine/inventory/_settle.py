"""Settling reservations: release on cancel, consume on ship (private; see
:mod:`crossdock.sync_engine.inventory`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from crossdock.errors import DataError, InventoryError
from crossdock.sync_engine import dirty
from crossdock.sync_engine._sql import changed, event_row, insert_events, now_or
from crossdock.sync_engine._tables import LINES, MOVES, RES, STOCK
from crossdock.sync_engine.cursors import GO_LIVE, get_cursor
from crossdock.sync_engine.inventory._reserve import mark_changed
from crossdock.sync_engine.inventory._shared import (
    ACTIVE,
    CONSUMED,
    RELEASED,
    SHIPPED_FROM_STOCK,
    ReservationResult,
    Settled,
    SettleResult,
    bundle_recipes,
    lock_order,
)


def active_reservations(session: Session, order_id: int, line_id: int | None = None) -> list[Row[*tuple[Any, ...]]]:
    stmt = (select(RES.c.id, RES.c.order_line_id, RES.c.sku, RES.c.warehouse, RES.c.quantity)
            .join(LINES, LINES.c.id == RES.c.order_line_id)
            .where(LINES.c.order_id == order_id, RES.c.status == ACTIVE)
            .order_by(RES.c.sku, RES.c.warehouse, RES.c.id))
    if line_id is not None:
        stmt = stmt.where(RES.c.order_line_id == line_id)
    return list(session.execute(stmt).all())


def release_order(session: Session, order_id: int, *, reason: str = "cancelled",
                  marks: dirty.PendingMarks | None = None, now: dt.datetime | None = None) -> SettleResult:
    """Cancel: active reservations → released, stock reserved −= quantity.
    A second call releases nothing (XD-INV-006 skipped event). ``marks``:
    gather the released SKUs there instead of marking them dirty now."""
    at = now_or(now)
    order = lock_order(session, order_id)
    settled = []
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in active_reservations(session, order.id):
        n = changed(session, update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE)
                    .values(status=RELEASED, updated_at=at))
        if n == 1:
            settled.append(Settled(r.id, r.order_line_id, r.sku, r.warehouse, r.quantity))
            totals[(r.sku, r.warehouse)] += r.quantity
    for (sku, wh) in sorted(totals):
        session.execute(update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == wh)
                        .values(reserved=STOCK.c.reserved - totals[(sku, wh)], updated_at=at))
    result = SettleResult(order.id, tuple(settled))
    if settled:
        insert_events(session, [event_row(
            operation="stock.release", outcome="ok", at=at, channel=order.channel, entity_type="order",
            entity=order.platform_order_id, message=f"{reason}: " + ", ".join(
                f"{s.sku} x{s.quantity} @ {s.warehouse}" for s in settled), details={"order_id": order.id})])
    else:
        insert_events(session, [event_row(
            operation="stock.release", outcome="skipped", at=at, channel=order.channel, entity_type="order",
            entity=order.platform_order_id, code="XD-INV-006",
            message=f"{reason}: no active reservation", details={"order_id": order.id})])
    mark_changed(session, marks, result.skus, at=at)
    return result


def _consume(session: Session, order: Any, rows: Sequence[Any], at: dt.datetime, *, quantity: int | None,
             reference: str | None, actor: str | None, per_unit: Mapping[str, int] | None = None) -> SettleResult:
    """``quantity``: units of the line (None: all); ``per_unit``: for a line of a bundle, each
    component's units per bundle (its reservations are in component units)."""
    settled = []
    moves = []
    for r in rows:
        q = r.quantity if quantity is None else quantity * (per_unit or {}).get(r.sku, 1)
        if q <= 0 or q > r.quantity:
            raise InventoryError("XD-INV-005", entity=f"sku {r.sku}",
                                 detail=f"cannot ship {q} of a reservation for {r.quantity} "
                                        f"(order {order.platform_order_id}, line {r.order_line_id})")
        if q == r.quantity:
            n = changed(session, update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE)
                        .values(status=CONSUMED, updated_at=at))
        else:
            n = changed(session, update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE, RES.c.quantity > q)
                        .values(quantity=RES.c.quantity - q, updated_at=at))
        if n != 1:
            continue  # settled concurrently
        got = changed(session, update(STOCK).where(STOCK.c.sku == r.sku, STOCK.c.warehouse == r.warehouse,
                                                   STOCK.c.reserved >= q, STOCK.c.on_hand >= q)
                      .values(on_hand=STOCK.c.on_hand - q, reserved=STOCK.c.reserved - q, updated_at=at))
        if got != 1:
            raise DataError("XD-DATA-006", entity=f"sku {r.sku}",
                            detail=f"{r.warehouse}: reservation {r.id} for {q} is not covered by the stock row")
        settled.append(Settled(r.id, r.order_line_id, r.sku, r.warehouse, q))
        moves.append({"sku": r.sku, "warehouse": r.warehouse, "delta": -q, "reason": "shipped",
                      "reference": reference or f"order {order.channel}:{order.platform_order_id} "
                                                f"line {r.order_line_id}",
                      "actor": actor, "created_at": at})
    if moves:
        session.execute(MOVES.insert(), moves)
        insert_events(session, [event_row(
            operation="stock.consume", outcome="ok", at=at, channel=order.channel, entity_type="order",
            entity=order.platform_order_id,
            message="shipped: " + ", ".join(f"{s.sku} x{s.quantity} @ {s.warehouse}" for s in settled),
            details={"order_id": order.id})])
    else:
        insert_events(session, [event_row(
            operation="stock.consume", outcome="skipped", at=at, channel=order.channel, entity_type="order",
            entity=order.platform_order_id, code="XD-INV-006", message="no active reservation to ship from",
            details={"order_id": order.id})])
    return SettleResult(order.id, tuple(settled))


def consume_order(session: Session, order_id: int, *, reference: str | None = None, actor: str | None = None,
                  now: dt.datetime | None = None) -> SettleResult:
    """Ship: every active reservation → consumed; on hand and reserved both
    drop by its quantity; one ``stock_movements`` row (reason "shipped") each."""
    at = now_or(now)
    order = lock_order(session, order_id)
    return _consume(session, order, active_reservations(session, order_id), at, quantity=None,
                    reference=reference, actor=actor)


def consume_line(session: Session, order_line_id: int, *, quantity: int | None = None,
                 reference: str | None = None, actor: str | None = None,
                 now: dt.datetime | None = None) -> SettleResult:
    """Ship one line: all of its reservation, or ``quantity`` of it (a partial
    shipment leaves the rest reserved)."""
    at = now_or(now)
    line = session.execute(select(LINES.c.order_id, LINES.c.sku).where(LINES.c.id == order_line_id)).first()
    if line is None:
        raise InventoryError("XD-INV-006", entity=f"order line {order_line_id}", detail="no such order line")
    order = lock_order(session, line.order_id)
    per_unit = bundle_recipes(session, [line.sku]).get(line.sku) if quantity is not None else None
    return _consume(session, order, active_reservations(session, line.order_id, order_line_id), at,
                    quantity=quantity, reference=reference, actor=actor, per_unit=per_unit)



# ---------------------------------------------------------------- orders first seen shipped
def units_left(status: str, line_ids: Sequence[int], quantities: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Line id → units of an order first seen in ``status`` (one of
    ``SHIPPED_FROM_STOCK``) that already left the warehouse: every unit once
    it is shipped (delivered, returned), each line's shipped quantity while it
    is partly shipped. ``quantities``: (ordered, shipped) per line, in
    ``line_ids`` order."""
    partly = status == "partially_shipped"
    return {lid: min(qty, shipped) if partly else qty for lid, (qty, shipped) in zip(line_ids, quantities)}


def take_shipped_units(session: Session, order_id: int, reserved: ReservationResult, units: Mapping[int, int], *,
                       reference: str, now: dt.datetime | None = None) -> SettleResult:
    """Consume what left of the lines just reserved in full for an order
    first seen shipped: all of a line's reservation, or its shipped part (the
    rest of a partly shipped line stays reserved). ``units``: line id → units
    that left (:func:`units_left`)."""
    at = now_or(now)
    settled: list[Settled] = []
    held: dict[int, int] = {}              # line id → units reserved (a bundle's line: per component, the same)
    for line in reserved.reserved:
        held.setdefault(line.line_id, line.quantity)
    rows = session.execute(select(LINES.c.id, LINES.c.sku, LINES.c.quantity)
                           .where(LINES.c.id.in_(sorted(held)))).all() if held else []
    kits = bundle_recipes(session, (r.sku for r in rows))
    # a bundle's line was reserved in full, in component units: compared in the line's own units
    full = {r.id: int(r.quantity) for r in rows if r.sku in kits}
    for line_id in held:
        n = units.get(line_id, 0)
        if n > 0:
            whole = n >= full.get(line_id, held[line_id])
            part = consume_line(session, line_id, quantity=None if whole else n, reference=reference, now=at)
            settled.extend(part.settled)
    return SettleResult(order_id, tuple(settled))


def left_from_our_stock(session: Session, channel: str,
                        orders: Mapping[str, tuple[str, dt.datetime | None]]) -> set[str]:
    """Which orders first seen in a ``SHIPPED_FROM_STOCK`` state took their
    units from the stock crossdock records: ``orders`` maps platform order id
    → (local status, purchased at). An order bought before the channel's
    order import first ran (its go-live cursor, platform time) is history:
    the first import walks back a day, and what shipped then had left before
    the seller's count, so it must not come off that count again. After a
    restore the backup's go-live stands, and the orders shipped since it take
    their units. Without a recorded go-live, or a purchase time, they take
    them (the safe side: never list stock that is gone)."""
    shipped = {pid: purchased for pid, (status, purchased) in orders.items() if status in SHIPPED_FROM_STOCK}
    if not shipped:
        return set()
    go_live = get_cursor(session, channel, GO_LIVE)
    if go_live is None:
        return set(shipped)
    start = _aware(go_live.position)
    return {pid for pid, purchased in shipped.items() if purchased is None or _aware(purchased) >= start}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
