"""Stock adjustments with an audit row: receipts, counts, damage (private; see
:mod:`crossdock.sync_engine.inventory`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.errors import InventoryError, WarehouseError
from crossdock.sync_engine import dirty
from crossdock.sync_engine._sql import now_or, upsert_insert
from crossdock.sync_engine._tables import MOVES, PRODUCTS, STOCK, WAREHOUSES
from crossdock.sync_engine.inventory._shared import StockState


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
    guards: tuple[ColumnElement[bool], ...]
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
