"""Stock adjustments with an audit row: receipts, counts, damage (private; see
:mod:`crossdock.sync_engine.inventory`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from crossdock import synclog
from crossdock.db.base import INTEGER_MAX
from crossdock.errors import InventoryError, WarehouseError
from crossdock.sync_engine import dirty, skumap
from crossdock.sync_engine._sql import (
    bind_value,
    bulk_insert,
    chunks,
    event_row,
    in_values,
    insert_events,
    lookup_chunk,
    now_or,
    update_rows,
    upsert_insert,
)
from crossdock.sync_engine._tables import MOVES, PRODUCTS, STOCK, WAREHOUSES
from crossdock.sync_engine.inventory._shared import StockState
from crossdock.warehouse.ledger import StockAdjustment

log = logging.getLogger(__name__)


def _no_bundle(session: Session, skus: Sequence[str]) -> None:
    """XD-INV-015 when one of ``skus`` is a bundle: its stock is its components'."""
    if not skumap.any_bundles(session):
        return
    kits = sorted(skumap.components_of(session, skus))
    if kits:
        raise InventoryError("XD-INV-015", entity=f"sku {kits[0]}",
                             detail="a bundle has no stock of its own: adjust its components")


def adjust_stock(session: Session, sku: str, warehouse: str, delta: int, reason: str,
                 reference: str | None = None, *, actor: str | None = None,
                 now: dt.datetime | None = None) -> StockState:
    """Change on hand by ``delta`` (receipt, count, damage…) with an audit row.
    Refused with XD-INV-005 when on hand would drop below 0 or below what is
    reserved; XD-WH-005 when the change or the new on hand is beyond
    ``INTEGER_MAX``; XD-INV-004 for a SKU not in the catalogue; XD-WH-001 for
    an unknown warehouse."""
    _check_change(sku, warehouse, delta, reason)
    at = now_or(now)
    if session.execute(select(PRODUCTS.c.sku).where(PRODUCTS.c.sku == sku)).first() is None:
        raise InventoryError("XD-INV-004", entity=f"sku {sku}", detail="not in the catalogue")
    _no_bundle(session, [sku])
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


def adjust_stock_many(session: Session, changes: Sequence[StockAdjustment], *, actor: str | None = None,
                      now: dt.datetime | None = None) -> dict[tuple[str, str], StockState]:
    """Many :func:`adjust_stock` changes in one pass (a stock file): the same
    checks and refusals (the first refused change raises, its index in
    ``changes`` as ``context["change"]``; the caller's transaction must then
    roll back), an audit row and a sync event per change, applied in the order
    given — but the stock rows read and locked once in (SKU, warehouse) order,
    written with one statement per kind, and ONE :func:`~crossdock.sync_engine.dirty.mark_dirty`
    for every SKU changed. Returns each (SKU, warehouse)'s stock after all of them."""
    if not changes:
        return {}
    for i, c in enumerate(changes):
        _check_change(c.sku, c.warehouse, c.delta, c.reason, index=i)
    at = now_or(now)
    skus = sorted({c.sku for c in changes})
    known: set[str] = set()
    for part in chunks(skus, lookup_chunk(session)):
        known.update(session.scalars(select(PRODUCTS.c.sku).where(in_values(session, PRODUCTS.c.sku, part))))
    houses = set(session.scalars(select(WAREHOUSES.c.code)
                                 .where(WAREHOUSES.c.code.in_(sorted({c.warehouse for c in changes})))))
    _no_bundle(session, skus)
    for i, c in enumerate(changes):
        if c.sku not in known:
            raise InventoryError("XD-INV-004", entity=f"sku {c.sku}", detail="not in the catalogue", change=i)
        if c.warehouse not in houses:
            raise WarehouseError("XD-WH-001", entity=f"warehouse {c.warehouse}", detail="not in the database",
                                 change=i)
    # every stock row of the SKUs locked (PostgreSQL FOR UPDATE; SQLite holds the write lock) in
    # (SKU, warehouse) order; then a row for each (SKU, warehouse) that receives and had none, as
    # adjust_stock inserts it
    levels = _locked_levels(session, skus)
    missing = sorted({(c.sku, c.warehouse) for c in changes if c.delta > 0} - set(levels))
    if missing:
        bulk_insert(session, STOCK, [{"sku": s, "warehouse": w, "on_hand": 0, "reserved": 0, "updated_at": at}
                                     for s, w in missing], conflict_do_nothing=("sku", "warehouse"))
        levels.update(_locked_levels(session, sorted({s for s, _ in missing})))
    moves: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i, c in enumerate(changes):
        key = (c.sku, c.warehouse)
        on_hand, reserved = levels.get(key, (0, 0))
        _refuse_unless_fits(c.sku, c.warehouse, c.delta, c.reason, on_hand, reserved, index=i,
                            exists=key in levels)
        levels[key] = (on_hand + c.delta, reserved)
        moves.append({"sku": c.sku, "warehouse": c.warehouse, "delta": c.delta, "reason": c.reason,
                      "reference": c.reference, "actor": actor, "created_at": at})
        events.append(event_row(operation="stock.adjust", outcome="ok", at=at, entity_type="sku", entity=c.sku,
                                message=f"{c.warehouse} {c.delta:+d} ({c.reason}) → on hand {on_hand + c.delta}",
                                details={"warehouse": c.warehouse, "delta": c.delta, "reason": c.reason,
                                         "reference": c.reference}))
    written = sorted({(c.sku, c.warehouse) for c in changes})
    stamp = bind_value(session, STOCK.c.updated_at, at)
    update_rows(session, STOCK, ("sku", "warehouse"), ("on_hand", "updated_at"),
                [(s, w, levels[(s, w)][0], stamp) for s, w in written])
    bulk_insert(session, MOVES, moves)
    insert_events(session, events)
    dirty.mark_dirty(session, skus, now=at)
    log.info("stock: %d adjustments of %d SKUs in one pass", len(changes), len(skus))
    return {key: StockState(sku=key[0], warehouse=key[1], on_hand=levels[key][0], reserved=levels[key][1])
            for key in written}


def _locked_levels(session: Session, skus: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    levels: dict[tuple[str, str], tuple[int, int]] = {}
    for part in chunks(skus, lookup_chunk(session)):
        for sku, warehouse, on_hand, reserved in session.execute(
                select(STOCK.c.sku, STOCK.c.warehouse, STOCK.c.on_hand, STOCK.c.reserved)
                .where(in_values(session, STOCK.c.sku, part)).order_by(STOCK.c.sku, STOCK.c.warehouse)
                .with_for_update()):
            levels[(sku, warehouse)] = (int(on_hand), int(reserved))
    return levels


def _check_change(sku: str, warehouse: str, delta: int, reason: str, *, index: int | None = None) -> None:
    """What :func:`adjust_stock` refuses before reading anything."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError("delta must be an int")
    if delta == 0:
        raise ValueError("delta must not be 0")
    if not reason:
        raise ValueError("a stock adjustment needs a reason")
    if abs(delta) > INTEGER_MAX:
        raise WarehouseError("XD-WH-005", entity=f"sku {sku}",
                             detail=f"{warehouse}: change {delta:+d} is beyond {INTEGER_MAX:,} units", change=index)


def _refuse_unless_fits(sku: str, warehouse: str, delta: int, reason: str, on_hand: int, reserved: int, *,
                        index: int, exists: bool) -> None:
    """:func:`adjust_stock`'s guards on the numbers: beyond ``INTEGER_MAX`` (XD-WH-005),
    below 0 or below what is reserved (XD-INV-005)."""
    if delta > 0 and exists and on_hand <= INTEGER_MAX - delta:
        return
    if delta < 0 and exists and on_hand - reserved >= -delta and on_hand >= -delta:
        return
    if on_hand + delta > INTEGER_MAX:
        raise WarehouseError("XD-WH-005", entity=f"sku {sku}",
                             detail=f"{warehouse}: on hand {on_hand} {delta:+d} would be beyond "
                                    f"{INTEGER_MAX:,} units", warehouse=warehouse, change=index)
    raise InventoryError("XD-INV-005", entity=f"sku {sku}",
                         detail=f"{warehouse}: on hand {on_hand}, reserved {reserved}, change {delta:+d} "
                                f"({reason})", warehouse=warehouse, change=index)
