"""Returns as ``crossdock returns list`` and ``returns show`` print them (issue 18)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from crossdock.db.models import Order
from crossdock.db.models_returns import ReturnLineRow, ReturnRow

__all__ = ["list_returns", "return_doc"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _doc(row: ReturnRow, pid: str, lines: Sequence[ReturnLineRow]) -> dict[str, Any]:
    units: dict[str, int] = {}
    for ln in lines:
        units[ln.sku] = units.get(ln.sku, 0) + ln.quantity
    return {"rma": row.rma, "channel": row.channel, "platform_order_id": pid, "order_id": row.order_id,
            "platform_return_id": row.platform_return_id, "platform_status": row.platform_status,
            "origin": row.origin, "reason": row.reason, "reason_note": row.reason_note, "status": row.status,
            "opened_by": row.opened_by, "opened_at": _iso(row.opened_at), "received_by": row.received_by,
            "received_at": _iso(row.received_at), "units": units,
            "lines": [{"sku": ln.sku, "quantity": ln.quantity, "disposition": ln.disposition,
                       "warehouse": ln.warehouse, "note": ln.note} for ln in lines]}


def list_returns(session: Any, *, channel: str | None = None, status: str | None = None,
                 order_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The RMAs, newest first, with their lines."""
    q = (select(ReturnRow, Order.platform_order_id).join(Order, Order.id == ReturnRow.order_id)
         .order_by(ReturnRow.id.desc()).limit(limit))
    if channel:
        q = q.where(ReturnRow.channel == channel)
    if status:
        q = q.where(ReturnRow.status == status)
    if order_id is not None:
        q = q.where(ReturnRow.order_id == order_id)
    rows = list(session.execute(q))
    lines: dict[int, list[ReturnLineRow]] = {}
    for ln in session.scalars(select(ReturnLineRow).where(ReturnLineRow.return_id.in_([r.id for r, _ in rows] or [-1]))
                              .order_by(ReturnLineRow.id)):
        lines.setdefault(ln.return_id, []).append(ln)
    return [_doc(r, pid, lines.get(r.id, [])) for r, pid in rows]


def return_doc(session: Any, rma: str) -> dict[str, Any]:
    """One RMA (XD-RMA-004 when unknown)."""
    from crossdock.sync_engine.returns import _load

    row, order, lines = _load(session, rma)
    return _doc(row, order.platform_order_id, lines)
