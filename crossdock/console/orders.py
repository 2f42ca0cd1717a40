"""The console's order search and order page: indexed queries with a LIMIT,
so a page costs the same with 100 or 100,000 orders.

Search filters are ANDed: ``q`` (a platform order id, exact, or a local id),
``sku`` (any line), buyer ``country``, ``channel``, ``status`` (crossdock's),
purchase date ``since``/``until``; newest first, :data:`PAGE` per page.
Indexes: orders(platform_order_id), orders(purchased_at), order_lines(sku)
(migration 0010) and the ones the engine already had.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from crossdock.db.models import Order, OrderLine, Reservation, Shipment

__all__ = ["MAX_PAGE", "PAGE", "order_doc", "search_doc"]

PAGE = 50
MAX_PAGE = 200      # deeper than 200 pages: narrow the filters (an OFFSET that large is slow)


def _s(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _summary(o: Any) -> dict[str, Any]:
    return {"id": o.id, "channel": o.channel, "platform_order_id": o.platform_order_id,
            "platform_status": o.platform_status, "local_status": o.local_status,
            "purchased_at": _s(o.purchased_at), "buyer_country": o.buyer_country, "currency": o.currency,
            "total_amount": _s(o.total_amount), "refunded_amount": _s(o.refunded_amount),
            "net_amount": _s(o.total_amount - (o.refunded_amount or 0)) if o.total_amount is not None else None,
            "warehouse": o.warehouse, "flags": list(o.flags or [])}


def search_doc(s: Session, *, q: str | None = None, sku: str | None = None, country: str | None = None,
               channel: str | None = None, status: str | None = None, since: dt.datetime | None = None,
               until: dt.datetime | None = None, page: int = 1) -> dict[str, Any]:
    """One page of orders matching every filter given (``GET /api/orders``)."""
    page = min(max(1, page), MAX_PAGE)
    stmt = select(Order.id, Order.channel, Order.platform_order_id, Order.platform_status, Order.local_status,
                  Order.purchased_at, Order.buyer_country, Order.currency, Order.total_amount,
                  Order.refunded_amount, Order.warehouse, Order.flags)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(Order.platform_order_id == q) if not q.isdigit() else \
            stmt.where((Order.platform_order_id == q) | (Order.id == int(q)))
    if sku:
        stmt = stmt.where(exists().where(OrderLine.order_id == Order.id, OrderLine.sku == sku.strip()))
    if country:
        stmt = stmt.where(Order.buyer_country == country.strip().upper())
    if channel:
        stmt = stmt.where(Order.channel == channel)
    if status:
        stmt = stmt.where(Order.local_status == status)
    if since:
        stmt = stmt.where(Order.purchased_at >= since)
    if until:
        stmt = stmt.where(Order.purchased_at < until)
    rows = s.execute(stmt.order_by(Order.purchased_at.desc(), Order.id.desc())
                     .limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    return {"page": page, "per_page": PAGE, "more": len(rows) > PAGE, "orders": [_summary(r) for r in rows[:PAGE]]}


def _money(value: Any) -> Any:
    return _s(value) if value is not None else None


def _amounts(o: Any, lines: Any, fx: Any, base: str) -> dict[str, Any]:
    """The order's amounts three ways: as the shop charged them (the order's
    currency), as the buyer paid them (the platform's presentment currency,
    where it gave one), and as crossdock counts them — the seller's base
    currency at the FX rate of the purchase date, the rate reports use
    (``crossdock report``); without a stored rate, the code that says so."""
    from crossdock.errors import CrossdockError

    line_tax = sum((ln.tax_amount for ln in lines if ln.tax_amount is not None), Decimal(0))
    tax = o.tax_amount if o.tax_amount is not None else line_tax
    refunded = o.refunded_amount or Decimal(0)
    net = o.total_amount - refunded if o.total_amount is not None else None
    shop = {"currency": o.currency, "total": _money(o.total_amount), "refunded": _s(refunded), "net": _money(net),
            "tax": _s(tax),
            "shipping": _money(o.shipping_amount), "shipping_tax": _money(o.shipping_tax_amount)}
    buyer = ({"currency": o.presentment_currency, "total": _money(o.presentment_total),
              "tax": _money(o.presentment_tax), "shipping": _money(o.presentment_shipping)}
             if o.presentment_currency else None)
    crossdock: dict[str, Any] = {"currency": base}
    if o.currency and o.total_amount is not None and o.purchased_at is not None:
        try:
            q = fx.resolve(o.currency, base, o.purchased_at.date())
        except CrossdockError as exc:
            crossdock.update({"code": exc.code, "detail": exc.detail or exc.title})
        else:
            def conv(value: Any) -> Any:       # the rate resolved once (FxTable.convert resolves per call)
                return None if value is None else _s((Decimal(value) * q.rate).quantize(Decimal("0.01")))
            crossdock.update({"fx_rate": _s(q.rate), "fx_valid_on": q.valid_on.isoformat(), "fx_path": list(q.path),
                              "total": conv(o.total_amount), "net": conv(net), "tax": conv(tax),
                              "shipping": conv(o.shipping_amount)})
    return {"shop": shop, "buyer": buyer, "crossdock": crossdock}


def order_doc(s: Session, order_id: str) -> list[dict[str, Any]]:
    """Every order with this platform order id (one per channel that has it) or
    local id: amounts, tax, lines, reservations, shipments with their labels.
    The buyer's address is not included (the country is)."""
    stmt = select(Order).where(Order.platform_order_id == order_id)
    if order_id.isdigit():
        stmt = select(Order).where((Order.platform_order_id == order_id) | (Order.id == int(order_id)))
    from crossdock.mapping.fx_store import table_from_db
    from crossdock.reports.build import base_currency_of
    from crossdock.sync_engine.refund_rows import order_refunds

    fx, base = table_from_db(s.connection()), base_currency_of(s)
    out = []
    for o in s.scalars(stmt.order_by(Order.id).limit(20)):
        lines = s.scalars(select(OrderLine).where(OrderLine.order_id == o.id).order_by(OrderLine.id)).all()
        line_ids = [ln.id for ln in lines]
        reservations = s.scalars(select(Reservation).where(Reservation.order_line_id.in_(line_ids or [0]))
                                 .order_by(Reservation.id)).all()
        shipments = s.scalars(select(Shipment).where(Shipment.order_id == o.id).order_by(Shipment.id)).all()
        doc = _summary(o)
        doc.update({
            "marketplace_id": o.marketplace_id, "tax_model": o.tax_model, "tax_scheme": o.tax_scheme,
            "ioss_number": o.ioss_number, "fulfillment_channel": o.fulfillment_channel,
            "ship_by": _s(o.ship_by), "imported_at": _s(o.imported_at), "updated_at": _s(o.updated_at),
            "lines": [{"platform_line_id": ln.platform_line_id, "sku": ln.sku, "title": ln.title,
                       "quantity": ln.quantity, "quantity_shipped": ln.quantity_shipped,
                       "unit_price": _s(ln.unit_price), "currency": ln.currency, "tax_amount": _s(ln.tax_amount),
                       "shipping_amount": _money(ln.shipping_amount),
                       "presentment_unit_price": _money(ln.presentment_unit_price),
                       "hs_code": ln.hs_code, "country_of_origin": ln.country_of_origin}
                      for ln in lines],
            "amounts": _amounts(o, lines, fx, base),
            "tax_total": _s(sum((ln.tax_amount for ln in lines if ln.tax_amount is not None), Decimal(0))),
            "reservations": [{"sku": r.sku, "warehouse": r.warehouse, "quantity": r.quantity, "status": r.status}
                             for r in reservations],
            "shipments": [{c.name: _s(getattr(sh, c.key)) for c in Shipment.__mapper__.column_attrs
                           if c.key not in ("order_id",)} for sh in shipments],
            "refunds": order_refunds(s, o)["refunds"],
        })
        out.append(doc)
    return out
