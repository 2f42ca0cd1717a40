"""The stock-deviation hint (XD-INV-013): a SKU whose on hand moved
without stock movements or shipped reservations explaining it.

``stock_watch`` keeps, per (SKU, warehouse), the on hand and the sum of its
movements at the last alerts round. Every change crossdock makes to on hand
writes a movement — a shipment too (reason "shipped", when its reservation
is consumed) — so a later change of on hand must equal the change of
movements; what is left over is the deviation. (The sum of consumed
reservations is kept beside them for the record, and not counted again: it
was, and every shipment raised the hint by the units shipped.)
The alerts round moves the baseline on for every SKU without a deviation;
a deviating SKU keeps its baseline (so the hint stays) until its alert is
acknowledged, which accepts the level as it stands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, delete, func, insert, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from crossdock.db.base import Base, utcnow
from crossdock.doctor.model import OK, WARN, DoctorContext, Result

__all__ = ["DEVIATION_CODE", "StockWatch", "check_stock_deviation", "deviations", "rebaseline", "refresh"]

DEVIATION_CODE = "XD-INV-013"


class StockWatch(Base):
    __tablename__ = "stock_watch"

    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer)          # sum of stock_movements.delta
    consumed: Mapped[int] = mapped_column(Integer)       # sum of consumed reservations
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _now_levels(s: Session) -> dict[tuple[str, str], tuple[int, int, int]]:
    from crossdock.db.models import Reservation, StockLevel, StockMovement

    moved = dict(((r.sku, r.warehouse), int(r.total)) for r in s.execute(
        select(StockMovement.sku, StockMovement.warehouse, func.sum(StockMovement.delta).label("total"))
        .group_by(StockMovement.sku, StockMovement.warehouse)))
    consumed = dict(((r.sku, r.warehouse), int(r.total)) for r in s.execute(
        select(Reservation.sku, Reservation.warehouse, func.sum(Reservation.quantity).label("total"))
        .where(Reservation.status == "consumed").group_by(Reservation.sku, Reservation.warehouse)))
    return {(r.sku, r.warehouse): (int(r.on_hand), moved.get((r.sku, r.warehouse), 0),
                                   consumed.get((r.sku, r.warehouse), 0))
            for r in s.execute(select(StockLevel.sku, StockLevel.warehouse, StockLevel.on_hand))}


def deviations(s: Session) -> tuple[dict[tuple[str, str], int], bool]:
    """({(sku, warehouse): units unexplained}, whether a baseline exists)."""
    watch = {(w.sku, w.warehouse): w for w in s.scalars(select(StockWatch))}
    out = {}
    for key, (on_hand, moved, _consumed) in _now_levels(s).items():
        w = watch.get(key)
        if w is None:
            continue
        unexplained = (on_hand - w.on_hand) - (moved - w.moved)
        if unexplained:
            out[key] = unexplained
    return out, bool(watch)


Keys = frozenset[tuple[str, str]] | set[tuple[str, str]]


def rebaseline(s: Session, *, skus: set[str] | None = None, keep: Keys = frozenset(),
               now: dt.datetime | None = None,
               levels: dict[tuple[str, str], tuple[int, int, int]] | None = None) -> None:
    """Move the baseline to the levels as they are now (of ``skus``, default all), except ``keep``.
    ``levels``: the levels as :func:`_now_levels` read them (one snapshot), when the caller read them
    before this write transaction."""
    at = now or utcnow()
    rows = [{"sku": sku, "warehouse": warehouse, "on_hand": on_hand, "moved": moved, "consumed": consumed,
             "checked_at": at}
            for (sku, warehouse), (on_hand, moved, consumed) in sorted((levels or _now_levels(s)).items())
            if (skus is None or sku in skus) and (sku, warehouse) not in keep]
    # a few statements for the whole catalogue, not two per SKU and warehouse: the alerts round runs
    # this in a write transaction, and every push, order import and quota decision waits for its lock
    for start in range(0, len(rows), _PAIRS):
        part = rows[start:start + _PAIRS]
        s.execute(delete(StockWatch).where(
            tuple_(StockWatch.sku, StockWatch.warehouse).in_([(r["sku"], r["warehouse"]) for r in part])))
    if rows:
        s.execute(insert(StockWatch), rows)


_PAIRS = 450        # (SKU, warehouse) pairs per DELETE: 900 bound values


def check_stock_deviation(ctx: DoctorContext) -> list[Result]:
    with ctx.db.read() as s:
        found, baseline = deviations(s)
    if not baseline:
        return [Result("stock deviation", OK, "no baseline yet (the worker's alerts round takes one)")]
    if not found:
        return [Result("stock deviation", OK, "every stock change since the last round is explained")]
    return [Result("stock deviation", WARN, f"{sku} in {wh}: on hand moved {units:+d} unit(s) more than its "
                                            "movements and shipments explain", code=DEVIATION_CODE, subject=sku,
                   remedy=f"crossdock stock history {sku}", details={"warehouse": wh, "units": units})
            for (sku, wh), units in sorted(found.items())]


def refresh(db: Any, results: list[Result], *, now: dt.datetime) -> None:
    """After an alerts round: the baseline moves on, except for SKUs still deviating."""
    keep = {(r.subject or "", str(r.details.get("warehouse"))) for r in results if r.code == DEVIATION_CODE}
    with db.read() as s:        # the aggregates are read outside the write lock
        levels = _now_levels(s)
    with db.write() as s:
        rebaseline(s, keep=keep, now=now, levels=levels)
