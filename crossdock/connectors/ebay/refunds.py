"""A seller's refund on eBay: the Fulfillment API's
``POST /sell/fulfillment/v1/order/{orderId}/issue_refund`` (issue 18).

An amount for the whole order goes as ``orderLevelRefundAmount``; when the
seller names lines the amount is split over them (each line at most what it
cost less what crossdock knows was refunded on it) and goes as
``refundItems``. eBay processes a refund asynchronously: the answer carries
the ``refundId`` with ``refundStatus`` PENDING, and the order read later shows
it REFUNDED (``paymentSummary.refunds``), which the import records on the same
row. A 4xx answer or ``refundStatus`` FAILED is a refusal (XD-REF-004).

eBay requires Digital Signatures on issueRefund for EU and UK sellers; crossdock
does not sign requests yet (docs/refunds.md), so a real EU/UK account refuses it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from crossdock.connectors.ebay.mapping.refunds import issue_refund_body, parse_refund
from crossdock.errors import PlatformError, RefundError
from crossdock.models import Money, PlatformRefund, RefundLine

if TYPE_CHECKING:
    from crossdock.connectors.ebay.client import EbayRestClient
    from crossdock.connectors.refunds import RefundRequest
    from crossdock.models import Order

__all__ = ["RefundsOrders", "split_over_lines"]

ISSUE_REFUND = "/sell/fulfillment/v1/order/{order_id}/issue_refund"


def split_over_lines(request: RefundRequest, order: Order) -> dict[str, Money]:
    """The amount spread over the named lines in their order, each up to its price x quantity less what
    was refunded on it; the last named line takes what is left."""
    named = [ln.platform_line_id for ln in request.lines]
    prices = {ln.platform_line_id: (ln.unit_price.amount * ln.quantity if ln.unit_price else Decimal(0))
              for ln in order.lines}
    left, out = request.amount.amount, {}
    for i, lid in enumerate(named):
        room = max(Decimal(0), prices.get(lid, Decimal(0)) - request.line_refunded.get(lid, Decimal(0)))
        take = left if i == len(named) - 1 else min(left, room)
        if take > 0:
            out[lid] = Money(take, request.amount.currency)
        left -= take
    return out


class RefundsOrders:
    """The eBay connector's ``issue_refund`` (a mixin: the connector module is full)."""

    channel: str
    rest: EbayRestClient

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order | None: ...

    def issue_refund(self, request: RefundRequest) -> PlatformRefund:
        from crossdock.connectors.ebay.mapping.refunds import REFUND_REASONS

        pid = request.platform_order_id
        entity = f"order {pid}"
        if request.reason not in REFUND_REASONS:
            raise RefundError("XD-REF-006", entity=entity, detail=f"reason {request.reason!r}")
        split = None
        if request.lines:
            order = self.fetch_order(pid)
            if order is None:
                raise RefundError("XD-REF-004", channel=self.channel, entity=entity, detail="eBay does not know the order")
            split = split_over_lines(request, order)
        body = issue_refund_body(reason=request.reason, amount=request.amount, comment=request.note, line_amounts=split)
        try:
            resp = self.rest.call("POST", ISSUE_REFUND.format(order_id=pid), "issueRefund", json=body, entity=entity)
        except PlatformError as exc:
            if exc.context.get("status") in (400, 404, 409):
                raise RefundError("XD-REF-004", channel=self.channel, entity=entity,
                                  detail=f"eBay refused the refund: {exc.message}") from exc
            raise
        got = parse_refund({**self.rest.json(resp, "issueRefund"), "amount": {
            "value": format(request.amount.amount, "f"), "currency": request.amount.currency}})
        if got.status == "failed" or not got.platform_refund_id or ":" in got.platform_refund_id:
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity,
                              detail=f"eBay answered refundStatus {got.status} without a refundId")
        lines = tuple(RefundLine(lid, next((x.quantity for x in request.lines if x.platform_line_id == lid), 0), m)
                      for lid, m in (split or {}).items())
        return PlatformRefund(got.platform_refund_id, got.amount, got.created_at, got.status, request.reason, lines)
