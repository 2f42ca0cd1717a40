"""Stock reservations: reserve on import, release on cancel, consume on ship.

    available to sell = Σ on hand − Σ reserved − safety stock   (never below 0)

Reserving never over-reserves, on SQLite and PostgreSQL alike, with several
threads, processes or hosts importing at once:

- :func:`reserve_order` reserves each line with ONE conditional statement,
  ``UPDATE stock_levels SET reserved = reserved + :q WHERE sku = :s AND
  warehouse = :w AND on_hand - reserved >= :q``, and checks the row count.
  PostgreSQL (READ COMMITTED) re-evaluates the condition on the newest row
  version after waiting for a concurrent writer; SQLite runs writers one at a
  time (``BEGIN IMMEDIATE``). No lost update, no read-then-write gap.
- :func:`reserve_orders` (the bulk path used by the order import) locks the
  stock rows it needs with ``SELECT … FOR UPDATE`` in (SKU, warehouse) order,
  allocates first come first served, and still applies each total with the
  conditional UPDATE.
- The database's ``CHECK (reserved <= on_hand)`` is the last line of defence.

Locks are always taken in the same order — the order row, then stock rows by
(SKU, warehouse), then reservation rows, then dirty marks and outbox rows — so
concurrent imports do not deadlock.

Idempotent: ``reservations.order_line_id`` is unique; a line that has a
reservation (in any state) is skipped, and a reservation inserted by a
concurrent transaction first wins (ours is undone in the same transaction).
A line that cannot be reserved reserves nothing; the order is flagged
XD-INV-001 (in ``orders.flags``) and a sync event records the shortfall.
Calling :func:`reserve_order` again later (after a restock) reserves what it
can and clears the flag once every line is held.

Every change to availability calls :func:`crossdock.sync_engine.dirty.mark_dirty`
in the same transaction, so channels get the new quantity. Consuming a
reservation (shipping) does not change availability (on hand and reserved
both drop), so it marks nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.db.models import (
    Order as OrderRow,
    OrderLine as LineRow,
    Product,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from crossdock.errors import DataError, InventoryError, OrderError, WarehouseError
from crossdock.mapping.inventory_rules import available_to_sell
from crossdock.sync_engine import dirty
from crossdock.sync_engine._sql import (
    bind_value,
    chunks,
    event_row,
    execute_many,
    in_values,
    insert_events,
    insert_tuples,
    is_postgres,
    lookup_chunk,
    now_or,
    upsert_insert,
)

log = logging.getLogger(__name__)

ORDERS = OrderRow.__table__
LINES = LineRow.__table__
RES = Reservation.__table__
STOCK = StockLevel.__table__
MOVES = StockMovement.__table__
PRODUCTS = Product.__table__
WAREHOUSES = Warehouse.__table__

ACTIVE, RELEASED, CONSUMED = "active", "released", "consumed"
_RES_COLS = ("order_line_id", "sku", "warehouse", "quantity", "status", "created_at", "updated_at")
RESERVABLE_STATUSES = ("pending", "unshipped", "partially_shipped")
# Fulfilled from the platform's own stock (Amazon FBA): nothing to reserve here.
EXTERNAL_FULFILMENT = ("AFN",)
# Flags this module owns: recomputed on every reservation run.
RESERVATION_FLAGS = ("XD-INV-001", "XD-INV-004", "XD-ORD-004")

# Line outcomes
RESERVED, ALREADY, SHORT, NO_SKU, UNKNOWN_SKU, NOTHING = (
    "reserved", "already_reserved", "insufficient", "no_sku", "unknown_sku", "nothing_to_reserve")
_HELD = (RESERVED, ALREADY, NOTHING)

__all__ = [
    "RESERVABLE_STATUSES",
    "LineInput",
    "LineOutcome",
    "OrderContext",
    "OrderInput",
    "ReservationResult",
    "SettleResult",
    "Settled",
    "StockState",
    "WarehouseChooser",
    "adjust_stock",
    "availability_snapshot",
    "available",
    "consume_line",
    "consume_order",
    "load_order_inputs",
    "lock_stock",
    "most_free_stock",
    "release_order",
    "reserve_loaded",
    "reserve_order",
    "reserve_orders",
    "routing_chooser",
]


# ---------------------------------------------------------------- warehouse choice
class OrderContext(NamedTuple):
    order_id: int
    channel: str
    platform_order_id: str
    buyer_country: str | None
    warehouse: str | None


# (order, units needed per SKU, free units per SKU and warehouse) -> SKU -> warehouse (None: nowhere).
# A chooser only reads ``free``; it must not change it.
WarehouseChooser = Callable[[OrderContext, Mapping[str, int], Mapping[str, Mapping[str, int]]],
                            Mapping[str, "str | None"]]


def _most_free(options: Mapping[str, int] | None) -> str | None:
    """:func:`most_free_stock` for one SKU (``options``: free units per warehouse)."""
    if not options:
        return None
    if len(options) == 1:
        return next(iter(options))
    return min(options, key=lambda w: (-options[w], w))


def most_free_stock(ctx: OrderContext, need: Mapping[str, int],
                    free: Mapping[str, Mapping[str, int]]) -> dict[str, str | None]:
    """Each SKU from the warehouse with the most free units (ties: lowest code)."""
    return {sku: _most_free(free.get(sku)) for sku in need}


def routing_chooser(warehouses: Any, preference: Any = None) -> WarehouseChooser:
    """A chooser using :func:`crossdock.warehouse.routing.route_order` (one
    warehouse that fills the whole order, by destination); when no single
    warehouse can, each SKU falls back to :func:`most_free_stock`."""
    from crossdock.warehouse.routing import route_order

    def choose(ctx: OrderContext, need: Mapping[str, int],
               free: Mapping[str, Mapping[str, int]]) -> dict[str, str | None]:
        by_wh: dict[str, dict[str, int]] = defaultdict(dict)
        for sku, per_wh in free.items():
            for wh, n in per_wh.items():
                by_wh[wh][sku] = n
        try:
            code = route_order(dict(need), by_wh, warehouses, ctx.buyer_country, preference)
        except WarehouseError as exc:
            if exc.code != "XD-WH-002":
                raise
            return most_free_stock(ctx, need, free)
        return {sku: code for sku in need}

    return choose


# ---------------------------------------------------------------- results
class LineOutcome(NamedTuple):     # a tuple: cheap to build in the bulk path
    line_id: int
    sku: str | None
    warehouse: str | None
    quantity: int
    status: str          # reserved | already_reserved | insufficient | no_sku | unknown_sku | nothing_to_reserve


@dataclass(frozen=True, slots=True)
class ReservationResult:
    order_id: int
    lines: tuple[LineOutcome, ...] = ()
    flags_added: tuple[str, ...] = ()
    flags_removed: tuple[str, ...] = ()
    skipped_reason: str | None = None

    @property
    def reserved(self) -> list[LineOutcome]:
        return [o for o in self.lines if o.status == RESERVED]

    @property
    def short(self) -> list[LineOutcome]:
        return [o for o in self.lines if o.status == SHORT]

    @property
    def fully_held(self) -> bool:
        return all(o.status in _HELD for o in self.lines)


@dataclass(frozen=True, slots=True)
class Settled:
    reservation_id: int
    line_id: int
    sku: str
    warehouse: str
    quantity: int


@dataclass(frozen=True, slots=True)
class SettleResult:
    order_id: int
    settled: tuple[Settled, ...] = ()

    @property
    def quantity(self) -> int:
        return sum(s.quantity for s in self.settled)


@dataclass(frozen=True, slots=True)
class StockState:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int


# ---------------------------------------------------------------- reading availability
def availability_snapshot(session: Session, skus: Iterable[str]) -> dict[str, int]:
    """SKU → available to sell across warehouses (0 for unknown SKUs), less
    the units a channel has sold that its order import has not brought yet
    (:mod:`crossdock.sync_engine.unseen`)."""
    from crossdock.sync_engine.unseen import held as held_unseen

    wanted = sorted(set(skus))
    out = {sku: 0 for sku in wanted}
    for part in chunks(wanted):
        totals = dict((r.sku, (int(r.on_hand), int(r.reserved))) for r in session.execute(
            select(STOCK.c.sku, func.sum(STOCK.c.on_hand).label("on_hand"),
                   func.sum(STOCK.c.reserved).label("reserved"))
            .where(STOCK.c.sku.in_(part)).group_by(STOCK.c.sku)))
        unseen = held_unseen(session, part)
        for sku, safety in session.execute(select(PRODUCTS.c.sku, PRODUCTS.c.safety_stock)
                                           .where(PRODUCTS.c.sku.in_(part))):
            on_hand, reserved = totals.get(sku, (0, 0))
            out[sku] = available_to_sell(on_hand, reserved + unseen.get(sku, 0), safety or 0)
    return out


def available(session: Session, sku: str) -> int:
    return availability_snapshot(session, [sku])[sku]


# ---------------------------------------------------------------- helpers
def _lock_order(session: Session, order_id: int):
    row = session.execute(
        select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.buyer_country,
               ORDERS.c.warehouse, ORDERS.c.flags, ORDERS.c.local_status, ORDERS.c.fulfillment_channel,
               ORDERS.c.purchased_at)
        .where(ORDERS.c.id == order_id).with_for_update()).first()
    if row is None:
        raise OrderError("XD-ORD-005", entity=f"order {order_id}", detail="no such local order id")
    return row


def _not_reservable(order: Any) -> str | None:
    if order.local_status not in RESERVABLE_STATUSES:
        return f"order is {order.local_status}"
    if order.fulfillment_channel in EXTERNAL_FULFILMENT:
        return f"fulfilled by the platform ({order.fulfillment_channel})"
    return None


def _context(order: Any) -> OrderContext:
    return OrderContext(order.id, order.channel, order.platform_order_id, order.buyer_country, order.warehouse)


def _classify(lines: Sequence[Any], reserved_line_ids: set[int], known_skus: set[str]
              ) -> tuple[dict[int, LineOutcome], list[tuple[Any, int]]]:
    """Outcomes for lines that need no stock decision, and (line, qty) to reserve."""
    done: dict[int, LineOutcome] = {}
    todo: list[tuple[Any, int]] = []
    for line in lines:
        qty = int(line.quantity) - int(line.quantity_shipped or 0)
        if line.id in reserved_line_ids:
            done[line.id] = LineOutcome(line.id, line.sku, None, max(qty, 0), ALREADY)
        elif qty <= 0:
            done[line.id] = LineOutcome(line.id, line.sku, None, 0, NOTHING)
        elif not line.sku:
            done[line.id] = LineOutcome(line.id, None, None, qty, NO_SKU)
        elif line.sku not in known_skus:
            done[line.id] = LineOutcome(line.id, line.sku, None, qty, UNKNOWN_SKU)
        else:
            todo.append((line, qty))
    return done, todo


def _choose(ctx: OrderContext, todo: Sequence[tuple[Any, int]], free: Mapping[str, Mapping[str, int]],
            chooser: WarehouseChooser | None) -> dict[str, str | None]:
    need: dict[str, int] = defaultdict(int)
    for line, qty in todo:
        need[line.sku] += qty
    if not need:
        return {}
    if ctx.warehouse:
        return {sku: ctx.warehouse for sku in need}
    return dict((chooser or most_free_stock)(ctx, dict(need), free))


def _flag_codes(outcomes: Iterable[LineOutcome]) -> set[str]:
    codes = set()
    for o in outcomes:
        if o.status == SHORT:
            codes.add("XD-INV-001")
        elif o.status == NO_SKU:
            codes.add("XD-ORD-004")
        elif o.status == UNKNOWN_SKU:
            codes.add("XD-INV-004")
    return codes


def _new_flags(old: list[Any] | None, codes: set[str]) -> tuple[list[Any], tuple[str, ...], tuple[str, ...]]:
    old = list(old or [])
    kept = [f for f in old if f not in RESERVATION_FLAGS or f in codes]
    added = tuple(sorted(c for c in codes if c not in old))
    removed = tuple(f for f in old if f in RESERVATION_FLAGS and f not in codes)
    return kept + list(added), added, removed


def _problem_events(order: Any, outcomes: Sequence[LineOutcome], added: tuple[str, ...],
                    at: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    short = [o for o in outcomes if o.status == SHORT]
    if short:
        held = any(o.status == RESERVED for o in outcomes)
        rows.append(event_row(
            operation="stock.reserve", outcome="partial" if held else "failed", at=at, channel=order.channel,
            entity_type="order", entity=order.platform_order_id, code="XD-INV-001",
            message="insufficient stock: " + ", ".join(f"{o.sku} x{o.quantity}" for o in short),
            details={"order_id": order.id, "short": [{"line_id": o.line_id, "sku": o.sku,
                                                      "warehouse": o.warehouse, "quantity": o.quantity}
                                                     for o in short]}))
    for code, status, what in (("XD-ORD-004", NO_SKU, "line without SKU"),
                               ("XD-INV-004", UNKNOWN_SKU, "SKU not in the catalogue")):
        if code in added:
            lines = [o for o in outcomes if o.status == status]
            rows.append(event_row(
                operation="stock.reserve", outcome="skipped", at=at, channel=order.channel, entity_type="order",
                entity=order.platform_order_id, code=code,
                message=f"{what}: " + ", ".join(str(o.sku or f"line {o.line_id}") for o in lines),
                details={"order_id": order.id, "lines": [o.line_id for o in lines]}))
    return rows


def _ok_event(order: Any, reserved: Sequence[LineOutcome], at: dt.datetime) -> dict[str, Any]:
    return event_row(operation="stock.reserve", outcome="ok", at=at, channel=order.channel, entity_type="order",
                     entity=order.platform_order_id,
                     message=", ".join(f"{o.sku} x{o.quantity} @ {o.warehouse}" for o in reserved),
                     details={"order_id": order.id})


def _set_flags(session: Session, updates: Sequence[tuple[int, list[Any]]]) -> None:
    if updates:
        session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid"))
                        .values(flags=bindparam("flags")),
                        [{"oid": oid, "flags": flags} for oid, flags in updates])


# ---------------------------------------------------------------- reserve one order
def reserve_order(session: Session, order_id: int, *, chooser: WarehouseChooser | None = None,
                  now: dt.datetime | None = None) -> ReservationResult:
    """Reserve every unreserved line of an imported order (see module doc)."""
    at = now_or(now)
    order = _lock_order(session, order_id)
    reason = _not_reservable(order)
    if reason:
        return ReservationResult(order_id, skipped_reason=reason)
    lines = session.execute(select(LINES.c.id, LINES.c.sku, LINES.c.quantity, LINES.c.quantity_shipped)
                            .where(LINES.c.order_id == order_id).order_by(LINES.c.id)).all()
    line_ids = [line.id for line in lines]
    reserved_ids = set(session.execute(select(RES.c.order_line_id)
                                       .where(RES.c.order_line_id.in_(line_ids))).scalars()) if line_ids else set()
    skus = sorted({line.sku for line in lines if line.sku})
    known = set(session.execute(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku.in_(skus))).scalars()) if skus else set()
    outcomes, todo = _classify(lines, reserved_ids, known)
    free: dict[str, dict[str, int]] = defaultdict(dict)
    if todo:
        for r in session.execute(select(STOCK.c.sku, STOCK.c.warehouse, STOCK.c.on_hand - STOCK.c.reserved)
                                 .where(STOCK.c.sku.in_(sorted({line.sku for line, _ in todo})))):
            free[r[0]][r[1]] = int(r[2])
    choice = _choose(_context(order), todo, free, chooser)
    plan = sorted(((line.sku, choice.get(line.sku), line.id, qty) for line, qty in todo),
                  key=lambda p: (p[0], p[1] or "", p[2]))
    changed: set[str] = set()
    for sku, wh, line_id, qty in plan:
        if wh is None:
            outcomes[line_id] = LineOutcome(line_id, sku, None, qty, SHORT)
            continue
        got = session.execute(
            update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == wh,
                                STOCK.c.on_hand - STOCK.c.reserved >= qty)
            .values(reserved=STOCK.c.reserved + qty, updated_at=at)).rowcount
        if got != 1:
            outcomes[line_id] = LineOutcome(line_id, sku, wh, qty, SHORT)
            continue
        new = session.execute(
            upsert_insert(session, RES).values(order_line_id=line_id, sku=sku, warehouse=wh, quantity=qty,
                                               status=ACTIVE, created_at=at, updated_at=at)
            .on_conflict_do_nothing(index_elements=["order_line_id"]).returning(RES.c.id)).first()
        if new is not None:
            outcomes[line_id] = LineOutcome(line_id, sku, wh, qty, RESERVED)
            changed.add(sku)
        else:  # a concurrent transaction reserved this line first: undo ours
            session.execute(update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == wh)
                            .values(reserved=STOCK.c.reserved - qty, updated_at=at))
            outcomes[line_id] = LineOutcome(line_id, sku, wh, qty, ALREADY)
    ordered = tuple(outcomes[i] for i in line_ids)
    flags, added, removed = _new_flags(order.flags, _flag_codes(ordered))
    if added or removed:
        _set_flags(session, [(order.id, flags)])
    events = _problem_events(order, ordered, added, at)
    reserved = [o for o in ordered if o.status == RESERVED]
    if reserved:
        events.append(_ok_event(order, reserved, at))
    insert_events(session, events)
    if changed:
        dirty.mark_dirty(session, changed, now=at)
    if added:
        log.warning("order %s (%s): flagged %s", order.platform_order_id, order.channel, ", ".join(added))
    return ReservationResult(order_id, ordered, added, removed)


# ---------------------------------------------------------------- reserve many orders (bulk)
class LineInput(NamedTuple):
    id: int
    sku: str | None
    quantity: int
    quantity_shipped: int = 0


class OrderInput(NamedTuple):
    """What the bulk allocator needs to know about one order (loaded with
    :func:`load_order_inputs`, or built by the order import from memory);
    ``lines`` in line-id order (lines of one SKU are served in that order)."""

    id: int
    channel: str
    platform_order_id: str
    local_status: str
    purchased_at: dt.datetime
    lines: tuple[LineInput, ...]
    buyer_country: str | None = None
    warehouse: str | None = None
    fulfillment_channel: str | None = None
    flags: tuple[Any, ...] = ()
    fresh: bool = False          # lines inserted in this transaction: none can have a reservation yet


def load_order_inputs(session: Session, order_ids: Iterable[int]) -> list[OrderInput]:
    """Lock the orders (id order) and read them with their lines."""
    ids = sorted(set(order_ids))
    rows = []
    for part in chunks(ids):
        rows.extend(session.execute(
            select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.buyer_country,
                   ORDERS.c.warehouse, ORDERS.c.flags, ORDERS.c.local_status, ORDERS.c.fulfillment_channel,
                   ORDERS.c.purchased_at)
            .where(ORDERS.c.id.in_(part)).order_by(ORDERS.c.id).with_for_update()).all())
    lines: dict[int, list[LineInput]] = defaultdict(list)
    for part in chunks([r.id for r in rows if not _not_reservable(r)]):
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
                   ok_events: bool = True, mark: bool = True, now: dt.datetime | None = None
                   ) -> dict[int, ReservationResult]:
    """Reserve many orders in one pass, first come first served (purchase
    time, then order id): stock rows are locked ``FOR UPDATE`` in (SKU,
    warehouse) order and allocated in memory, then each (SKU, warehouse) total
    is applied with the conditional UPDATE. Same outcomes, flags and events as
    :func:`reserve_order`; ``ok_events=False`` leaves the success events to
    the caller (the order import puts them in its own per-order event)."""
    return reserve_loaded(session, load_order_inputs(session, order_ids), chooser=chooser, ok_events=ok_events,
                          mark=mark, now=now)


_FIRST_COME = attrgetter("purchased_at", "id")
_RESERVE_SQL = ("UPDATE stock_levels SET reserved = reserved + ?, updated_at = ? "
                "WHERE id = ? AND on_hand - reserved >= ?")
_RESERVE_PG = ("UPDATE stock_levels AS s SET reserved = s.reserved + v.q, updated_at = %s "
               "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, q) "
               "WHERE s.id = v.id AND s.on_hand - s.reserved >= v.q")


def reserve_loaded(session: Session, orders: Sequence[OrderInput], *, chooser: WarehouseChooser | None = None,
                   ok_events: bool = True, mark: bool = True, also_mark: Iterable[str] = (),
                   now: dt.datetime | None = None) -> dict[int, ReservationResult]:
    """:func:`reserve_orders` for orders the caller already holds (locked) in
    memory. ``also_mark``: SKUs whose availability the caller changed in this
    transaction, marked dirty together with the reserved ones (one
    :func:`~crossdock.sync_engine.dirty.mark_dirty` per transaction)."""
    at = now_or(now)
    results: dict[int, ReservationResult] = {}
    open_orders = []
    for o in sorted(orders, key=_FIRST_COME):   # first come, first served
        reason = _not_reservable(o)
        if reason:
            results[o.id] = ReservationResult(o.id, skipped_reason=reason)
        else:
            open_orders.append(o)
    if not open_orders:
        if mark and also_mark:
            dirty.mark_dirty(session, also_mark, now=at)
        return results
    step = lookup_chunk(session)
    reserved_ids: set[int] = set()
    for part in chunks([ln.id for o in open_orders if not o.fresh for ln in o.lines], step):
        reserved_ids.update(session.execute(select(RES.c.order_line_id)
                                            .where(in_values(session, RES.c.order_line_id, part))).scalars())
    skus = sorted({ln.sku for o in open_orders for ln in o.lines if ln.sku})
    safety: dict[str, int] = {}
    for part in chunks(skus, step):
        safety.update((s, n or 0) for s, n in session.execute(
            select(PRODUCTS.c.sku, PRODUCTS.c.safety_stock).where(in_values(session, PRODUCTS.c.sku, part))))
    known = safety

    # Lock the stock rows of every SKU with something to reserve; chunks are in SKU order, rows in
    # (SKU, warehouse) order: a fixed lock order.
    needed = sorted({ln.sku for o in open_orders for ln in o.lines
                     if ln.sku in known and ln.id not in reserved_ids
                     and int(ln.quantity) - int(ln.quantity_shipped or 0) > 0})
    free: dict[str, dict[str, int]] = defaultdict(dict)
    row_ids: dict[tuple[str, str], int] = {}
    on_hand: dict[tuple[str, str], int] = {}
    for part in chunks(needed, step):
        for rid, sku, wh, oh, rsv in session.execute(
                select(STOCK.c.id, STOCK.c.sku, STOCK.c.warehouse, STOCK.c.on_hand, STOCK.c.reserved)
                .where(in_values(session, STOCK.c.sku, part)).order_by(STOCK.c.sku, STOCK.c.warehouse)
                .with_for_update()):
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
            choice = chooser(_context(o), need, free) if need else {}   # choosers read ``free``, never change it
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
                    wh = most_free[sku] = _most_free(free.get(sku))
                per_wh = free[sku]
                if wh is not None and per_wh.get(wh, 0) >= q:
                    per_wh[wh] -= q
                    delta[(sku, wh)] += q
                    alloc.append((o.id, lid, sku, wh, q, o.fresh))
                    outcomes.append(LineOutcome(lid, sku, wh, q, RESERVED))
                else:
                    outcomes.append(LineOutcome(lid, sku, wh, q, SHORT))
                    codes.add("XD-INV-001")
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
            for rid, reserved in session.execute(select(STOCK.c.id, STOCK.c.reserved)
                                                 .where(in_values(session, STOCK.c.id, part))):
                if reserved != expected[rid]:
                    raise DataError("XD-DATA-006", entity=f"stock row {rid}",
                                    detail=f"reserved is {reserved}, expected {expected[rid]} after reserving "
                                           "under a row lock")
    fresh = [a for a in alloc if a[5]]
    known_lines = [a for a in alloc if not a[5]]
    for part in chunks(fresh, 5000):
        # lines inserted in this very transaction: no one else can have reserved them
        insert_tuples(session, RES, _RES_COLS, [(lid, sku, wh, q, ACTIVE, at_b, at_b)
                                                for _, lid, sku, wh, q, _ in part], converted=True)
    if known_lines:
        ins = (upsert_insert(session, RES).on_conflict_do_nothing(index_elements=["order_line_id"])
               .returning(RES.c.order_line_id))
        inserted: set[int] = set()
        for part in chunks(known_lines, 2000):
            inserted.update(session.execute(ins, [
                {"order_line_id": lid, "sku": sku, "warehouse": wh, "quantity": q, "status": ACTIVE,
                 "created_at": at, "updated_at": at} for _, lid, sku, wh, q, _ in part]).scalars())
        lost = [a for a in known_lines if a[1] not in inserted]
        if lost:  # reserved concurrently by another transaction: undo ours
            undo: dict[tuple[str, str], int] = defaultdict(int)
            lost_lines = {a[1]: a for a in lost}
            for oid, lid, sku, wh, q, _ in lost:
                undo[(sku, wh)] += q
                free[sku][wh] += q
            for _, outcomes, _ in allocated:
                for i, x in enumerate(outcomes):
                    if x.line_id in lost_lines:
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
            flags, added, removed = _new_flags(list(o.flags), codes)
            if added or removed:
                flag_updates.append((o.id, flags))
            events.extend(_problem_events(o, ordered, added, at))
        else:
            added = removed = ()
        if ok_events:
            reserved = [x for x in ordered if x.status == RESERVED]
            if reserved:
                events.append(_ok_event(o, reserved, at))
        results[o.id] = ReservationResult(o.id, ordered, added, removed)
    _set_flags(session, flag_updates)
    insert_events(session, events)
    changed = {key[0] for key, q in delta.items() if q}
    if mark and (changed or also_mark):
        avail = {sku: max(0, sum(free[sku].values()) - safety.get(sku, 0)) for sku in changed}
        dirty.mark_dirty(session, changed | set(also_mark), available=avail, now=at)
    short = sum(1 for _, _, codes in allocated if "XD-INV-001" in codes)
    if short:
        log.warning("reserved %d orders, %d short of stock (XD-INV-001)", len(open_orders), short)
    return results


def lock_stock(session: Session, skus: Iterable[str]) -> None:
    """Lock every stock row of ``skus`` in (SKU, warehouse) order (PostgreSQL
    ``FOR UPDATE``; SQLite already holds the write lock). A transaction that
    touches stock of many orders calls this first so that it never waits for
    a row while holding another out of order."""
    if not is_postgres(session):
        return
    for part in chunks(sorted(set(skus))):
        session.execute(select(STOCK.c.id).where(STOCK.c.sku.in_(part))
                        .order_by(STOCK.c.sku, STOCK.c.warehouse).with_for_update()).all()


def active_reservation_skus(session: Session, order_ids: Iterable[int]) -> set[str]:
    out: set[str] = set()
    for part in chunks(sorted(set(order_ids))):
        out.update(session.execute(
            select(RES.c.sku).join(LINES, LINES.c.id == RES.c.order_line_id)
            .where(LINES.c.order_id.in_(part), RES.c.status == ACTIVE).distinct()).scalars())
    return out


# ---------------------------------------------------------------- release / consume
def _active_reservations(session: Session, order_id: int, line_id: int | None = None) -> list[Any]:
    stmt = (select(RES.c.id, RES.c.order_line_id, RES.c.sku, RES.c.warehouse, RES.c.quantity)
            .join(LINES, LINES.c.id == RES.c.order_line_id)
            .where(LINES.c.order_id == order_id, RES.c.status == ACTIVE)
            .order_by(RES.c.sku, RES.c.warehouse, RES.c.id))
    if line_id is not None:
        stmt = stmt.where(RES.c.order_line_id == line_id)
    return list(session.execute(stmt).all())


def _release(session: Session, order: Any, at: dt.datetime, reason: str) -> tuple[SettleResult, set[str]]:
    settled = []
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in _active_reservations(session, order.id):
        n = session.execute(update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE)
                            .values(status=RELEASED, updated_at=at)).rowcount
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
    return result, {s.sku for s in settled}


def release_order(session: Session, order_id: int, *, reason: str = "cancelled",
                  now: dt.datetime | None = None) -> SettleResult:
    """Cancel: active reservations → released, stock reserved −= quantity.
    A second call releases nothing (XD-INV-006 skipped event)."""
    at = now_or(now)
    order = _lock_order(session, order_id)
    result, skus = _release(session, order, at, reason)
    if skus:
        dirty.mark_dirty(session, skus, now=at)
    return result


def _consume(session: Session, order: Any, rows: Sequence[Any], at: dt.datetime, *, quantity: int | None,
             reference: str | None, actor: str | None) -> SettleResult:
    settled = []
    moves = []
    for r in rows:
        q = r.quantity if quantity is None else quantity
        if q <= 0 or q > r.quantity:
            raise InventoryError("XD-INV-005", entity=f"sku {r.sku}",
                                 detail=f"cannot ship {q} of a reservation for {r.quantity} "
                                        f"(order {order.platform_order_id}, line {r.order_line_id})")
        if q == r.quantity:
            n = session.execute(update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE)
                                .values(status=CONSUMED, updated_at=at)).rowcount
        else:
            n = session.execute(update(RES).where(RES.c.id == r.id, RES.c.status == ACTIVE,
                                                  RES.c.quantity > q)
                                .values(quantity=RES.c.quantity - q, updated_at=at)).rowcount
        if n != 1:
            continue  # settled concurrently
        got = session.execute(
            update(STOCK).where(STOCK.c.sku == r.sku, STOCK.c.warehouse == r.warehouse,
                                STOCK.c.reserved >= q, STOCK.c.on_hand >= q)
            .values(on_hand=STOCK.c.on_hand - q, reserved=STOCK.c.reserved - q, updated_at=at)).rowcount
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
    order = _lock_order(session, order_id)
    return _consume(session, order, _active_reservations(session, order_id), at, quantity=None,
                    reference=reference, actor=actor)


def consume_line(session: Session, order_line_id: int, *, quantity: int | None = None,
                 reference: str | None = None, actor: str | None = None,
                 now: dt.datetime | None = None) -> SettleResult:
    """Ship one line: all of its reservation, or ``quantity`` of it (a partial
    shipment leaves the rest reserved)."""
    at = now_or(now)
    order_id = session.execute(select(LINES.c.order_id).where(LINES.c.id == order_line_id)).scalar()
    if order_id is None:
        raise InventoryError("XD-INV-006", entity=f"order line {order_line_id}", detail="no such order line")
    order = _lock_order(session, order_id)
    return _consume(session, order, _active_reservations(session, order_id, order_line_id), at,
                    quantity=quantity, reference=reference, actor=actor)


# ---------------------------------------------------------------- adjustments
def adjust_stock(session: Session, sku: str, warehouse: str, delta: int, reason: str,
                 reference: str | None = None, *, actor: str | None = None,
                 now: dt.datetime | None = None) -> StockState:
    """Change on hand by ``delta`` (receipt, count, damage…) with an audit row.
    Refused with XD-INV-005 when on hand would drop below 0 or below what is
    reserved; XD-WH-005 when the change or the new on hand is beyond
    ``INTEGER_MAX``; XD-INV-004 for a SKU not in the catalogue; XD-WH-001 for
    an unknown warehouse."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError("delta must be an int")
    if delta == 0:
        raise ValueError("delta must not be 0")
    if not reason:
        raise ValueError("a stock adjustment needs a reason")
    if abs(delta) > INTEGER_MAX:
        raise WarehouseError("XD-WH-005", entity=f"sku {sku}",
                             detail=f"{warehouse}: change {delta:+d} is beyond {INTEGER_MAX:,} units")
    at = now_or(now)
    if session.execute(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku == sku)).first() is None:
        raise InventoryError("XD-INV-004", entity=f"sku {sku}", detail="not in the catalogue")
    if session.execute(select(WAREHOUSES.c.code).where(WAREHOUSES.c.code == warehouse)).first() is None:
        raise WarehouseError("XD-WH-001", entity=f"warehouse {warehouse}", detail="not in the database")
    if delta > 0:
        session.execute(upsert_insert(session, STOCK)
                        .values(sku=sku, warehouse=warehouse, on_hand=0, reserved=0, updated_at=at)
                        .on_conflict_do_nothing(index_elements=["sku", "warehouse"]))
    # The guards compare columns with numbers computed here, never ``on_hand + delta``:
    # PostgreSQL would fail on the 4-byte sum before the guard could refuse it.
    if delta > 0:
        guards = (STOCK.c.on_hand <= INTEGER_MAX - delta,)
    else:
        guards = (STOCK.c.on_hand - STOCK.c.reserved >= -delta, STOCK.c.on_hand >= -delta)
    row = session.execute(
        update(STOCK).where(STOCK.c.sku == sku, STOCK.c.warehouse == warehouse, *guards)
        .values(on_hand=STOCK.c.on_hand + delta, updated_at=at)
        .returning(STOCK.c.on_hand, STOCK.c.reserved)).first()
    if row is None:
        cur = session.execute(select(STOCK.c.on_hand, STOCK.c.reserved)
                              .where(STOCK.c.sku == sku, STOCK.c.warehouse == warehouse)).first()
        on_hand, reserved = (cur.on_hand, cur.reserved) if cur else (0, 0)
        if on_hand + delta > INTEGER_MAX:
            raise WarehouseError("XD-WH-005", entity=f"sku {sku}",
                                 detail=f"{warehouse}: on hand {on_hand} {delta:+d} would be beyond "
                                        f"{INTEGER_MAX:,} units", warehouse=warehouse)
        raise InventoryError("XD-INV-005", entity=f"sku {sku}",
                             detail=f"{warehouse}: on hand {on_hand}, reserved {reserved}, change {delta:+d} "
                                    f"({reason})", warehouse=warehouse)
    session.execute(MOVES.insert().values(sku=sku, warehouse=warehouse, delta=delta, reason=reason,
                                          reference=reference, actor=actor, created_at=at))
    synclog.record(session, operation="stock.adjust", outcome="ok", entity_type="sku", entity=sku,
                   message=f"{warehouse} {delta:+d} ({reason}) → on hand {row.on_hand}",
                   details={"warehouse": warehouse, "delta": delta, "reason": reason, "reference": reference},
                   at=at)
    dirty.mark_dirty(session, [sku], now=at)
    return StockState(sku=sku, warehouse=warehouse, on_hand=int(row.on_hand), reserved=int(row.reserved))
