"""eBay refunds: the ``issue_refund`` request body and the refunds an order
payload carries, parsed into :class:`~crossdock.models.PlatformRefund`.

An order-level refund is in ``paymentSummary.refunds[]`` (``refundId``,
``refundStatus`` PENDING / REFUNDED / FAILED, ``refundDate``, ``amount``); a
refund issued per line is under each ``lineItems[].refunds[]`` instead (one
``refundId`` over several lines is one refund; a line refund is done once it
carries its ``refundDate``). Amounts are the seller's net amount, as eBay
reports them. Refunds eBay made outside ``issue_refund`` (a return, a case)
may carry only a ``refundReferenceId``: it stands for the id then.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from crossdock.connectors.ebay.mapping.common import _time, money_from
from crossdock.models import Money, PlatformRefund, RefundLine

__all__ = ["REFUND_REASONS", "issue_refund_body", "parse_refunds"]

#: crossdock's neutral reasons (connectors.refunds.REFUND_REASONS) -> eBay's ReasonForRefundEnum.
REFUND_REASONS: Mapping[str, str] = {
    "buyer_return": "BUYER_RETURN",
    "buyer_cancel": "BUYER_CANCEL",
    "not_received": "ITEM_NOT_RECEIVED",
    "damaged": "OTHER_ADJUSTMENT",
    "wrong_item": "SELLER_WRONG_ITEM",
    "price_adjustment": "OTHER_ADJUSTMENT",
    "other": "OTHER_ADJUSTMENT",
}
STATUSES = {"PENDING": "pending", "REFUNDED": "refunded", "FAILED": "failed"}


def _amount(m: Money) -> dict[str, str]:
    return {"value": format(m.amount, "f"), "currency": m.currency}


def issue_refund_body(*, reason: str, amount: Money, comment: str | None,
                      line_amounts: Mapping[str, Money] | None = None) -> dict[str, Any]:
    """``IssueRefundRequest``: order level (``orderLevelRefundAmount``), or per line (``refundItems``)."""
    out: dict[str, Any] = {"reasonForRefund": REFUND_REASONS[reason]}
    if comment:
        out["comment"] = comment[:100]
    if line_amounts:
        out["refundItems"] = [{"lineItemId": lid, "refundAmount": _amount(m)} for lid, m in line_amounts.items()]
    else:
        out["orderLevelRefundAmount"] = _amount(amount)
    return out


def _refund_id(r: Mapping[str, Any]) -> str:
    amount = (r.get("amount") or {}).get("value")
    return str(r.get("refundId") or r.get("refundReferenceId") or f"{r.get('refundDate')}:{amount}")


def parse_refund(r: Mapping[str, Any]) -> PlatformRefund:
    """One ``Refund`` answer of issue_refund or one ``OrderRefund``."""
    amount = money_from(r.get("amount")) or Money(Decimal(0), "USD")
    date = r.get("refundDate")
    return PlatformRefund(_refund_id(r), amount, _time(date, "refundDate") if date else None,
                          STATUSES.get(str(r.get("refundStatus") or "PENDING"), "pending"))


def parse_refunds(payload: Mapping[str, Any]) -> list[PlatformRefund] | None:
    """The refunds of a Fulfillment ``Order``; None when it has no ``paymentSummary`` to tell."""
    summary = payload.get("paymentSummary")
    if not isinstance(summary, Mapping):
        return None
    out = [parse_refund(r) for r in summary.get("refunds") or []]
    per_line: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for li in payload.get("lineItems") or []:
        for r in li.get("refunds") or []:
            per_line.setdefault(_refund_id(r), []).append((str(li.get("lineItemId")), r))
    for rid, parts in per_line.items():
        amounts = [money_from(r.get("amount")) for _, r in parts]
        known = [m for m in amounts if m is not None]
        if not known:
            continue
        total = Money(sum((m.amount for m in known), Decimal(0)), known[0].currency)
        dates = [str(r["refundDate"]) for _, r in parts if r.get("refundDate")]
        out.append(PlatformRefund(rid, total, _time(max(dates), "refundDate") if dates else None,
                                  "refunded" if dates else "pending",
                                  lines=tuple(RefundLine(lid, 0, m) for (lid, _), m in zip(parts, amounts))))
    return out
