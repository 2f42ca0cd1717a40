"""What the inventory modules share: tables, line outcomes, results, the
warehouse choosers, and the helpers that lock an order and record its
reservation flags and events (private; the public names are in
:mod:`crossdock.sync_engine.inventory`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from crossdock.errors import OrderError, WarehouseError
from crossdock.platforms import fulfilled_by_platform
from crossdock.sync_engine import skumap
from crossdock.sync_engine._sql import event_row
from crossdock.sync_engine._tables import ORDERS

ACTIVE, RELEASED, CONSUMED = "active", "released", "consumed"
RES_COLS = ("order_line_id", "sku", "warehouse", "quantity", "status", "created_at", "updated_at")
RESERVABLE_STATUSES = ("pending", "unshipped", "partially_shipped")
# An order first seen in one of these states left (some of) its units from crossdock's stock before the
# import saw it (shipped outside crossdock, or while the database was lost): they are taken from stock.
SHIPPED_FROM_STOCK = ("partially_shipped", "shipped", "delivered", "returned")
# Flags this module owns: recomputed on every reservation run.
RESERVATION_FLAGS = ("XD-INV-001", "XD-INV-004", "XD-ORD-004")
# The flag of an order first seen shipped whose units the free stock could not cover (kept: a person counts).
SHIPPED_SHORT = "XD-INV-012"

# Line outcomes
RESERVED, ALREADY, SHORT, NO_SKU, UNKNOWN_SKU, NOTHING = (
    "reserved", "already_reserved", "insufficient", "no_sku", "unknown_sku", "nothing_to_reserve")
HELD = (RESERVED, ALREADY, NOTHING)

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


def best_warehouse(options: Mapping[str, int] | None) -> str | None:
    """:func:`most_free_stock` for one SKU (``options``: free units per warehouse)."""
    if not options:
        return None
    if len(options) == 1:
        return next(iter(options))
    return min(options, key=lambda w: (-options[w], w))


def most_free_stock(ctx: OrderContext, need: Mapping[str, int],
                    free: Mapping[str, Mapping[str, int]]) -> dict[str, str | None]:
    """Each SKU from the warehouse with the most free units (ties: lowest code)."""
    return {sku: best_warehouse(free.get(sku)) for sku in need}


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
        return all(o.status in HELD for o in self.lines)


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

    @property
    def skus(self) -> set[str]:
        return {s.sku for s in self.settled}


@dataclass(frozen=True, slots=True)
class StockState:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int


# ---------------------------------------------------------------- helpers
def lock_order(session: Session, order_id: int) -> Row[*tuple[Any, ...]]:
    """The order's row, locked (first in the lock order: order, stock, reservations)."""
    row = session.execute(
        select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.platform_order_id, ORDERS.c.buyer_country,
               ORDERS.c.warehouse, ORDERS.c.flags, ORDERS.c.local_status, ORDERS.c.fulfillment_channel,
               ORDERS.c.purchased_at)
        .where(ORDERS.c.id == order_id).with_for_update()).first()
    if row is None:
        raise OrderError("XD-ORD-005", entity=f"order {order_id}", detail="no such local order id")
    return row


def not_reservable(order: Any) -> str | None:
    if order.local_status not in RESERVABLE_STATUSES:
        return f"order is {order.local_status}"
    return not_from_our_stock(order)


def not_from_our_stock(order: Any) -> str | None:
    """Why ``order`` never takes units from crossdock's stock, whatever its
    status (the platform fulfils it itself: Amazon FBA), or None."""
    if fulfilled_by_platform(order.fulfillment_channel):
        return f"fulfilled by the platform ({order.fulfillment_channel})"
    return None


def order_context(order: Any) -> OrderContext:
    return OrderContext(order.id, order.channel, order.platform_order_id, order.buyer_country, order.warehouse)


def classify(lines: Sequence[Any], reserved_line_ids: set[int], known_skus: set[str]
              ) -> tuple[dict[tuple[int, str | None], LineOutcome], list[tuple[Any, int]]]:
    """Outcomes for lines that need no stock decision (by line id and SKU: a bundle's
    line is one line per component), and (line, qty) to reserve."""
    done: dict[tuple[int, str | None], LineOutcome] = {}
    todo: list[tuple[Any, int]] = []
    for line in lines:
        qty = int(line.quantity) - int(line.quantity_shipped or 0)
        if line.id in reserved_line_ids:
            done[(line.id, line.sku)] = LineOutcome(line.id, line.sku, None, max(qty, 0), ALREADY)
        elif qty <= 0:
            done[(line.id, line.sku)] = LineOutcome(line.id, line.sku, None, 0, NOTHING)
        elif not line.sku:
            done[(line.id, line.sku)] = LineOutcome(line.id, None, None, qty, NO_SKU)
        elif line.sku not in known_skus:
            done[(line.id, line.sku)] = LineOutcome(line.id, line.sku, None, qty, UNKNOWN_SKU)
        else:
            todo.append((line, qty))
    return done, todo


def choose_warehouses(ctx: OrderContext, todo: Sequence[tuple[Any, int]], free: Mapping[str, Mapping[str, int]],
            chooser: WarehouseChooser | None) -> dict[str, str | None]:
    need: dict[str, int] = defaultdict(int)
    for line, qty in todo:
        need[line.sku] += qty
    if not need:
        return {}
    if ctx.warehouse:
        return {sku: ctx.warehouse for sku in need}
    return dict((chooser or most_free_stock)(ctx, dict(need), free))


def flag_codes(outcomes: Iterable[LineOutcome]) -> set[str]:
    codes = set()
    for o in outcomes:
        if o.status == SHORT:
            codes.add("XD-INV-001")
        elif o.status == NO_SKU:
            codes.add("XD-ORD-004")
        elif o.status == UNKNOWN_SKU:
            codes.add("XD-INV-004")
    return codes


def new_flags(old: list[Any] | None, codes: set[str]) -> tuple[list[Any], tuple[str, ...], tuple[str, ...]]:
    old = list(old or [])
    kept = [f for f in old if f not in RESERVATION_FLAGS or f in codes]
    added = tuple(sorted(c for c in codes if c not in old))
    removed = tuple(f for f in old if f in RESERVATION_FLAGS and f not in codes)
    return kept + list(added), added, removed


def problem_events(order: Any, outcomes: Sequence[LineOutcome], added: tuple[str, ...],
                    at: dt.datetime, *, short_code: str = "XD-INV-001") -> list[dict[str, Any]]:
    rows = []
    short = [o for o in outcomes if o.status == SHORT]
    if short:
        held = any(o.status == RESERVED for o in outcomes)
        what = ("shipped before the import, not in stock: " if short_code == SHIPPED_SHORT
                else "insufficient stock: ")
        rows.append(event_row(
            operation="stock.reserve", outcome="partial" if held else "failed", at=at, channel=order.channel,
            entity_type="order", entity=order.platform_order_id, code=short_code,
            message=what + ", ".join(f"{o.sku} x{o.quantity}" for o in short),
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


def ok_event(order: Any, reserved: Sequence[LineOutcome], at: dt.datetime) -> dict[str, Any]:
    return event_row(operation="stock.reserve", outcome="ok", at=at, channel=order.channel, entity_type="order",
                     entity=order.platform_order_id,
                     message=", ".join(f"{o.sku} x{o.quantity} @ {o.warehouse}" for o in reserved),
                     details={"order_id": order.id})


def set_flags(session: Session, updates: Sequence[tuple[int, list[Any]]]) -> None:
    if updates:
        session.execute(update(ORDERS).where(ORDERS.c.id == bindparam("oid"))
                        .values(flags=bindparam("flags")),
                        [{"oid": oid, "flags": flags} for oid, flags in updates])


# ---------------------------------------------------------------- bundles
def bundle_recipes(session: Session, skus: Iterable[str | None]) -> dict[str, dict[str, int]]:
    """Bundle → component → units per bundle, for the bundles among ``skus``."""
    wanted = {s for s in skus if s}
    if not wanted or not skumap.any_bundles(session):
        return {}
    return skumap.components_of(session, wanted)


def expand_line(line: Any, recipe: Mapping[str, int]) -> list[Any]:
    """A line of a bundle as one line per component (same line id), in component units."""
    return [line._replace(sku=c, quantity=int(line.quantity) * q,
                          quantity_shipped=int(line.quantity_shipped or 0) * q)
            for c, q in sorted(recipe.items())]


def expand_orders(session: Session, orders: Sequence["OrderInput"]) -> list["OrderInput"]:
    """``orders`` with each line of a bundle replaced by its components' (a bundle
    reserves and consumes its components; it has no stock of its own)."""
    kits = bundle_recipes(session, (ln.sku for o in orders for ln in o.lines))
    if not kits:
        return list(orders)
    out = []
    for o in orders:
        if any(ln.sku in kits for ln in o.lines):
            lines = tuple(x for ln in o.lines for x in (expand_line(ln, kits[ln.sku]) if ln.sku in kits else [ln]))
            o = o._replace(lines=lines)
        out.append(o)
    return out


def undo_partial_bundles(outcomes: list[LineOutcome]) -> list[LineOutcome]:
    """The outcomes of a line some of whose components were reserved and some not
    (a bundle short of one component): none of that line is to hold stock. Returns
    the outcomes of the reserved components to give back (turned SHORT in place)."""
    by_line: dict[int, list[int]] = defaultdict(list)
    for i, o in enumerate(outcomes):
        by_line[o.line_id].append(i)
    undo: list[LineOutcome] = []
    for idx in by_line.values():
        if len(idx) > 1 and any(outcomes[i].status == SHORT for i in idx):
            for i in idx:
                if outcomes[i].status == RESERVED:
                    undo.append(outcomes[i])
                    outcomes[i] = outcomes[i]._replace(status=SHORT)
    return undo


# ---------------------------------------------------------------- reserve one order


# ---------------------------------------------------------------- what the bulk allocator reads
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
    #: First seen after its units left (:data:`SHIPPED_FROM_STOCK`): every line is reserved in full, whatever
    #: its status, for the caller to consume at once (a shortfall is :data:`SHIPPED_SHORT`, not XD-INV-001).
    ships: bool = False


