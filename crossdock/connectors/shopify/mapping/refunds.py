"""Shopify refunds parsed into :class:`~crossdock.models.PlatformRefund`
(an Order node's ``refunds``, a ``refundCreate`` answer's ``refund``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.clock import parse_iso
from crossdock.connectors.shopify.mapping.common import legacy_id
from crossdock.errors import MappingError
from crossdock.models import Money, PlatformRefund, RefundLine

__all__ = ["money", "parse_refund", "parse_refunds"]


def money(bag: Mapping[str, Any] | None, key: str = "shopMoney") -> Money | None:
    m = (bag or {}).get(key)
    return Money(Decimal(str(m["amount"])), m["currencyCode"]) if m else None


def parse_refund(node: Mapping[str, Any]) -> PlatformRefund:
    """One GraphQL ``Refund`` (a Shopify refund is done when it exists: status refunded)."""
    try:
        amount = money(node.get("totalRefundedSet"))
        if amount is None:
            raise KeyError("totalRefundedSet")
        lines = []
        for n in ((node.get("refundLineItems") or {}).get("nodes") or []):
            lines.append(RefundLine(legacy_id((n.get("lineItem") or {}).get("id")) or "", int(n.get("quantity") or 0),
                                    money(n.get("subtotalSet"))))
        created = node.get("createdAt")
        return PlatformRefund(legacy_id(node["id"]) or "", amount, parse_iso(created) if created else None,
                              "refunded", node.get("note"), tuple(lines))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise MappingError("XD-MAP-010", entity=f"refund {node.get('id')}",
                           detail=f"Shopify Refund: {type(exc).__name__}: {exc}") from exc


def parse_refunds(node: Mapping[str, Any]) -> list[PlatformRefund] | None:
    """An Order node's refunds; None when the node was read without them."""
    if "refunds" not in node:
        return None
    return [parse_refund(r) for r in node.get("refunds") or []]
