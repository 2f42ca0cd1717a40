"""Which orders are ready to ship, and the pick list that batches them.

An order is *ready to ship* when its local status is ``unshipped`` or
``partially_shipped``, it is fulfilled by the seller (not Amazon's AFN), and
every line with units still to ship holds an active reservation covering
them, all in one warehouse. A person may ship part of an order
(``warehouse ship ORDER --lines SKU:QTY``): then only those units need their
reservations, in one warehouse, and the rest ship in later parcels. :func:`readiness` says
why an order is not ready; :func:`ready_orders` lists the ready ones, most
urgent first (ship-by, then purchase time); :func:`build_picklists` turns them
into one pick list per warehouse, a row per (bin, SKU), sorted by bin so the
picker walks the aisles once.

Reading only: building a pick list changes nothing in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crossdock.db.models import BundleComponent, Order, OrderLine, Product, Reservation, StockLevel
from crossdock.errors import ShippingError
from crossdock.platforms import fulfilled_by_platform
from crossdock.warehouse.labels import PickItem, PickRow, aggregate_pick_rows, picklist_pdf

log = logging.getLogger(__name__)


READY_STATUSES: tuple[str, ...] = ("unshipped", "partially_shipped")
_IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class ReadyLine:
    order_line_id: int
    platform_line_id: str
    sku: str
    title: str
    quantity: int                        # units still to ship
    bin: str | None = None


@dataclass(frozen=True, slots=True)
class ReadyOrder:
    order_id: int
    channel: str
    platform_order_id: str
    warehouse: str
    lines: tuple[ReadyLine, ...]
    ship_by: dt.datetime | None = None
    purchased_at: dt.datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.channel}/{self.platform_order_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id, "channel": self.channel, "platform_order_id": self.platform_order_id,
            "warehouse": self.warehouse, "ship_by": self.ship_by.isoformat() if self.ship_by else None,
            "lines": [{"sku": ln.sku, "title": ln.title, "quantity": ln.quantity, "bin": ln.bin,
                       "platform_line_id": ln.platform_line_id} for ln in self.lines],
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether one order can be picked and shipped now, and if not, why."""

    ready: bool
    warehouse: str | None
    lines: tuple[tuple[OrderLine, int], ...] = ()   # (line, units still to ship)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PickList:
    warehouse: str
    batch_id: str
    created_at: dt.datetime
    orders: tuple[ReadyOrder, ...]
    rows: tuple[PickRow, ...]

    @property
    def units(self) -> int:
        return sum(r.quantity for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "warehouse": self.warehouse,
            "batch_id": self.batch_id,
            "created_at": self.created_at.isoformat(),
            "order_count": len(self.orders),
            "units": self.units,
            "rows": [{"bin": r.bin, "sku": r.sku, "title": r.title, "quantity": r.quantity,
                      "orders": list(r.orders)} for r in self.rows],
            "orders": [o.to_dict() for o in self.orders],
        }

    def pdf(self) -> bytes:
        return picklist_pdf(self.rows, warehouse=self.warehouse, batch_id=self.batch_id,
                            created_at=self.created_at)


def remaining(line: OrderLine) -> int:
    return max(int(line.quantity) - int(line.quantity_shipped or 0), 0)


def bundle_recipes(session: Session, skus: Iterable[str | None]) -> dict[str, dict[str, int]]:
    """Bundle → component → units per bundle, for the bundles among ``skus``
    (a line of a bundle is picked, reserved and declared as its components)."""
    wanted = sorted({s for s in skus if s})
    out: dict[str, dict[str, int]] = {}
    for chunk in _chunks(wanted):
        for b, c, q in session.execute(_RECIPES, {"bundles": list(chunk)}):
            out.setdefault(b, {})[c] = int(q)
    return out


# built once: shipping asks for the recipes of every order it plans and records
_RECIPES = select(BundleComponent.bundle, BundleComponent.component, BundleComponent.quantity).where(
    BundleComponent.bundle.in_(bindparam("bundles", expanding=True)))


def components_of_line(sku: str | None, qty: int, recipes: Mapping[str, Mapping[str, int]]) -> list[tuple[str, int]]:
    """(SKU, units) a line of ``qty`` takes from the shelves: itself, or a bundle's components."""
    if sku and sku in recipes:
        return [(c, qty * q) for c, q in sorted(recipes[sku].items())]
    return [(sku or "", qty)]


def readiness(order: Order, lines: Sequence[OrderLine], reservations: Iterable[Reservation],
              recipes: Mapping[str, Mapping[str, int]] | None = None, *,
              only: Mapping[str, int] | None = None) -> Readiness:
    """Can ``order`` be shipped now? Pure over already-loaded rows.

    ``reservations`` are the order's reservations (any status); only active
    ones count. ``recipes`` (:func:`bundle_recipes`): a line of a bundle must
    hold an active reservation of each component. ``only`` (SKU → units): a
    partial shipment of just these units, taken from the order's lines in
    their order; a SKU the order has not that many units left of is a
    problem, named.
    """
    problems: list[str] = []
    if order.local_status not in READY_STATUSES:
        problems.append(f"status is {order.local_status!r}, not one of {', '.join(READY_STATUSES)}")
    if fulfilled_by_platform(order.fulfillment_channel):
        problems.append(f"fulfilled by the marketplace ({order.fulfillment_channel})")
    active = {(r.order_line_id, r.sku): r for r in reservations if r.status == "active"}
    todo: list[tuple[OrderLine, int]] = []
    warehouses: set[str] = set()
    wanted = dict(only) if only is not None else None
    for line in lines:
        qty = remaining(line)
        if wanted is not None:
            qty = min(qty, wanted.get(line.sku or "", 0))
            if qty:
                wanted[line.sku or ""] -= qty
        if qty == 0:
            continue
        todo.append((line, qty))
        if not line.sku:
            problems.append(f"line {line.platform_line_id} has no SKU")
            continue
        for sku, units in components_of_line(line.sku, qty, recipes or {}):
            res = active.get((line.id, sku))
            what = line.sku if sku == line.sku else f"{line.sku}: {sku}"
            if res is None:
                problems.append(f"line {line.platform_line_id} ({what} x{units}) holds no reservation")
            elif res.quantity < units:
                problems.append(f"line {line.platform_line_id} ({what}) reserves {res.quantity} of {units}")
            if res is not None:
                warehouses.add(res.warehouse)
    for sku, left in sorted((wanted or {}).items()):
        if left > 0:
            problems.append(f"{sku}: {left} more unit(s) asked than the order has left to ship")
    if not todo:
        problems.append("nothing left to ship")
    if len(warehouses) > 1:
        problems.append(f"reserved in several warehouses ({', '.join(sorted(warehouses))})"
                        + ("" if only is not None else "; ship each warehouse's lines as a parcel of its own "
                                                       "with --lines"))
    warehouse = next(iter(warehouses)) if len(warehouses) == 1 else order.warehouse
    return Readiness(ready=not problems, warehouse=warehouse, lines=tuple(todo), problems=tuple(problems))


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ready_orders(session: Session, *, warehouse: str | None = None, limit: int | None = None) -> list[ReadyOrder]:
    """Ready orders (see module doc), most urgent first; only those reserved in
    ``warehouse`` when given."""
    orders = list(session.scalars(select(Order).where(Order.local_status.in_(READY_STATUSES))))
    if not orders:
        return []
    ids = [o.id for o in orders]
    lines_by_order: dict[int, list[OrderLine]] = {}
    reservations: dict[int, list[Reservation]] = {}
    for chunk in _chunks(ids):
        for line in session.scalars(select(OrderLine).where(OrderLine.order_id.in_(chunk))
                                    .order_by(OrderLine.id)):
            lines_by_order.setdefault(line.order_id, []).append(line)
        rows = session.execute(select(OrderLine.order_id, Reservation)
                               .join(Reservation, Reservation.order_line_id == OrderLine.id)
                               .where(OrderLine.order_id.in_(chunk), Reservation.status == "active"))
        for order_id, res in rows:
            reservations.setdefault(order_id, []).append(res)

    recipes = bundle_recipes(session, (ln.sku for ls in lines_by_order.values() for ln in ls))
    checked: list[tuple[Order, Readiness]] = []
    for order in orders:
        ready = readiness(order, lines_by_order.get(order.id, []), reservations.get(order.id, []), recipes)
        if not ready.ready:
            log.debug("order %s/%s not ready: %s", order.channel, order.platform_order_id,
                      "; ".join(ready.problems))
            continue
        if warehouse is not None and ready.warehouse != warehouse:
            continue
        checked.append((order, ready))

    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    checked.sort(key=lambda pair: (pair[0].ship_by or far, pair[0].purchased_at, pair[0].id))
    if limit is not None:
        checked = checked[:limit]

    keys = {(sku, r.warehouse) for _o, r in checked for line, q in r.lines
            for sku, _u in components_of_line(line.sku, q, recipes)}
    skus = sorted({sku for sku, _w in keys if sku})
    bins: dict[tuple[str, str], str | None] = {}
    titles: dict[str, str] = {}
    for chunk in _chunks(skus):
        for sku, wh, bin_code in session.execute(
                select(StockLevel.sku, StockLevel.warehouse, StockLevel.bin).where(StockLevel.sku.in_(chunk))):
            bins[(sku, wh)] = bin_code
        for sku, title in session.execute(select(Product.sku, Product.title).where(Product.sku.in_(chunk))):
            titles[sku] = title

    out: list[ReadyOrder] = []
    for order, ready in checked:
        assert ready.warehouse is not None
        out.append(ReadyOrder(
            order_id=order.id, channel=order.channel, platform_order_id=order.platform_order_id,
            warehouse=ready.warehouse, ship_by=order.ship_by, purchased_at=order.purchased_at,
            # a line of a bundle is picked as its components, one row each
            lines=tuple(
                ReadyLine(order_line_id=line.id, platform_line_id=line.platform_line_id, sku=sku,
                          title=(line.title or titles.get(sku, "")) if sku == (line.sku or "")
                          else f"{titles.get(sku, sku)} (in {line.sku})", quantity=units,
                          bin=bins.get((sku, ready.warehouse)))
                for line, qty in ready.lines for sku, units in components_of_line(line.sku, qty, recipes)),
        ))
    return out


def batch_id_for(warehouse: str, orders: Iterable[ReadyOrder], created_at: dt.datetime) -> str:
    """``PL-<warehouse>-<yyyymmdd>-<hash of the orders>``: the same batch of
    orders on the same day gets the same id."""
    digest = hashlib.sha256("\n".join(sorted(o.ref for o in orders)).encode()).hexdigest()[:6]
    return f"PL-{warehouse}-{created_at:%Y%m%d}-{digest}"


def build_picklists(
    session: Session,
    *,
    now: dt.datetime,
    warehouse: str | None = None,
    limit: int | None = None,
) -> list[PickList]:
    """One pick list per warehouse with ready orders (only ``warehouse`` when
    given), in warehouse-code order; rows sorted by bin, bins unknown last."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    by_warehouse: dict[str, list[ReadyOrder]] = {}
    for order in ready_orders(session, warehouse=warehouse, limit=limit):
        by_warehouse.setdefault(order.warehouse, []).append(order)
    lists: list[PickList] = []
    for code in sorted(by_warehouse):
        orders = by_warehouse[code]
        items = [PickItem(order_ref=o.ref, sku=ln.sku, quantity=ln.quantity, bin=ln.bin, title=ln.title)
                 for o in orders for ln in o.lines]
        lists.append(PickList(warehouse=code, batch_id=batch_id_for(code, orders, now), created_at=now,
                              orders=tuple(orders), rows=tuple(aggregate_pick_rows(items))))
    return lists


def write_picklist_pdf(picklist: PickList, path: str | Path) -> Path:
    """Write the pick list PDF to ``path`` (folders created); returns the path."""
    target = Path(path)
    data = picklist.pdf()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise ShippingError("XD-SHIP-003", entity=str(target),
                             detail=f"cannot write the pick list: {exc.strerror or exc}") from exc
    log.info("pick list %s written to %s (%d rows)", picklist.batch_id, target, len(picklist.rows))
    return target


__all__ = [
    "READY_STATUSES",
    "PickList",
    "Readiness",
    "ReadyLine",
    "ReadyOrder",
    "batch_id_for",
    "build_picklists",
    "readiness",
    "ready_orders",
    "remaining",
    "write_picklist_pdf",
]
