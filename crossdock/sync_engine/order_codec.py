"""A normalised :class:`~crossdock.models.Order` as a JSON document and back.

The quarantine keeps an order as its platform sent it (``Order.raw``), read
again by its connector. An order a connector built without its payload is
kept as this document instead, so it can still be stored again later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from crossdock.clock import parse_iso
from crossdock.errors import MappingError
from crossdock.models import Address, Money, Order, OrderLine, OrderStatus, TaxInfo

__all__ = ["order_doc", "order_from_doc"]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, OrderStatus):
        return value.value
    if isinstance(value, Money):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def order_doc(order: Order) -> dict[str, Any]:
    """``order`` as plain JSON values (times ISO 8601, money as amount + currency)."""
    doc = _plain(order)
    doc["raw"] = None
    return doc


def _money(d: Any) -> Money | None:
    return Money(d["amount"], d["currency"]) if d else None


# Money fields beside the price (older documents lack them: None)
_LINE_MONEY = ("shipping", "shipping_tax", "presentment_unit_price")


def _time(d: Any) -> dt.datetime | None:
    return parse_iso(d) if d else None


def _tax(d: Any) -> TaxInfo | None:
    if not d:
        return None
    return TaxInfo(**{**d, "tax_amount": _money(d.get("tax_amount"))})


def order_from_doc(doc: Mapping[str, Any]) -> Order:
    """The Order :func:`order_doc` wrote; MappingError XD-MAP-010 for anything else."""
    try:
        lines = [OrderLine(**{**ln, "unit_price": _money(ln.get("unit_price")), "tax": _tax(ln.get("tax")),
                              **{k: _money(ln.get(k)) for k in _LINE_MONEY}})
                 for ln in doc.get("lines") or []]
        address = doc.get("shipping_address")
        purchased, updated = _time(doc["purchased_at"]), _time(doc["updated_at"])
        if purchased is None or updated is None:
            raise ValueError("no purchase or update time")
        return Order(
            platform=doc["platform"], platform_order_id=doc["platform_order_id"],
            platform_status=doc["platform_status"], status=OrderStatus(doc["status"]),
            purchased_at=purchased, updated_at=updated, total=_money(doc.get("total")),
            buyer_country=doc.get("buyer_country"), marketplace_id=doc.get("marketplace_id"), lines=lines,
            tax=_tax(doc.get("tax")), ship_by=_time(doc.get("ship_by")),
            shipping_address=Address(**address) if address else None,
            fulfillment_channel=doc.get("fulfillment_channel"), shipping=_money(doc.get("shipping")),
            shipping_tax=_money(doc.get("shipping_tax")), presentment_total=_money(doc.get("presentment_total")),
            presentment_tax=_money(doc.get("presentment_tax")),
            presentment_shipping=_money(doc.get("presentment_shipping")))
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError("XD-MAP-010", detail=f"not a stored crossdock order: {type(exc).__name__}: {exc}") from exc
