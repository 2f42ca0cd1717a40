"""A seller's refund on Amazon (issue 18): the ``POST_PAYMENT_ADJUSTMENT_DATA``
feed, sent as the seller's cancellation is (connectors/amazon/cancel.py).

SP-API has no refund call for seller-fulfilled orders: a seller refunds with
an XML ``AmazonEnvelope`` of ``OrderAdjustment`` messages, each
``AdjustedItem`` naming its ``AmazonOrderItemCode``, an ``AdjustmentReason``
and ``ItemPriceAdjustments`` components (Principal, then Tax) with their
amounts. It goes through the Feeds API (createFeedDocument, upload,
createFeed, getFeed until DONE, getFeedDocument) and the XML
``ProcessingReport`` says whether Amazon applied it: an Error result is a
refusal (XD-REF-004).

Amazon refunds per item, so the amount is spread over the order's items (the
named ones when the seller named lines), each up to its price and tax less
what crossdock knows was refunded on it (``RefundRequest.line_refunded``);
what no item can take goes as a Shipping component on the last one. The
refund's id is the feed's (``adjustment-FEEDID``): Amazon gives none before
its Finances API reports the refund event, which crossdock does not read yet
(docs/refunds.md), so an Amazon refund made in Seller Central is not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from crossdock.connectors.amazon.cancel import XML_CONTENT_TYPE, report_errors
from crossdock.errors import RefundError
from crossdock.models import Money, PlatformRefund, RefundLine

if TYPE_CHECKING:
    from crossdock.connectors.amazon.client import SpApiClient
    from crossdock.connectors.amazon.settings import AmazonSettings
    from crossdock.connectors.refunds import RefundRequest
    from crossdock.models import Order

__all__ = ["ADJUSTMENT_FEED", "REFUND_REASONS", "RefundsOrders", "adjustment_feed", "allocate"]

ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"

#: crossdock's neutral reasons (connectors.refunds.REFUND_REASONS) -> the OrderAdjustment AdjustmentReason.
REFUND_REASONS: Mapping[str, str] = {
    "buyer_return": "CustomerReturn",
    "buyer_cancel": "CustomerCancel",
    "not_received": "GeneralAdjustment",
    "damaged": "GeneralAdjustment",
    "wrong_item": "DifferentItem",
    "price_adjustment": "PriceError",
    "other": "GeneralAdjustment",
}

#: (item code, {component type: amount}) per adjusted item
Allocation = list[tuple[str, dict[str, Decimal]]]


def allocate(request: RefundRequest, order: Order) -> Allocation:
    """The amount spread over the items: Principal then Tax of each, within what is left of it."""
    named = {ln.platform_line_id for ln in request.lines}
    items = [ln for ln in order.lines if not named or ln.platform_line_id in named]
    left, out = request.amount.amount, []
    for ln in items:
        if left <= 0:
            break
        principal = ln.unit_price.amount * ln.quantity if ln.unit_price else Decimal(0)
        tax = ln.tax.tax_amount.amount if ln.tax and ln.tax.tax_amount else Decimal(0)
        done = request.line_refunded.get(ln.platform_line_id, Decimal(0))
        p_room = max(Decimal(0), principal - done)
        t_room = max(Decimal(0), principal + tax - done - p_room)
        parts: dict[str, Decimal] = {}
        for kind, room in (("Principal", p_room), ("Tax", t_room)):
            take = min(left, room)
            if take > 0:
                parts[kind] = take
                left -= take
        if parts:
            out.append((ln.platform_line_id, parts))
    if left > 0 and items:
        code = items[-1].platform_line_id
        found = [p for c, p in out if c == code]
        parts = found[0] if found else {}
        if not found:
            out.append((code, parts))
        parts["Shipping"] = parts.get("Shipping", Decimal(0)) + left
    return out


def adjustment_feed(*, seller_id: str, order_id: str, reason: str, currency: str, allocation: Allocation) -> bytes:
    """The feed document refunding ``allocation`` of ``order_id`` for ``reason``."""
    items = "".join(
        f"<AdjustedItem><AmazonOrderItemCode>{escape(code)}</AmazonOrderItemCode>"
        f"<AdjustmentReason>{REFUND_REASONS[reason]}</AdjustmentReason><ItemPriceAdjustments>"
        + "".join(f'<Component><Type>{kind}</Type><Amount currency="{escape(currency)}">{format(amount, "f")}'
                  "</Amount></Component>" for kind, amount in parts.items())
        + "</ItemPriceAdjustments></AdjustedItem>" for code, parts in allocation)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
            f"<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{escape(seller_id)}"
            "</MerchantIdentifier></Header><MessageType>OrderAdjustment</MessageType>"
            f"<Message><MessageID>1</MessageID><OrderAdjustment><AmazonOrderID>{escape(order_id)}</AmazonOrderID>"
            f"{items}</OrderAdjustment></Message></AmazonEnvelope>").encode("utf-8")


class RefundsOrders:
    """The Amazon connector's ``issue_refund`` (a mixin: the connector module is full)."""

    channel: str
    client: SpApiClient
    settings: AmazonSettings

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order | None: ...

    #: the feed's processing report, waited for: cancel.CancelsOrders._ack_report (the connector has both)
    _ack_report: Callable[[str], bytes]

    def issue_refund(self, request: RefundRequest) -> PlatformRefund:
        pid = request.platform_order_id
        entity = f"order {pid}"
        if request.reason not in REFUND_REASONS:
            raise RefundError("XD-REF-006", entity=entity, detail=f"reason {request.reason!r}")
        order = self.fetch_order(pid)
        if order is None:
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity, detail="Amazon does not know the order")
        allocation = allocate(request, order)
        s = self.settings
        content = adjustment_feed(seller_id=s.seller_id, order_id=pid, reason=request.reason,
                                  currency=request.amount.currency, allocation=allocation)
        doc = self.client.create_feed_document(XML_CONTENT_TYPE)
        self.client.upload_document(doc["url"], content, XML_CONTENT_TYPE)
        feed = self.client.create_feed({"feedType": ADJUSTMENT_FEED, "marketplaceIds": [s.marketplace_id],
                                        "inputFeedDocumentId": doc["feedDocumentId"]})
        errors = report_errors(self._ack_report(str(feed["feedId"])))
        if errors:
            raise RefundError("XD-REF-004", channel=self.channel, entity=entity,
                              detail="Amazon did not apply the adjustment: " + "; ".join(errors[:3]))
        units = {ln.platform_line_id: ln.quantity for ln in request.lines}
        lines = tuple(RefundLine(code, units.get(code, 0), Money(sum(parts.values(), Decimal(0)), request.amount.currency))
                      for code, parts in allocation)
        return PlatformRefund(f"adjustment-{feed['feedId']}", request.amount, None, "refunded", request.reason, lines)
