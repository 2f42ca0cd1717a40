"""The simulated Amazon's POST_ORDER_ACKNOWLEDGEMENT_DATA feed: a seller
cancels a seller-fulfilled order (SP-API has no cancel call for them).

The feed document is the XML ``AmazonEnvelope`` of ``OrderAcknowledgement``
messages. ``StatusCode`` Failure cancels the whole order (the sim's own
cancel: listed quantity restored); each ``Item`` names its
``AmazonOrderItemCode`` with a ``CancelReason``. The processing report is the
XML ``ProcessingReport``: one ``Result`` (ResultCode Error) per message that
could not be applied — an unknown order, one already shipped (Amazon refunds
the whole order on a Failure after a shipment, so the sandbox refuses it as
crossdock must never send it), one already cancelled, an unknown reason.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from crossdock.sandbox.amazon.state import Feed, FeedDocument

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

ORDER_ACK_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
CANCEL_REASONS = frozenset({"NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled",
                            "GeneralAdjustment", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                            "CarrierCoverageFailure", "CustomerReturn", "MerchandiseNotReceived"})


def _text(el: ET.Element, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _apply(sim: AmazonSim, feed: Feed, msg: ET.Element) -> str | None:
    """One OrderAcknowledgement; the error text, or None when applied."""
    ack = msg.find("OrderAcknowledgement")
    if ack is None:
        return "The message carries no OrderAcknowledgement."
    oid, status = _text(ack, "AmazonOrderID"), _text(ack, "StatusCode")
    order = sim.orders.get(oid)
    if order is None or order.seller_id != feed.seller_id:
        return f"AmazonOrderID {oid} was not found."
    if status == "Success":
        return None
    if status != "Failure":
        return f"StatusCode {status!r} is not Success or Failure."
    known = {i.order_item_id for i in order.items}
    for item in ack.findall("Item"):
        code, reason = _text(item, "AmazonOrderItemCode"), _text(item, "CancelReason")
        if code not in known:
            return f"AmazonOrderItemCode {code} is not an item of order {oid}."
        if reason not in CANCEL_REASONS:
            return f"CancelReason {reason!r} is not valid."
    if order.status == "Canceled":
        return f"Order {oid} is already cancelled."
    if order.shipped_units or order.status not in ("Pending", "Unshipped"):
        return f"Order {oid} cannot be cancelled: it is {order.status} (shipped items cannot be cancelled)."
    return None if sim.cancel_order(oid) else f"Order {oid} could not be cancelled."


def _report(feed: Feed, processed: int, errors: list[tuple[str, str]]) -> bytes:
    results = "".join(
        f"<Result><MessageID>{escape(mid)}</MessageID><ResultCode>Error</ResultCode>"
        f"<ResultMessageCode>25</ResultMessageCode><ResultDescription>{escape(text)}</ResultDescription></Result>"
        for mid, text in errors)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
            f"<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>{escape(feed.seller_id)}"
            "</MerchantIdentifier></Header><MessageType>ProcessingReport</MessageType>"
            f"<Message><MessageID>1</MessageID><ProcessingReport><DocumentTransactionID>{escape(feed.feed_id)}"
            "</DocumentTransactionID><StatusCode>Complete</StatusCode><ProcessingSummary>"
            f"<MessagesProcessed>{processed}</MessagesProcessed>"
            f"<MessagesSuccessful>{processed - len(errors)}</MessagesSuccessful>"
            f"<MessagesWithError>{len(errors)}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning>"
            f"</ProcessingSummary>{results}</ProcessingReport></Message></AmazonEnvelope>").encode("utf-8")


def process_order_ack(sim: AmazonSim, feed: Feed, doc: FeedDocument, at: float) -> tuple[str, bytes]:
    """(feed status, XML processing report) of one order acknowledgement feed (caller holds ``sim.lock``)."""
    try:
        root = ET.fromstring(doc.body or b"")
    except ET.ParseError as exc:
        return "FATAL", _report(feed, 0, [("0", f"The feed document is not well-formed XML: {exc}.")])
    if root.tag != "AmazonEnvelope" or _text(root, "MessageType") != "OrderAcknowledgement":
        return "FATAL", _report(feed, 0, [("0", "An AmazonEnvelope of MessageType OrderAcknowledgement is "
                                                "expected.")])
    messages = root.findall("Message")
    errors = []
    for msg in messages:
        problem = _apply(sim, feed, msg)
        if problem:
            errors.append((_text(msg, "MessageID") or "?", problem))
    return "DONE", _report(feed, len(messages), errors)


def finish_order_ack(sim: AmazonSim, feed: Feed, doc: FeedDocument, at: float) -> None:
    status, report = process_order_ack(sim, feed, doc, at)
    result = FeedDocument(document_id=f"amzn1.tortuga.4.na.{sim.ids.uuid()}", seller_id=feed.seller_id,
                          content_type="text/xml", created_at=at, kind="result", compression="GZIP",
                          body=gzip.compress(report))
    sim.documents[result.document_id] = result
    feed.status, feed.ended_at, feed.result_document_id = status, at, result.document_id
    sim.counters[f"feeds_{status.lower()}"] += 1
