"""``crossdock refunds issue ORDER --amount A --reason R`` and ``crossdock
refunds pull [CHANNEL]``: money back to a buyer, from crossdock or read from
the platform (issue 18).

Issuing follows the seller's cancellation (:mod:`.seller_cancel`): everything
crossdock can check is checked first and refused with nothing sent — an
unknown reason (XD-REF-006), an amount not above zero (XD-REF-001) or above
what the order has left to refund (its total less its counted refunds,
XD-REF-002), a currency other than the order's (XD-REF-003), lines that are
not the order's (XD-REF-007), an unknown order (XD-ORD-005). Then the channel
is asked (:meth:`Connector.issue_refund`); only once it has taken the refund
does crossdock record it: in one transaction the ``refunds`` row (source
crossdock, who, why), the order's ``refunded_amount``, an ``order.refund``
event on the order's chain (``crossdock logs trace ORDER``) and an audit record
(``refunds.issue``). A channel's refusal (XD-REF-004) or a platform crossdock
cannot refund on (XD-REF-005) is logged on the order's chain and nothing else
changes. A refund moves money only: it never restocks (goods coming back are
a return's business) and never changes the order's status (the import follows
the platform's, whose mapping may call a fully refunded order cancelled).

Reading: the order import stores the refunds an order payload carries
(:func:`~crossdock.sync_engine.refund_rows.record_read`), and
:func:`pull_refunds` reads them again for a channel's recent orders. Both go
through :func:`~crossdock.sync_engine.refund_rows.store_refunds`, idempotent by
the platform's refund id.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crossdock import audit, synclog
from crossdock.connectors.refunds import REFUND_REASONS, RefundRequest
from crossdock.db.models import Order, OrderLine
from crossdock.errors import CrossdockError, RefundError
from crossdock.models import Money, PlatformRefund, RefundLine
from crossdock.sync_engine.jobs.context import EngineContext
from crossdock.sync_engine.refund_rows import Origin, line_refunded, money_text, order_refunds, store_refunds

__all__ = ["REFUND_REASONS", "issue_refund", "parse_amount", "parse_lines", "pull_refunds", "refunds_doc"]

#: ``refunds pull`` reads the orders bought this many days back unless told otherwise.
PULL_DAYS = 30


def parse_amount(value: str | Decimal, *, entity: str) -> Decimal:
    """A positive amount with at most two decimals (XD-REF-001 otherwise); never a float."""
    if isinstance(value, float):
        raise TypeError("refund amounts are Decimal or text, never float")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RefundError("XD-REF-001", entity=entity, detail=f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise RefundError("XD-REF-001", entity=entity, detail=f"amount {value}: must be above zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise RefundError("XD-REF-001", entity=entity, detail=f"amount {value}: at most two decimals")
    return amount


def parse_lines(text: str | None, *, entity: str) -> list[tuple[str, int]]:
    """``SKU:QTY,SKU:QTY`` -> [(sku, qty)] (XD-REF-007 when malformed)."""
    out: list[tuple[str, int]] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        sku, sep, qty = part.rpartition(":")
        if not sep or not sku.strip() or not qty.strip().isdigit() or int(qty) <= 0:
            raise RefundError("XD-REF-007", entity=entity, detail=f"{part!r}: write SKU:QTY with QTY above zero")
        out.append((sku.strip(), int(qty)))
    return out


def _order_state(ctx: EngineContext, ref: str) -> dict[str, Any]:
    from crossdock.warehouse.shipping.orders import find_order

    with ctx.db.read() as s:
        o = find_order(s, ref)
        lines = [(r.platform_line_id, r.sku, int(r.quantity)) for r in s.execute(
            select(OrderLine.platform_line_id, OrderLine.sku, OrderLine.quantity)
            .where(OrderLine.order_id == o.id).order_by(OrderLine.id))]
        units, money = line_refunded(s, o.id)
        return {"id": o.id, "channel": o.channel, "platform_order_id": o.platform_order_id,
                "currency": o.currency, "total": o.total_amount, "refunded": o.refunded_amount or Decimal(0),
                "lines": lines, "units_refunded": units, "money_refunded": money}


def _refund_lines(st: dict[str, Any], wanted: list[tuple[str, int]], entity: str) -> tuple[RefundLine, ...]:
    """The order's lines the seller named, each within its units not yet refunded."""
    out: list[RefundLine] = []
    for sku, qty in wanted:
        line = next(((lid, n) for lid, s, n in st["lines"] if s == sku), None)
        if line is None:
            raise RefundError("XD-REF-007", channel=st["channel"], entity=entity,
                              detail=f"{sku}: the order has no line of it")
        left = line[1] - st["units_refunded"].get(line[0], 0)
        if qty > left:
            raise RefundError("XD-REF-007", channel=st["channel"], entity=entity,
                              detail=f"{sku}: {qty} units asked, {left} of {line[1]} not yet refunded")
        out.append(RefundLine(line[0], qty))
    return tuple(out)


def _refuse(ctx: EngineContext, st: dict[str, Any], exc: CrossdockError, details: dict[str, Any], ms: int) -> None:
    synclog.record_now(ctx.db, synclog.event_from_error(
        "order.refund", exc, channel=st["channel"], entity_type="order", entity=st["platform_order_id"],
        correlation_id=synclog.order_correlation(st["channel"], st["platform_order_id"]),
        duration_ms=ms, details={"order_id": st["id"], **details, "actor": audit.actor()}))


def issue_refund(ctx: EngineContext, order_ref: str, amount: str | Decimal, reason: str,
                 lines: str | list[tuple[str, int]] | None = None, *, currency: str | None = None,
                 note: str | None = None) -> dict[str, Any]:
    """Refund ``amount`` of order ``order_ref`` (platform id, ``CHANNEL/ID`` or local id) on its channel for
    ``reason`` (one of :data:`REFUND_REASONS`), then record it (see the module doc). ``lines``: ``SKU:QTY,...``
    or [(sku, qty)]. Returns the order's refunds document with the new refund's id and the audit id."""
    entity = f"order {order_ref}"
    if reason not in REFUND_REASONS:
        raise RefundError("XD-REF-006", entity=entity, detail=f"reason {reason!r}: one of {', '.join(REFUND_REASONS)}")
    value = parse_amount(amount, entity=entity)
    wanted = parse_lines(lines, entity=entity) if isinstance(lines, str) or lines is None else list(lines)
    st = _order_state(ctx, order_ref)
    channel, pid = st["channel"], st["platform_order_id"]
    entity = f"order {pid}"
    details = {"amount": format(value, "f"), "currency": currency or st["currency"], "reason": reason,
               "lines": [f"{s}:{q}" for s, q in wanted]}
    if currency and st["currency"] and currency.upper() != st["currency"]:
        exc: CrossdockError = RefundError("XD-REF-003", channel=channel, entity=entity,
                                          detail=f"{currency.upper()}: the order is in {st['currency']}")
    elif st["total"] is None or not st["currency"]:
        exc = RefundError("XD-REF-002", channel=channel, entity=entity,
                          detail="crossdock holds no total for the order yet (the platform gave none)")
    elif value > st["total"] - st["refunded"]:
        exc = RefundError("XD-REF-002", channel=channel, entity=entity,
                          detail=f"{money_text(value)} {st['currency']} asked; "
                                 f"{money_text(st['total'] - st['refunded'])} of {money_text(st['total'])} left to refund")
    else:
        try:
            request = RefundRequest(pid, Money(value, st["currency"]), reason, st["total"] - st["refunded"],
                                    _refund_lines(st, wanted, entity), note, st["money_refunded"])
        except RefundError as bad:
            exc = bad
        else:
            return _send(ctx, st, request, details)
    _refuse(ctx, st, exc, details, 0)
    raise exc


def _send(ctx: EngineContext, st: dict[str, Any], request: RefundRequest, details: dict[str, Any]) -> dict[str, Any]:
    channel = st["channel"]
    started = time.monotonic()
    try:
        refund = ctx.connectors.get(channel).issue_refund(request)
    except CrossdockError as exc:
        _refuse(ctx, st, exc, details, int((time.monotonic() - started) * 1000))
        raise
    at = dt.datetime.now(dt.timezone.utc)
    origin = Origin("crossdock", audit.actor(), request.reason, request.note)
    try:
        return _record(ctx, st, request, refund, origin, at)
    except IntegrityError:      # an import stored the same refund meanwhile: it is found and made ours
        return _record(ctx, st, request, refund, origin, at)


def _record(ctx: EngineContext, st: dict[str, Any], request: RefundRequest, refund: PlatformRefund, origin: Origin,
            at: dt.datetime) -> dict[str, Any]:
    channel, pid = st["channel"], st["platform_order_id"]
    with ctx.db.write() as s:
        stored = store_refunds(s, channel, [(st["id"], pid, refund)], at=at, origin=origin)
        order = s.get(Order, st["id"])
        assert order is not None
        s.refresh(order)
        audit_id = audit.record(s, action="refunds.issue", subject=f"order {channel}/{pid}",
                                before={"refunded": money_text(st["refunded"])},
                                after={"refund_id": refund.platform_refund_id, "amount": money_text(refund.amount.amount),
                                       "currency": refund.amount.currency, "reason": request.reason,
                                       "status": refund.status, "refunded": money_text(order.refunded_amount)})
        doc = order_refunds(s, order)
    return {**doc, "refund_id": refund.platform_refund_id, "status": refund.status, "audit_id": audit_id,
            "recorded": bool(stored["new"] or stored["changed"])}


def refunds_doc(ctx: EngineContext, order_ref: str) -> dict[str, Any]:
    """``crossdock refunds list ORDER``: the order's total, refunded, net and refunds."""
    from crossdock.warehouse.shipping.orders import find_order

    with ctx.db.read() as s:
        return order_refunds(s, find_order(s, order_ref))


def pull_refunds(ctx: EngineContext, channel: str | None = None, *, order: str | None = None,
                 days: int = PULL_DAYS) -> dict[str, Any]:
    """Read the refunds of ``channel``'s orders bought in the last ``days`` (or of one ``order``) from the
    platform and store them (idempotent). A platform whose orders say nothing of refunds is reported so."""
    from crossdock.warehouse.shipping.orders import find_order

    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    with ctx.db.read() as s:
        if order:
            o = find_order(s, order)
            targets = [(o.channel, o.id, o.platform_order_id)]
        else:
            names = [channel] if channel else sorted(ctx.cfg.channels)
            targets = [(r.channel, r.id, r.platform_order_id) for r in s.execute(
                select(Order.channel, Order.id, Order.platform_order_id)
                .where(Order.channel.in_(names), Order.purchased_at >= since).order_by(Order.id))]
    out: dict[str, dict[str, Any]] = {}
    for name, oid, pid in targets:
        row = out.setdefault(name, {"orders_read": 0, "new": 0, "changed": 0, "readable": True})
        if not row["readable"]:
            continue
        refunds = ctx.connectors.get(name).read_refunds(pid)
        if refunds is None:
            row["readable"] = False
            continue
        row["orders_read"] += 1
        if refunds:
            with ctx.db.write() as s:
                stored = store_refunds(s, name, [(oid, pid, r) for r in refunds])
            row["new"] += len(stored["new"])
            row["changed"] += len(stored["changed"])
    return {"days": days, "order": order, "channels": out}
