"""The simulated Amazon's POST_PAYMENT_ADJUSTMENT_DATA feed: a seller refunds
a seller-fulfilled order in full or in part (SP-API has no refund call).

The feed document is the XML ``AmazonEnvelope`` of ``OrderAdjustment``
messages; each ``AdjustedItem`` names its ``AmazonOrderItemCode``, an
``AdjustmentReason`` and ``ItemPriceAdjustments`` components (Principal, Tax,
Shipping …) with ``Amount currency="…"``. Applied, an adjustment is kept on
the order (``Order.adjustments``: what the Finances API would report as a
refund event); the Orders API shows no refunds, as Amazon's does not. The
processing report (the XML ``ProcessingReport``, as for the order
acknowledgement feed) has an Error result per message not applied: an
unknown order or item, an order not paid (Pending) or cancelled, an unknown
reason, a currency other than the order's, an amount not above zero, or more
than an item has left to refund (its price and tax; the sandbox has no
shipping charges).
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from crossdock.sandbox.amazon.order_feeds import _report, _text
from crossdock.sandbox.amazon.state import Feed, FeedDocument
from crossdock.sandbox.amazon.wire import line_amounts

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim
    from crossdock.sandbox.amazon.state import Order

ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
REASONS = frozenset({"NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem",
                     "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect",
                     "Exchange", "Other", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                     "CarrierCoverageFailure", "TransactionRecord", "Undeliverable", "RefusedDelivery"})


def refunded(order: Order, item_id: str) -> Decimal:
    return sum((a["items"].get(item_id, Decimal(0)) for a in order.adjustments), Decimal(0))


def _apply(sim: AmazonSim, feed: Feed, msg: ET.Element, at: float) -> str | None:
    """One OrderAdjustment; the error text, or None when applied."""
    adj = msg.find("OrderAdjustment")
    if adj is None:
        return "The message carries no OrderAdjustment."
    oid = _text(adj, "AmazonOrderID")
    order = sim.orders.get(oid)
    if order is None or order.seller_id != feed.seller_id:
        return f"AmazonOrderID {oid} was not found."
    if order.status in ("Pending", "Canceled"):
        return f"Order {oid} is {order.status}: there is no payment to adjust."
    items = {i.order_item_id: i for i in order.items}
    taken: dict[str, Decimal] = {}
    for el in adj.findall("AdjustedItem"):
        code, reason = _text(el, "AmazonOrderItemCode"), _text(el, "AdjustmentReason")
        if code not in items:
            return f"AmazonOrderItemCode {code} is not an item of order {oid}."
        if reason not in REASONS:
            return f"AdjustmentReason {reason!r} is not valid."
        for comp in el.iter("Component"):
            amount_el = comp.find("Amount")
            if amount_el is None or amount_el.get("currency") != order.currency:
                return f"Component amounts of item {code} must be in {order.currency}."
            try:
                value = Decimal((amount_el.text or "").strip())
            except InvalidOperation:
                return f"Amount {amount_el.text!r} of item {code} is not a number."
            if value <= 0:
                return f"Amount {value} of item {code} must be greater than zero."
            taken[code] = taken.get(code, Decimal(0)) + value
    if not taken:
        return "The adjustment names no item amount."
    for code, value in taken.items():
        price, tax = line_amounts(order, items[code])
        room = (price if order.vat_included else price + tax) - refunded(order, code)
        if value > room:
            return f"The adjustment of item {code} ({value}) is more than is left to refund ({room})."
    order.adjustments.append({"feed_id": feed.feed_id, "at": at, "items": taken,
                              "amount": sum(taken.values(), Decimal(0))})
    return None


def finish_adjustment(sim: AmazonSim, feed: Feed, doc: FeedDocument, at: float) -> None:
    """Process the feed (caller holds ``sim.lock``) and store its processing report."""
    try:
        root = ET.fromstring(doc.body or b"")
        ok = root.tag == "AmazonEnvelope" and _text(root, "MessageType") == "OrderAdjustment"
    except ET.ParseError as exc:
        root, ok = None, False
        problem = f"The feed document is not well-formed XML: {exc}."
    if root is None or not ok:
        status, report = "FATAL", _report(feed, 0, [("0", problem if root is None else
                                                     "An AmazonEnvelope of MessageType OrderAdjustment is expected.")])
    else:
        messages = root.findall("Message")
        errors = [(_text(m, "MessageID") or "?", p) for m in messages if (p := _apply(sim, feed, m, at))]
        status, report = "DONE", _report(feed, len(messages), errors)
    result = FeedDocument(document_id=f"amzn1.tortuga.4.na.{sim.ids.uuid()}", seller_id=feed.seller_id,
                          content_type="text/xml", created_at=at, kind="result", compression="GZIP",
                          body=gzip.compress(report))
    sim.documents[result.document_id] = result
    feed.status, feed.ended_at, feed.result_document_id = status, at, result.document_id
    sim.counters[f"feeds_{status.lower()}"] += 1
