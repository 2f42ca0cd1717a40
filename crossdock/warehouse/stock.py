"""Stock in the database: warehouses and bins, receiving and adjustments,
the stock view, and routing an order to a warehouse.

Every on-hand change goes through the :class:`~crossdock.warehouse.ledger.Ledger`
the caller hands in (the engine's, :data:`crossdock.sync_engine.warehouse_ledger.ENGINE_LEDGER`):
one ``stock_movements`` row with the reason (the audit trail; XD-INV-005 when
on hand would go negative or below what is reserved), and the SKU marked
dirty, so the new availability reaches every channel. Functions take the
caller's Session: the change, its audit row, the stock push and the sync
event commit together.

Stock files (``crossdock stock import FILE.csv``) are read and applied by
:mod:`crossdock.warehouse.stock_file`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.db.models import Bin, Order, Product, StockLevel, StockMovement, Warehouse
from crossdock.errors import ConfigError, InventoryError, OrderError, WarehouseError
from crossdock.warehouse.ledger import Ledger, ReservationOutcome
from crossdock.warehouse.routing import RoutingPreference, WarehouseSite

log = logging.getLogger(__name__)

MAX_REASON_LEN = 64
MAX_REFERENCE_LEN = 200
DELTA_RE = re.compile(r"^[+-]?\d+$")


# ----------------------------------------------------------------- warehouses and bins

def sync_warehouses(session: Session, warehouses: Mapping[str, Any] | Iterable[Any]) -> list[str]:
    """Make the configured warehouses and their bins exist in the database
    (objects with ``code``, ``name``, ``country``, ``bins``, ``address`` —
    :class:`crossdock.config.WarehouseConfig`). Name, country and address
    follow the config; bins are only added (stock may still name a removed
    one). Returns the codes created."""
    items = list(warehouses.values()) if isinstance(warehouses, Mapping) else list(warehouses)
    created: list[str] = []
    for wh in items:
        row = session.get(Warehouse, wh.code)
        country = str(wh.country).upper()
        if row is None:
            session.add(Warehouse(code=wh.code, name=wh.name or wh.code, country=country,
                                  address=dict(wh.address or {})))
            created.append(wh.code)
        else:
            row.name, row.country = wh.name or wh.code, country
            if dict(row.address or {}) != dict(wh.address or {}):
                row.address = dict(wh.address or {})
        session.flush()
        have = set(session.scalars(select(Bin.code).where(Bin.warehouse == wh.code)))
        for code in dict.fromkeys(b.strip() for b in (wh.bins or []) if b and b.strip()):
            if code not in have:
                session.add(Bin(warehouse=wh.code, code=code))
    session.flush()
    if created:
        log.info("warehouses created from the configuration: %s", ", ".join(created))
    return created


def get_warehouse(session: Session, code: str) -> Warehouse:
    """The warehouse row; XD-WH-001 (with the known codes) when there is none."""
    row = session.get(Warehouse, code)
    if row is None:
        known = ", ".join(sorted(session.scalars(select(Warehouse.code)))) or "none configured"
        raise WarehouseError("XD-WH-001", entity=f"warehouse {code}", detail=f"known: {known}")
    return row


def _check_bin(session: Session, warehouse: str, code: str) -> None:
    if session.scalar(select(Bin.id).where(Bin.warehouse == warehouse, Bin.code == code)) is None:
        known = sorted(session.scalars(select(Bin.code).where(Bin.warehouse == warehouse)))
        shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else "none defined"
        raise WarehouseError("XD-WH-004", entity=f"bin {code}",
                             detail=f"warehouse {warehouse} has no bin {code!r} (bins: {shown})")


def _check_sku(session: Session, sku: str) -> None:
    if session.get(Product, sku) is None:
        raise InventoryError("XD-INV-004", entity=f"sku {sku}", detail="not in the catalogue")


def parse_delta(text: str | int) -> int:
    """``"+12"``, ``"-3"`` or ``"7"`` as an int; XD-CFG-009 otherwise."""
    value = str(text).strip()
    if not DELTA_RE.match(value):
        raise ConfigError("XD-CFG-009", detail=f"quantity change {text!r}: write a whole number like +12 or -3")
    change = int(value)
    if abs(change) > INTEGER_MAX:
        raise WarehouseError("XD-WH-005", detail=f"quantity change {value}: at most {INTEGER_MAX:,} units either way")
    return change


def _reason(reason: str | None) -> str:
    value = (reason or "").strip()
    if not value:
        raise ConfigError("XD-CFG-009", detail="a stock change needs a reason (--reason receive|count|damage|…)")
    if len(value) > MAX_REASON_LEN:
        raise ConfigError("XD-CFG-009", detail=f"reason longer than {MAX_REASON_LEN} characters")
    return value


# ----------------------------------------------------------------- changes

@dataclass(frozen=True, slots=True)
class StockChange:
    sku: str
    warehouse: str
    delta: int
    on_hand: int
    reserved: int
    bin: str | None
    reason: str
    reference: str | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "warehouse": self.warehouse, "delta": self.delta, "on_hand": self.on_hand,
                "reserved": self.reserved, "available": self.available, "bin": self.bin,
                "reason": self.reason, "reference": self.reference}


def stock_level(session: Session, sku: str, warehouse: str) -> StockLevel | None:
    """The stock row of a SKU in a warehouse, if there is one."""
    return session.scalar(select(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse == warehouse))


def apply_change(session: Session, sku: str, warehouse: str, delta: int, *, reason: str, reference: str | None,
                 bin_code: str | None, actor: str | None, ledger: Ledger) -> StockChange:
    """One checked change (:func:`adjust` and stock files check first): the
    ledger's ``adjust_stock`` (audit row, sync event, stock push) for the
    quantity, then the bin."""
    if delta:
        ledger.adjust_stock(session, sku, warehouse, delta, reason, reference, actor=actor)
    level = stock_level(session, sku, warehouse)
    if bin_code is not None:
        level = set_bin(session, sku, warehouse, bin_code, reason=reason, reference=reference, actor=actor)
    return StockChange(sku=sku, warehouse=warehouse, delta=delta, on_hand=level.on_hand if level else 0,
                       reserved=level.reserved if level else 0, bin=level.bin if level else None,
                       reason=reason, reference=reference)


def set_bin(session: Session, sku: str, warehouse: str, bin_code: str, *, reason: str, reference: str | None,
            actor: str | None) -> StockLevel:
    """The SKU lives in ``bin_code`` of the warehouse (a stock row with nothing on
    hand when it had none); a change of bin is recorded (``stock.bin``)."""
    level = stock_level(session, sku, warehouse)
    if level is not None and level.bin == bin_code:
        return level
    if level is None:
        level = StockLevel(sku=sku, warehouse=warehouse, on_hand=0, reserved=0)
        session.add(level)
    previous = level.bin
    level.bin = bin_code
    session.flush()
    synclog.record(session, operation="stock.bin", outcome="ok", entity_type="sku", entity=sku,
                   message=f"{warehouse}: bin {previous or '-'} -> {bin_code}",
                   details={"warehouse": warehouse, "bin": bin_code, "previous": previous,
                            "reason": reason, "reference": reference, "actor": actor})
    return level


def adjust(
    session: Session,
    sku: str,
    warehouse: str,
    delta: int | str,
    *,
    reason: str,
    reference: str | None = None,
    bin: str | None = None,  # noqa: A002 - the domain word
    actor: str | None = None,
    ledger: Ledger,
) -> StockChange:
    """Receive (+), write off (-) or move to a bin (``delta`` 0 with ``bin``).

    XD-WH-001 unknown warehouse, XD-WH-004 unknown bin, XD-INV-004 unknown
    SKU, XD-INV-005 when on hand would go negative or below reserved,
    XD-CFG-009 without a reason or with nothing to change.
    """
    change = parse_delta(delta)
    why = _reason(reason)
    ref = (reference or "").strip()[:MAX_REFERENCE_LEN] or None
    get_warehouse(session, warehouse)
    _check_sku(session, sku)
    bin_code = bin.strip() if bin and bin.strip() else None
    if bin_code:
        _check_bin(session, warehouse, bin_code)
    if change == 0 and bin_code is None:
        raise ConfigError("XD-CFG-009", detail="nothing to change: give a non-zero quantity or --bin")
    result = apply_change(session, sku, warehouse, change, reason=why, reference=ref, bin_code=bin_code, actor=actor,
                          ledger=ledger)
    log.info("stock %s@%s %+d (%s) -> on hand %d", sku, warehouse, change, why, result.on_hand)
    return result


# ----------------------------------------------------------------- reading

@dataclass(frozen=True, slots=True)
class LevelRow:
    sku: str
    title: str
    warehouse: str
    bin: str | None
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "title": self.title, "warehouse": self.warehouse, "bin": self.bin,
                "on_hand": self.on_hand, "reserved": self.reserved, "available": self.available}


def stock_view(session: Session, *, sku: str | None = None, warehouse: str | None = None) -> list[LevelRow]:
    """Stock per SKU and warehouse, sorted by SKU then warehouse."""
    stmt = (select(StockLevel, Product.title).join(Product, Product.sku == StockLevel.sku, isouter=True)
            .order_by(StockLevel.sku, StockLevel.warehouse))
    if sku:
        stmt = stmt.where(StockLevel.sku == sku)
    if warehouse:
        stmt = stmt.where(StockLevel.warehouse == warehouse)
    return [LevelRow(sku=lv.sku, title=title or "", warehouse=lv.warehouse, bin=lv.bin, on_hand=lv.on_hand,
                     reserved=lv.reserved) for lv, title in session.execute(stmt)]


def totals(rows: Iterable[LevelRow]) -> dict[str, dict[str, int]]:
    """SKU -> on hand, reserved and available summed over warehouses."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        t = out.setdefault(r.sku, {"on_hand": 0, "reserved": 0, "available": 0})
        t["on_hand"] += r.on_hand
        t["reserved"] += r.reserved
        t["available"] += r.available
    return out


def movements(session: Session, *, sku: str | None = None, warehouse: str | None = None,
              limit: int = 100) -> list[StockMovement]:
    """The audit trail, newest first."""
    stmt = select(StockMovement)
    if sku:
        stmt = stmt.where(StockMovement.sku == sku)
    if warehouse:
        stmt = stmt.where(StockMovement.warehouse == warehouse)
    return list(session.scalars(stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
                                .limit(limit)))


def movement_to_dict(m: StockMovement) -> dict[str, Any]:
    return {"id": m.id, "at": m.created_at.isoformat(), "sku": m.sku,
            "warehouse": m.warehouse, "delta": m.delta, "reason": m.reason, "reference": m.reference,
            "actor": m.actor}


# ----------------------------------------------------------------- routing

def routing_preference(cfg: Any) -> RoutingPreference:
    """``[rules.routing]`` of the configuration (see :mod:`.routing`)::

        [rules.routing]
        fallback = ["DE", "CN"]
        by_destination = { GB = ["DE"], US = ["CN"] }
        only_listed = false
    """
    raw = ((getattr(cfg, "rules", None) or {}).get("routing")) if cfg is not None else None
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError("XD-CFG-003", detail="rules.routing must be a table")
    return RoutingPreference.from_config(raw)


def warehouse_sites(session: Session) -> list[WarehouseSite]:
    """The warehouses in the database as routing sites, in code order."""
    return [WarehouseSite(code, country) for code, country in
            session.execute(select(Warehouse.code, Warehouse.country).order_by(Warehouse.code))]


def reserve_routed(session: Session, order_ids: int | Iterable[int], *, ledger: Ledger, cfg: Any = None,
                   preference: RoutingPreference | None = None) -> dict[int, ReservationOutcome]:
    """Reserve orders with the configured routing: each order goes to the
    first warehouse (by :class:`RoutingPreference`, see
    :mod:`crossdock.warehouse.routing`) that can fill all of it, through the
    ledger's ``reserve_routed``, oldest purchase first (lines already
    reserved are left alone). When no single warehouse can fill an order,
    the ledger falls back to reserving each SKU where most is free; such a
    split order is not ready to ship
    (:func:`crossdock.warehouse.picking.readiness` says why). Each order's
    events carry its correlation id. Returns order id → its outcome."""
    from crossdock.warehouse.shipping import order_correlation_id

    ids = [order_ids] if isinstance(order_ids, int) else sorted(set(order_ids))
    pref = preference if preference is not None else routing_preference(cfg)
    sites = warehouse_sites(session)
    orders = []
    for order_id in ids:
        order = session.get(Order, order_id)
        if order is None:
            raise OrderError("XD-ORD-005", entity=f"order {order_id}", detail="no order with that id")
        orders.append(order)
    results: dict[int, ReservationOutcome] = {}
    for order in sorted(orders, key=lambda o: (o.purchased_at, o.id)):
        with synclog.correlation(order_correlation_id(session, order)):
            results[order.id] = ledger.reserve_routed(session, order.id, sites=sites, preference=pref)
    return results


__all__ = [
    "LevelRow",
    "StockChange",
    "DELTA_RE",
    "MAX_REASON_LEN",
    "MAX_REFERENCE_LEN",
    "adjust",
    "apply_change",
    "get_warehouse",
    "movement_to_dict",
    "movements",
    "parse_delta",
    "reserve_routed",
    "routing_preference",
    "stock_level",
    "stock_view",
    "sync_warehouses",
    "totals",
    "warehouse_sites",
]
