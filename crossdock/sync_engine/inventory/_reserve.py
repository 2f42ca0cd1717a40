"""Reserving stock for orders: one order (:func:`reserve_order`) or many in
one pass (:func:`reserve_orders`, :func:`reserve_loaded`, used by the order
import). See :mod:`crossdock.sync_engine.inventory` for the guarantees."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from crossdock.errors import DataError
from crossdock.sync_engine import dirty
from crossdock.sync_engine._sql import (
    bind_value,
    chunks,
    execute_many,
    in_param,
    insert_events,
    insert_tuples,
    is_postgres,
    list_kind,
    list_param,
    lookup_chunk,
    now_or,
    upsert_insert,
)
from crossdock.sync_engine._sql import changed as rows_changed
from crossdock.sync_engine._tables import LINES, ORDERS, PRODUCTS, RES, STOCK
from crossdock.sync_engine.inventory._shared import (
    ACTIVE,
    ALREADY,
    NO_SKU,
    NOTHING,
    RES_COLS,
    RESERVATION_FLAGS,
    RESERVED,
    SHIPPED_SHORT,
    SHORT,
    UNKNOWN_SKU,
    LineInput,
    LineOutcome,
    OrderInput,
    ReservationResult,
    WarehouseChooser,
    best_warehouse,
    bundle_recipes,
    expand_line,
    expand_orders,
    undo_partial_bundles,
    choose_warehouses,
    classify,
    flag_codes,
    lock_order,
    new_flags,
    not_from_our_stock,
    not_reservable,
    ok_event,
    order_context,
    problem_events,
    set_flags,
)

log = logging.getLogger(__name__)


def mark_changed(session: Session, marks: dirty.PendingMarks | None, skus: Iterable[str], *,
                 available: Mapping[str, int] | None = None, at: dt.datetime) -> None:
    """SKUs whose availability this transaction changed: marked dirty now, or
    gathered in the caller's ``marks`` for its one mark at the end."""
    skus = set(skus)
    if marks is not None:
        marks.add(skus, available=available)
    elif skus:
        dirty.mark_dirty(session, skus, available=available, now=at)


# ---------------------------------------------------------------- reserve one order
def reserve_order(session: Session, order_id: int, *, chooser: WarehouseChooser | None = None,
                  marks: dirty.PendingMarks | None = None, now: dt.datetime | None = None) -> ReservationResult:
    """Reserve every unreserved line of an imported order (see
    :mod:`crossdock.sync_engine.inventory`). ``marks``: gather the SKUs to mark
    dirty there instead of marking them now."""
    at = now_or(now)
    order = lock_order(session, order_id)
    reason = not_reservable(order)
    if reason:
        return ReservationResult(order_id, skipped_reason=reason)
    rows = session.execute(select(LINES.c.id, LINES.c.sku, LINES.c.quantity, LINES.c.quantity_shipped)
                           .where(LINES.c.order_id == order_id).order_by(LINES.c.id)).all()
    kits = bundle_recipes(session, (r.sku for r in rows))
    # a line of a bundle reserves its components, all or none (each a line of the same id)
    lines = [x for r in rows
             for x in ([LineInput(r.id, r.sku, int(r.quantity), int(r.quantity_shipped or 0))] if r.sku not in kits
                       else expand_line(LineInput(r.id, r.sku, int(r.quantity), int(r.quantity_shipped or 0)),
                                        kits[r.sku]))]
    line_ids = sorted({line.id for line in lines})
    reserved_ids = set(session.execute(select(RES.c.order_line_id)
                                       .where(RES.c.order_line_id.in_(line_ids))).scalars()) if line_ids else set()
    skus = sorted({line.sku for line in lines if line.sku})
    known = set(session.execute(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku.in_(skus))).scalars()) if skus else set()
    outcomes, todo = classify(lines, reserved_ids, known)
    free: dict[str, dict[str, int]] = defaultdict(dict)
    if todo:
        for r in session.execute(select(STOCK.c.sku, STOCK.c.warehouse, STOCK.c.on_hand - STOCK.c.reserved)
                                 .where(STOCK.c.sku.in_(sorted({line.sku for line, _ in todo})))):
            free[r[0]][r[1]] = int(r[2])
    choice = choose_warehouses(order_context(order), todo, free, chooser)
    plan = sorted(((line.sku, choice.get(line.sku), line.id, qty) for line, qty in todo),
                  key=lambda p: (p[0], p[1] or "", p[2]))
    changed: set[str] = set()
    for sku, wh, line_id, qty in plan:
        key = (line_id, sku)
        if wh is None:
            outcomes[key] = LineOutcome(line_id, sku, None, qty, SHORT)
            continue
        got = rows_changed(session, update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == wh,
                                                        STOCK.c.on_hand - STOCK.c.reserved >= qty)
                           .values(reserved=STOCK.c.reserved + qty, updated_at=at))
        if got != 1:
            outcomes[key] = LineOutcome(line_id, sku, wh, qty, SHORT)
            continue
        new = session.execute(
            upsert_insert(session, RES).values(order_line_id=line_id, sku=sku, warehouse=wh, quantity=qty,
                                               status=ACTIVE, created_at=at, updated_at=at)
            .on_conflict_do_nothing(index_elements=["order_line_id", "sku"]).returning(RES.c.id)).first()
        if new is not None:
            outcomes[key] = LineOutcome(line_id, sku, wh, qty, RESERVED)
            changed.add(sku)
        else:  # a concurrent transaction reserved this line first: undo ours
            session.execute(update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == wh)
                            .values(reserved=STOCK.c.reserved - qty, updated_at=at))
            outcomes[key] = LineOutcome(line_id, sku, wh, qty, ALREADY)
    ordered_list = [outcomes[(line.id, line.sku)] for line in lines]
    for o in undo_partial_bundles(ordered_list):       # a bundle short of a component holds none of them
        session.execute(update(STOCK).where(STOCK.c.sku == o.sku, STOCK.c.warehouse == o.warehouse)
                        .values(reserved=STOCK.c.reserved - o.quantity, updated_at=at))
        session.execute(RES.delete().where(RES.c.order_line_id == o.line_id, RES.c.sku == o.sku))
    ordered = tuple(ordered_list)
    flags, added, removed = new_flags(order.flags, flag_codes(ordered))
    if added or removed:
        set_flags(session, [(order.id, flags)])
    events = problem_events(order, ordered, added, at)
    reserved = [o for o in ordered if o.status == RESERVED]
    if reserved:
        events.append(ok_event(order, reserved, at))
    insert_events(session, events)
    mark_changed(session, marks, changed, at=at)
    if added:
        log.warning("order %s (%s): flagged %s", order.platform_order_id, order.channel, ", ".join(added))
    return ReservationResult(order_id, ordered, added, removed)


# ---------------------------------------------------------------- reserve many orders (bulk)
def load_order_inputs(session: Session, order_ids: Iterable[int]) -> list[OrderInput]:
    """Lock the orders (id order) and read them with their lines."""
    ids = sorted(set(order_ids))
    rows: list[Row[*tuple[Any, ...]]] = []
    for part in chunks(ids):
        rows.extend(session.execute(
            select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.buyer_country,
                   ORDERS.c.warehouse, ORDERS.c.flags, ORDERS.c.local_status, ORDERS.c.fulfillment_channel,
                   ORDERS.c.purchased_at)
            .where(ORDERS.c.id.in_(part)).order_by(ORDERS.c.id).with_for_update()).all())
    lines: dict[int, list[LineInput]] = defaultdict(list)
    for part in chunks([r.id for r in rows if not not_reservable(r)]):
        for ln in session.execute(
                select(LINES.c.id, LINES.c.order_id, LINES.c.sku, LINES.c.quantity, LINES.c.quantity_shipped)
                .where(LINES.c.order_id.in_(part)).order_by(LINES.c.order_id, LINES.c.id)):
            lines[ln.order_id].append(LineInput(ln.id, ln.sku, int(ln.quantity), int(ln.quantity_shipped or 0)))
    return [OrderInput(id=r.id, channel=r.channel, platform_order_id=r.platform_order_id,
                       local_status=r.local_status, purchased_at=r.purchased_at, lines=tuple(lines.get(r.id, ())),
                       buyer_country=r.buyer_country, warehouse=r.warehouse,
                       fulfillment_channel=r.fulfillment_channel, flags=tuple(r.flags or ()))
            for r in rows]


def reserve_orders(session: Session, order_ids: Iterable[int], *, chooser: WarehouseChooser | None = None,
                   ok_events: bool = True, marks: dirty.PendingMarks | None = None,
                   now: dt.datetime | None = None) -> dict[int, ReservationResult]:
    """Reserve many orders in one pass, first come first served (purchase
    time, then order id): stock rows are locked ``FOR UPDATE`` in (SKU,
    warehouse) order and allocated in memory, then each (SKU, warehouse) total
    is applied with the conditional UPDATE. Same outcomes, flags and events as
    :func:`reserve_order`; ``ok_events=False`` leaves the success events to
    the caller (the order import puts them in its own per-order event)."""
    return reserve_loaded(session, load_order_inputs(session, order_ids), chooser=chooser, ok_events=ok_events,
                          marks=marks, now=now)


_FIRST_COME = attrgetter("purchased_at", "id")
_RESERVE_SQL = ("UPDATE stock_levels SET reserved = reserved + ?, updated_at = ? "
                "WHERE id = ? AND on_hand - reserved >= ?")
_RESERVE_PG = ("UPDATE stock_levels AS s SET reserved = s.reserved + v.q, updated_at = %s "
               "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, q) "
               "WHERE s.id = v.id AND s.on_hand - s.reserved >= v.q")


def reserve_loaded(session: Session, orders: Sequence[OrderInput], *, chooser: WarehouseChooser | None = None,
                   ok_events: bool = True, marks: dirty.PendingMarks | None = None,
                   now: dt.datetime | None = None) -> dict[int, ReservationResult]:
    """:func:`reserve_orders` for orders the caller already holds (locked) in
    memory. ``marks``: the caller's transaction gathers its SKUs to mark dirty
    there (one :func:`~crossdock.sync_engine.dirty.mark_dirty` per transaction);
    without it the reserved SKUs are marked here."""
    at = now_or(now)
    results: dict[int, ReservationResult] = {}
    open_orders = []
    given = orders
    orders = expand_orders(session, orders)     # a line of a bundle: its components, all or none
    # the orders with a bundle's line (expand_orders gives the others back as they were): only their
    # outcomes can hold a partly reserved bundle
    kits = {o.id for o, x in zip(given, orders) if o is not x}
    for o in sorted(orders, key=_FIRST_COME):   # first come, first served
        reason = not_from_our_stock(o) if o.ships else not_reservable(o)
        if reason:
            results[o.id] = ReservationResult(o.id, skipped_reason=reason)
        else:
            open_orders.append(o)
    if not open_orders:
        return results
    step = lookup_chunk(session)
    kind = list_kind(session)
    sql = _lookups(kind)
    reserved_ids: set[int] = set()
    for part in chunks([ln.id for o in open_orders if not o.fresh for ln in o.lines], step):
        reserved_ids.update(session.execute(sql.reserved, {"p_ids": list_param(kind, part)}).scalars())
    skus = sorted({ln.sku for o in open_orders for ln in o.lines if ln.sku})
    safety: dict[str, int] = {}
    for sku_part in chunks(skus, step):
        safety.update((s, n or 0) for s, n in session.execute(sql.safety, {"p_skus": list_param(kind, sku_part)}))
    known = safety

    # Lock the stock rows of every SKU with something to reserve; chunks are in SKU order, rows in
    # (SKU, warehouse) order: a fixed lock order.
    needed = sorted({ln.sku for o in open_orders for ln in o.lines
                     if ln.sku in known and ln.id not in reserved_ids
                     and int(ln.quantity) - int(ln.quantity_shipped or 0) > 0})
    free: dict[str, dict[str, int]] = defaultdict(dict)
    row_ids: dict[tuple[str, str], int] = {}
    on_hand: dict[tuple[str, str], int] = {}
    for sku_part in chunks(needed, step):
        for rid, sku, wh, oh, rsv in session.execute(sql.stock, {"p_skus": list_param(kind, sku_part)}):
            free[sku][wh] = int(oh) - int(rsv)
            row_ids[(sku, wh)] = rid
            on_hand[(sku, wh)] = int(oh)

    # Allocate in memory, order by order, each order's lines in line order (lines of one SKU compete in
    # line-id order; lines of different SKUs do not compete).
    delta: dict[tuple[str, str], int] = defaultdict(int)
    alloc: list[tuple[int, int, str, str, int, bool]] = []     # (order id, line id, sku, wh, qty, fresh)
    allocated: list[tuple[Any, list[LineOutcome], set[str]]] = []
    # The default choice for a SKU stocked in one warehouse is that warehouse, whatever is free there.
    only = {sku: next(iter(per_wh)) for sku, per_wh in free.items() if len(per_wh) == 1}
    for o in open_orders:
        fixed = o.warehouse
        choice: Mapping[str, str | None] | None = None
        if chooser is not None and not fixed:
            need: dict[str, int] = defaultdict(int)
            for ln in o.lines:
                q = int(ln.quantity) - int(ln.quantity_shipped or 0)
                if q > 0 and ln.sku in known and ln.id not in reserved_ids:
                    need[ln.sku] += q
            choice = chooser(order_context(o), need, free) if need else {}   # choosers read ``free``, never change it
        most_free: dict[str, str | None] = {}      # the default choice, made per SKU before its first line
        outcomes: list[LineOutcome] = []
        codes: set[str] = set()
        for ln in o.lines:
            lid, sku = ln.id, ln.sku
            q = int(ln.quantity) - int(ln.quantity_shipped or 0)
            if lid in reserved_ids:
                outcomes.append(LineOutcome(lid, sku, None, max(q, 0), ALREADY))
            elif q <= 0:
                outcomes.append(LineOutcome(lid, sku, None, 0, NOTHING))
            elif not sku:
                outcomes.append(LineOutcome(lid, None, None, q, NO_SKU))
                codes.add("XD-ORD-004")
            elif sku not in known:
                outcomes.append(LineOutcome(lid, sku, None, q, UNKNOWN_SKU))
                codes.add("XD-INV-004")
            else:
                if fixed:
                    wh = fixed
                elif choice is not None:
                    wh = choice.get(sku)
                elif sku in only:
                    wh = only[sku]
                elif sku in most_free:
                    wh = most_free[sku]
                else:
                    wh = most_free[sku] = best_warehouse(free.get(sku))
                per_wh = free[sku]
                if wh is not None and per_wh.get(wh, 0) >= q:
                    per_wh[wh] -= q
                    delta[(sku, wh)] += q
                    alloc.append((o.id, lid, sku, wh, q, o.fresh))
                    outcomes.append(LineOutcome(lid, sku, wh, q, RESERVED))
                else:
                    outcomes.append(LineOutcome(lid, sku, wh, q, SHORT))
                    codes.add(SHIPPED_SHORT if o.ships else "XD-INV-001")
        for x in (undo_partial_bundles(outcomes) if o.id in kits else ()):   # a bundle short of a component
            assert x.sku is not None and x.warehouse is not None                # holds none of them
            free[x.sku][x.warehouse] += x.quantity
            delta[(x.sku, x.warehouse)] -= x.quantity
            alloc.remove(next(a for a in alloc if a[1] == x.line_id and a[2] == x.sku))
        allocated.append((o, outcomes, codes))

    # The conditional UPDATE for every (SKU, warehouse) total (the rows are locked, so each must apply):
    # one executemany on SQLite, one statement on PostgreSQL; then a check that every row now holds
    # exactly what was allocated.
    keys = sorted(k for k, q in delta.items() if q)
    at_b = bind_value(session, STOCK.c.updated_at, at)
    if keys:
        if is_postgres(session):
            session.connection().exec_driver_sql(_RESERVE_PG, (at_b, [row_ids[k] for k in keys],
                                                               [delta[k] for k in keys]))
        else:
            execute_many(session, _RESERVE_SQL, [(delta[k], at_b, row_ids[k], delta[k]) for k in keys])
        expected = {row_ids[k]: on_hand[k] - free[k[0]][k[1]] for k in keys}
        for part in chunks(sorted(expected), step):
            for rid, reserved in session.execute(sql.check, {"p_ids": list_param(kind, part)}):
                if reserved != expected[rid]:
                    raise DataError("XD-DATA-006", entity=f"stock row {rid}",
                                    detail=f"reserved is {reserved}, expected {expected[rid]} after reserving "
                                           "under a row lock")
    fresh = [a for a in alloc if a[5]]
    known_lines = [a for a in alloc if not a[5]]
    for batch in chunks(fresh, 5000):
        # lines inserted in this very transaction: no one else can have reserved them
        insert_tuples(session, RES, RES_COLS, [(lid, sku, wh, q, ACTIVE, at_b, at_b)
                                               for _, lid, sku, wh, q, _ in batch], converted=True)
    if known_lines:
        ins = (upsert_insert(session, RES).on_conflict_do_nothing(index_elements=["order_line_id", "sku"])
               .returning(RES.c.order_line_id, RES.c.sku))
        inserted: set[tuple[int, str]] = set()
        for batch in chunks(known_lines, 2000):
            inserted.update((lid, sku) for lid, sku in session.execute(ins, [
                {"order_line_id": lid, "sku": sku, "warehouse": wh, "quantity": q, "status": ACTIVE,
                 "created_at": at, "updated_at": at} for _, lid, sku, wh, q, _ in batch]).all())
        lost = [a for a in known_lines if (a[1], a[2]) not in inserted]
        if lost:  # reserved concurrently by another transaction: undo ours
            undo: dict[tuple[str, str], int] = defaultdict(int)
            lost_lines = {(a[1], a[2]): a for a in lost}
            for oid, lid, sku, wh, q, _ in lost:
                undo[(sku, wh)] += q
                free[sku][wh] += q
            for _, outcomes, _ in allocated:
                for i, x in enumerate(outcomes):
                    if (x.line_id, x.sku) in lost_lines:
                        outcomes[i] = LineOutcome(x.line_id, x.sku, x.warehouse, x.quantity, ALREADY)
            for key in sorted(undo):
                session.execute(update(STOCK).where(STOCK.c.id == row_ids[key])
                                .values(reserved=STOCK.c.reserved - undo[key], updated_at=at))
            for key, q in undo.items():
                delta[key] -= q

    flag_updates: list[tuple[int, list[Any]]] = []
    events: list[dict[str, Any]] = []
    for o, outcomes, codes in allocated:
        ordered = tuple(outcomes)
        if codes or (o.flags and any(f in RESERVATION_FLAGS for f in o.flags)):
            flags, added, removed = new_flags(list(o.flags), codes)
            if added or removed:
                flag_updates.append((o.id, flags))
            events.extend(problem_events(o, ordered, added, at,
                                         short_code=SHIPPED_SHORT if o.ships else "XD-INV-001"))
        else:
            added = removed = ()
        if ok_events:
            reserved = [x for x in ordered if x.status == RESERVED]
            if reserved:
                events.append(ok_event(o, reserved, at))
        results[o.id] = ReservationResult(o.id, ordered, added, removed)
    set_flags(session, flag_updates)
    insert_events(session, events)
    changed = {key[0] for key, q in delta.items() if q}
    avail = {sku: max(0, sum(free[sku].values()) - safety.get(sku, 0)) for sku in changed}
    mark_changed(session, marks, changed, available=avail, at=at)
    short = sum(1 for _, _, codes in allocated if "XD-INV-001" in codes)
    if short:
        log.warning("reserved %d orders, %d short of stock (XD-INV-001)", len(open_orders), short)
    return results


class _Lookups(NamedTuple):
    reserved: Any      # reservations of line ids (p_ids)
    safety: Any        # products' safety stock (p_skus)
    stock: Any         # stock rows of SKUs, locked in (SKU, warehouse) order (p_skus)
    check: Any         # stock rows' reserved units, by id (p_ids)


@functools.lru_cache(maxsize=4)
def _lookups(kind: str) -> _Lookups:
    """reserve_loaded's reads, built once per :func:`~crossdock.sync_engine._sql.list_kind` (every
    import window with orders runs them): the SQL :func:`~crossdock.sync_engine._sql.in_values` builds."""
    return _Lookups(
        select(RES.c.order_line_id).where(in_param(kind, RES.c.order_line_id, "p_ids")),
        select(PRODUCTS.c.sku, PRODUCTS.c.safety_stock).where(in_param(kind, PRODUCTS.c.sku, "p_skus")),
        select(STOCK.c.id, STOCK.c.sku, STOCK.c.warehouse, STOCK.c.on_hand, STOCK.c.reserved)
        .where(in_param(kind, STOCK.c.sku, "p_skus")).order_by(STOCK.c.sku, STOCK.c.warehouse).with_for_update(),
        select(STOCK.c.id, STOCK.c.reserved).where(in_param(kind, STOCK.c.id, "p_ids")))


def lock_stock(session: Session, skus: Iterable[str]) -> None:
    """Lock every stock row of ``skus`` in (SKU, warehouse) order (PostgreSQL
    ``FOR UPDATE``; SQLite already holds the write lock). A transaction that
    touches stock of many orders calls this first so that it never waits for
    a row while holding another out of order."""
    if not is_postgres(session):
        return
    wanted = set(skus)
    for comps in bundle_recipes(session, wanted).values():     # a bundle's stock is its components'
        wanted |= set(comps)
    for part in chunks(sorted(wanted)):
        session.execute(select(STOCK.c.id).where(STOCK.c.sku.in_(part))
                        .order_by(STOCK.c.sku, STOCK.c.warehouse).with_for_update()).all()


def active_reservation_skus(session: Session, order_ids: Iterable[int]) -> set[str]:
    out: set[str] = set()
    for part in chunks(sorted(set(order_ids))):
        out.update(session.execute(
            select(RES.c.sku).join(LINES, LINES.c.id == RES.c.order_line_id)
            .where(LINES.c.order_id.in_(part), RES.c.status == ACTIVE).distinct()).scalars())
    return out
