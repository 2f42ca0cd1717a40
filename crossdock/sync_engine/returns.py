"""Returns (RMAs, issue 18): ``crossdock returns open`` and ``returns receive``.

Opening (:func:`open_return`): the lines asked for (``SKU:QTY``) must be the
order's and each no more than the units of that line that shipped and are not
on another of its returns (XD-RMA-001, XD-RMA-002, checked before anything is
sent). The channel is asked next where a seller can open a return there
(:meth:`~crossdock.connectors.returns_contract.ReturnsContract.open_return`;
a platform where only buyers open returns gives None and the RMA is
crossdock's alone); only once it took it is the RMA stored, with an
``return.open`` event on the order's chain (``crossdock logs trace ORDER``)
and an audit record naming who did it.

Receiving (:func:`receive_return`): every unit of the return is restocked or
written off (per SKU if wanted, XD-RMA-007 otherwise). The platform is told
first where it has a receipt call (a refusal, XD-RMA-006, changes nothing
here). Then in one transaction: restocked units go back on hand in the
warehouse they shipped from, each a stock movement with reason ``return`` and
the RMA as reference (:func:`~crossdock.sync_engine.inventory.adjust_stock`,
which marks the SKUs for a stock push); a bundle's units go back as its
components; written-off units change no stock. The order turns
``returned`` when every unit it had came back, ``partially_returned`` when
some did (an order still partly unshipped keeps ``partially_shipped``: its
rest waits to ship). ``return.receive`` goes on the order's chain, and the
audit log names who received it.

The refusals are logged on the order's chain like the successes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update

from crossdock import audit, synclog
from crossdock.connectors.returns_contract import RETURN_REASONS, PlatformReturn, ReturnLine
from crossdock.db.models import Order, OrderLine, Reservation
from crossdock.db.models_returns import ReturnLineRow, ReturnRow
from crossdock.errors import CrossdockError, ReturnError
from crossdock.platforms import fulfilled_by_platform
from crossdock.sync_engine import inventory, skumap
from crossdock.sync_engine._sql import event_row, insert_events
from crossdock.sync_engine.jobs.context import EngineContext

__all__ = ["RESTOCK", "RETURN_REASONS", "WRITE_OFF", "open_return", "order_lines", "parse_lines",
           "receive_return", "returnable", "store_return"]

RESTOCK, WRITE_OFF = "restock", "write_off"
#: Local statuses after which units may come back.
SHIPPED_STATES = ("partially_shipped", "shipped", "delivered", "partially_returned", "returned")
#: The statuses a return sets, only over these (a partly shipped order keeps its status).
RETURNABLE_ORDER = ("shipped", "delivered", "partially_returned", "returned")


def parse_lines(text: str | Sequence[tuple[str, int]], *, code: str = "XD-RMA-001") -> list[tuple[str, int]]:
    """``SKU:QTY[,SKU:QTY]`` (or pairs already) → [(sku, qty)], a SKU given twice summed."""
    pairs: Counter[str] = Counter()
    items: list[tuple[str, int]] = []
    if isinstance(text, str):
        for part in (p.strip() for p in text.split(",")):
            sku, sep, qty = part.rpartition(":")
            if not part or not sep or not sku.strip() or not qty.strip().isdigit():
                raise ReturnError(code, detail=f"{part!r}: write SKU:QTY, e.g. MUG:1")
            items.append((sku.strip(), int(qty)))
    else:
        items = [(str(s), int(q)) for s, q in text]
    if not items:
        raise ReturnError(code, detail="no lines given")
    for name, units in items:
        if units <= 0:
            raise ReturnError(code, detail=f"{name}:{units}: a quantity above 0")
        pairs[name] += units
    return list(pairs.items())


def order_lines(session: Any, order_id: int) -> list[dict[str, Any]]:
    """The order's lines with the units shipped and already on a return."""
    on_returns = dict(session.execute(
        select(ReturnLineRow.order_line_id, func.sum(ReturnLineRow.quantity))
        .join(ReturnRow, ReturnRow.id == ReturnLineRow.return_id)
        .where(ReturnRow.order_id == order_id).group_by(ReturnLineRow.order_line_id)).all())
    return [{"id": ln.id, "sku": ln.sku, "platform_line_id": ln.platform_line_id, "listing_id": ln.listing_id,
             "quantity": int(ln.quantity), "shipped": int(ln.quantity_shipped or 0),
             "returned": int(on_returns.get(ln.id) or 0)}
            for ln in session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                                      .order_by(OrderLine.id))]


def returnable(line: Mapping[str, Any]) -> int:
    return max(0, int(line["shipped"]) - int(line["returned"]))


def _allocate(lines: list[dict[str, Any]], wanted: list[tuple[str, int]], entity: str,
              channel: str) -> list[tuple[dict[str, Any], int]]:
    """Spread each SKU's units over the order's lines of it (XD-RMA-001 / XD-RMA-002)."""
    out: list[tuple[dict[str, Any], int]] = []
    for sku, qty in wanted:
        mine = [ln for ln in lines if ln["sku"] == sku]
        if not mine:
            have = ", ".join(sorted({str(ln["sku"]) for ln in lines if ln["sku"]})) or "none"
            raise ReturnError("XD-RMA-001", channel=channel, entity=entity,
                              detail=f"{sku} is not on the order (its SKUs: {have})")
        left = qty
        for ln in mine:
            take = min(left, returnable(ln))
            if take:
                out.append((ln, take))
                left -= take
        if left:
            shipped, on = sum(ln["shipped"] for ln in mine), sum(ln["returned"] for ln in mine)
            raise ReturnError("XD-RMA-002", channel=channel, entity=entity,
                              detail=f"{sku}: {qty} asked, {shipped} shipped, {on} already on a return")
    return out


def _order_state(ctx: EngineContext, ref: str) -> dict[str, Any]:
    from crossdock.warehouse.shipping.orders import find_order

    with ctx.db.read() as s:
        o = find_order(s, ref)
        return {"id": o.id, "channel": o.channel, "platform_order_id": o.platform_order_id,
                "local_status": o.local_status, "fulfillment_channel": o.fulfillment_channel,
                "lines": order_lines(s, o.id)}


def _refuse(ctx: EngineContext, operation: str, st: Mapping[str, Any], exc: CrossdockError,
            details: dict[str, Any], ms: int = 0) -> None:
    synclog.record_now(ctx.db, synclog.event_from_error(
        operation, exc, channel=st["channel"], entity_type="order", entity=st["platform_order_id"],
        correlation_id=synclog.order_correlation(st["channel"], st["platform_order_id"]),
        duration_ms=ms, details={"order_id": st["id"], **details, "actor": audit.actor()}))


def open_return(ctx: EngineContext, order_ref: str, lines: str | Sequence[tuple[str, int]], reason: str, *,
                note: str | None = None) -> dict[str, Any]:
    """Open a return of ``lines`` (``SKU:QTY,…`` or pairs) of order ``order_ref`` for ``reason`` (one of
    :data:`RETURN_REASONS`): on the channel where a seller can, then in crossdock (see the module doc)."""
    if reason not in RETURN_REASONS:
        raise ReturnError("XD-RMA-003", entity=f"order {order_ref}",
                          detail=f"reason {reason!r}: one of {', '.join(RETURN_REASONS)}")
    st = _order_state(ctx, order_ref)
    channel, pid = st["channel"], st["platform_order_id"]
    asked = lines if isinstance(lines, str) else ",".join(f"{s}:{q}" for s, q in lines)
    try:
        wanted = parse_lines(lines)
        if fulfilled_by_platform(st["fulfillment_channel"]):
            raise ReturnError("XD-RMA-009", channel=channel, entity=f"order {pid}",
                              detail=f"fulfilled by the platform ({st['fulfillment_channel']}): its returns go back "
                                     "to the platform's warehouse")
        if st["local_status"] not in SHIPPED_STATES:
            raise ReturnError("XD-RMA-002", channel=channel, entity=f"order {pid}",
                              detail=f"nothing shipped: the order is {st['local_status']}")
        taken = _allocate(st["lines"], wanted, f"order {pid}", channel)
    except CrossdockError as exc:
        _refuse(ctx, "return.open", st, exc, {"lines": asked, "reason": reason})
        raise
    started = time.monotonic()
    request = [ReturnLine(sku=ln["sku"], quantity=q, platform_line_id=ln["platform_line_id"],
                          listing_id=ln["listing_id"]) for ln, q in taken]
    try:
        made = ctx.connectors.get(channel).open_return(pid, request, reason, note=note)
    except CrossdockError as exc:
        _refuse(ctx, "return.open", st, exc, {"lines": asked, "reason": reason},
                int((time.monotonic() - started) * 1000))
        raise
    ms = int((time.monotonic() - started) * 1000)
    with ctx.db.write() as s:
        # the order locked, its units counted again: a return opened meanwhile may have taken them
        _lock_order(s, st["id"])
        taken = _allocate(order_lines(s, st["id"]), wanted, f"order {pid}", channel)
        doc = store_return(s, st, taken, reason=reason, note=note, origin="seller", made=made, ms=ms)
        doc["audit_id"] = audit.record(s, action="returns.open", subject=f"order {channel}/{pid}",
                                       after={"rma": doc["rma"], "reason": reason, "lines": doc["lines"],
                                              "platform_return_id": doc["platform_return_id"]})
    return doc


def store_return(s: Any, st: Mapping[str, Any], taken: Sequence[tuple[Mapping[str, Any], int]], *, reason: str,
                 note: str | None, origin: str, made: PlatformReturn | None, ms: int | None = None,
                 status: str = "open") -> dict[str, Any]:
    """Insert one RMA and its lines, and its ``return.open`` event; the stored RMA as a document."""
    at = dt.datetime.now(dt.timezone.utc)
    channel, pid = st["channel"], st["platform_order_id"]
    row = ReturnRow(rma=f"tmp-{time.monotonic_ns()}", order_id=st["id"], channel=channel,
                    platform_return_id=made.return_id if made else None,
                    platform_status=made.platform_status if made else None, origin=origin, reason=reason,
                    reason_note=note if note is not None else (made.reason_note if made else None), status=status,
                    opened_by=audit.actor() if origin == "seller" else f"platform:{channel}"[:100],
                    opened_at=(made.opened_at if made and made.opened_at else at), updated_at=at)
    s.add(row)
    s.flush()
    row.rma = f"RMA-{row.id:06d}"
    for ln, q in taken:
        s.add(ReturnLineRow(return_id=row.id, order_line_id=ln["id"], sku=ln["sku"], quantity=q,
                            platform_line_id=ln.get("platform_line_id")))
    s.flush()
    units = {str(ln["sku"]): 0 for ln, _ in taken}
    for ln, q in taken:
        units[str(ln["sku"])] += q
    insert_events(s, [event_row(
        operation="return.open", outcome="ok", at=at, channel=channel, entity_type="order", entity=pid,
        duration_ms=ms, correlation=synclog.order_correlation(channel, pid),
        message=f"{row.rma} opened ({origin}, {reason}): " + ", ".join(f"{k} x{v}" for k, v in sorted(units.items()))
                + (f"; on {channel} as {row.platform_return_id}" if row.platform_return_id else ""),
        details={"order_id": st["id"], "rma": row.rma, "reason": reason, "lines": units, "origin": origin,
                 "platform_return_id": row.platform_return_id, "actor": row.opened_by})])
    return {"rma": row.rma, "channel": channel, "platform_order_id": pid, "order_id": st["id"], "status": status,
            "reason": reason, "origin": origin, "lines": units, "platform_return_id": row.platform_return_id}


# ------------------------------------------------------------------ receiving
def _lock_order(s: Any, order_id: int) -> None:
    """Lock the order's row (PostgreSQL; SQLite holds the write lock): first, as the stock ledger locks."""
    s.execute(select(Order.id).where(Order.id == order_id).with_for_update())


def _load(s: Any, rma: str, *, lock: bool = False) -> tuple[ReturnRow, Order, list[ReturnLineRow]]:
    """The RMA (its id, or its row number), its order and lines; ``lock``: the order's and the RMA's rows
    locked, in that order, so two receipts of one return never both restock it."""
    text = str(rma).strip()
    row = s.scalar(select(ReturnRow).where(ReturnRow.rma == text.upper()))
    if row is None and text.isdigit():
        row = s.get(ReturnRow, int(text))
    if row is not None and lock:
        _lock_order(s, row.order_id)
        s.refresh(row, with_for_update=True)
    if row is None:
        raise ReturnError("XD-RMA-004", entity=f"return {text}", detail="no return with that id")
    lines = list(s.scalars(select(ReturnLineRow).where(ReturnLineRow.return_id == row.id)
                           .order_by(ReturnLineRow.id)))
    return row, s.get(Order, row.order_id), lines


def _dispositions(lines: Sequence[ReturnLineRow], restock: bool, write_off: Mapping[str, int] | None,
                  entity: str) -> list[tuple[ReturnLineRow, int, str]]:
    """Each line's units split into (line, units, restock|write_off)."""
    if not restock and write_off:
        raise ReturnError("XD-RMA-007", entity=entity, detail="--write-off SKUs go with --restock (the rest)")
    left = dict(write_off or {})
    on_return = Counter[str]()
    for ln in lines:
        on_return[ln.sku] += ln.quantity
    for sku, n in left.items():
        if sku not in on_return or n > on_return[sku] or n <= 0:
            raise ReturnError("XD-RMA-007", entity=entity,
                              detail=f"write off {sku} x{n}: the return holds "
                                     + (", ".join(f"{k} x{v}" for k, v in sorted(on_return.items()))))
    out: list[tuple[ReturnLineRow, int, str]] = []
    for ln in lines:
        if not restock:
            out.append((ln, ln.quantity, WRITE_OFF))
            continue
        off = min(left.get(ln.sku, 0), ln.quantity)
        left[ln.sku] = left.get(ln.sku, 0) - off
        if off:
            out.append((ln, off, WRITE_OFF))
        if ln.quantity - off:
            out.append((ln, ln.quantity - off, RESTOCK))
    return out


def _warehouses(s: Any, order: Order, line_ids: list[int]) -> dict[tuple[int, str], str]:
    """(order line, SKU) → the warehouse its units were taken from (its consumed reservation)."""
    got: dict[tuple[int, str], str] = {}
    for r in s.scalars(select(Reservation).where(Reservation.order_line_id.in_(line_ids or [-1]))
                       .order_by(Reservation.status != "consumed", Reservation.id)):
        got.setdefault((r.order_line_id, r.sku), r.warehouse)
    return got


def _fallback_warehouse(s: Any, order: Order) -> str | None:
    from crossdock.db.models import Warehouse

    if order.warehouse:
        return order.warehouse
    codes = list(s.scalars(select(Warehouse.code).order_by(Warehouse.code).limit(2)))
    return codes[0] if len(codes) == 1 else None


def receive_return(ctx: EngineContext, rma: str, *, restock: bool = True, write_off: Mapping[str, int] | None = None,
                   warehouse: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Receive return ``rma``: its units back to stock (``restock``) or written off; ``write_off``: with
    ``restock``, the SKU's units written off and the rest restocked. See the module doc."""
    with ctx.db.read() as s:
        row, order, lines = _load(s, rma)
        st: dict[str, Any] = {"id": order.id, "channel": order.channel, "platform_order_id": order.platform_order_id}
        state: dict[str, Any] = {"rma": row.rma, "status": row.status, "platform_return_id": row.platform_return_id,
                 "platform_status": row.platform_status}
        plan_lines = [ReturnLine(sku=ln.sku, quantity=ln.quantity, platform_line_id=ln.platform_line_id)
                      for ln in lines]
    entity = f"return {state['rma']}"
    details = {"rma": state["rma"], "restock": restock, "write_off": dict(write_off or {})}
    try:
        if state["status"] != "open":
            raise ReturnError("XD-RMA-005", channel=st["channel"], entity=entity, detail=f"it is {state['status']}")
        _dispositions(lines, restock, write_off, entity)
    except CrossdockError as exc:
        _refuse(ctx, "return.receive", st, exc, details)
        raise
    started = time.monotonic()
    if state["platform_return_id"]:
        try:
            held = PlatformReturn(return_id=state["platform_return_id"], platform_order_id=st["platform_order_id"],
                                  state="open", platform_status=state["platform_status"] or "", reason="other",
                                  lines=tuple(plan_lines))
            ctx.connectors.get(st["channel"]).receive_return(held, plan_lines, restock=restock)
        except CrossdockError as exc:
            _refuse(ctx, "return.receive", st, exc, details, int((time.monotonic() - started) * 1000))
            raise
    ms = int((time.monotonic() - started) * 1000)
    return _apply_receipt(ctx, state["rma"], restock=restock, write_off=write_off, warehouse=warehouse,
                          note=note, ms=ms)


def _apply_receipt(ctx: EngineContext, rma: str, *, restock: bool, write_off: Mapping[str, int] | None,
                   warehouse: str | None, note: str | None, ms: int) -> dict[str, Any]:
    """The platform took the receipt (or has none): stock, lines, RMA, order status, event, audit."""
    at = dt.datetime.now(dt.timezone.utc)
    reference = f"{rma}"
    who = audit.actor()
    with ctx.db.write() as s:
        row, order, lines = _load(s, rma, lock=True)
        entity = f"return {row.rma}"
        if row.status != "open":      # received meanwhile by someone else
            raise ReturnError("XD-RMA-005", channel=order.channel, entity=entity, detail=f"it is {row.status}")
        plan = _dispositions(lines, restock, write_off, entity)
        recipes = skumap.components_of(s, {ln.sku for ln in lines})
        came_from = _warehouses(s, order, [ln.order_line_id for ln in lines])
        fallback = warehouse or _fallback_warehouse(s, order)
        moves: Counter[tuple[str, str]] = Counter()
        for ln, units, how in plan:
            if how != RESTOCK:
                continue
            for sku, per in (sorted(recipes[ln.sku].items()) if ln.sku in recipes else [(ln.sku, 1)]):
                wh = warehouse or came_from.get((ln.order_line_id, sku)) or fallback
                if wh is None:
                    raise ReturnError("XD-RMA-007", channel=order.channel, entity=entity,
                                      detail=f"{sku}: no warehouse it shipped from is known; give --warehouse")
                moves[(sku, wh)] += units * per
        inventory.lock_stock(s, {sku for sku, _ in moves})
        for (sku, wh), n in sorted(moves.items()):
            inventory.adjust_stock(s, sku, wh, n, "return", reference, actor=f"cli:{who}"[:100], now=at)
        _split_lines(s, plan, moves, warehouse, came_from, fallback, note)
        row.status, row.received_by, row.received_at, row.updated_at = "received", who, at, at
        back: Counter[int] = Counter()
        for r in s.execute(select(ReturnLineRow.order_line_id, func.sum(ReturnLineRow.quantity))
                           .join(ReturnRow, ReturnRow.id == ReturnLineRow.return_id)
                           .where(ReturnRow.order_id == order.id, ReturnRow.status == "received")
                           .group_by(ReturnLineRow.order_line_id)):
            back[int(r[0])] = int(r[1])
        was = order.local_status
        now_status = order_status_after(was, [{"quantity": ln.quantity, "back": back.get(ln.id, 0)}
                                              for ln in s.scalars(select(OrderLine)
                                                                  .where(OrderLine.order_id == order.id))])
        if now_status != was:
            set_order_status(s, order.id, now_status, at)
        restocked = {f"{sku}@{wh}": n for (sku, wh), n in sorted(moves.items())}
        written: Counter[str] = Counter()
        for ln, units, how in plan:
            if how == WRITE_OFF:
                written[ln.sku] += units
        insert_events(s, [event_row(
            operation="return.receive", outcome="ok", at=at, channel=order.channel, entity_type="order",
            entity=order.platform_order_id, duration_ms=ms,
            correlation=synclog.order_correlation(order.channel, order.platform_order_id),
            message=f"{row.rma} received: restocked "
                    + (", ".join(f"{k} x{v}" for k, v in restocked.items()) or "nothing") + "; written off "
                    + (", ".join(f"{k} x{v}" for k, v in sorted(written.items())) or "nothing")
                    + (f"; order {now_status}" if now_status != was else ""),
            details={"order_id": order.id, "rma": row.rma, "restocked": restocked, "written_off": dict(written),
                     "actor": who, "order_status": now_status, "note": note})])
        audit_id = audit.record(s, action="returns.receive", subject=f"order {order.channel}/{order.platform_order_id}",
                                before={"rma": row.rma, "status": "open", "order_status": was},
                                after={"rma": row.rma, "status": "received", "order_status": now_status,
                                       "restocked": restocked, "written_off": dict(written), "note": note})
        return {"rma": row.rma, "channel": order.channel, "platform_order_id": order.platform_order_id,
                "status": "received", "order_status": now_status, "restocked": restocked,
                "written_off": dict(written), "marked_skus": sorted({sku for sku, _ in moves}),
                "platform_return_id": row.platform_return_id, "audit_id": audit_id}


def _split_lines(s: Any, plan: Sequence[tuple[ReturnLineRow, int, str]], moves: Mapping[tuple[str, str], int],
                 warehouse: str | None, came_from: Mapping[tuple[int, str], str], fallback: str | None,
                 note: str | None) -> None:
    """Record each line's disposition; a line partly restocked and partly written off becomes two."""
    seen: set[int] = set()
    for ln, units, how in plan:
        wh = (warehouse or came_from.get((ln.order_line_id, ln.sku)) or fallback) if how == RESTOCK else None
        if ln.id in seen:
            s.add(ReturnLineRow(return_id=ln.return_id, order_line_id=ln.order_line_id, sku=ln.sku, quantity=units,
                                platform_line_id=ln.platform_line_id, disposition=how, warehouse=wh, note=note))
            continue
        seen.add(ln.id)
        ln.quantity, ln.disposition, ln.warehouse, ln.note = units, how, wh, note
    s.flush()


def order_status_after(status: str, lines: Sequence[Mapping[str, Any]]) -> str:
    """The order's status once ``lines`` (with ``quantity`` and units ``back``) came back in part or whole."""
    if status not in RETURNABLE_ORDER:
        return status
    back = sum(int(ln["back"]) for ln in lines)
    if not back:
        return status
    whole = all(int(ln["back"]) >= int(ln["quantity"]) for ln in lines if int(ln["quantity"]) > 0)
    return "returned" if whole else "partially_returned"


def set_order_status(s: Any, order_id: int, status: str, at: dt.datetime) -> None:
    s.execute(update(Order).where(Order.id == order_id).values(local_status=status, status_changed_at=at,
                                                               updated_at=at))

