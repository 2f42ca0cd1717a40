"""Storing refunds (issue 18): one ``refunds`` row per platform refund id and
channel, and ``orders.refunded_amount`` kept as the sum of an order's refunds
that did not fail.

:func:`store_refunds` is the one way a refund is written, whoever saw it
first: ``crossdock refunds issue`` (source crossdock, with who and why), the
order import and ``crossdock refunds pull`` (source platform). A refund already
stored is never stored again: reading back a refund crossdock issued only
follows the platform's status (an eBay refund turns from pending to refunded)
and amount (what the platform took), so it is never counted twice.
:func:`record_read` is the import's hook; :func:`order_refunds` the document
``refunds list``, the console and exports read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crossdock.db.models import Order, OrderLine, RefundRow
from crossdock.models import Order as PlatformOrder
from crossdock.models import PlatformRefund
from crossdock.sync_engine._sql import chunks, event_row, insert_events
from crossdock.synclog import order_correlation

__all__ = ["Origin", "line_refunded", "money_text", "order_refunds", "record_read", "refresh_totals", "store_refunds"]

COUNTED = ("pending", "refunded")     # a failed refund is kept for the record, never counted


@dataclass(frozen=True)
class Origin:
    """Who made the refunds being stored: ``source`` crossdock (with ``actor``, ``reason``, ``note``) or platform."""

    source: str = "platform"
    actor: str | None = None
    reason: str | None = None
    note: str | None = None


def money_text(value: Decimal | None) -> str | None:
    """Amounts as text with two decimals, more only when they carry them (``1.5000`` -> ``1.50``)."""
    if value is None:
        return None
    value = Decimal(value)
    exact = value.normalize()
    places = exact.as_tuple().exponent
    return format(exact if isinstance(places, int) and places < -2 else value.quantize(Decimal("0.01")), "f")


def _lines(refund: PlatformRefund, skus: Mapping[str, str | None]) -> list[dict[str, Any]]:
    return [{"line_id": ln.platform_line_id, "sku": skus.get(ln.platform_line_id), "quantity": ln.quantity,
             "amount": money_text(ln.amount.amount) if ln.amount else None} for ln in refund.lines]


def refresh_totals(session: Session, order_ids: Iterable[int]) -> None:
    """``orders.refunded_amount`` = the sum of the orders' counted refunds (recomputed, never incremented)."""
    R = RefundRow
    for part in chunks(sorted(set(order_ids))):
        summed = (select(func.coalesce(func.sum(R.amount), 0)).where(R.order_id == Order.id, R.status.in_(COUNTED))
                  .scalar_subquery())
        session.execute(update(Order).where(Order.id.in_(part)).values(refunded_amount=summed)
                        .execution_options(synchronize_session=False))


def store_refunds(session: Session, channel: str, found: Sequence[tuple[int, str, PlatformRefund]], *,
                  origin: Origin = Origin(), at: dt.datetime | None = None) -> dict[str, list[int]]:
    """Store ``found`` (order id, platform order id, refund) of ``channel``: new ones inserted, known ones
    following the platform's status and amount; totals refreshed and one ``order.refund`` event per new or
    changed refund. Returns the row ids ``{"new": [...], "changed": [...]}``."""
    at = at or dt.datetime.now(dt.timezone.utc)
    out: dict[str, list[int]] = {"new": [], "changed": []}
    if not found:
        return out
    ids = sorted({r.platform_refund_id for _, _, r in found})
    known: dict[str, RefundRow] = {}
    for part in chunks(ids):
        for stored in session.scalars(select(RefundRow).where(RefundRow.channel == channel,
                                                              RefundRow.platform_refund_id.in_(part))):
            known[stored.platform_refund_id] = stored
    skus: dict[str, str | None] = {}
    for oids in chunks(sorted({oid for oid, _, _ in found})):
        for lid, sku in session.execute(select(OrderLine.platform_line_id, OrderLine.sku)
                                        .where(OrderLine.order_id.in_(oids))):
            skus[lid] = sku
    events, touched = [], set()
    for oid, pid, r in found:
        row: RefundRow | None = known.get(r.platform_refund_id)
        if row is None:
            row = RefundRow(order_id=oid, channel=channel, platform_refund_id=r.platform_refund_id,
                            amount=r.amount.amount, currency=r.amount.currency, lines=_lines(r, skus),
                            reason=origin.reason or r.reason, note=origin.note, source=origin.source,
                            actor=origin.actor, status=r.status, refunded_at=r.created_at or at, recorded_at=at)
            session.add(row)
            session.flush()
            known[r.platform_refund_id] = row
            out["new"].append(row.id)
            what = "issued from crossdock" if origin.source == "crossdock" else "made on the platform, read"
        elif origin.source == "crossdock" and row.source != "crossdock":
            # read by an import between the platform's answer and this record: who issued it is known here
            row.source, row.actor, row.reason, row.note = origin.source, origin.actor, origin.reason, origin.note
            row.status, row.amount = r.status, r.amount.amount
            out["changed"].append(row.id)
            what = "issued from crossdock (read from the platform a moment before)"
        elif row.status != r.status or row.amount != r.amount.amount:
            was = {"status": row.status, "amount": money_text(row.amount)}
            row.status, row.amount = r.status, r.amount.amount
            if r.created_at is not None and r.status == "refunded":
                row.refunded_at = r.created_at
            out["changed"].append(row.id)
            what = f"now {r.status} on the platform (was {was['status']} {was['amount']})"
        else:
            continue
        touched.add(oid)
        events.append(event_row(
            operation="order.refund", outcome="ok", at=at, channel=channel, entity_type="order", entity=pid,
            correlation=order_correlation(channel, pid),
            message=f"refund {r.platform_refund_id} of {money_text(r.amount.amount)} {r.amount.currency} {what}",
            details={"order_id": oid, "refund_id": r.platform_refund_id, "amount": money_text(r.amount.amount),
                     "currency": r.amount.currency, "status": r.status, "source": row.source,
                     "reason": row.reason, "actor": row.actor}))
    session.flush()
    refresh_totals(session, touched)
    if events:
        insert_events(session, events)
    return out


def record_read(session: Session, channel: str, orders: Iterable[PlatformOrder],
                order_ids: Mapping[str, int]) -> dict[str, list[int]]:
    """The import's hook: the refunds the stored orders' payloads carry (none read: nothing to do)."""
    found = [(order_ids[o.platform_order_id], o.platform_order_id, r) for o in orders if o.refunds
             and o.platform_order_id in order_ids for r in o.refunds]
    return store_refunds(session, channel, found) if found else {"new": [], "changed": []}


def line_refunded(session: Session, order_id: int) -> tuple[dict[str, int], dict[str, Decimal]]:
    """Per platform line id of the order: (units, money) its counted refunds name."""
    units: dict[str, int] = {}
    money: dict[str, Decimal] = {}
    for lines in session.scalars(select(RefundRow.lines).where(RefundRow.order_id == order_id,
                                                              RefundRow.status.in_(COUNTED))):
        for ln in lines or []:
            lid = str(ln.get("line_id"))
            units[lid] = units.get(lid, 0) + int(ln.get("quantity") or 0)
            if ln.get("amount") is not None:
                money[lid] = money.get(lid, Decimal(0)) + Decimal(str(ln["amount"]))
    return units, money


def order_refunds(session: Session, order: Order) -> dict[str, Any]:
    """The order's refunds document: total, refunded, net and each refund (``refunds list``, the console)."""
    total = order.total_amount
    refunded = order.refunded_amount or Decimal(0)
    rows = session.scalars(select(RefundRow).where(RefundRow.order_id == order.id).order_by(RefundRow.id))
    return {"channel": order.channel, "platform_order_id": order.platform_order_id, "order_id": order.id,
            "currency": order.currency, "total": money_text(total), "refunded": money_text(refunded),
            "net": money_text(total - refunded) if total is not None else None,
            "refunds": [{"refund_id": r.platform_refund_id, "amount": money_text(r.amount), "currency": r.currency,
                         "status": r.status, "source": r.source, "reason": r.reason, "note": r.note,
                         "actor": r.actor, "lines": list(r.lines or []),
                         "refunded_at": r.refunded_at.isoformat()}
                        for r in rows]}
